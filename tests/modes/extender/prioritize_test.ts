import assert from "node:assert/strict";
import {
  capacityToScore,
  DEFAULT_EXTENDER_CONFIG,
  type ExtenderConfig,
  Reservations,
  scoreNodes,
  SnapshotIndex,
} from "../../../src/modes/extender/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { buildSnapshot, GIB, makePod, T0, type World } from "./_snapshot.ts";
import type { V1Pod } from "@kubernetes/client-node";

const ZONE = "topology.kubernetes.io/zone";
const NAMES = ["n1", "n2", "n3", "n4", "n5"];

function world(extra: Partial<World>): World {
  const zones: Record<string, string> = {
    n1: "a",
    n2: "a",
    n3: "b",
    n4: "b",
    n5: "c",
  };
  return {
    linstorNodes: ["n1", "n2", "n3", "n4", "n5"].map((name) => ({ name })),
    kubeNodes: NAMES.map((name) => ({
      name,
      labels: { [ZONE]: zones[name] ?? "" },
    })),
    storageClasses: [{ name: "r2", params: { storagePool: "pool1" } }],
    ...extra,
  };
}

function scores(
  w: World,
  pod: V1Pod,
  config: ExtenderConfig = DEFAULT_EXTENDER_CONFIG,
): Record<string, number> {
  const snapshot = buildSnapshot(w);
  const reservations = new Reservations({
    clock: new FakeClock(T0),
    ttlMs: 60_000,
  });
  const outcome = scoreNodes(new SnapshotIndex(snapshot), {
    pod,
    names: NAMES,
  }, {
    config,
    now: T0,
    reservations: reservations.view(),
  });
  return Object.fromEntries(
    outcome.candidates.map((c, i) => [c.name, outcome.scores[i]!]),
  );
}

function boundWorld(replicas: NonNullable<World["replicas"]>): World {
  return world({
    replicas,
    pvcs: [{ name: "data", sc: "r2", volumeName: "pv-data" }],
    pvs: [{ name: "pv-data", resource: "pvc-data", sc: "r2" }],
  });
}

Deno.test("`scoreNodes()` scores locality of bound volumes 0..10", async (t) => {
  const cases: {
    name: string;
    world: World;
    expected: Record<string, number>;
  }[] = [
    {
      name:
        "UpToDate replica on the node counts fully, same zone partly, tie-breaker and diskless as remote",
      world: boundWorld([
        { resource: "pvc-data", node: "n1" },
        { resource: "pvc-data", node: "n3", role: "tie-breaker" },
        { resource: "pvc-data", node: "n4", role: "diskless" },
      ]),
      expected: { n1: 10, n2: 4, n3: 0, n4: 0, n5: 0 },
    },
    {
      name: "a syncing diskful replica scores less than an UpToDate one",
      world: boundWorld([
        { resource: "pvc-data", node: "n1" },
        { resource: "pvc-data", node: "n3", diskState: "Inconsistent" },
      ]),
      expected: { n1: 10, n2: 4, n3: 6, n4: 0, n5: 0 },
    },
    {
      name: "replicas without DRBD disk state (storage only) count as current",
      world: boundWorld([{
        resource: "pvc-data",
        node: "n5",
        diskState: null,
      }]),
      expected: { n1: 0, n2: 0, n3: 0, n4: 0, n5: 10 },
    },
    {
      name:
        "an OFFLINE-satellite zone peer still gives zone locality (filter handles OFFLINE)",
      world: {
        ...boundWorld([{ resource: "pvc-data", node: "n4" }]),
        linstorNodes: ["n1", "n2", "n3", "n4", "n5"].map((name) => ({
          name,
          ...(name === "n3" ? { status: "OFFLINE" } : {}),
        })),
      },
      expected: { n1: 0, n2: 0, n3: 4, n4: 10, n5: 0 },
    },
    {
      name: "volume with no LINSTOR resource yet gives no opinion",
      world: boundWorld([]),
      expected: { n1: 0, n2: 0, n3: 0, n4: 0, n5: 0 },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.deepEqual(
        scores(c.world, makePod("p", { claims: ["data"] })),
        c.expected,
      );
    });
  }
  await t.step("two volumes average their locality (stays in 0..10)", () => {
    const w = world({
      replicas: [{ resource: "pvc-a", node: "n1" }, {
        resource: "pvc-b",
        node: "n2",
      }],
      pvcs: [{ name: "a", sc: "r2", volumeName: "pv-a" }, {
        name: "b",
        sc: "r2",
        volumeName: "pv-b",
      }],
      pvs: [{ name: "pv-a", resource: "pvc-a", sc: "r2" }, {
        name: "pv-b",
        resource: "pvc-b",
        sc: "r2",
      }],
    });
    // n1: (10 + 4) / 2 = 7; n2 likewise; n3..n5: 0.
    assert.deepEqual(scores(w, makePod("p", { claims: ["a", "b"] })), {
      n1: 7,
      n2: 7,
      n3: 0,
      n4: 0,
      n5: 0,
    });
  });
  await t.step("pods without LINSTOR volumes get 0 everywhere", () => {
    assert.deepEqual(scores(world({}), makePod("p")), {
      n1: 0,
      n2: 0,
      n3: 0,
      n4: 0,
      n5: 0,
    });
  });
});

Deno.test("`scoreNodes()` nests locality levels: a rack counts only within the same zone", () => {
  const RACK = "example.com/rack";
  const placement: Record<string, [string, string]> = {
    n1: ["a", "r1"],
    n2: ["a", "r2"],
    n3: ["b", "r1"],
    n4: ["b", "r2"],
    n5: ["c", "r1"],
  };
  const w = world({
    kubeNodes: NAMES.map((name) => ({
      name,
      labels: { [ZONE]: placement[name]![0], [RACK]: placement[name]![1] },
    })),
    replicas: [{ resource: "pvc-data", node: "n1" }],
    pvcs: [{ name: "data", sc: "r2", volumeName: "pv-data" }],
    pvs: [{ name: "pv-data", resource: "pvc-data", sc: "r2" }],
  });
  const config: ExtenderConfig = {
    ...DEFAULT_EXTENDER_CONFIG,
    locality: {
      ...DEFAULT_EXTENDER_CONFIG.locality,
      levels: [{ key: RACK, score: 6 }, { key: ZONE, score: 4 }],
    },
  };
  // n3 and n5 are in a rack named r1 too, but in other zones: no locality.
  assert.deepEqual(scores(w, makePod("p", { claims: ["data"] }), config), {
    n1: 10,
    n2: 4,
    n3: 0,
    n4: 0,
    n5: 0,
  });
});

Deno.test("`capacityToScore()` follows TopoLVM's formula", async (t) => {
  const cases: [string, number, number, number][] = [
    ["0 bytes", 0, 1, 0],
    ["less than 1 GiB", GIB - 1, 1, 0],
    ["1 GiB", GIB, 1, 0],
    ["128 GiB, divisor 1", 128 * GIB, 1, 7],
    ["128 GiB, divisor 2", 128 * GIB, 2, 6],
    ["128 GiB, divisor 0.5", 128 * GIB, 0.5, 8],
    ["2 TiB is capped at 10", 2048 * GIB, 1, 10],
    ["huge", Number.MAX_SAFE_INTEGER, 1, 10],
  ];
  for (const [name, kib, divisor, expected] of cases) {
    await t.step(
      name,
      () => assert.equal(capacityToScore(kib, divisor), expected),
    );
  }
});

Deno.test("`scoreNodes()` scores capacity of unbound WaitForFirstConsumer claims", async (t) => {
  const pools: World["pools"] = [
    { node: "n1", name: "pool1", freeGiB: 130 },
    { node: "n2", name: "pool1", freeGiB: 9 },
    { node: "n3", name: "pool1", freeGiB: 3 },
    { node: "n4", name: "pool2", freeGiB: 1000 },
  ];
  await t.step(
    "free space before the request on the TopoLVM log2 scale; no pool scores 0",
    () => {
      const w = world({
        pools,
        pvcs: [{ name: "data", sc: "r2", size: "2Gi" }],
      });
      // n1: log2(130)=7; n2: log2(9)=3; n3: log2(3)=1; n4 wrong pool: 0.
      assert.deepEqual(scores(w, makePod("p", { claims: ["data"] })), {
        n1: 7,
        n2: 3,
        n3: 1,
        n4: 0,
        n5: 0,
      });
    },
  );
  await t.step(
    "a pod's earlier claims in the same pool count against its later ones",
    () => {
      const w = world({
        pools,
        pvcs: [{ name: "a", sc: "r2", size: "4Gi" }, {
          name: "b",
          sc: "r2",
          size: "4Gi",
        }],
      });
      // n1: a sees 130 GiB (7), b 126 GiB (6); n2: 9 (3) then 5 (2); n3: b does not fit.
      assert.deepEqual(scores(w, makePod("p", { claims: ["a", "b"] })), {
        n1: 6,
        n2: 2,
        n3: 0,
        n4: 0,
        n5: 0,
      });
    },
  );
  await t.step(
    "per-pool divisors, else the default divisor, scale the free space",
    () => {
      const w = world({
        pools: [
          { node: "n1", name: "pool1", freeGiB: 130 },
          { node: "n4", name: "pool2", freeGiB: 128 },
        ],
        storageClasses: [{ name: "any", params: {} }],
        pvcs: [{ name: "data", sc: "any", size: "1Gi" }],
      });
      const config: ExtenderConfig = {
        ...DEFAULT_EXTENDER_CONFIG,
        capacity: {
          ...DEFAULT_EXTENDER_CONFIG.capacity,
          divisors: { pool1: 4 },
          defaultDivisor: 2,
        },
      };
      // n1: log2(130 / 4) = 5; n4: log2(128 / 2) = 6 (default divisor).
      assert.deepEqual(scores(w, makePod("p", { claims: ["data"] }), config), {
        n1: 5,
        n2: 0,
        n3: 0,
        n4: 6,
        n5: 0,
      });
    },
  );
  await t.step("a node where the claim does not fit scores 0", () => {
    const w = world({ pools, pvcs: [{ name: "data", sc: "r2", size: "5Gi" }] });
    assert.equal(scores(w, makePod("p", { claims: ["data"] })).n3, 0);
  });
  await t.step(
    "bound locality and pending capacity are averaged per volume",
    () => {
      const w = world({
        pools,
        replicas: [{ resource: "pvc-a", node: "n1" }],
        pvcs: [{ name: "a", sc: "r2", volumeName: "pv-a" }, {
          name: "b",
          sc: "r2",
          size: "1Gi",
        }],
        pvs: [{ name: "pv-a", resource: "pvc-a", sc: "r2" }],
      });
      // n1: (10 + 7) / 2 = 8.5 → 9; n2: (4 + 3) / 2 = 3.5 → 4; n3: (0 + 1) / 2 → 1 (0.5 rounds up).
      assert.deepEqual(scores(w, makePod("p", { claims: ["a", "b"] })), {
        n1: 9,
        n2: 4,
        n3: 1,
        n4: 0,
        n5: 0,
      });
    },
  );
});
