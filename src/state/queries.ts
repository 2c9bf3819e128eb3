/**
 * Pure queries over a `Snapshot` (no I/O, no clock: time comes in as `now`).
 *
 * @module
 */
import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
} from "@kubernetes/client-node";
import { LABEL_HOSTNAME } from "../constants.ts";
import { tryParseVolumeHandle, type VolumeHandle } from "../domain/mod.ts";
import { csiVolumeHandle, podClaimNames } from "../kube/mod.ts";
import type { LinstorNodeInfo, PoolInfo, Replica, Snapshot } from "./types.ts";

const NO_REPLICAS: readonly Replica[] = Object.freeze([]);

/** The replicas of LINSTOR resource `resource`, sorted by node (empty if none). */
export function replicasOf(
  snapshot: Snapshot,
  resource: string,
): readonly Replica[] {
  return snapshot.linstor.replicasByResource.get(resource) ?? NO_REPLICAS;
}

/** The replicas on LINSTOR node `node`, sorted by resource (empty if none). */
export function replicasOnNode(
  snapshot: Snapshot,
  node: string,
): readonly Replica[] {
  return snapshot.linstor.replicasByNode.get(node) ?? NO_REPLICAS;
}

/** The storage pools of LINSTOR node `node`, sorted by name. */
export function poolsOf(snapshot: Snapshot, node: string): readonly PoolInfo[] {
  const pools = snapshot.linstor.poolsByNode.get(node);
  if (pools === undefined) return [];
  return [...pools.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
}

/**
 * The LINSTOR node backing Kubernetes node `kubeNodeName`, first match of:
 * the LINSTOR node with the same name; the one whose
 * `Aux/topology/kubernetes.io/hostname` (else `Aux/kubernetes.io/hostname`)
 * property equals that name; then the same two checks with the Kubernetes
 * node's `kubernetes.io/hostname` label (when the node is in the snapshot).
 */
export function linstorNodeFor(
  snapshot: Snapshot,
  kubeNodeName: string,
): LinstorNodeInfo | undefined {
  const linstor = snapshot.linstor;
  const byName = linstor.nodes.get(kubeNodeName);
  if (byName !== undefined) return byName;
  const byHostname = linstor.nodesByHostname.get(kubeNodeName);
  if (byHostname !== undefined) return byHostname;
  const label = snapshot.kube.nodes.get(kubeNodeName)?.metadata?.labels
    ?.[LABEL_HOSTNAME];
  if (label === undefined || label === kubeNodeName) return undefined;
  return linstor.nodes.get(label) ?? linstor.nodesByHostname.get(label);
}

/**
 * The `namespace/name` of every PVC a pod uses: `persistentVolumeClaim`
 * volumes and generic ephemeral volumes (claim `<pod>-<volume>`), in volume
 * order without duplicates.
 */
export function claimsOfPod(pod: V1Pod): readonly string[] {
  const namespace = pod.metadata?.namespace ?? "default";
  return podClaimNames(pod).map((claim) => `${namespace}/${claim}`);
}

/** The PVCs of `pod` present in the snapshot, in volume order. */
export function pvcsOfPod(
  snapshot: Snapshot,
  pod: V1Pod,
): readonly V1PersistentVolumeClaim[] {
  const pvcs: V1PersistentVolumeClaim[] = [];
  for (const key of claimsOfPod(pod)) {
    const pvc = snapshot.kube.persistentVolumeClaims.get(key);
    if (pvc !== undefined) pvcs.push(pvc);
  }
  return pvcs;
}

/** The pods using PVC `namespace/name`, sorted by `namespace/name`. */
export function podsOfClaim(
  snapshot: Snapshot,
  claimKey: string,
): readonly V1Pod[] {
  return snapshot.kube.podsByClaim.get(claimKey) ?? [];
}

/** The LINSTOR CSI PVs of LINSTOR resource `resource`, sorted by name. */
export function pvsOfResource(
  snapshot: Snapshot,
  resource: string,
): readonly V1PersistentVolume[] {
  return snapshot.kube.pvsByResource.get(resource) ?? [];
}

/** The LINSTOR resource and volume of a PV, `undefined` for non-LINSTOR or malformed PVs. */
export function volumeHandleOfPv(
  pv: V1PersistentVolume,
): VolumeHandle | undefined {
  return tryParseVolumeHandle(csiVolumeHandle(pv));
}
