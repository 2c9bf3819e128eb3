import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import {
  ANNOTATION_FENCING_LOST_PEERS,
  ANNOTATION_IGNORE_FAIL_OVER,
  LABEL_ON_STORAGE_LOST,
} from "../../../src/constants.ts";
import {
  decodeLostPeers,
  DrbdState,
  emptyFencingMemory,
  type FencingPlan,
  initialDump,
  peerBackLines,
  peerLostLines,
  planFencing,
} from "../../../src/modes/fencing/mod.ts";
import {
  drbdState,
  feed,
  PEER_A,
  PEER_C,
  resourceOnB,
  T0,
  webPod,
  world,
  type WorldOptions,
} from "./_world.ts";

/** Seconds after T0. */
function at(seconds: number): number {
  return T0 + seconds * 1000;
}

/** node-b's view: dump at T0, pvc-1's link to node-a lost at T0+10s. */
function peerALost(state: DrbdState = drbdState()): DrbdState {
  feed(state, initialDump([resourceOnB()], { at: T0 }), T0);
  return feed(state, peerLostLines("pvc-1", PEER_A, { at: at(10) }), at(10));
}

function plan(
  state: DrbdState,
  now: number,
  options: WorldOptions = {},
): FencingPlan {
  return planFencing({ drbd: state.view(), snapshot: world(options) }, {
    now,
    nodeName: "node-b",
    memory: emptyFencingMemory(),
  });
}

/** The fencing actions (not the lost-peers report), as `Name key`. */
function fencing(result: FencingPlan): string[] {
  return result.actions
    .filter((a) => a.name !== "PublishLostPeers")
    .map((a) => `${a.name} ${a.key}`);
}

function reasons(result: FencingPlan): string[] {
  return result.decisions.map((d) =>
    `${d.resource}/${d.peer}: ${d.outcome} ${d.reason}`
  );
}

const FENCE_A_NOT_READY = [
  "TaintNode node/node-a",
  "ForceDeletePod pod/apps/web-0@uid-apps-web-0",
  "DeleteVolumeAttachment volumeattachment/csi-va-1@uid--csi-va-1",
];

Deno.test("planFencing() fences a lost peer from a side that kept quorum", async (t) => {
  await t.step("force-deletes when the peer's Node is not Ready", () => {
    const result = plan(peerALost(), at(16), { aReady: false });
    assert.deepEqual(fencing(result), FENCE_A_NOT_READY);
    assert.deepEqual(reasons(result), [
      "pvc-1/node-a: fence node-not-ready-force-delete",
    ]);
    const pod = result.actions.find((a) => a.name === "ForceDeletePod");
    assert.ok(pod?.name === "ForceDeletePod");
    assert.equal(pod.gracePeriodSeconds, 0);
  });
  await t.step("evicts with the grace period when the Node is Ready", () => {
    const result = plan(peerALost(), at(16));
    assert.deepEqual(fencing(result), [
      "TaintNode node/node-a",
      "EvictPod pod/apps/web-0@uid-apps-web-0",
      "DeleteVolumeAttachment volumeattachment/csi-va-1@uid--csi-va-1",
    ]);
    const evict = result.actions.find((a) => a.name === "EvictPod");
    assert.ok(evict?.name === "EvictPod");
    assert.equal(evict.gracePeriodSeconds, 10);
    assert.equal(evict.phase, 2);
  });
  await t.step("waits for the fail-over timeout first", () => {
    const result = plan(peerALost(), at(14.9));
    assert.deepEqual(fencing(result), []);
    assert.deepEqual(reasons(result), [
      "pvc-1/node-a: waiting fail-over-timeout",
    ]);
  });
  await t.step("does not re-taint an already tainted node", () => {
    const result = plan(peerALost(), at(16), {
      aReady: false,
      tainted: ["node-a"],
    });
    assert.deepEqual(fencing(result), FENCE_A_NOT_READY.slice(1));
  });
  await t.step("deletes only the VolumeAttachment when no pod is left", () => {
    const result = plan(peerALost(), at(16), { aReady: false, pod: null });
    assert.deepEqual(fencing(result), [
      "TaintNode node/node-a",
      "DeleteVolumeAttachment volumeattachment/csi-va-1@uid--csi-va-1",
    ]);
  });
  await t.step("skips an evicted pod still terminating on a Ready node", () => {
    const result = plan(peerALost(), at(16), {
      tainted: ["node-a"],
      pod: (p) => ({
        ...p,
        metadata: { ...p.metadata, deletionTimestamp: new Date(at(15)) },
      }),
    });
    assert.deepEqual(fencing(result), [
      "DeleteVolumeAttachment volumeattachment/csi-va-1@uid--csi-va-1",
    ]);
  });
});

Deno.test("planFencing() never fences when the rule does not hold", async (t) => {
  await t.step("quorum lost on this side", () => {
    const state = drbdState();
    feed(state, initialDump([resourceOnB()], { at: T0 }), T0);
    feed(state, peerLostLines("pvc-1", PEER_A, { at: at(10) }), at(10));
    feed(state, peerLostLines("pvc-1", PEER_C, { at: at(10) }), at(10));
    feed(state, [
      `2026-07-01T10:00:10.100000+00:00 change device name:pvc-1 volume:0 minor:1000 backing_dev:/dev/vg0/pvc-1_00000 disk:UpToDate client:no open:no quorum:no`,
    ], at(11));
    const result = plan(state, at(60), { aReady: false });
    assert.deepEqual(fencing(result), []);
    assert.deepEqual(reasons(result), [
      "pvc-1/node-a: skipped no-local-quorum",
      "pvc-1/node-c: skipped no-local-quorum",
    ]);
  });
  await t.step("partition A–B while C still sees both", () => {
    const result = plan(peerALost(), at(60), { cReports: [] });
    assert.deepEqual(fencing(result), []);
    assert.deepEqual(reasons(result), [
      "pvc-1/node-a: skipped peer-still-connected:node-c",
    ]);
  });
  await t.step("the connected peer has no report", () => {
    const result = plan(peerALost(), at(60), { cReports: undefined });
    assert.deepEqual(fencing(result), []);
  });
  await t.step("the connected peer's report is stale", () => {
    const result = plan(peerALost(), at(200), { cReportAt: at(5) });
    assert.deepEqual(fencing(result), []);
  });
  await t.step("a volume still syncing when the link broke", () => {
    const state = drbdState();
    const syncing = {
      ...PEER_A,
      replication: "SyncSource",
      disk: "Inconsistent",
    };
    feed(
      state,
      initialDump([resourceOnB({ peers: [syncing, PEER_C] })], { at: T0 }),
      T0,
    );
    feed(state, peerLostLines("pvc-1", syncing, { at: at(10) }), at(10));
    const result = plan(state, at(60));
    assert.deepEqual(fencing(result), []);
    assert.deepEqual(reasons(result), ["pvc-1/node-a: skipped never-healthy"]);
  });
  await t.step("this replica is itself still a sync target", () => {
    const state = drbdState();
    feed(
      state,
      initialDump([resourceOnB({ disk: "Inconsistent" })], { at: T0 }),
      T0,
    );
    feed(state, peerLostLines("pvc-1", PEER_A, { at: at(10) }), at(10));
    const result = plan(state, at(60));
    assert.deepEqual(reasons(result), [
      "pvc-1/node-a: skipped local-data-not-up-to-date",
    ]);
  });
  await t.step("quorum is not configured", () => {
    const result = plan(peerALost(drbdState("off")), at(60));
    assert.deepEqual(fencing(result), []);
    assert.deepEqual(reasons(result), [
      "pvc-1/node-a: skipped quorum-not-configured",
    ]);
  });
  await t.step("the quorum policy is unknown", () => {
    const state = new DrbdState();
    state.beginResync();
    const result = plan(peerALost(state), at(60));
    assert.deepEqual(reasons(result), [
      "pvc-1/node-a: skipped quorum-policy-unknown",
    ]);
  });
  await t.step("a kubelet-only outage (Node NotReady, DRBD connected)", () => {
    const state = drbdState();
    feed(state, initialDump([resourceOnB()], { at: T0 }), T0);
    const result = plan(state, at(600), { aReady: false, cReports: [] });
    assert.deepEqual(fencing(result), []);
    assert.deepEqual(result.decisions, []);
  });
  await t.step("a flapping link never stays down for the timeout", () => {
    const state = drbdState();
    feed(state, initialDump([resourceOnB()], { at: T0 }), T0);
    for (let s = 10; s < 60; s += 4) {
      feed(state, peerLostLines("pvc-1", PEER_A, { at: at(s) }), at(s));
      assert.deepEqual(fencing(plan(state, at(s + 3))), [], `down at ${s}`);
      feed(state, peerBackLines("pvc-1", PEER_A, { at: at(s + 3) }), at(s + 3));
      assert.deepEqual(fencing(plan(state, at(s + 3.5))), []);
    }
  });
  await t.step("the DRBD state is blind (dump not complete)", () => {
    const state = drbdState();
    feed(state, initialDump([resourceOnB()], { at: T0 }).slice(0, -1), T0);
    const result = plan(state, at(60));
    assert.equal(result.ready, false);
    assert.deepEqual(result.actions, []);
  });
});

Deno.test("planFencing() leaves pods outside the opt-in alone", async (t) => {
  const cases: [string, (p: V1Pod) => V1Pod, string][] = [
    ["unlabelled", (p) => {
      delete p.metadata!.labels![LABEL_ON_STORAGE_LOST];
      return p;
    }, "pod-not-opted-in"],
    ["label with another value", (p) => {
      p.metadata!.labels![LABEL_ON_STORAGE_LOST] = "keep";
      return p;
    }, "pod-not-opted-in"],
    ["no controller owner", (p) => {
      p.metadata!.ownerReferences = [{
        ...p.metadata!.ownerReferences![0]!,
        controller: false,
      }];
      return p;
    }, "pod-without-controller"],
    ["bare pod", (p) => {
      delete p.metadata!.ownerReferences;
      return p;
    }, "pod-without-controller"],
    ["opt-out annotation", (p) => {
      p.metadata!.annotations = { [ANNOTATION_IGNORE_FAIL_OVER]: "" };
      return p;
    }, "pod-opted-out"],
    ["read-only claim", (p) => {
      p.spec!.volumes![0]!.persistentVolumeClaim!.readOnly = true;
      return p;
    }, "read-only-mount"],
    ["read-only mounts", (p) => {
      p.spec!.containers[0]!.volumeMounts = [{
        name: "data-0",
        mountPath: "/data",
        readOnly: true,
      }];
      return p;
    }, "read-only-mount"],
  ];
  for (const [name, change, reason] of cases) {
    await t.step(name, () => {
      const result = plan(peerALost(), at(60), { aReady: false, pod: change });
      assert.deepEqual(fencing(result), []);
      assert.deepEqual(reasons(result), [`pvc-1/node-a: skipped ${reason}`]);
    });
  }
  await t.step("a Pending opted-in pod alone is not acted on", () => {
    const result = plan(peerALost(), at(60), {
      aReady: false,
      attachment: false,
      pod: (p) => ({ ...p, status: { phase: "Pending" } }),
    });
    assert.deepEqual(fencing(result), []);
    assert.deepEqual(reasons(result), ["pvc-1/node-a: skipped no-workload"]);
  });
  await t.step("a pod on another node is not touched", () => {
    const other = webPod();
    other.metadata!.name = "web-1";
    other.metadata!.uid = "uid-web-1";
    other.spec!.nodeName = "node-c";
    const result = plan(peerALost(), at(60), {
      aReady: false,
      extraPods: [other],
    });
    assert.deepEqual(fencing(result), FENCE_A_NOT_READY);
  });
});

Deno.test("planFencing() holds fencing back in a storm", async (t) => {
  await t.step("more nodes than --max-fenced-nodes would be tainted", () => {
    const result = plan(peerALost(), at(60), {
      extraNodes: ["node-d", "node-e"],
      tainted: ["node-d", "node-e"],
    });
    assert.deepEqual(fencing(result), ["ReportFencingHeld node/node-a/held"]);
    assert.deepEqual(reasons(result), [
      "pvc-1/node-a: held storm-guard-max-fenced-nodes",
    ]);
    const again = planFencing({
      drbd: peerALost().view(),
      snapshot: world({
        extraNodes: ["node-d", "node-e"],
        tainted: ["node-d", "node-e"],
      }),
    }, { now: at(61), nodeName: "node-b", memory: result.memory });
    assert.deepEqual(fencing(again), [], "reported once");
  });
  await t.step("another node was started on too recently", () => {
    const result = planFencing({
      drbd: peerALost().view(),
      snapshot: world({ aReady: false }),
    }, {
      now: at(60),
      nodeName: "node-b",
      memory: { fenceStarts: new Map(), lastFenceStartAt: at(45) },
    });
    assert.deepEqual(fencing(result), ["ReportFencingHeld node/node-a/held"]);
    assert.deepEqual(reasons(result), [
      "pvc-1/node-a: held storm-guard-rate-limit",
    ]);
  });
  await t.step("a started fencing continues and is remembered", () => {
    const first = planFencing({
      drbd: peerALost().view(),
      snapshot: world({ aReady: false }),
    }, { now: at(60), nodeName: "node-b", memory: emptyFencingMemory() });
    assert.deepEqual(first.memory.fenceStarts, new Map([["node-a", at(60)]]));
    assert.equal(first.memory.lastFenceStartAt, at(60));
    const second = planFencing({
      drbd: peerALost().view(),
      snapshot: world({ aReady: false }),
    }, { now: at(61), nodeName: "node-b", memory: first.memory });
    assert.deepEqual(fencing(second), FENCE_A_NOT_READY);
  });
});

Deno.test("planFencing() removes taints so none stays behind", async (t) => {
  await t.step("any agent connected to the node everywhere", () => {
    const state = drbdState();
    feed(state, initialDump([resourceOnB()], { at: T0 }), T0);
    const result = plan(state, at(60), { tainted: ["node-a"] });
    assert.deepEqual(fencing(result), ["UntaintNode node/node-a"]);
  });
  await t.step("not while the node is still down from here", () => {
    const result = plan(peerALost(), at(12), { tainted: ["node-a"] });
    assert.deepEqual(fencing(result), []);
  });
  await t.step("the node's own agent once its storage has quorum", () => {
    const state = drbdState();
    feed(state, initialDump([resourceOnB()], { at: T0 }), T0);
    const result = plan(state, at(60), { tainted: ["node-b"] });
    assert.deepEqual(fencing(result), ["UntaintNode node/node-b"]);
  });
  await t.step("not by its own agent while it lacks quorum", () => {
    const state = drbdState();
    feed(state, initialDump([resourceOnB({ quorum: false })], { at: T0 }), T0);
    const result = plan(state, at(60), { tainted: ["node-b"] });
    assert.deepEqual(fencing(result), []);
  });
  await t.step("not with --disable-node-taints", () => {
    const state = drbdState();
    feed(state, initialDump([resourceOnB()], { at: T0 }), T0);
    const result = planFencing({
      drbd: state.view(),
      snapshot: world({ tainted: ["node-a"] }),
    }, {
      now: at(60),
      nodeName: "node-b",
      memory: emptyFencingMemory(),
      options: { disableNodeTaints: true },
    });
    assert.deepEqual(fencing(result), []);
  });
});

Deno.test("planFencing() publishes the peers this node lost", async (t) => {
  await t.step("when the set changes", () => {
    const result = plan(peerALost(), at(11));
    const publish = result.actions.find((a) => a.name === "PublishLostPeers");
    assert.ok(publish && publish.name === "PublishLostPeers");
    assert.deepEqual(decodeLostPeers(publish.report), {
      at: at(11),
      lost: ["node-a"],
    });
  });
  await t.step("nothing when nothing is lost and nothing was published", () => {
    const state = drbdState();
    feed(state, initialDump([resourceOnB()], { at: T0 }), T0);
    const result = plan(state, at(11));
    assert.deepEqual(result.actions, []);
  });
  await t.step("uses the annotation key other agents read", () => {
    assert.equal(
      ANNOTATION_FENCING_LOST_PEERS,
      "fencing.linstor-suite.io/lost-peers",
    );
  });
});
