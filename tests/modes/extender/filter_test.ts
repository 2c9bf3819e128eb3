import assert from "node:assert/strict";
import {
  DEFAULT_EXTENDER_CONFIG,
  type ExtenderConfig,
  filterNodes,
  Reservations,
  scoreNodes,
  SnapshotIndex,
} from "../../../src/modes/extender/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import {
  buildSnapshot,
  makePod,
  plainMaps,
  T0,
  type World,
} from "./_snapshot.ts";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { POLICY_LOCAL_ONLY } from "../../../src/csi/mod.ts";

const ZONE = "topology.kubernetes.io/zone";

/** n1,n2 in zone a; n3,n4 in zone b; n5 has no satellite. pool1 on n1..n3. */
function base(extra: Partial<World> = {}): World {
  const zones: Record<string, string> = {
    n1: "a",
    n2: "a",
    n3: "b",
    n4: "b",
    n5: "b",
  };
  return {
    linstorNodes: ["n1", "n2", "n3", "n4"].map((name) => ({
      name,
      props: {
        "Aux/topology/kubernetes.io/hostname": name,
        [`Aux/topology/${ZONE}`]: zones[name] ?? "",
      },
    })),
    kubeNodes: ["n1", "n2", "n3", "n4", "n5"].map((name) => ({
      name,
      labels: { "kubernetes.io/hostname": name, [ZONE]: zones[name] ?? "" },
    })),
    pools: [
      { node: "n1", name: "pool1", freeGiB: 10 },
      { node: "n2", name: "pool1", freeGiB: 3 },
      { node: "n3", name: "pool1", freeGiB: 20 },
      { node: "n4", name: "DfltDisklessStorPool", kind: "DISKLESS" },
    ],
    storageClasses: [
      { name: "r2", params: { "linstor.csi.linbit.com/storagePool": "pool1" } },
      {
        name: "local",
        params: {
          storagePool: "pool1",
          "linstor.csi.linbit.com/allowRemoteVolumeAccess": "false",
        },
      },
      {
        name: "zonal",
        params: {
          "linstor.csi.linbit.com/storagePool": "pool1",
          "linstor.csi.linbit.com/allowRemoteVolumeAccess":
            `- fromSame:\n  - ${ZONE}\n`,
        },
      },
    ],
    ...extra,
  };
}

const NAMES = ["n1", "n2", "n3", "n4", "n5"];

function run(
  world: World,
  pod: V1Pod,
  options: {
    config?: ExtenderConfig;
    reservations?: Reservations;
    names?: string[];
  } = {},
) {
  const snapshot = buildSnapshot(world);
  const clock = new FakeClock(T0);
  const reservations = options.reservations ??
    new Reservations({ clock, ttlMs: 60_000 });
  const input = { pod, names: options.names ?? NAMES };
  const evaluate = {
    config: options.config ?? DEFAULT_EXTENDER_CONFIG,
    now: T0,
    reservations: reservations.view(),
  };
  const outcome = filterNodes(new SnapshotIndex(snapshot), input, evaluate);
  // Every case also checks that the packed pass (taken where the pod's
  // shape allows) answers what the general one does, scores and holds too.
  const extras = {
    score: true,
    held: (claim: string) => reservations.get(claim),
  };
  assert.deepEqual(
    comparable(
      filterNodes(new SnapshotIndex(snapshot), input, {
        ...evaluate,
        ...extras,
      }),
    ),
    comparable(
      filterNodes(new SnapshotIndex(snapshot), input, {
        ...evaluate,
        ...extras,
        packed: false,
      }),
    ),
    "packed and general pass differ",
  );
  const verdicts: Record<string, string> = {};
  for (const [node, v] of outcome.rejected) {
    verdicts[node] = `${v.unresolvable ? "U" : "F"} ${v.predicate}`;
  }
  return { outcome, passed: outcome.passed, verdicts };
}

/** What a filter answers and works out, without its working records. */
function comparable(outcome: ReturnType<typeof filterNodes>) {
  return {
    passed: [...outcome.passed],
    rejected: [...outcome.rejected],
    scores: outcome.scores,
    holds: plainMaps(outcome.holds),
  };
}

function bound(
  sc: string,
  replicas: NonNullable<World["replicas"]>,
  extra: Partial<World> = {},
): World {
  return base({
    replicas,
    pvcs: [{ name: "data", sc, volumeName: "pv-data" }],
    pvs: [{ name: "pv-data", resource: "pvc-data", sc }],
    ...extra,
  });
}

Deno.test("`filterNodes()` applies the satellite and access predicates to bound volumes", async (t) => {
  const cases: {
    name: string;
    world: World;
    passed: string[];
    verdicts: Record<string, string>;
  }[] = [
    {
      name:
        "replicas on n1,n2 and a tie-breaker on n3, remote access allowed: only the node without satellite fails",
      world: bound("r2", [
        { resource: "pvc-data", node: "n1" },
        { resource: "pvc-data", node: "n2" },
        { resource: "pvc-data", node: "n3", role: "tie-breaker" },
      ]),
      passed: ["n1", "n2", "n3", "n4"],
      verdicts: { n5: "U satellite" },
    },
    {
      name: "satellite OFFLINE is a resolvable failure",
      world: bound("r2", [{ resource: "pvc-data", node: "n1" }], {
        linstorNodes: [{ name: "n1" }, { name: "n2", status: "OFFLINE" }, {
          name: "n3",
        }, { name: "n4" }],
      }),
      passed: ["n1", "n3", "n4"],
      verdicts: { n2: "F satellite", n5: "U satellite" },
    },
    {
      name: "local-only volume: diskless and tie-breaker nodes fail access",
      world: bound("local", [
        { resource: "pvc-data", node: "n1" },
        { resource: "pvc-data", node: "n2" },
        { resource: "pvc-data", node: "n3", role: "tie-breaker" },
        { resource: "pvc-data", node: "n4", role: "diskless" },
      ]),
      passed: ["n1", "n2"],
      verdicts: { n3: "U access", n4: "U access", n5: "U satellite" },
    },
    {
      name:
        "local-only volume with empty disk state (no DRBD) still passes its replica nodes",
      world: bound("local", [
        { resource: "pvc-data", node: "n1", diskState: null },
        { resource: "pvc-data", node: "n3", diskState: null },
      ]),
      passed: ["n1", "n3"],
      verdicts: { n2: "U access", n4: "U access", n5: "U satellite" },
    },
    {
      name: "fromSame zone: nodes in the replica's zone pass",
      world: bound("zonal", [{ resource: "pvc-data", node: "n1" }]),
      passed: ["n1", "n2"],
      verdicts: { n3: "U access", n4: "U access", n5: "U satellite" },
    },
    {
      name:
        "fromSame on a key the replica node lacks means anywhere (as linstor-csi)",
      world: bound("zonal", [{ resource: "pvc-data", node: "n1" }], {
        linstorNodes: [{ name: "n1" }, { name: "n2" }, { name: "n3" }, {
          name: "n4",
        }],
      }),
      passed: ["n1", "n2", "n3", "n4"],
      verdicts: { n5: "U satellite" },
    },
    {
      name: "PV volume attributes override the StorageClass policy",
      world: bound("r2", [{ resource: "pvc-data", node: "n2" }], {
        pvs: [{
          name: "pv-data",
          resource: "pvc-data",
          sc: "r2",
          attributes: {
            "linstor.csi.linbit.com/uses-volume-context": "true",
            "linstor.csi.linbit.com/remote-access-policy": "false",
          },
        }],
      }),
      passed: ["n2"],
      verdicts: {
        n1: "U access",
        n3: "U access",
        n4: "U access",
        n5: "U satellite",
      },
    },
    {
      name:
        "a PV override.piraeus.io annotation overrides the volume context and the StorageClass",
      world: bound("r2", [{ resource: "pvc-data", node: "n2" }], {
        pvs: [{
          name: "pv-data",
          resource: "pvc-data",
          sc: "r2",
          attributes: {
            "linstor.csi.linbit.com/uses-volume-context": "true",
            "linstor.csi.linbit.com/remote-access-policy": "true",
          },
          annotations: { "override.piraeus.io/allow-remote-access": "false" },
        }],
      }),
      passed: ["n2"],
      verdicts: {
        n1: "U access",
        n3: "U access",
        n4: "U access",
        n5: "U satellite",
      },
    },
    {
      name: "a deleting diskful replica does not count",
      world: bound("local", [
        { resource: "pvc-data", node: "n1", flags: ["DELETE"] },
        { resource: "pvc-data", node: "n2" },
      ]),
      passed: ["n2"],
      verdicts: {
        n1: "U access",
        n3: "U access",
        n4: "U access",
        n5: "U satellite",
      },
    },
    {
      name: "evicted LINSTOR node fails unresolvably",
      world: bound("r2", [{ resource: "pvc-data", node: "n1" }], {
        linstorNodes: [{ name: "n1" }, { name: "n2", flags: ["EVICTED"] }, {
          name: "n3",
        }, { name: "n4" }],
      }),
      passed: ["n1", "n3", "n4"],
      verdicts: { n2: "U satellite", n5: "U satellite" },
    },
    {
      name: "matches a Kubernetes node to a LINSTOR node by hostname property",
      world: bound("local", [{ resource: "pvc-data", node: "stor-1" }], {
        linstorNodes: [{
          name: "stor-1",
          props: { "Aux/topology/kubernetes.io/hostname": "n1" },
        }],
      }),
      passed: ["n1"],
      verdicts: {
        n2: "U satellite",
        n3: "U satellite",
        n4: "U satellite",
        n5: "U satellite",
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { passed, verdicts } = run(
        c.world,
        makePod("p", { claims: ["data"] }),
      );
      assert.deepEqual(passed, c.passed);
      assert.deepEqual(verdicts, c.verdicts);
    });
  }
});

Deno.test("`filterNodes()` checks claims without an explicit policy against the default remote-access policy", async (t) => {
  const config: ExtenderConfig = {
    ...DEFAULT_EXTENDER_CONFIG,
    defaultRemoteAccessPolicy: POLICY_LOCAL_ONLY,
  };
  await t.step("a bound volume is accessed only on its replicas", () => {
    const world = bound("plain", [{ resource: "pvc-data", node: "n1" }], {
      storageClasses: [{ name: "plain", params: { storagePool: "pool1" } }],
    });
    const { passed, verdicts } = run(
      world,
      makePod("p", { claims: ["data"] }),
      { config },
    );
    assert.deepEqual(passed, ["n1"]);
    assert.deepEqual(verdicts, {
      n2: "U access",
      n3: "U access",
      n4: "U access",
      n5: "U satellite",
    });
  });
  await t.step("a pending claim must fit locally", () => {
    const world = base({
      storageClasses: [{ name: "plain", params: { storagePool: "pool1" } }],
      pvcs: [{ name: "data", sc: "plain", size: "5Gi" }],
    });
    const { passed, verdicts } = run(
      world,
      makePod("p", { claims: ["data"] }),
      { config },
    );
    assert.deepEqual(passed, ["n1", "n3"]);
    assert.deepEqual(verdicts, {
      n2: "U capacity",
      n4: "U capacity",
      n5: "U satellite",
    });
  });
  await t.step("an explicit class policy still wins", () => {
    const world = base({ pvcs: [{ name: "data", sc: "r2", size: "5Gi" }] });
    world.storageClasses![0]!.params![
      "linstor.csi.linbit.com/allowRemoteVolumeAccess"
    ] = "true";
    const { passed } = run(world, makePod("p", { claims: ["data"] }), {
      config,
    });
    assert.deepEqual(passed, ["n1", "n2", "n3", "n4"]);
  });
});

Deno.test("`filterNodes()` has no access opinion on a bound volume whose policy cannot be resolved", async (t) => {
  const cases: {
    name: string;
    pv: NonNullable<World["pvs"]>[number];
    note: RegExp;
  }[] = [
    {
      name: "invalid override annotation (fromDifferent)",
      pv: {
        name: "pv-data",
        resource: "pvc-data",
        sc: "local",
        annotations: { "override.piraeus.io/x": "- fromDifferent: [zone]" },
      },
      note:
        /claim default\/data: override\.piraeus\.io\/x: Cannot parse remote-access policy .*; no access opinion/,
    },
    {
      name: "empty list in the volume context",
      pv: {
        name: "pv-data",
        resource: "pvc-data",
        sc: "local",
        attributes: {
          "linstor.csi.linbit.com/uses-volume-context": "true",
          "linstor.csi.linbit.com/remote-access-policy": "[]",
        },
      },
      note:
        /claim default\/data: .*remote-access-policy: Cannot parse .*; no access opinion/,
    },
    {
      name: "StorageClass missing",
      pv: { name: "pv-data", resource: "pvc-data", sc: "gone" },
      note:
        /claim default\/data: storage class gone not found; no access opinion/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const world = bound("local", [{ resource: "pvc-data", node: "n1" }], {
        pvs: [c.pv],
      });
      const { outcome, passed, verdicts } = run(
        world,
        makePod("p", { claims: ["data"] }),
      );
      assert.deepEqual(passed, ["n1", "n2", "n3", "n4"]);
      assert.deepEqual(verdicts, { n5: "U satellite" });
      assert.ok(
        outcome.context.volumes.notes.some((note) => c.note.test(note)),
        outcome.context.volumes.notes.join("\n"),
      );
    });
  }
});

Deno.test("`filterNodes()` passes every node untouched when the pod has no LINSTOR volumes", async (t) => {
  await t.step("no volumes at all", () => {
    const { passed, verdicts } = run(base(), makePod("p"));
    assert.deepEqual(passed, NAMES);
    assert.deepEqual(verdicts, {});
  });
  await t.step("a bound PV of another CSI driver", () => {
    const world = base({
      pvcs: [{ name: "data", sc: "other", volumeName: "pv-x" }],
      pvs: [{ name: "pv-x", resource: "vol", driver: "ebs.csi.aws.com" }],
    });
    const { passed } = run(world, makePod("p", { claims: ["data"] }));
    assert.deepEqual(passed, NAMES);
  });
  await t.step("an unbound claim of a class with another provisioner", () => {
    const world = base({
      storageClasses: [{ name: "other", provisioner: "topolvm.io" }],
      pvcs: [{ name: "data", sc: "other" }],
    });
    const { passed } = run(world, makePod("p", { claims: ["data"] }));
    assert.deepEqual(passed, NAMES);
  });
});

Deno.test("`filterNodes()` checks capacity for unbound WaitForFirstConsumer claims", async (t) => {
  const cases: {
    name: string;
    world: World;
    pod: V1Pod;
    config?: ExtenderConfig;
    passed: string[];
    verdicts: Record<string, string>;
  }[] = [
    {
      name:
        "local-only 5Gi: fits on n1 (10) and n3 (20), not on n2 (3), no pool on n4",
      world: base({ pvcs: [{ name: "data", sc: "local", size: "5Gi" }] }),
      pod: makePod("p", { claims: ["data"] }),
      passed: ["n1", "n3"],
      verdicts: { n2: "U capacity", n4: "U capacity", n5: "U satellite" },
    },
    {
      name:
        "remote access allowed: capacity only scores, nodes without room pass",
      world: base({ pvcs: [{ name: "data", sc: "r2", size: "5Gi" }] }),
      pod: makePod("p", { claims: ["data"] }),
      passed: ["n1", "n2", "n3", "n4"],
      verdicts: { n5: "U satellite" },
    },
    {
      name: "hardFilter always: remote-access classes are filtered too",
      world: base({ pvcs: [{ name: "data", sc: "r2", size: "5Gi" }] }),
      pod: makePod("p", { claims: ["data"] }),
      config: {
        ...DEFAULT_EXTENDER_CONFIG,
        capacity: { ...DEFAULT_EXTENDER_CONFIG.capacity, hardFilter: "always" },
      },
      passed: ["n1", "n3"],
      verdicts: { n2: "U capacity", n4: "U capacity", n5: "U satellite" },
    },
    {
      name: "two claims are summed per pool: 2 × 6Gi does not fit 10Gi",
      world: base({
        pvcs: [{ name: "a", sc: "local", size: "6Gi" }, {
          name: "b",
          sc: "local",
          size: "6Gi",
        }],
      }),
      pod: makePod("p", { claims: ["a", "b"] }),
      passed: ["n3"],
      verdicts: {
        n1: "U capacity",
        n2: "U capacity",
        n4: "U capacity",
        n5: "U satellite",
      },
    },
    {
      name:
        "a remote-capable claim is not charged before a local-only one: 8Gi anywhere + 4Gi local-only on 10Gi passes",
      world: base({
        pvcs: [{ name: "anywhere", sc: "r2", size: "8Gi" }, {
          name: "local",
          sc: "local",
          size: "4Gi",
        }],
      }),
      pod: makePod("p", { claims: ["anywhere", "local"] }),
      passed: ["n1", "n3"],
      verdicts: { n2: "U capacity", n4: "U capacity", n5: "U satellite" },
    },
    {
      name: "a class with two pools spreads claims over them",
      world: base({
        pools: [
          { node: "n1", name: "a", freeGiB: 5 },
          { node: "n1", name: "b", freeGiB: 5 },
          { node: "n2", name: "a", freeGiB: 9 },
        ],
        storageClasses: [{
          name: "two",
          params: { storagePool: "a b", allowRemoteVolumeAccess: "false" },
        }],
        pvcs: [{ name: "x", sc: "two", size: "4Gi" }, {
          name: "y",
          sc: "two",
          size: "4Gi",
        }],
      }),
      pod: makePod("p", { claims: ["x", "y"] }),
      passed: ["n1", "n2"],
      verdicts: { n3: "U capacity", n4: "U capacity", n5: "U satellite" },
    },
    {
      name: "thin pool uses the over-subscription rule (1Gi free × 20 ≥ 5Gi)",
      world: base({
        pools: [
          {
            node: "n1",
            name: "pool1",
            kind: "LVM_THIN",
            freeGiB: 1,
            totalGiB: 10,
          },
          {
            node: "n2",
            name: "pool1",
            kind: "LVM_THIN",
            freeGiB: 1,
            totalGiB: 10,
            props: { MaxOversubscriptionRatio: "2" },
          },
        ],
        pvcs: [{ name: "data", sc: "local", size: "5Gi" }],
      }),
      pod: makePod("p", { claims: ["data"] }),
      passed: ["n1"],
      verdicts: {
        n2: "U capacity",
        n3: "U capacity",
        n4: "U capacity",
        n5: "U satellite",
      },
    },
    {
      name: "thin pool total rule subtracts the virtual size already placed",
      world: base({
        pools: [
          {
            node: "n1",
            name: "pool1",
            kind: "LVM_THIN",
            freeGiB: 5,
            totalGiB: 10,
            props: { MaxOversubscriptionRatio: "1" },
          },
        ],
        replicas: [{
          resource: "other",
          node: "n1",
          pool: "pool1",
          sizeGiB: 8,
        }],
        pvcs: [{ name: "data", sc: "local", size: "3Gi" }],
      }),
      pod: makePod("p", { claims: ["data"] }),
      passed: [],
      verdicts: {
        n1: "U capacity",
        n2: "U capacity",
        n3: "U capacity",
        n4: "U capacity",
        n5: "U satellite",
      },
    },
    {
      name: "unknown free capacity is a resolvable failure",
      world: base({
        pools: [{ node: "n1", name: "pool1", freeGiB: undefined }, {
          node: "n3",
          name: "pool1",
          freeGiB: 20,
        }],
        pvcs: [{ name: "data", sc: "local", size: "1Gi" }],
      }),
      pod: makePod("p", { claims: ["data"] }),
      passed: ["n3"],
      verdicts: {
        n1: "F capacity",
        n2: "U capacity",
        n4: "U capacity",
        n5: "U satellite",
      },
    },
    {
      name:
        "generic ephemeral volume not created yet is sized from the pod's template",
      world: base(),
      pod: makePod("p", {
        ephemeral: [{ volume: "scratch", sc: "local", size: "15Gi" }],
      }),
      passed: ["n3"],
      verdicts: {
        n1: "U capacity",
        n2: "U capacity",
        n4: "U capacity",
        n5: "U satellite",
      },
    },
    {
      name:
        "pools come from the resourceGroup parameter when storagePool is absent",
      world: base({
        resourceGroups: [{ name: "rg1", storagePools: ["fast"] }],
        pools: [{ node: "n2", name: "fast", freeGiB: 50 }, {
          node: "n1",
          name: "pool1",
          freeGiB: 50,
        }],
        storageClasses: [{
          name: "rg",
          params: { resourceGroup: "rg1", allowRemoteVolumeAccess: "false" },
        }],
        pvcs: [{ name: "data", sc: "rg", size: "5Gi" }],
      }),
      pod: makePod("p", { claims: ["data"] }),
      passed: ["n2"],
      verdicts: {
        n1: "U capacity",
        n3: "U capacity",
        n4: "U capacity",
        n5: "U satellite",
      },
    },
    {
      name: "Immediate-binding claim not bound yet gets no capacity opinion",
      world: base({
        storageClasses: [{
          name: "imm",
          wffc: false,
          params: { allowRemoteVolumeAccess: "false" },
        }],
        pvcs: [{ name: "data", sc: "imm", size: "500Gi" }],
      }),
      pod: makePod("p", { claims: ["data"] }),
      passed: ["n1", "n2", "n3", "n4"],
      verdicts: { n5: "U satellite" },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { passed, verdicts } = run(
        c.world,
        c.pod,
        c.config ? { config: c.config } : {},
      );
      assert.deepEqual(passed, c.passed);
      assert.deepEqual(verdicts, c.verdicts);
    });
  }
  await t.step("the reason names the pool, the need and the free space", () => {
    const { outcome } = run(
      base({ pvcs: [{ name: "data", sc: "local", size: "5Gi" }] }),
      makePod("p", { claims: ["data"] }),
    );
    assert.equal(
      outcome.rejected.get("n2")?.reason,
      "pool pool1: claim default/data needs 5.0GiB, 3.0GiB free",
    );
    assert.equal(
      outcome.rejected.get("n4")?.reason,
      "no storage pool pool1 for claim default/data",
    );
  });
});

Deno.test("`filterNodes()` applies node and storage-pool selectors", async (t) => {
  const world = (
    annotations: Record<string, string>,
    scAnnotations: Record<string, string> = {},
  ) =>
    base({
      kubeNodes: [
        { name: "n1", labels: { disk: "ssd" } },
        { name: "n2", labels: { disk: "hdd" } },
        { name: "n3", labels: {} },
        { name: "n4", labels: { disk: "ssd" } },
      ],
      pools: [
        {
          node: "n1",
          name: "pool1",
          freeGiB: 10,
          props: { "Aux/tier": "gold" },
        },
        { node: "n2", name: "pool1", freeGiB: 10 },
        {
          node: "n3",
          name: "pool1",
          freeGiB: 10,
          props: { "Aux/tier": "silver" },
        },
        {
          node: "n4",
          name: "pool1",
          freeGiB: 10,
          props: { "Aux/tier": "gold" },
        },
      ],
      storageClasses: [{
        name: "r2",
        params: { storagePool: "pool1" },
        annotations: scAnnotations,
      }],
      pvcs: [{ name: "data", sc: "r2", size: "1Gi", annotations }],
    });
  const cases: {
    name: string;
    world: World;
    passed: string[];
    verdicts: Record<string, string>;
  }[] = [
    {
      name: "node selector on the claim",
      world: world({ "linstor-suite.io/node-selector": "disk=ssd" }),
      passed: ["n1", "n4"],
      verdicts: { n2: "U selectors", n3: "U selectors", n5: "U satellite" },
    },
    {
      name: "node selector with set syntax on the class",
      world: world({}, {
        "linstor-suite.io/node-selector": "disk in (ssd,hdd),!gpu",
      }),
      passed: ["n1", "n2", "n4"],
      verdicts: { n3: "U selectors", n5: "U satellite" },
    },
    {
      name: "storage pool selector over Aux properties",
      world: world({ "linstor-suite.io/storage-pool-selector": "tier=gold" }),
      passed: ["n1", "n4"],
      verdicts: { n2: "U selectors", n3: "U selectors", n5: "U satellite" },
    },
    {
      name: "invalid selector is a reason on every node, not a crash",
      world: world({ "linstor-suite.io/node-selector": "disk in (ssd" }),
      passed: [],
      verdicts: {
        n1: "U selectors",
        n2: "U selectors",
        n3: "U selectors",
        n4: "U selectors",
        n5: "U satellite",
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { passed, verdicts, outcome } = run(
        c.world,
        makePod("p", { claims: ["data"] }),
      );
      assert.deepEqual(passed, c.passed);
      assert.deepEqual(verdicts, c.verdicts);
      if (c.name.startsWith("invalid")) {
        assert.match(
          outcome.rejected.get("n1")?.reason ?? "",
          /invalid node selector: Cannot parse label selector/,
        );
      }
    });
  }
});

Deno.test("`filterNodes()` runs only the configured predicates, in order", async (t) => {
  // n1 passes everything; n2 fails access and capacity; n3 access and
  // selectors; n4 access, selectors and capacity; n5 every predicate.
  const world = bound("local", [{ resource: "pvc-data", node: "n1" }], {
    pvcs: [
      { name: "data", sc: "local", volumeName: "pv-data" },
      {
        name: "new",
        sc: "local",
        size: "5Gi",
        annotations: {
          "linstor-suite.io/node-selector": "topology.kubernetes.io/zone=a",
        },
      },
    ],
  });
  const cases: {
    predicates: ExtenderConfig["predicates"];
    verdicts: Record<string, string>;
  }[] = [
    {
      predicates: ["satellite", "access", "selectors", "capacity"],
      verdicts: {
        n2: "U access",
        n3: "U access",
        n4: "U access",
        n5: "U satellite",
      },
    },
    {
      predicates: ["capacity", "selectors", "access", "satellite"],
      verdicts: {
        n2: "U capacity",
        n3: "U selectors",
        n4: "U capacity",
        n5: "U capacity",
      },
    },
    {
      predicates: ["selectors", "satellite", "capacity", "access"],
      verdicts: {
        n2: "U capacity",
        n3: "U selectors",
        n4: "U selectors",
        n5: "U selectors",
      },
    },
    {
      predicates: ["access"],
      verdicts: {
        n2: "U access",
        n3: "U access",
        n4: "U access",
        n5: "U access",
      },
    },
    {
      predicates: ["satellite", "capacity"],
      verdicts: { n2: "U capacity", n4: "U capacity", n5: "U satellite" },
    },
  ];
  for (const c of cases) {
    await t.step(c.predicates.join(", "), () => {
      const { passed, verdicts } = run(
        world,
        makePod("p", { claims: ["data", "new"] }),
        { config: { ...DEFAULT_EXTENDER_CONFIG, predicates: c.predicates } },
      );
      assert.deepEqual(
        passed,
        NAMES.filter((n) => !(n in c.verdicts)),
      );
      assert.deepEqual(verdicts, c.verdicts);
    });
  }
});

Deno.test("`filterNodes()` counts claims with a selected node as implicit reservations", async (t) => {
  const claims = (extra: Partial<NonNullable<World["pvcs"]>[number]> = {}) => [
    { name: "data", sc: "local", size: "5Gi" },
    {
      name: "other",
      sc: "local",
      size: "8Gi",
      annotations: { "volume.kubernetes.io/selected-node": "n1" },
      ...extra,
    },
  ];
  await t.step(
    "another pod's claim placed on n1 but not in LINSTOR yet takes its room",
    () => {
      const { passed, outcome } = run(
        base({ pvcs: claims() }),
        makePod("p", { claims: ["data"] }),
      );
      assert.deepEqual(passed, ["n3"]);
      assert.deepEqual(outcome.rejected.get("n1"), {
        predicate: "capacity",
        reason:
          "pool pool1: claim default/data needs 5.0GiB, 2.0GiB free (8.0GiB reserved)",
        unresolvable: false,
      });
    },
  );
  await t.step("the pod's own claim is not charged against it", () => {
    const { passed } = run(
      base({ pvcs: claims() }),
      makePod("p", { claims: ["other"] }),
    );
    assert.deepEqual(passed, ["n1", "n3"]);
    assert.deepEqual(
      run(base({ pvcs: claims() }), makePod("p", { claims: ["data", "other"] }))
        .verdicts.n1,
      "U capacity",
    );
  });
  await t.step("a bound claim holds nothing implicitly", () => {
    const { passed } = run(
      base({ pvcs: claims({ volumeName: "pv-other" }) }),
      makePod("p", { claims: ["data"] }),
    );
    assert.deepEqual(passed, ["n1", "n3"]);
  });
  await t.step("once LINSTOR shows its resource it holds nothing", () => {
    const { passed } = run(
      base({
        pvcs: claims(),
        replicas: [{ resource: "pvc-uid-other", node: "n1" }],
      }),
      makePod("p", { claims: ["data"] }),
    );
    assert.deepEqual(passed, ["n1", "n3"]);
  });
});

Deno.test("`filterNodes()` waits for claims its cache does not have yet, for a while", async (t) => {
  const podAged = (ageMs: number | undefined): V1Pod => {
    const pod = makePod("p", { claims: ["late"] });
    if (ageMs !== undefined) {
      pod.metadata!.creationTimestamp = new Date(T0 - ageMs);
    }
    return pod;
  };
  await t.step(
    "a young pod: every node fails resolvably with the reason",
    () => {
      const { passed, verdicts, outcome } = run(base(), podAged(5_000));
      assert.deepEqual(passed, []);
      assert.deepEqual(verdicts, {
        n1: "F cache",
        n2: "F cache",
        n3: "F cache",
        n4: "F cache",
        n5: "F cache",
      });
      assert.equal(
        outcome.rejected.get("n1")?.reason,
        "claim default/late is not in the extender's cache yet; retrying",
      );
    },
  );
  await t.step("a bound claim whose PV is not cached yet", () => {
    const world = base({
      pvcs: [{ name: "late", sc: "r2", volumeName: "pv-late" }],
    });
    assert.deepEqual(run(world, podAged(1_000)).passed, []);
  });
  await t.step(
    "a bound claim of another provisioner's class whose PV is not cached is not held",
    () => {
      const world = base({
        storageClasses: [{ name: "ebs", provisioner: "ebs.csi.aws.com" }],
        pvcs: [{ name: "late", sc: "ebs", volumeName: "pv-late" }],
      });
      assert.deepEqual(run(world, podAged(1_000)).passed, NAMES);
    },
  );
  await t.step(
    "a claim whose StorageClass is unknown is not held",
    () => {
      const world = base({ pvcs: [{ name: "late", sc: "nowhere" }] });
      assert.deepEqual(run(world, podAged(1_000)).passed, NAMES);
    },
  );
  await t.step(
    "after max staleness of pod age it decides with what it has",
    () => {
      assert.deepEqual(run(base(), podAged(60_000)).passed, NAMES);
    },
  );
  await t.step("a pod without a creation time is not held", () => {
    assert.deepEqual(run(base(), podAged(undefined)).passed, NAMES);
  });
});

Deno.test("`filterNodes()` and `scoreNodes()` stop with DeadlineExceeded once the deadline passed", () => {
  const snapshot = buildSnapshot(base({
    pvcs: [{ name: "data", sc: "local", size: "1Gi" }],
  }));
  const names = Array.from({ length: 200 }, (_, i) => `n${(i % 5) + 1}`);
  let checks = 0;
  const options = {
    config: DEFAULT_EXTENDER_CONFIG,
    now: T0,
    reservations: new Reservations({ clock: new FakeClock(T0), ttlMs: 60_000 })
      .view(),
    // Passes after the second check: part of the nodes were evaluated.
    expired: () => ++checks > 2,
  };
  const input = { pod: makePod("p", { claims: ["data"] }), names };
  for (
    const evaluate of [
      () => filterNodes(new SnapshotIndex(snapshot), input, options),
      () => scoreNodes(new SnapshotIndex(snapshot), input, options),
    ]
  ) {
    checks = 0;
    assert.throws(
      evaluate,
      (e: unknown) =>
        e instanceof Error && e.name === "DeadlineExceeded" &&
        /deadline passed after 128 nodes/.test(e.message),
    );
  }
  assert.equal(
    filterNodes(new SnapshotIndex(snapshot), input, {
      ...options,
      expired: () => false,
    }).passed.length,
    120,
  );
});

Deno.test("`filterNodes()` reads node labels from full Node objects when kube-scheduler sends them", () => {
  const world = base({
    kubeNodes: [{ name: "n1" }, { name: "n2" }],
    pvcs: [{
      name: "data",
      sc: "r2",
      size: "1Gi",
      annotations: { "linstor-suite.io/node-selector": "disk=ssd" },
    }],
  });
  const snapshot = buildSnapshot(world);
  const index = new SnapshotIndex(snapshot);
  const filter = (nodes: V1Node[]) =>
    filterNodes(index, {
      pod: makePod("p", { claims: ["data"] }),
      names: ["n1", "n2"],
    }, {
      config: DEFAULT_EXTENDER_CONFIG,
      now: T0,
      reservations: new Reservations({
        clock: new FakeClock(T0),
        ttlMs: 60_000,
      })
        .view(),
      nodes,
    });
  // Labelled as the informer has them (no disk label): both rejected.
  const twins = filter(
    ["n1", "n2"].map((name) => ({
      metadata: {
        name,
        labels: { ...snapshot.kube.nodes.get(name)!.metadata!.labels },
      },
    })),
  );
  assert.deepEqual(twins.passed, []);
  // Then, on the same snapshot, the labels sent are read, not the informer's.
  const outcome = filter([
    { metadata: { name: "n1", labels: { disk: "ssd" } } },
    { metadata: { name: "n2", labels: { disk: "hdd" } } },
  ]);
  assert.deepEqual(outcome.passed, ["n1"]);
  assert.equal(outcome.rejected.get("n2")?.predicate, "selectors");
});
