import assert from "node:assert/strict";
import type { V1PersistentVolume } from "@kubernetes/client-node";
import { Registry } from "../../../src/observability/mod.ts";
import { KubeApiError } from "../../../src/kube/mod.ts";
import type { FakeKube } from "../../_fakes/fake_kube.ts";
import {
  encodeRecord,
  intendedPv,
  RECORD_VERSION,
  REPLACE_STEPS,
} from "../../../src/modes/affinity/mod.ts";
import {
  affinityHosts,
  CLUSTER,
  createWorld,
  RECORD_ANNOTATION,
  RECORD_PROP,
  type World,
} from "./_world.ts";

async function pass(world: World, mode = world.mode()) {
  const controller = new AbortController();
  return await mode.pass(controller.signal);
}

/** Moves pvc-1 from `a` to `b`; a pass then crashes after replace `step`. */
async function crashAfterStep(world: World, step: number) {
  world.sim.apply({
    action: "move-replica",
    resource: "pvc-1",
    from: "a",
    to: "b",
  });
  return await pass(
    world,
    world.mode({
      inPlace: false,
      afterReplaceStep(done) {
        if (done === step) throw new Error(`crash after step ${done}`);
      },
    }),
  );
}

/**
 * `world.kube` with `after(firstArgument)` run once each call of `method`
 * resolved: what another writer does right after our call.
 */
function afterCall(
  world: World,
  method: "get" | "create",
  after: (first: { kind: string }) => void,
): FakeKube {
  return new Proxy(world.kube, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property !== method) return value.bind(target);
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        after(args[0] as { kind: string });
        return result;
      };
    },
  });
}

/** Everything a finished replace must leave behind. */
function assertReplaced(
  world: World,
  name: string,
  options: { hosts: string[]; oldUid: string },
) {
  const live = world.pv(name);
  assert.ok(live, `PV ${name} exists`);
  assert.notEqual(live.metadata?.uid, options.oldUid, "PV was re-created");
  assert.deepEqual(affinityHosts(live), options.hosts);
  assertFidelity(live);
  const annotations = live.metadata?.annotations ?? {};
  assert.equal(annotations["linstor.csi.linbit.com/skip-reclaim"], undefined);
  assert.equal(annotations["affinity.linstor-suite.io/replacing"], undefined);
  const claim = world.pvc(name);
  assert.equal(claim?.status?.phase, "Bound");
  assert.equal(claim?.spec?.volumeName, name);
  assert.equal(claim?.metadata?.annotations?.[RECORD_ANNOTATION], undefined);
  assert.equal(world.vdProps(name)[RECORD_PROP], undefined);
  assert.ok(
    world.sim.state().resourceDefinitions.some((d) => d.name === name),
    "the LINSTOR volume is kept",
  );
}

/** Every field of `fullPv()` survived. */
function assertFidelity(live: V1PersistentVolume) {
  const spec = live.spec!;
  assert.equal(spec.persistentVolumeReclaimPolicy, "Delete");
  assert.deepEqual(spec.mountOptions, ["noatime", "discard"]);
  assert.equal(spec.volumeAttributesClassName, "gold");
  assert.equal(spec.volumeMode, "Filesystem");
  assert.equal(spec.storageClassName, "linstor");
  assert.equal(spec.csi?.fsType, "ext4");
  assert.deepEqual(spec.csi?.nodeExpandSecretRef, {
    name: "ne",
    namespace: "ns",
  });
  assert.deepEqual(spec.csi?.nodeStageSecretRef, {
    name: "ns",
    namespace: "ns",
  });
  assert.deepEqual(spec.csi?.nodePublishSecretRef, {
    name: "np",
    namespace: "ns",
  });
  assert.deepEqual(spec.csi?.controllerPublishSecretRef, {
    name: "cp",
    namespace: "ns",
  });
  assert.deepEqual(spec.csi?.controllerExpandSecretRef, {
    name: "ce",
    namespace: "ns",
  });
  assert.equal(spec.claimRef?.uid, `uid-claim-${live.metadata?.name}`);
  assert.deepEqual(live.metadata?.labels, { team: "data" });
  assert.equal(
    live.metadata?.annotations?.["pv.kubernetes.io/provisioned-by"],
    "linstor.csi.linbit.com",
  );
  assert.deepEqual(live.metadata?.finalizers, [
    "kubernetes.io/pv-protection",
    "external-provisioner.volume.kubernetes.io/finalizer",
  ]);
}

Deno.test("affinity pass replaces a drifted PV, keeping every field and the binding", async () => {
  const world = createWorld();
  try {
    const oldUid = world.pv("pvc-1")!.metadata!.uid!;
    world.sim.apply({
      action: "move-replica",
      resource: "pvc-1",
      from: "a",
      to: "b",
    });
    const report = await pass(world, world.mode({ inPlace: false }));
    assert.deepEqual(report.execution.failed, []);
    assert.deepEqual(report.plan.actions.map((a) => a.kind), [
      "ReplacePvAffinity",
    ]);
    assertReplaced(world, "pvc-1", { hosts: ["b"], oldUid });
    const events = world.kube.events().filter((e) =>
      e.reason === "VolumeAffinityUpdated"
    );
    assert.deepEqual(
      events.map((e) => e.regarding?.kind).sort(),
      ["PersistentVolume", "PersistentVolumeClaim"],
    );
    const again = await pass(world);
    assert.deepEqual(again.plan.actions, [], "converged in one pass");
  } finally {
    world.close();
  }
});

Deno.test("affinity pass sets nodeAffinity in place on a PV that has none", async () => {
  const world = createWorld({ noAffinity: true });
  try {
    const oldUid = world.pv("pvc-1")!.metadata!.uid!;
    const report = await pass(world);
    assert.deepEqual(report.plan.actions.map((a) => a.kind), ["SetPvAffinity"]);
    assert.deepEqual(report.execution.failed, []);
    const live = world.pv("pvc-1")!;
    assert.equal(live.metadata?.uid, oldUid, "same PV object");
    assert.deepEqual(affinityHosts(live), ["a"]);
    assertFidelity(live);
  } finally {
    world.close();
  }
});

Deno.test("affinity pass probes in-place support and changes affinity in place when allowed", async (t) => {
  await t.step(
    "MutablePVNodeAffinity on: same PV object, new affinity",
    async () => {
      const world = createWorld({ mutable: true });
      try {
        const oldUid = world.pv("pvc-1")!.metadata!.uid!;
        world.sim.apply({
          action: "move-replica",
          resource: "pvc-1",
          from: "a",
          to: "c",
        });
        const mode = world.mode();
        const first = await pass(world, mode);
        const action = first.plan.actions[0]!;
        assert.ok(action.kind === "ReplacePvAffinity" && action.probeInPlace);
        assert.deepEqual(first.execution.failed, []);
        const live = world.pv("pvc-1")!;
        assert.equal(live.metadata?.uid, oldUid, "not re-created");
        assert.deepEqual(affinityHosts(live), ["c"]);
        assert.equal(world.vdProps("pvc-1")[RECORD_PROP], undefined);
        world.sim.apply({
          action: "move-replica",
          resource: "pvc-1",
          from: "c",
          to: "b",
        });
        const second = await pass(world, mode);
        assert.deepEqual(second.plan.actions.map((a) => a.kind), [
          "PatchPvAffinityInPlace",
        ]);
        assert.deepEqual(affinityHosts(world.pv("pvc-1")), ["b"]);
        assert.equal(world.pv("pvc-1")!.metadata?.uid, oldUid);
      } finally {
        world.close();
      }
    },
  );
  await t.step(
    "MutablePVNodeAffinity off: the probe fails, the PV is replaced",
    async () => {
      const world = createWorld();
      try {
        const oldUid = world.pv("pvc-1")!.metadata!.uid!;
        world.sim.apply({
          action: "move-replica",
          resource: "pvc-1",
          from: "a",
          to: "c",
        });
        const mode = world.mode();
        const report = await pass(world, mode);
        assert.deepEqual(report.execution.failed, []);
        assertReplaced(world, "pvc-1", { hosts: ["c"], oldUid });
        world.sim.apply({
          action: "move-replica",
          resource: "pvc-1",
          from: "c",
          to: "b",
        });
        await world.clock.advance(120_000);
        const next = await pass(world, mode);
        const action = next.plan.actions[0]!;
        assert.ok(
          action.kind === "ReplacePvAffinity" && !action.probeInPlace,
          "the answer is remembered",
        );
      } finally {
        world.close();
      }
    },
  );
});

Deno.test("affinity replace resumes after a crash right after each step", async (t) => {
  for (let step = 1; step < REPLACE_STEPS.length; step++) {
    await t.step(`step ${step}: ${REPLACE_STEPS[step]}`, async () => {
      const world = createWorld();
      try {
        const oldUid = world.pv("pvc-1")!.metadata!.uid!;
        const crashed = await crashAfterStep(world, step);
        assert.equal(crashed.execution.failed.length, 1);
        const gone = REPLACE_STEPS[step] === "remove finalizers";
        assert.equal(world.pv("pvc-1") === undefined, gone);
        if (gone) {
          assert.equal(world.pvc("pvc-1")?.status?.phase, "Lost");
        }
        // A restarted process: fresh memory, same cluster.
        for (let i = 0; i < 3; i++) {
          const report = await pass(world, world.mode({ inPlace: false }));
          assert.deepEqual(report.execution.failed, []);
          if (report.plan.actions.length === 0) break;
        }
        assertReplaced(world, "pvc-1", { hosts: ["b"], oldUid });
        await world.clock.advance(120_000);
        const last = await pass(world, world.mode({ inPlace: false }));
        assert.deepEqual(last.plan.actions, []);
        assert.deepEqual(last.plan.skips, []);
      } finally {
        world.close();
      }
    });
  }
});

Deno.test("affinity replace keeps the data when the claim is replaced mid-replace", async () => {
  const world = createWorld();
  try {
    await crashAfterStep(world, 5);
    assert.equal(world.pv("pvc-1"), undefined, "old PV gone");
    // The claim was deleted and re-created by someone (new UID).
    const claim = world.pvc("pvc-1")!;
    world.kube.seed("persistentVolumeClaims", {
      ...claim,
      metadata: { ...claim.metadata, uid: "someone-else" },
    });
    const report = await pass(world, world.mode({ inPlace: false }));
    assert.deepEqual(report.execution.failed, []);
    const live = world.pv("pvc-1")!;
    assert.equal(live.spec?.persistentVolumeReclaimPolicy, "Retain");
    assert.ok(
      world.kube.events().some((e) => e.reason === "VolumeAffinityClaimLost"),
    );
    assert.equal(world.vdProps("pvc-1")[RECORD_PROP], undefined);
  } finally {
    world.close();
  }
});

Deno.test("affinity records of two clusters sharing one LINSTOR do not cross", async () => {
  const world = createWorld();
  try {
    await crashAfterStep(world, 5);
    assert.equal(world.pv("pvc-1"), undefined);
    assert.ok(world.vdProps("pvc-1")[RECORD_PROP]);
    const other = await pass(
      world,
      world.mode({ inPlace: false }, { identity: "cluster-b" }),
    );
    assert.deepEqual(
      other.plan.actions,
      [],
      "cluster B does not create the PV",
    );
    assert.deepEqual(
      other.plan.skips.map((s) => s.reason),
      ["ForeignRecoveryRecord", "ForeignRecoveryRecord"],
      "found in LINSTOR and on the PVC, ignored in both",
    );
    assert.equal(world.pv("pvc-1"), undefined);
    assert.ok(
      world.vdProps("pvc-1")[RECORD_PROP],
      "cluster B keeps A's record",
    );
    const own = await pass(
      world,
      world.mode({ inPlace: false }, { identity: CLUSTER }),
    );
    assert.deepEqual(own.plan.actions.map((a) => a.kind), ["ResumeReplacePv"]);
    assert.deepEqual(affinityHosts(world.pv("pvc-1")), ["b"]);
  } finally {
    world.close();
  }
});

Deno.test("affinity dry-run prints the plan and changes nothing", async () => {
  const world = createWorld();
  try {
    world.sim.apply({
      action: "move-replica",
      resource: "pvc-1",
      from: "a",
      to: "b",
    });
    const before = world.pv("pvc-1");
    const lines: string[] = [];
    const mode = world.mode({ dryRun: true, inPlace: false }, {
      print: (line) => lines.push(line),
    });
    const writes = world.kube.actions().length;
    const report = await mode.pass(new AbortController().signal);
    assert.equal(report.execution.skipped[0]?.reason, "dry-run");
    assert.deepEqual(world.pv("pvc-1"), before);
    assert.equal(world.kube.actions().length, writes, "no apiserver writes");
    assert.equal(world.vdProps("pvc-1")[RECORD_PROP], undefined);
    assert.deepEqual(lines, [
      "dry-run: ReplacePvAffinity pv/pvc-1: replace PV pvc-1 with nodeAffinity {linbit.com/hostname=b}\n",
    ]);
  } finally {
    world.close();
  }
});

Deno.test("affinity pass converges 200 drifted PVs", async () => {
  const volumes = Array.from({ length: 200 }, (_, i) => `pvc-${i}`);
  const world = createWorld({ volumes });
  try {
    for (const v of volumes) {
      world.sim.apply({
        action: "move-replica",
        resource: v,
        from: "a",
        to: "b",
      });
    }
    const mode = world.mode({ inPlace: false, maxReplacementsPerPass: 50 });
    let passes = 0;
    for (; passes < 10; passes++) {
      const report = await pass(world, mode);
      assert.deepEqual(report.execution.failed, []);
      if (report.plan.actions.length === 0) break;
      assert.ok(
        report.plan.actions.filter((a) => a.kind === "ReplacePvAffinity")
          .length <= 50,
        "rate limited",
      );
    }
    assert.equal(passes, 4, "200 replacements at 50 per pass");
    for (const v of volumes) {
      assert.deepEqual(affinityHosts(world.pv(v)), ["b"]);
      assert.equal(world.pvc(v)?.status?.phase, "Bound");
    }
  } finally {
    world.close();
  }
});

Deno.test("affinity replace stops between steps when leadership is lost, and the next leader finishes", async () => {
  const world = createWorld();
  try {
    const oldUid = world.pv("pvc-1")!.metadata!.uid!;
    world.sim.apply({
      action: "move-replica",
      resource: "pvc-1",
      from: "a",
      to: "b",
    });
    let leader = true;
    const losing = await pass(
      world,
      world.mode({
        inPlace: false,
        afterReplaceStep(done) {
          if (done === 2) leader = false;
        },
      }, { isLeader: () => leader }),
    );
    assert.equal(losing.execution.failed.length, 1);
    assert.match(
      String((losing.execution.failed[0]?.error as Error).message),
      /no longer the leader/,
    );
    const stopped = world.pv("pvc-1")!;
    assert.equal(
      stopped.metadata?.uid,
      oldUid,
      "not deleted by the old leader",
    );
    assert.equal(stopped.spec?.persistentVolumeReclaimPolicy, "Retain");
    const follower = await pass(
      world,
      world.mode({ inPlace: false }, { isLeader: () => false }),
    );
    assert.deepEqual(follower.plan.actions.map((a) => a.kind), [
      "ResumeReplacePv",
    ]);
    assert.equal(follower.execution.skipped[0]?.reason, "not-leader");
    await pass(world, world.mode({ inPlace: false }));
    assertReplaced(world, "pvc-1", { hosts: ["b"], oldUid });
  } finally {
    world.close();
  }
});

Deno.test("affinity mode detects the property namespace once LINSTOR is readable and keeps it", async () => {
  const world = createWorld();
  try {
    const mode = world.mode();
    const first = await pass(world, mode);
    assert.equal(first.propertyNamespace, "Aux/topology");
    // Even if the topology props vanish later, the namespace does not flip.
    for (const node of ["a", "b", "c"]) {
      await world.client.nodes.modify(node, {
        delete_props: ["Aux/topology/kubernetes.io/hostname"],
      });
    }
    const second = await pass(world, mode);
    assert.equal(second.propertyNamespace, "Aux/topology");
    const fresh = await pass(world, world.mode());
    assert.equal(fresh.propertyNamespace, "Aux", "a new process detects anew");
  } finally {
    world.close();
  }
});

Deno.test("affinity reports a rejected in-place change and a probing process replaces instead", async () => {
  const world = createWorld();
  try {
    const oldUid = world.pv("pvc-1")!.metadata!.uid!;
    world.sim.apply({
      action: "move-replica",
      resource: "pvc-1",
      from: "a",
      to: "b",
    });
    const mode = world.mode();
    // --in-place=always against an apiserver without MutablePVNodeAffinity.
    const probe = await pass(world, world.mode({ inPlace: true }));
    assert.deepEqual(probe.plan.actions.map((a) => a.kind), [
      "PatchPvAffinityInPlace",
    ]);
    assert.equal(probe.execution.failed.length, 1, "422 from the apiserver");
    const report = await pass(world, mode);
    assert.deepEqual(report.execution.failed, []);
    assertReplaced(world, "pvc-1", { hosts: ["b"], oldUid });
  } finally {
    world.close();
  }
});

Deno.test("affinity pass creates no PV from a record planted on a PVC, and warns on that PVC once", async () => {
  const world = createWorld({ volumes: ["pvc-1", "pvc-2"] });
  try {
    // The tenant of claim-pvc-2 plants a record of a made-up PV bound to its
    // own claim whose handle is pvc-1 (another tenant's LINSTOR volume),
    // with this cluster's identity (readable by anyone).
    const tenant = world.pvc("pvc-2")!;
    const victim = world.pv("pvc-1")!;
    const forged = intendedPv(victim, undefined, {
      originalSkipReclaim: undefined,
      reclaimPolicy: "Retain",
    });
    forged.metadata!.name = "pvc-stolen";
    forged.spec!.claimRef = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      namespace: "ns",
      name: "claim-pvc-2",
      uid: tenant.metadata!.uid!,
    };
    const text = encodeRecord({
      version: RECORD_VERSION,
      cluster: CLUSTER,
      pvName: "pvc-stolen",
      oldUid: "made-up",
      claim: {
        namespace: "ns",
        name: "claim-pvc-2",
        uid: tenant.metadata!.uid!,
      },
      resource: "pvc-1",
      volume: 0,
      writtenAt: new Date(world.clock.now()).toISOString(),
      pv: forged,
    });
    world.kube.seed("persistentVolumeClaims", {
      ...tenant,
      metadata: {
        ...tenant.metadata,
        annotations: { [RECORD_ANNOTATION]: text },
      },
    });
    const registry = new Registry();
    const mode = world.mode({ inPlace: false }, { registry });
    for (let i = 0; i < 2; i++) {
      const report = await pass(world, mode);
      assert.deepEqual(report.plan.actions, []);
      assert.deepEqual(report.execution.failed, []);
    }
    assert.equal(world.pv("pvc-stolen"), undefined, "no PV created");
    assert.equal(world.pv("pvc-1")?.metadata?.uid, victim.metadata?.uid);
    const warnings = world.kube.events().filter((e) =>
      e.reason === "VolumeAffinitySkipped"
    );
    assert.deepEqual(
      warnings.map((e) => [e.type, e.regarding?.kind, e.regarding?.name]),
      [["Warning", "PersistentVolumeClaim", "claim-pvc-2"]],
      "one Warning Event, on the tenant's PVC, not repeated",
    );
    assert.match(warnings[0]!.note ?? "", /UntrustedRecoveryRecord/);
    const skips = await registry.getSingleMetric(
      "linstor_suite_affinity_skips_total",
    )!.get();
    assert.deepEqual(
      skips.values.map((v) => [v.labels.reason, v.value]),
      [["UntrustedRecoveryRecord", 2]],
    );
  } finally {
    world.close();
  }
});

/** Moves pvc-1 from `a` to `b` and runs a replace that calls `hook` after each step. */
async function replaceWithHook(
  world: World,
  hook: (step: number) => void,
) {
  world.sim.apply({
    action: "move-replica",
    resource: "pvc-1",
    from: "a",
    to: "b",
  });
  return await pass(
    world,
    world.mode({ inPlace: false, afterReplaceStep: hook }),
  );
}

/** What the PV looks like when the replace stopped before deleting it. */
function assertNotDeleted(world: World, oldUid: string) {
  const live = world.pv("pvc-1");
  assert.ok(live, "PV exists");
  assert.equal(live.metadata?.uid, oldUid, "the old PV is kept");
  assert.equal(live.metadata?.deletionTimestamp, undefined, "not deleted");
}

Deno.test("affinity replace deletes the old PV only with its UID and resourceVersion preconditions", async (t) => {
  await t.step(
    "changed after Retain (stale resourceVersion): not deleted",
    async () => {
      const world = createWorld();
      try {
        const oldUid = world.pv("pvc-1")!.metadata!.uid!;
        const report = await replaceWithHook(world, (step) => {
          if (step !== 3) return;
          // Someone edits the PV between the Retain patch and the delete.
          const live = world.pv("pvc-1")!;
          live.metadata!.labels = { ...live.metadata!.labels, edited: "yes" };
          world.kube.seed("persistentVolumes", live);
        });
        assert.equal(report.execution.failed.length, 1);
        assert.match(
          String(report.execution.failed[0]!.error),
          /ResourceVersion in precondition/,
        );
        assertNotDeleted(world, oldUid);
      } finally {
        world.close();
      }
    },
  );
  await t.step(
    "deleted and re-created by someone (new UID): the new PV survives",
    async () => {
      const world = createWorld();
      try {
        const report = await replaceWithHook(world, (step) => {
          if (step !== 3) return;
          // Same name, new object (a delete and a create in between).
          const live = world.pv("pvc-1")!;
          const { uid: _, ...metadata } = live.metadata!;
          world.kube.seed("persistentVolumes", { ...live, metadata });
        });
        assert.equal(report.execution.failed.length, 1);
        assert.match(
          String(report.execution.failed[0]!.error),
          /Precondition failed: UID in precondition/,
        );
        const survivor = world.pv("pvc-1")!;
        assert.equal(survivor.metadata?.deletionTimestamp, undefined);
      } finally {
        world.close();
      }
    },
  );
});

Deno.test("affinity resume never deletes a PV whose Retain or skip-reclaim was undone", async (t) => {
  const undo: [string, (pv: V1PersistentVolume) => void][] = [
    ["reclaim policy back to Delete", (pv) => {
      pv.spec!.persistentVolumeReclaimPolicy = "Delete";
    }],
    ["skip-reclaim removed", (pv) => {
      delete pv.metadata!.annotations!["linstor.csi.linbit.com/skip-reclaim"];
    }],
  ];
  for (const [name, change] of undo) {
    await t.step(
      `${name} before the next pass: skipped with a Warning`,
      async () => {
        const world = createWorld();
        try {
          const oldUid = world.pv("pvc-1")!.metadata!.uid!;
          await crashAfterStep(world, 2);
          const live = world.pv("pvc-1")!;
          change(live);
          world.kube.seed("persistentVolumes", live);
          const registry = new Registry();
          const report = await pass(
            world,
            world.mode({ inPlace: false }, { registry }),
          );
          assert.deepEqual(report.plan.actions, []);
          assertNotDeleted(world, oldUid);
          const warning = world.kube.events().find((e) =>
            e.reason === "VolumeAffinitySkipped"
          );
          assert.equal(warning?.regarding?.name, "pvc-1");
          assert.match(warning?.note ?? "", /ReplaceUnprotected/);
          const skips = await registry.getSingleMetric(
            "linstor_suite_affinity_skips_total",
          )!.get();
          assert.deepEqual(
            skips.values.map((v) => [v.labels.reason, v.value]),
            [["ReplaceUnprotected", 1]],
          );
        } finally {
          world.close();
        }
      },
    );
    await t.step(
      `${name} after planning: re-verified before the delete`,
      async () => {
        const world = createWorld();
        try {
          const oldUid = world.pv("pvc-1")!.metadata!.uid!;
          await crashAfterStep(world, 2);
          // The pass plans from a snapshot taken before the change.
          const state = {
            snapshot() {
              const snapshot = world.state.snapshot();
              const live = world.pv("pvc-1")!;
              change(live);
              world.kube.seed("persistentVolumes", live);
              return snapshot;
            },
          };
          const report = await pass(
            world,
            world.mode({ inPlace: false }, { state }),
          );
          assert.deepEqual(report.plan.actions.map((a) => a.kind), [
            "ResumeReplacePv",
          ]);
          assert.equal(report.execution.failed.length, 1);
          assert.match(
            String(report.execution.failed[0]!.error),
            /Cannot delete PV "pvc-1" to replace it/,
          );
          assertNotDeleted(world, oldUid);
        } finally {
          world.close();
        }
      },
    );
    await t.step(
      `${name} after the delete: finalizers kept, the replace paused`,
      async () => {
        const world = createWorld();
        try {
          const oldUid = world.pv("pvc-1")!.metadata!.uid!;
          const report = await replaceWithHook(world, (step) => {
            if (step !== 4) return;
            const live = world.pv("pvc-1")!;
            change(live);
            world.kube.seed("persistentVolumes", live);
          });
          assert.equal(report.execution.failed.length, 1);
          assert.match(
            String(report.execution.failed[0]!.error),
            /Cannot delete PV "pvc-1" to replace it: .*paused/,
          );
          const live = world.pv("pvc-1");
          assert.equal(live?.metadata?.uid, oldUid, "the old PV is kept");
          assert.ok(live?.metadata?.deletionTimestamp, "still Terminating");
          assert.ok(
            (live?.metadata?.finalizers ?? []).length > 0,
            "its finalizers are kept",
          );
        } finally {
          world.close();
        }
      },
    );
  }
});

Deno.test("affinity never re-creates a PV someone else deleted during its replace", async (t) => {
  for (const step of [1, 2]) {
    await t.step(
      `deleted after step ${step}: record dropped with a Warning Event`,
      async () => {
        const world = createWorld();
        try {
          await crashAfterStep(world, step);
          // An admin deletes the PV on purpose (and clears its finalizers).
          await world.kube.delete({ kind: "persistentVolumes", name: "pvc-1" });
          const live = world.pv("pvc-1")!;
          live.metadata!.finalizers = [];
          await world.kube.replace("persistentVolumes", live);
          assert.equal(world.pv("pvc-1"), undefined);
          const report = await pass(world, world.mode({ inPlace: false }));
          assert.deepEqual(report.execution.failed, []);
          assert.equal(world.pv("pvc-1"), undefined, "not re-created");
          assert.equal(world.vdProps("pvc-1")[RECORD_PROP], undefined);
          assert.equal(
            world.pvc("pvc-1")?.metadata?.annotations?.[RECORD_ANNOTATION],
            undefined,
          );
          if (step === 2) {
            const warning = world.kube.events().find((e) =>
              e.reason === "VolumeAffinityReplaceAbandoned"
            );
            assert.equal(warning?.type, "Warning");
            assert.equal(warning?.regarding?.kind, "PersistentVolumeClaim");
          }
        } finally {
          world.close();
        }
      },
    );
  }
});

Deno.test("affinity replace validates the new PV with a dry-run create before deleting the old one", async (t) => {
  const rejected = () =>
    new KubeApiError({
      status: 403,
      reason: "Forbidden",
      message: "admission webhook denied the request",
      verb: "create",
      kind: "persistentvolumes",
      name: "",
    });
  await t.step("a fresh replace: nothing is touched", async () => {
    const world = createWorld();
    try {
      const before = world.pv("pvc-1")!;
      world.kube.failNext("create", rejected(), { kind: "persistentVolumes" });
      world.sim.apply({
        action: "move-replica",
        resource: "pvc-1",
        from: "a",
        to: "b",
      });
      const report = await pass(world, world.mode({ inPlace: false }));
      assert.equal(report.execution.failed.length, 1);
      assert.match(
        String(report.execution.failed[0]!.error),
        /would not accept the new PV/,
      );
      assert.deepEqual(world.pv("pvc-1"), before, "PV untouched");
      assert.equal(world.vdProps("pvc-1")[RECORD_PROP], undefined);
    } finally {
      world.close();
    }
  });
  await t.step("a resumed replace: the old PV is not deleted", async () => {
    const world = createWorld();
    try {
      const oldUid = world.pv("pvc-1")!.metadata!.uid!;
      await crashAfterStep(world, 2);
      world.kube.failNext("create", rejected(), { kind: "persistentVolumes" });
      const report = await pass(world, world.mode({ inPlace: false }));
      assert.equal(report.execution.failed.length, 1);
      assertNotDeleted(world, oldUid);
      const next = await pass(world, world.mode({ inPlace: false }));
      assert.deepEqual(next.execution.failed, []);
      assertReplaced(world, "pvc-1", { hosts: ["b"], oldUid });
    } finally {
      world.close();
    }
  });
});

Deno.test("affinity replace mirrors the record on the claim with a UID precondition only", async (t) => {
  await t.step(
    "the claim changed by someone else meanwhile: no conflict",
    async () => {
      const world = createWorld();
      try {
        const oldUid = world.pv("pvc-1")!.metadata!.uid!;
        // The PV controller updates the claim right after any read of it.
        const kube = afterCall(world, "get", (ref) => {
          if (ref.kind === "persistentVolumeClaims") {
            const claim = world.pvc("pvc-1")!;
            world.kube.seed("persistentVolumeClaims", {
              ...claim,
              metadata: { ...claim.metadata, labels: { touched: "yes" } },
            });
          }
        });
        world.sim.apply({
          action: "move-replica",
          resource: "pvc-1",
          from: "a",
          to: "b",
        });
        const report = await pass(
          world,
          world.mode({ inPlace: false }, { kube }),
        );
        assert.deepEqual(report.execution.failed, []);
        assertReplaced(world, "pvc-1", { hosts: ["b"], oldUid });
      } finally {
        world.close();
      }
    },
  );
  await t.step(
    "a claim without annotations changed right after its read: read and patched again",
    async () => {
      const world = createWorld();
      try {
        const claim = world.pvc("pvc-1")!;
        delete claim.metadata!.annotations;
        world.kube.seed("persistentVolumeClaims", claim);
        let reads = 0;
        const kube = afterCall(world, "get", (ref) => {
          if (ref.kind === "persistentVolumeClaims" && reads++ === 0) {
            // The PV controller finishes binding it meanwhile.
            const live = world.pvc("pvc-1")!;
            world.kube.seed("persistentVolumeClaims", {
              ...live,
              metadata: { ...live.metadata, labels: { bound: "yes" } },
            });
          }
        });
        world.sim.apply({
          action: "move-replica",
          resource: "pvc-1",
          from: "a",
          to: "b",
        });
        const report = await pass(
          world,
          world.mode({ inPlace: false }, { kube }),
        );
        assert.deepEqual(report.execution.failed, []);
        assert.deepEqual(affinityHosts(world.pv("pvc-1")), ["b"]);
      } finally {
        world.close();
      }
    },
  );
  await t.step("a claim without annotations gets its mirror too", async () => {
    const world = createWorld();
    try {
      const claim = world.pvc("pvc-1")!;
      delete claim.metadata!.annotations;
      world.kube.seed("persistentVolumeClaims", claim);
      await crashAfterStep(world, 1);
      assert.ok(world.pvc("pvc-1")?.metadata?.annotations?.[RECORD_ANNOTATION]);
    } finally {
      world.close();
    }
  });
  await t.step(
    "a claim replaced (new UID) before the mirror: the LINSTOR record is taken back",
    async () => {
      const world = createWorld();
      try {
        const before = world.pv("pvc-1")!;
        world.sim.apply({
          action: "move-replica",
          resource: "pvc-1",
          from: "a",
          to: "b",
        });
        // The claim is deleted and re-created (new UID) right after the
        // dry-run create of step 0.
        const kube = afterCall(world, "create", () => {
          const claim = world.pvc("pvc-1")!;
          world.kube.seed("persistentVolumeClaims", {
            ...claim,
            metadata: { ...claim.metadata, uid: "someone-else" },
          });
        });
        const report = await pass(
          world,
          world.mode({ inPlace: false }, { kube }),
        );
        assert.equal(report.execution.failed.length, 1);
        assert.match(
          String(report.execution.failed[0]!.error),
          /is gone, replaced or being deleted/,
        );
        const after = world.pv("pvc-1")!;
        assert.equal(after.metadata?.uid, before.metadata?.uid);
        assert.deepEqual(after.spec, before.spec, "PV untouched");
        assert.equal(world.vdProps("pvc-1")[RECORD_PROP], undefined);
        assert.equal(
          world.pvc("pvc-1")?.metadata?.annotations?.[RECORD_ANNOTATION],
          undefined,
        );
      } finally {
        world.close();
      }
    },
  );
});
