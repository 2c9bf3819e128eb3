/**
 * The fencing part of `linstor-suite demo`: a fencing decision on a
 * generated `drbdsetup events2` stream, as the agent on `node-b` makes it.
 *
 * 1. node-a loses its storage network; node-b and node-c keep quorum and
 *    both lose node-a → the opted-in pod on node-a is evicted (its Node is
 *    still Ready), after the node is tainted; its VolumeAttachment goes.
 * 2. Only node-a's kubelet stops (Node NotReady, DRBD still connected) →
 *    nothing is done.
 *
 * @module
 */
import type {
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1VolumeAttachment,
} from "@kubernetes/client-node";
import {
  ANNOTATION_FENCING_LOST_PEERS,
  CSI_DRIVER_NAME,
  FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS,
  FENCING_OPT_IN_VALUE,
  LABEL_HOSTNAME,
  LABEL_ON_STORAGE_LOST,
} from "../constants.ts";
import {
  DrbdState,
  emptyFencingMemory,
  encodeLostPeers,
  type GenResource,
  initialDump,
  parseEvents2Line,
  peerLostLines,
  planFencing,
} from "../modes/fencing/mod.ts";
import { ClusterState, type Snapshot } from "../state/mod.ts";
import type { Clock } from "../system/mod.ts";

const RESOURCE: GenResource = {
  name: "pvc-db",
  peers: [
    { peerNodeId: 0, name: "node-a", role: "Primary" },
    { peerNodeId: 2, name: "node-c" },
  ],
};

function node(name: string, ready: boolean, lost?: string[], at = 0): V1Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: { [LABEL_HOSTNAME]: name },
      ...(lost
        ? {
          annotations: {
            [ANNOTATION_FENCING_LOST_PEERS]: encodeLostPeers({ at, lost }),
          },
        }
        : {}),
    },
    status: {
      conditions: [{ type: "Ready", status: ready ? "True" : "Unknown" }],
    },
  };
}

function kubeObjects(aReady: boolean, cLost: string[], at: number) {
  const pv: V1PersistentVolume = {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "pvc-db", uid: "uid-pv-db" },
    spec: {
      csi: { driver: CSI_DRIVER_NAME, volumeHandle: "pvc-db" },
      claimRef: { namespace: "demo", name: "data-db-0", uid: "uid-pvc-db" },
    },
    status: { phase: "Bound" },
  };
  const pvc: V1PersistentVolumeClaim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { namespace: "demo", name: "data-db-0", uid: "uid-pvc-db" },
    spec: { volumeName: "pvc-db" },
    status: { phase: "Bound" },
  };
  const pod: V1Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      namespace: "demo",
      name: "db-0",
      uid: "uid-db-0",
      labels: { [LABEL_ON_STORAGE_LOST]: FENCING_OPT_IN_VALUE },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        name: "db",
        uid: "uid-sts-db",
        controller: true,
      }],
    },
    spec: {
      nodeName: "node-a",
      containers: [{
        name: "db",
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      }],
      volumes: [{
        name: "data",
        persistentVolumeClaim: { claimName: "data-db-0" },
      }],
    },
    status: { phase: "Running" },
  };
  const va: V1VolumeAttachment = {
    apiVersion: "storage.k8s.io/v1",
    kind: "VolumeAttachment",
    metadata: { name: "csi-db-0", uid: "uid-va-db" },
    spec: {
      attacher: CSI_DRIVER_NAME,
      nodeName: "node-a",
      source: { persistentVolumeName: "pvc-db" },
    },
  };
  return {
    nodes: [
      node("node-a", aReady),
      node("node-b", true),
      node("node-c", true, cLost, at),
    ],
    pods: [pod],
    persistentVolumes: [pv],
    persistentVolumeClaims: [pvc],
    volumeAttachments: [va],
  };
}

function snapshotOf(
  clock: Clock,
  objects: ReturnType<typeof kubeObjects>,
): Snapshot {
  const state = new ClusterState({ clock }, {
    kinds: [
      "nodes",
      "pods",
      "persistentVolumes",
      "persistentVolumeClaims",
      "volumeAttachments",
    ],
    wakeupDebounceMs: 0,
  });
  state.sink("nodes").replace(objects.nodes);
  state.sink("pods").replace(objects.pods);
  state.sink("persistentVolumes").replace(objects.persistentVolumes);
  state.sink("persistentVolumeClaims").replace(objects.persistentVolumeClaims);
  state.sink("volumeAttachments").replace(objects.volumeAttachments);
  return state.snapshot();
}

function feed(state: DrbdState, lines: readonly string[], at: number): void {
  for (const line of lines) state.apply(parseEvents2Line(line), at);
}

function planText(
  state: DrbdState,
  snapshot: Snapshot,
  now: number,
): string {
  const plan = planFencing({ drbd: state.view(), snapshot }, {
    now,
    nodeName: "node-b",
    memory: emptyFencingMemory(),
  });
  const lines: string[] = [];
  for (const d of plan.decisions) {
    lines.push(
      `decision ${d.resource}/${d.peer}: ${d.outcome} (${d.reason})`,
    );
  }
  const actions = plan.actions.filter((a) => a.name !== "PublishLostPeers");
  for (const a of actions) {
    lines.push(`${a.name} ${a.key}: ${a.summary}`);
  }
  if (actions.length === 0) lines.push("no fencing action");
  return lines.join("\n") + "\n";
}

/** The demo's fencing section, as text; `clock` gives the reference time. */
export function fencingDemoText(clock: Clock): string {
  const t0 = clock.now();
  const lostAt = t0 + 10_000;
  const decideAt = lostAt + FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS + 1_000;
  const out: string[] = [];

  const lost = new DrbdState();
  lost.beginResync();
  lost.setQuorumPolicies(new Map([["pvc-db", "majority"]]));
  const dump = initialDump([RESOURCE], { at: t0 });
  const change = peerLostLines("pvc-db", RESOURCE.peers[0]!, { at: lostAt });
  feed(lost, dump, t0);
  feed(lost, change, lostAt);
  out.push(
    "-- fencing: drbdsetup events2 on node-b when node-a's storage network fails",
    ...change.map((line) => `  ${line}`),
    `-- fencing plan on node-b ${
      (decideAt - lostAt) / 1000
    }s later (node-c also lost node-a; Node node-a still Ready)`,
  );
  out.push(
    planText(
      lost,
      snapshotOf(clock, kubeObjects(true, ["node-a"], lostAt)),
      decideAt,
    ).trimEnd(),
  );

  const healthy = new DrbdState();
  healthy.beginResync();
  healthy.setQuorumPolicies(new Map([["pvc-db", "majority"]]));
  feed(healthy, dump, t0);
  out.push(
    "-- fencing: only node-a's kubelet stops (Node NotReady, every DRBD connection still Connected)",
  );
  out.push(
    planText(
      healthy,
      snapshotOf(clock, kubeObjects(false, [], lostAt)),
      decideAt + 60_000,
    ).trimEnd(),
  );
  return out.join("\n") + "\n";
}
