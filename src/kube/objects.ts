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
import type { InvolvedObject } from "./api.ts";

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

/** The `ObjectReference` an Event's `regarding`/`related` holds: the set fields of `obj`. */
export function objectReference(
  obj: InvolvedObject,
): Record<string, string> {
  const ref: Record<string, string> = {};
  if (obj.apiVersion) ref.apiVersion = obj.apiVersion;
  if (obj.kind) ref.kind = obj.kind;
  const meta = obj.metadata ?? {};
  if (meta.name) ref.name = meta.name;
  if (meta.namespace) ref.namespace = meta.namespace;
  if (meta.uid) ref.uid = meta.uid;
  if (meta.resourceVersion) ref.resourceVersion = meta.resourceVersion;
  return ref;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes (the apiserver counts bytes), marking the cut with "...". */
export function truncateUtf8(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  let bytes = 0;
  let cut = "";
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size + 3 > maxBytes) break;
    bytes += size;
    cut += char;
  }
  return cut + "...";
}
