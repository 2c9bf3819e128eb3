/**
 * A small fencing world for tests: three storage nodes `node-a`, `node-b`,
 * `node-c` (plus optional extras), one resource `pvc-1` used by an opted-in
 * StatefulSet pod on `node-a`, and the agent under test on `node-b` (the
 * witness). DRBD state is built from generated events2 text.
 *
 * @module
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import {
  ANNOTATION_FENCING_LOST_PEERS,
  LABEL_ON_STORAGE_LOST,
  TAINT_LOST_QUORUM,
} from "../../../src/constants.ts";
import {
  DrbdState,
  encodeLostPeers,
  type GenPeer,
  type GenResource,
  parseEvents2Line,
} from "../../../src/modes/fencing/mod.ts";
import type { Snapshot } from "../../../src/state/mod.ts";
import {
  kubeNode,
  pod,
  pv,
  pvc,
  volumeAttachment,
} from "../../_builders/kube.ts";
import { buildSnapshot, type KubeInput } from "../../_builders/snapshot.ts";

/** Start of every generated stream. */
export const T0 = Date.UTC(2026, 6, 1, 10, 0, 0);

/** Peer `node-a` (Primary, runs the pod) as `node-b` sees it. */
export const PEER_A: GenPeer = {
  peerNodeId: 0,
  name: "node-a",
  role: "Primary",
};
/** Peer `node-c` as `node-b` sees it. */
export const PEER_C: GenPeer = { peerNodeId: 2, name: "node-c" };

/** `pvc-1` on `node-b`: Secondary, UpToDate, quorate, connected to a and c. */
export function resourceOnB(overrides: Partial<GenResource> = {}): GenResource {
  return { name: "pvc-1", peers: [PEER_A, PEER_C], ...overrides };
}

/** Feeds lines into `state`, each received at its own stamp (or `receivedAt`). */
export function feed(
  state: DrbdState,
  lines: readonly string[],
  receivedAt: number,
): DrbdState {
  for (const line of lines) state.apply(parseEvents2Line(line), receivedAt);
  return state;
}

/** A DRBD state with quorum policy `majority` for `pvc-1`. */
export function drbdState(policy = "majority"): DrbdState {
  const state = new DrbdState();
  state.beginResync();
  state.setQuorumPolicies(new Map([["pvc-1", policy]]));
  return state;
}

/** Options of {@linkcode world}. */
export interface WorldOptions {
  /** Node `node-a` Ready. @default {true} */
  aReady?: boolean;
  /** Lost peers `node-c` publishes; `undefined` = no report. @default {["node-a"]} */
  cReports?: string[] | undefined;
  /** When `node-c` published its report. @default {T0} */
  cReportAt?: number;
  /** Nodes carrying the lost-quorum taint. */
  tainted?: string[];
  /** Extra nodes. */
  extraNodes?: string[];
  /** Changes to the pod on `node-a` (labels, annotations, …); `null` = no pod. */
  pod?: ((p: V1Pod) => V1Pod) | null;
  /** A VolumeAttachment of pvc-1 on node-a. @default {true} */
  attachment?: boolean;
  /** Extra pods. */
  extraPods?: V1Pod[];
}

function taint(node: V1Node, names: readonly string[]): V1Node {
  if (!names.includes(node.metadata!.name!)) return node;
  return {
    ...node,
    spec: {
      taints: [{
        key: TAINT_LOST_QUORUM,
        effect: "NoSchedule",
        timeAdded: new Date(T0) as unknown as Date,
      }],
    },
  };
}

/** The opted-in StatefulSet pod `apps/web-0` on `node-a` using `pvc-1`. */
export function webPod(): V1Pod {
  const p = pod("apps", "web-0", {
    nodeName: "node-a",
    claims: ["data-web-0"],
    labels: { [LABEL_ON_STORAGE_LOST]: "remove" },
  });
  p.metadata!.ownerReferences = [{
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    name: "web",
    uid: "uid-sts-web",
    controller: true,
  }];
  p.status = { phase: "Running" };
  return p;
}

/** The Kubernetes snapshot of the world. */
export function world(options: WorldOptions = {}): Snapshot {
  return buildSnapshot({ kube: worldObjects(options), takenAt: T0 });
}

/** The Kubernetes objects of the world. */
export function worldObjects(options: WorldOptions = {}): KubeInput {
  const cReports = "cReports" in options ? options.cReports : ["node-a"];
  const names = ["node-a", "node-b", "node-c", ...(options.extraNodes ?? [])];
  const nodes = names.map((name) => {
    let node = kubeNode(name);
    if (name === "node-c" && cReports !== undefined) {
      node.metadata!.annotations = {
        [ANNOTATION_FENCING_LOST_PEERS]: encodeLostPeers({
          at: options.cReportAt ?? T0,
          lost: cReports,
        }),
      };
    }
    if (name === "node-a" && options.aReady === false) {
      node.status = { conditions: [{ type: "Ready", status: "Unknown" }] };
    }
    node = taint(node, options.tainted ?? []);
    return node;
  });
  const pods: V1Pod[] = [...(options.extraPods ?? [])];
  if (options.pod !== null) {
    pods.push((options.pod ?? ((p) => p))(webPod()));
  }
  return {
    nodes,
    pods,
    persistentVolumes: [pv("pvc-1", { claim: "apps/data-web-0" })],
    persistentVolumeClaims: [
      pvc("apps", "data-web-0", { volumeName: "pvc-1" }),
    ],
    volumeAttachments: options.attachment === false ? [] : [
      volumeAttachment("csi-va-1", { pvName: "pvc-1", nodeName: "node-a" }),
    ],
  };
}
