/**
 * Pure helpers over Kubernetes objects.
 *
 * @module
 */
import type {
  V1Node,
  V1PersistentVolume,
  V1Pod,
} from "@kubernetes/client-node";
import { CSI_DRIVER_NAME } from "../constants.ts";

/** Anything with metadata. */
export interface HasMetadata {
  readonly metadata?: {
    readonly name?: string | undefined;
    readonly namespace?: string | undefined;
  } | undefined;
}

/** `namespace/name` for namespaced objects, `name` otherwise (the key informers and Snapshots use). */
export function objectKey(obj: HasMetadata): string {
  const name = obj.metadata?.name ?? "";
  const namespace = obj.metadata?.namespace ?? "";
  return namespace === "" ? name : `${namespace}/${name}`;
}

/** `true` when the node's `Ready` condition is `True`. */
export function isNodeReady(node: V1Node): boolean {
  return (node.status?.conditions ?? []).some((c) =>
    c.type === "Ready" && c.status === "True"
  );
}

/**
 * Names of the PVCs a pod uses, in volume order, without duplicates:
 * `persistentVolumeClaim.claimName`, and `<pod>-<volume>` for generic
 * ephemeral volumes (the name Kubernetes gives their PVC).
 */
export function podClaimNames(pod: V1Pod): string[] {
  const names: string[] = [];
  const podName = pod.metadata?.name ?? "";
  for (const volume of pod.spec?.volumes ?? []) {
    let claim: string | undefined;
    if (volume.persistentVolumeClaim?.claimName) {
      claim = volume.persistentVolumeClaim.claimName;
    } else if (volume.ephemeral && podName !== "") {
      claim = `${podName}-${volume.name}`;
    }
    if (claim !== undefined && !names.includes(claim)) names.push(claim);
  }
  return names;
}

/** Options of {@linkcode csiVolumeHandle}. */
export interface CsiVolumeHandleOptions {
  /**
   * CSI driver the PV must belong to.
   *
   * @default {CSI_DRIVER_NAME}
   */
  driver?: string;
}

/** The CSI volume handle of a PV of `driver` (LINSTOR CSI by default); `undefined` for any other PV. */
export function csiVolumeHandle(
  pv: V1PersistentVolume,
  options: CsiVolumeHandleOptions = {},
): string | undefined {
  const csi = pv.spec?.csi;
  if (!csi || csi.driver !== (options.driver ?? CSI_DRIVER_NAME)) {
    return undefined;
  }
  return csi.volumeHandle === "" ? undefined : csi.volumeHandle;
}
