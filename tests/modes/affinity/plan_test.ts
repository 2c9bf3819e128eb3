import assert from "node:assert/strict";
import type {
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from "@kubernetes/client-node";
import {
  type AffinityPlanContext,
  encodeRecord,
  intendedPv,
  planAffinity,
  RECORD_VERSION,
  type RecoveryRecord,
} from "../../../src/modes/affinity/mod.ts";
import type {
  Node,
  ResourceDefinition,
  ResourceWithVolumes,
} from "../../../src/linstor/types.ts";
import type { KubeKind } from "../../../src/state/types.ts";
import {
  buildSnapshot,
  kubeNode,
  linstorNode,
  pv,
  pvc,
  resource,
  resourceDefinition,
  storageClass,
} from "../../_builders/mod.ts";

const NOW = Date.UTC(2026, 0, 1, 12);
const CLUSTER = "cluster-a";

interface World {
  nodes: Node[];
  resources: ResourceWithVolumes[];
  resourceDefinitions: ResourceDefinition[];
  pvs: V1PersistentVolume[];
  pvcs: V1PersistentVolumeClaim[];
  storageClasses: V1StorageClass[];
  observedAt?: number | null;
  /** A kind the state model subscribed to but has not listed yet. */
  unsynced?: KubeKind;
  /** Kubernetes Nodes (listed only when given). */
  kubeNodes?: V1Node[];
}

/** A bound LINSTOR PV created an hour ago, with claimRef.uid. */
function boundPv(
  name: string,
  options: { affinityNodes?: string[]; claim?: string; handle?: string } = {},
): V1PersistentVolume {
  const claim = options.claim ?? `ns/claim-${name}`;
  const made = pv(name, {
    claim,
    ...(options.handle ? { handle: options.handle } : {}),
    ...(options.affinityNodes ? { affinityNodes: options.affinityNodes } : {}),
  });
  made.metadata!.creationTimestamp = new Date(NOW - 3_600_000);
  made.spec!.storageClassName = "linstor";
  made.spec!.claimRef!.uid = `uid-${claim}`;
  return made;
}

function claimFor(name: string): V1PersistentVolumeClaim {
  const [namespace, claim] = name.split("/") as [string, string];
  return pvc(namespace, claim, { uid: `uid-${name}`, volumeName: "x" });
}

function world(overrides: Partial<World> = {}): World {
  return {
    nodes: ["a", "b", "c"].map((n) =>
      linstorNode(n, {
        props: {
          "Aux/topology/kubernetes.io/hostname": n,
          "Aux/topology/topology.kubernetes.io/zone": n === "c" ? "z2" : "z1",
        },
      })
    ),
    resources: [resource("pvc-1", "b")],
    resourceDefinitions: [resourceDefinition("pvc-1")],
    pvs: [boundPv("pvc-1", { affinityNodes: ["a"] })],
    pvcs: [claimFor("ns/claim-pvc-1")],
    storageClasses: [
      storageClass("linstor", {
        parameters: { allowRemoteVolumeAccess: "false" },
      }),
    ],
    ...overrides,
  };
}

function plan(w: World, context: Partial<AffinityPlanContext> = {}) {
  const snapshot = buildSnapshot({
    takenAt: NOW,
    linstor: {
      nodes: w.nodes,
      resources: w.resources,
      resourceDefinitions: w.resourceDefinitions,
      observedAt: w.observedAt === undefined ? NOW - 1_000 : w.observedAt,
    },
    kube: Object.fromEntries(
      Object.entries({
        persistentVolumes: w.pvs,
        persistentVolumeClaims: w.pvcs,
        storageClasses: w.storageClasses,
        ...(w.kubeNodes ? { nodes: w.kubeNodes } : {}),
      }).filter(([kind]) => kind !== w.unsynced),
    ),
    kinds: [
      "persistentVolumes",
      "persistentVolumeClaims",
      "storageClasses",
      ...(w.kubeNodes ? ["nodes" as const] : []),
    ],
  });
  return planAffinity(snapshot, {
    now: NOW,
    clusterIdentity: CLUSTER,
    inPlaceSupported: false,
    options: {
      propertyNamespace: "Aux/topology",
      gracePeriodMs: 60_000,
      maxLinstorAgeMs: 60_000,
      maxReplacementsPerPass: 20,
    },
    ...context,
  });
}

Deno.test("planAffinity() picks the least destructive fix for drift", async (t) => {
  await t.step("no affinity yet: SetPvAffinity", () => {
    const got = plan(world({ pvs: [boundPv("pvc-1")] }));
    assert.equal(got.actions.length, 1);
    const action = got.actions[0]!;
    assert.equal(action.kind, "SetPvAffinity");
    assert.equal(action.key, "pv/pvc-1");
    assert.ok(action.kind === "SetPvAffinity");
    assert.deepEqual(action.affinity.required?.nodeSelectorTerms, [{
      matchExpressions: [{
        key: "linbit.com/hostname",
        operator: "In",
        values: ["b"],
      }],
    }]);
    assert.deepEqual(action.claim, {
      namespace: "ns",
      name: "claim-pvc-1",
      uid: "uid-ns/claim-pvc-1",
    });
  });
  await t.step("in-place supported: PatchPvAffinityInPlace", () => {
    const got = plan(world(), { inPlaceSupported: true });
    assert.deepEqual(got.actions.map((a) => a.kind), [
      "PatchPvAffinityInPlace",
    ]);
  });
  await t.step("in-place unsupported: ReplacePvAffinity without probe", () => {
    const got = plan(world());
    const action = got.actions[0]!;
    assert.equal(action.kind, "ReplacePvAffinity");
    assert.ok(action.kind === "ReplacePvAffinity");
    assert.equal(action.probeInPlace, false);
    assert.deepEqual(action.handle, { resource: "pvc-1", volume: 0 });
    assert.equal(got.drifted, 1);
  });
  await t.step("in-place unknown: ReplacePvAffinity that probes first", () => {
    const got = plan(world(), { inPlaceSupported: undefined });
    const action = got.actions[0]!;
    assert.ok(action.kind === "ReplacePvAffinity" && action.probeInPlace);
  });
  await t.step("in sync: nothing", () => {
    const got = plan(
      world({ pvs: [boundPv("pvc-1", { affinityNodes: ["b"] })] }),
    );
    assert.deepEqual(got.actions, []);
    assert.deepEqual(got.skips, []);
    assert.equal(got.examined, 1);
    assert.equal(got.drifted, 0);
  });
  await t.step("anywhere policy removes a stale affinity by replace", () => {
    const got = plan(world({
      storageClasses: [
        storageClass("linstor", {
          parameters: { allowRemoteVolumeAccess: "true" },
        }),
      ],
    }));
    const action = got.actions[0]!;
    assert.ok(action.kind === "ReplacePvAffinity");
    assert.equal(action.affinity, undefined);
  });
  await t.step("handle with a volume number and a foreign PV name", () => {
    const w = world({
      resourceDefinitions: [
        resourceDefinition("cg-1", { volumeSizesKib: [1024, 1024] }),
      ],
      resources: [
        resource("cg-1", "c", {
          volumes: [
            { volume_number: 0, state: { disk_state: "UpToDate" } },
            { volume_number: 1, state: { disk_state: "UpToDate" } },
          ],
        }),
      ],
      pvs: [boundPv("data-x", { handle: "cg-1/1", affinityNodes: ["a"] })],
      pvcs: [claimFor("ns/claim-data-x")],
    });
    const action = plan(w).actions[0]!;
    assert.ok(action.kind === "ReplacePvAffinity");
    assert.deepEqual(action.handle, { resource: "cg-1", volume: 1 });
    assert.equal(
      action.affinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]
        ?.values?.[0],
      "c",
    );
  });
  await t.step("PVs of other drivers are not examined", () => {
    const other = pv("ebs-1", { driver: "ebs.csi.aws.com" });
    const got = plan(world({ pvs: [other] }));
    assert.equal(got.examined, 0);
    assert.deepEqual(got.actions, []);
  });
});

Deno.test("planAffinity() never acts on doubt", async (t) => {
  const cases: {
    name: string;
    world: World;
    reason: string;
    event: boolean;
    pv?: string;
  }[] = [
    {
      name: "no healthy diskful replica",
      world: world({
        resources: [resource("pvc-1", "b", { diskState: "Outdated" })],
      }),
      reason: "NoHealthyReplica",
      event: true,
    },
    {
      name: "only a tie-breaker left",
      world: world({
        resources: [
          resource("pvc-1", "b", {
            flags: ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"],
            diskState: "Diskless",
          }),
        ],
      }),
      reason: "NoHealthyReplica",
      event: true,
    },
    {
      name: "policy key missing on a replica node",
      world: world({
        storageClasses: [
          storageClass("linstor", {
            parameters: { allowRemoteVolumeAccess: "- fromSame: [rack]" },
          }),
        ],
      }),
      reason: "TopologyKeyMissing",
      event: true,
    },
    {
      name: "LINSTOR data stale",
      world: world({ observedAt: NOW - 120_000 }),
      reason: "LinstorStale",
      event: false,
      pv: "",
    },
    {
      name: "LINSTOR never read",
      world: world({ observedAt: null }),
      reason: "LinstorStale",
      event: false,
      pv: "",
    },
    {
      name: "Kubernetes caches not synced",
      world: world({ unsynced: "storageClasses" }),
      reason: "KubeNotSynced",
      event: false,
      pv: "",
    },
    {
      name: "StorageClass missing",
      world: world({ storageClasses: [] }),
      reason: "StorageClassMissing",
      event: true,
    },
    {
      name: "PV younger than the grace period",
      world: world({
        pvs: [(() => {
          const p = boundPv("pvc-1", { affinityNodes: ["a"] });
          p.metadata!.creationTimestamp = new Date(NOW - 10_000);
          return p;
        })()],
      }),
      reason: "TooYoung",
      event: false,
    },
    {
      name: "PV Released",
      world: world({
        pvs: [(() => {
          const p = boundPv("pvc-1", { affinityNodes: ["a"] });
          p.status = { phase: "Released" };
          return p;
        })()],
      }),
      reason: "Released",
      event: false,
    },
    {
      name: "PV being deleted by someone else",
      world: world({
        pvs: [(() => {
          const p = boundPv("pvc-1", { affinityNodes: ["a"] });
          p.metadata!.deletionTimestamp = new Date(NOW - 5_000);
          return p;
        })()],
      }),
      reason: "Deleting",
      event: false,
    },
    {
      name: "PVC missing",
      world: world({ pvcs: [] }),
      reason: "ClaimMissing",
      event: true,
    },
    {
      name: "PVC UID is not the claimRef's",
      world: world({
        pvcs: [pvc("ns", "claim-pvc-1", { uid: "someone-else" })],
      }),
      reason: "ClaimMismatch",
      event: true,
    },
    {
      name: "PVC being deleted",
      world: world({
        pvcs: [(() => {
          const c = claimFor("ns/claim-pvc-1");
          c.metadata!.deletionTimestamp = new Date(NOW);
          return c;
        })()],
      }),
      reason: "ClaimDeleting",
      event: true,
    },
    {
      name: "skip annotation",
      world: world({
        pvs: [(() => {
          const p = boundPv("pvc-1", { affinityNodes: ["a"] });
          p.metadata!.annotations = {
            "piraeus.io/skip-affinity-controller": "yes",
          };
          return p;
        })()],
      }),
      reason: "SkipAnnotation",
      event: false,
    },
    {
      name: "skip property on the resource definition",
      world: world({
        resourceDefinitions: [
          resourceDefinition("pvc-1", {
            props: { "Aux/affinity-updater-skip": "true" },
          }),
        ],
      }),
      reason: "SkipProperty",
      event: false,
    },
    {
      name: "resource definition missing",
      world: world({ resourceDefinitions: [] }),
      reason: "ResourceDefinitionMissing",
      event: true,
    },
    {
      name: "volume number not defined",
      world: world({
        pvs: [boundPv("pvc-1", { handle: "pvc-1/1", affinityNodes: ["a"] })],
      }),
      reason: "VolumeDefinitionMissing",
      event: true,
    },
    {
      name: "invalid volume handle",
      world: world({
        pvs: [boundPv("pvc-1", { handle: "pvc-1/x", affinityNodes: ["a"] })],
      }),
      reason: "InvalidVolumeHandle",
      event: true,
    },
    {
      name: "our replace marker without a recovery record",
      world: world({
        pvs: [(() => {
          const p = boundPv("pvc-1", { affinityNodes: ["a"] });
          p.metadata!.annotations = {
            "affinity.linstor-suite.io/replacing": "uid--pvc-1",
          };
          p.spec!.persistentVolumeReclaimPolicy = "Retain";
          return p;
        })()],
      }),
      reason: "OrphanedReplaceMarker",
      event: true,
    },
    {
      name: "invalid policy",
      world: world({
        storageClasses: [
          storageClass("linstor", {
            parameters: { allowRemoteVolumeAccess: "- fromDifferent: [zone]" },
          }),
        ],
      }),
      reason: "InvalidPolicy",
      event: true,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = plan(c.world);
      assert.deepEqual(got.actions, [], JSON.stringify(got.actions));
      assert.equal(got.skips.length, 1, JSON.stringify(got.skips));
      const skip = got.skips[0]!;
      assert.equal(skip.reason, c.reason);
      assert.equal(skip.event, c.event);
      assert.equal(skip.pvName, c.pv ?? "pvc-1");
      assert.ok(skip.detail.length > 0);
    });
  }
  await t.step("two PVs with one volume handle are both left alone", () => {
    const got = plan(world({
      pvs: [
        boundPv("pvc-1", { affinityNodes: ["a"] }),
        boundPv("pvc-2", { handle: "pvc-1", affinityNodes: ["a"] }),
      ],
      pvcs: [claimFor("ns/claim-pvc-1"), claimFor("ns/claim-pvc-2")],
    }));
    assert.deepEqual(got.actions, []);
    assert.deepEqual(got.skips.map((s) => [s.pvName, s.reason]), [
      ["pvc-1", "DuplicateVolumeHandle"],
      ["pvc-2", "DuplicateVolumeHandle"],
    ]);
  });
});

Deno.test("planAffinity() caps replacements per pass and sorts by key", () => {
  const names = ["pvc-3", "pvc-1", "pvc-2"];
  const w = world({
    resources: names.map((n) => resource(n, "b")),
    resourceDefinitions: names.map((n) => resourceDefinition(n)),
    pvs: names.map((n) => boundPv(n, { affinityNodes: ["a"] })),
    pvcs: names.map((n) => claimFor(`ns/claim-${n}`)),
  });
  const got = plan(w, {
    options: {
      propertyNamespace: "Aux/topology",
      gracePeriodMs: 60_000,
      maxLinstorAgeMs: 60_000,
      maxReplacementsPerPass: 2,
    },
  });
  assert.deepEqual(got.actions.map((a) => a.key), ["pv/pvc-1", "pv/pvc-2"]);
  assert.deepEqual(
    got.skips.map((s) => [s.pvName, s.reason]),
    [["pvc-3", "ReplaceRateLimited"]],
  );
  assert.equal(got.drifted, 3);
  const inPlace = plan(w, {
    inPlaceSupported: true,
    options: {
      propertyNamespace: "Aux/topology",
      gracePeriodMs: 60_000,
      maxLinstorAgeMs: 60_000,
      maxReplacementsPerPass: 0,
    },
  });
  assert.equal(inPlace.actions.length, 3, "in-place changes are not capped");
});

function record(
  live: V1PersistentVolume,
  overrides: Partial<RecoveryRecord> = {},
): RecoveryRecord {
  return {
    version: RECORD_VERSION,
    cluster: CLUSTER,
    pvName: live.metadata!.name!,
    oldUid: live.metadata!.uid!,
    claim: {
      namespace: live.spec!.claimRef!.namespace!,
      name: live.spec!.claimRef!.name!,
      uid: live.spec!.claimRef!.uid!,
    },
    resource: "pvc-1",
    volume: 0,
    writtenAt: new Date(NOW - 5_000).toISOString(),
    pv: intendedPv(live, undefined, {
      originalSkipReclaim: undefined,
      reclaimPolicy: "Delete",
    }),
    ...overrides,
  };
}

function withRecordInLinstor(w: World, r: RecoveryRecord): World {
  return {
    ...w,
    resourceDefinitions: [{
      ...resourceDefinition("pvc-1"),
      volume_definitions: [{
        volume_number: 0,
        size_kib: 1024,
        props: { "Aux/linstor-suite.io/affinity-recovery": encodeRecord(r) },
      }],
    }],
  };
}

/** The record's step marker: written right before our delete (step 3). */
const DELETING = { deletingAt: new Date(NOW - 4_000).toISOString() };

/** `live` after replace step 2: Retain, skip-reclaim and our marker. */
function markedPv(live: V1PersistentVolume): V1PersistentVolume {
  const marked = structuredClone(live);
  marked.spec!.persistentVolumeReclaimPolicy = "Retain";
  marked.metadata!.annotations = {
    ...marked.metadata!.annotations,
    "linstor.csi.linbit.com/skip-reclaim": "true",
    "affinity.linstor-suite.io/replacing": live.metadata!.uid!,
  };
  return marked;
}

/** The record in LINSTOR and mirrored on its claim (as replace step 1 writes it; the step marker stays in LINSTOR). */
function withRecord(w: World, r: RecoveryRecord): World {
  const { deletingAt: _, ...mirrored } = r;
  const text = encodeRecord(mirrored);
  return withRecordInLinstor({
    ...w,
    pvcs: w.pvcs.map((claim) => {
      const copy = structuredClone(claim);
      const meta = copy.metadata!;
      if (
        r.claim !== undefined && meta.namespace === r.claim.namespace &&
        meta.name === r.claim.name && meta.uid === r.claim.uid
      ) {
        meta.annotations = {
          ...meta.annotations,
          "affinity.linstor-suite.io/recovery": text,
        };
      }
      return copy;
    }),
  }, r);
}

Deno.test("planAffinity() resumes interrupted replaces from their records", async (t) => {
  const live = boundPv("pvc-1", { affinityNodes: ["a"] });
  await t.step("PV gone after our delete: ResumeReplacePv", () => {
    const got = plan(withRecord(world({ pvs: [] }), record(live, DELETING)));
    assert.deepEqual(got.actions.map((a) => a.kind), ["ResumeReplacePv"]);
    const action = got.actions[0]!;
    assert.ok(action.kind === "ResumeReplacePv");
    assert.deepEqual(action.locations, ["linstor", "kubernetes"]);
  });
  await t.step(
    "PV marked (step 2 done): ResumeReplacePv",
    () => {
      const got = plan(
        withRecord(world({ pvs: [markedPv(live)] }), record(live)),
      );
      assert.deepEqual(got.actions.map((a) => a.kind), ["ResumeReplacePv"]);
    },
  );
  await t.step(
    "PV marked and Terminating after our delete: ResumeReplacePv",
    () => {
      const marked = markedPv(live);
      marked.metadata!.deletionTimestamp = new Date(NOW);
      const got = plan(
        withRecord(world({ pvs: [marked] }), record(live, DELETING)),
      );
      assert.deepEqual(got.actions.map((a) => a.kind), ["ResumeReplacePv"]);
    },
  );
  await t.step(
    "PV gone without our step marker (deleted by someone else): record dropped with a Warning, nothing re-created",
    () => {
      const got = plan(withRecord(world({ pvs: [] }), record(live)));
      const action = got.actions[0]!;
      assert.ok(action.kind === "DropRecoveryRecord", action.kind);
      assert.ok(!action.finished);
      assert.match(action.abandoned ?? "", /deleted by someone else/);
    },
  );
  await t.step(
    "PV marked and Terminating without our step marker: record dropped with a Warning",
    () => {
      const marked = markedPv(live);
      marked.metadata!.deletionTimestamp = new Date(NOW);
      const got = plan(withRecord(world({ pvs: [marked] }), record(live)));
      const action = got.actions[0]!;
      assert.ok(action.kind === "DropRecoveryRecord", action.kind);
      assert.match(action.abandoned ?? "", /being deleted by someone else/);
    },
  );
  for (
    const [name, undo] of [
      ["reclaim policy set back to Delete", (pv: V1PersistentVolume) => {
        pv.spec!.persistentVolumeReclaimPolicy = "Delete";
      }],
      ["skip-reclaim removed", (pv: V1PersistentVolume) => {
        delete pv.metadata!.annotations!["linstor.csi.linbit.com/skip-reclaim"];
      }],
    ] as const
  ) {
    for (const deleting of [false, true]) {
      await t.step(
        `PV marked but ${name}${
          deleting ? " (Terminating)" : ""
        }: ReplaceUnprotected, nothing deleted`,
        () => {
          const marked = markedPv(live);
          undo(marked);
          if (deleting) marked.metadata!.deletionTimestamp = new Date(NOW);
          const got = plan(
            withRecord(world({ pvs: [marked] }), record(live, DELETING)),
          );
          assert.deepEqual(got.actions, []);
          assert.deepEqual(got.skips.map((s) => [s.reason, s.event]), [
            ["ReplaceUnprotected", true],
          ]);
        },
      );
    }
  }
  await t.step(
    "new PV live (crash after step 5): DropRecoveryRecord, finished",
    () => {
      const fresh = boundPv("pvc-1", { affinityNodes: ["b"] });
      fresh.metadata!.uid = "new-uid";
      const got = plan(
        withRecord(world({ pvs: [fresh] }), record(live)),
      );
      const action = got.actions[0]!;
      assert.ok(action.kind === "DropRecoveryRecord" && action.finished);
    },
  );
  await t.step(
    "old PV untouched and still drifted (crash after step 1): replace again",
    () => {
      const got = plan(withRecord(world(), record(live)));
      assert.deepEqual(got.actions.map((a) => a.kind), ["ReplacePvAffinity"]);
    },
  );
  await t.step("old PV untouched and now in sync: drop the record", () => {
    const synced = boundPv("pvc-1", { affinityNodes: ["b"] });
    const got = plan(
      withRecord(world({ pvs: [synced] }), record(synced)),
    );
    const action = got.actions[0]!;
    assert.ok(action.kind === "DropRecoveryRecord" && !action.finished);
  });
  await t.step("old PV deleted by someone else before step 2: abandon", () => {
    const deleting = structuredClone(live);
    deleting.metadata!.deletionTimestamp = new Date(NOW);
    const got = plan(
      withRecord(world({ pvs: [deleting] }), record(live)),
    );
    const action = got.actions[0]!;
    assert.ok(action.kind === "DropRecoveryRecord" && !action.finished);
  });
  await t.step(
    "record mirrored identically on its PVC is found there too",
    () => {
      const claim = claimFor("ns/claim-pvc-1");
      claim.metadata!.annotations = {
        "affinity.linstor-suite.io/recovery": encodeRecord(record(live)),
      };
      const got = plan(
        withRecordInLinstor(
          world({ pvs: [], pvcs: [claim] }),
          record(live, DELETING),
        ),
      );
      const action = got.actions[0]!;
      assert.ok(action.kind === "ResumeReplacePv");
      assert.deepEqual(action.locations, ["linstor", "kubernetes"]);
      assert.deepEqual(got.skips, []);
    },
  );
  await t.step("another cluster's record is ignored", () => {
    const got = plan(
      withRecordInLinstor(
        world({ pvs: [] }),
        record(live, { cluster: "cluster-b" }),
      ),
    );
    assert.deepEqual(got.actions, []);
    assert.deepEqual(got.skips.map((s) => s.reason), ["ForeignRecoveryRecord"]);
  });
  await t.step("a mirror that disagrees with LINSTOR blocks the PV", () => {
    const claim = claimFor("ns/claim-pvc-1");
    claim.metadata!.annotations = {
      "affinity.linstor-suite.io/recovery": encodeRecord(
        record(live, { oldUid: "other" }),
      ),
    };
    const got = plan(
      withRecordInLinstor(
        world({ pvs: [], pvcs: [claim] }),
        record(live, DELETING),
      ),
    );
    assert.deepEqual(got.actions, []);
    assert.deepEqual(got.skips.map((s) => s.reason), [
      "RecoveryMirrorMismatch",
    ]);
  });
  await t.step("a malformed record is reported and never acted on", () => {
    const w = world({ pvs: [] });
    w.resourceDefinitions = [{
      ...resourceDefinition("pvc-1"),
      volume_definitions: [{
        volume_number: 0,
        props: { "Aux/linstor-suite.io/affinity-recovery": "{not json" },
      }],
    }];
    const got = plan(w);
    assert.deepEqual(got.actions, []);
    assert.deepEqual(got.skips.map((s) => s.reason), ["InvalidRecoveryRecord"]);
  });
});

Deno.test("planAffinity() never acts on a recovery record a tenant can write", async (t) => {
  const live = boundPv("pvc-1", { affinityNodes: ["a"] });
  const synced = boundPv("pvc-1", { affinityNodes: ["b"] });
  const claim = claimFor("ns/claim-pvc-1");
  const annotated = (
    name: string,
    text: string,
    uid = `uid-${name}`,
  ): V1PersistentVolumeClaim => {
    const [namespace, claim] = name.split("/") as [string, string];
    const made = pvc(namespace, claim, { uid, volumeName: "x" });
    made.metadata!.annotations = {
      "affinity.linstor-suite.io/recovery": text,
    };
    return made;
  };
  const untrusted = (
    got: ReturnType<typeof plan>,
    claim: string,
  ) => {
    assert.deepEqual(got.actions, []);
    assert.deepEqual(
      got.skips.map((s) => [
        s.reason,
        s.event,
        `${s.claim?.namespace}/${s.claim?.name}`,
      ]),
      [["UntrustedRecoveryRecord", true, claim]],
    );
  };

  await t.step(
    "a record planted on a PVC alone creates nothing (PV absent, another tenant's volume)",
    () => {
      // The tenant's PVC ns2/mine and a made-up PV bound to it whose
      // handle is the victim's LINSTOR volume pvc-1.
      const forged = record(live, {
        pvName: "pvc-forged",
        claim: { namespace: "ns2", name: "mine", uid: "uid-ns2/mine" },
      });
      const pvSpec = structuredClone(forged.pv);
      pvSpec.metadata!.name = "pvc-forged";
      pvSpec.spec!.claimRef = {
        namespace: "ns2",
        name: "mine",
        uid: "uid-ns2/mine",
      };
      const text = encodeRecord({ ...forged, pv: pvSpec });
      untrusted(
        plan(
          world({ pvs: [synced], pvcs: [claim, annotated("ns2/mine", text)] }),
        ),
        "ns2/mine",
      );
    },
  );
  await t.step(
    "a PVC copy of the victim's own record alone creates nothing",
    () => {
      const text = encodeRecord(record(live));
      untrusted(
        plan(world({ pvs: [], pvcs: [annotated("ns/claim-pvc-1", text)] })),
        "ns/claim-pvc-1",
      );
    },
  );
  await t.step("an unreadable PVC copy is reported on that PVC", () => {
    untrusted(
      plan(
        world({ pvs: [synced], pvcs: [annotated("ns/claim-pvc-1", "{no")] }),
      ),
      "ns/claim-pvc-1",
    );
  });
  await t.step(
    "a copy on another PVC neither acts nor blocks the real record",
    () => {
      const text = encodeRecord(record(live));
      const got = plan(
        withRecordInLinstor(
          world({
            pvs: [],
            pvcs: [claimFor("ns/claim-pvc-1"), annotated("ns2/mine", text)],
          }),
          record(live, DELETING),
        ),
      );
      assert.deepEqual(got.skips.map((s) => [s.reason, s.claim?.name]), [
        ["RecoveryMirrorMismatch", "claim-pvc-1"],
        ["UntrustedRecoveryRecord", "mine"],
      ]);
      assert.deepEqual(got.actions, [], "the victim's mirror is missing");
    },
  );
  await t.step(
    "the claim gone or replaced: the LINSTOR record alone is trusted",
    () => {
      const replaced = annotated(
        "ns/claim-pvc-1",
        encodeRecord(record(live)),
        "a-new-uid",
      );
      const got = plan(
        withRecordInLinstor(
          world({ pvs: [], pvcs: [replaced] }),
          record(live, DELETING),
        ),
      );
      assert.deepEqual(got.actions.map((a) => a.kind), ["ResumeReplacePv"]);
      assert.deepEqual(got.skips.map((s) => s.reason), [
        "UntrustedRecoveryRecord",
      ]);
    },
  );
  await t.step(
    "mirror missing on a PV marked for replace: nothing deleted",
    () => {
      const got = plan(
        withRecordInLinstor(world({ pvs: [markedPv(live)] }), record(live)),
      );
      assert.deepEqual(got.actions, []);
      assert.deepEqual(got.skips.map((s) => [s.reason, s.event]), [
        ["RecoveryMirrorMismatch", true],
      ]);
    },
  );
  await t.step(
    "mirror missing on an untouched PV: re-planned from the live PV",
    () => {
      const got = plan(withRecordInLinstor(world(), record(live)));
      assert.deepEqual(got.actions.map((a) => a.kind), ["ReplacePvAffinity"]);
    },
  );
  const inconsistent: {
    name: string;
    change: (r: RecoveryRecord) => RecoveryRecord;
  }[] = [
    {
      name: "its PV's volume handle is another volume",
      change: (r) => {
        const other = structuredClone(r.pv);
        other.spec!.csi!.volumeHandle = "pvc-2";
        return { ...r, pv: other };
      },
    },
    {
      name: "its PV has another CSI driver",
      change: (r) => {
        const other = structuredClone(r.pv);
        other.spec!.csi!.driver = "ebs.csi.aws.com";
        return { ...r, pv: other };
      },
    },
    {
      name: "it names a resource other than the one it sits on",
      change: (r) => ({ ...r, resource: "pvc-2" }),
    },
    {
      name: "its PV's claimRef is another claim",
      change: (r) => {
        const other = structuredClone(r.pv);
        other.spec!.claimRef!.uid = "uid-someone-else";
        return { ...r, pv: other };
      },
    },
    {
      name: "it names no claim but its PV has a claimRef",
      change: (r) => {
        const { claim: _, ...rest } = r;
        return rest;
      },
    },
  ];
  for (const c of inconsistent) {
    await t.step(`a LINSTOR record is refused when ${c.name}`, () => {
      const got = plan(
        withRecordInLinstor(
          world({ pvs: [] }),
          c.change(record(live, DELETING)),
        ),
      );
      assert.deepEqual(got.actions, []);
      assert.deepEqual(got.skips.map((s) => [s.reason, s.event]), [
        ["InvalidRecoveryRecord", true],
      ]);
    });
  }
  await t.step(
    "the PV name held by an unrelated PV: the record is dropped, nothing created",
    () => {
      const foreign = boundPv("pvc-1", { handle: "pvc-9" });
      foreign.metadata!.uid = "someone-elses";
      const got = plan(
        withRecordInLinstor(world({ pvs: [foreign] }), record(live)),
      );
      const action = got.actions[0]!;
      assert.ok(action.kind === "DropRecoveryRecord" && !action.finished);
    },
  );
});

Deno.test("planAffinity() acts on a drift only after it pointed at the same nodes for settleMs", async (t) => {
  const settle = {
    propertyNamespace: "Aux/topology",
    gracePeriodMs: 60_000,
    maxLinstorAgeMs: 60_000,
    maxReplacementsPerPass: 20,
    settleMs: 30_000,
  };
  await t.step("first sight: remembered, not acted on", () => {
    const got = plan(world(), { options: settle });
    assert.deepEqual(got.actions, []);
    assert.deepEqual(got.skips.map((s) => s.reason), ["DriftSettling"]);
    assert.deepEqual(got.driftSeen.get("pvc-1"), {
      target: "{linbit.com/hostname=b}",
      since: NOW,
    });
    assert.equal(got.drifted, 1);
  });
  await t.step("same target long enough: acted on", () => {
    const got = plan(world(), {
      options: settle,
      driftSeen: new Map([["pvc-1", {
        target: "{linbit.com/hostname=b}",
        since: NOW - 30_000,
      }]]),
    });
    assert.deepEqual(got.actions.map((a) => a.kind), ["ReplacePvAffinity"]);
    assert.equal(got.driftSeen.get("pvc-1")?.since, NOW - 30_000);
  });
  await t.step("target changed meanwhile: the clock restarts", () => {
    const got = plan(world(), {
      options: settle,
      driftSeen: new Map([["pvc-1", {
        target: "{linbit.com/hostname=c}",
        since: NOW - 60_000,
      }]]),
    });
    assert.deepEqual(got.actions, []);
    assert.equal(got.driftSeen.get("pvc-1")?.since, NOW);
  });
  await t.step("drift gone: forgotten", () => {
    const got = plan(
      world({ pvs: [boundPv("pvc-1", { affinityNodes: ["b"] })] }),
      {
        options: settle,
        driftSeen: new Map([["pvc-1", {
          target: "{linbit.com/hostname=b}",
          since: NOW - 5_000,
        }]]),
      },
    );
    assert.equal(got.driftSeen.size, 0);
  });
  await t.step("stale LINSTOR keeps the memory", () => {
    const seen = new Map([["pvc-1", {
      target: "{linbit.com/hostname=b}",
      since: NOW - 5_000,
    }]]);
    const got = plan(world({ observedAt: NOW - 120_000 }), {
      options: settle,
      driftSeen: seen,
    });
    assert.equal(got.driftSeen, seen);
  });
});

Deno.test("planAffinity() resolves a volume's rules as linstor-csi created it", async (t) => {
  const RACK = "failure-domain.beta.kubernetes.io/zone";
  const legacy = (parameters: Record<string, string>) => [{
    ...resourceDefinition("pvc-1"),
    props: {
      "Aux/csi-volume-annotations": JSON.stringify({ parameters }),
    },
  }];
  const affinityOf = (got: ReturnType<typeof plan>) => {
    const action = got.actions[0];
    assert.ok(action?.kind === "ReplacePvAffinity", JSON.stringify(got.skips));
    return action.affinity?.required?.nodeSelectorTerms.map((term) =>
      (term.matchExpressions ?? []).map((e) => `${e.key}=${e.values}`).join()
    );
  };
  await t.step(
    "legacy parameters in LINSTOR win over the StorageClass (no volume context)",
    () => {
      // The class now says "anywhere", the volume was made local-only.
      const got = plan(world({
        resourceDefinitions: legacy({ allowRemoteVolumeAccess: "false" }),
        storageClasses: [
          storageClass("linstor", {
            parameters: { allowRemoteVolumeAccess: "true" },
          }),
        ],
      }));
      assert.deepEqual(affinityOf(got), ["linbit.com/hostname=b"]);
    },
  );
  await t.step("legacy parameters apply without a StorageClass", () => {
    const got = plan(world({
      resourceDefinitions: legacy({ allowRemoteVolumeAccess: "false" }),
      storageClasses: [],
    }));
    assert.deepEqual(affinityOf(got), ["linbit.com/hostname=b"]);
  });
  await t.step("the volume context still wins over legacy parameters", () => {
    const withContext = boundPv("pvc-1", { affinityNodes: ["a"] });
    withContext.spec!.csi!.volumeAttributes = {
      "linstor.csi.linbit.com/uses-volume-context": "true",
      "linstor.csi.linbit.com/remote-access-policy":
        "- fromSame: [topology.kubernetes.io/zone]",
    };
    const got = plan(world({
      pvs: [withContext],
      resourceDefinitions: legacy({ allowRemoteVolumeAccess: "false" }),
    }));
    assert.deepEqual(affinityOf(got), ["topology.kubernetes.io/zone=z1"]);
  });
  await t.step("unreadable legacy parameters: InvalidPolicy", () => {
    const got = plan(world({
      resourceDefinitions: [{
        ...resourceDefinition("pvc-1"),
        props: { "Aux/csi-volume-annotations": "{oops" },
      }],
    }));
    assert.deepEqual(got.actions, []);
    assert.deepEqual(got.skips.map((s) => [s.reason, s.event]), [
      ["InvalidPolicy", true],
    ]);
  });
  const racks = ["a", "b", "c"].map((n) =>
    kubeNode(n, { labels: { [RACK]: n === "c" ? "r2" : "r1" } })
  );
  await t.step("Balanced StorageClass: the rack of the replicas", () => {
    const got = plan(world({
      kubeNodes: racks,
      storageClasses: [
        storageClass("linstor", {
          parameters: {
            allowRemoteVolumeAccess: "false",
            placementPolicy: "Balanced",
          },
        }),
      ],
    }));
    assert.deepEqual(affinityOf(got), [`${RACK}=r1`]);
  });
  await t.step("Balanced in the legacy parameters", () => {
    const got = plan(world({
      kubeNodes: racks,
      resourceDefinitions: legacy({ placementPolicy: "Balanced" }),
    }));
    assert.deepEqual(affinityOf(got), [`${RACK}=r1`]);
  });
  await t.step("Balanced with a nodeList is Manual: the generic rule", () => {
    const got = plan(world({
      kubeNodes: racks,
      storageClasses: [
        storageClass("linstor", {
          parameters: {
            allowRemoteVolumeAccess: "false",
            placementPolicy: "Balanced",
            nodeList: "b",
          },
        }),
      ],
    }));
    assert.deepEqual(affinityOf(got), ["linbit.com/hostname=b"]);
  });
  await t.step("an unknown placement policy: InvalidPolicy", () => {
    const got = plan(world({
      storageClasses: [
        storageClass("linstor", {
          parameters: { placementPolicy: "Random" },
        }),
      ],
    }));
    assert.deepEqual(got.skips.map((s) => s.reason), ["InvalidPolicy"]);
  });
});
