/**
 * Pod → PVCs (incl. generic ephemeral volumes) → StorageClass / PV → LINSTOR
 * resource definition, from the snapshot only.
 *
 * @module
 */
import type {
  V1PersistentVolumeClaimSpec,
  V1Pod,
  V1StorageClass,
} from "@kubernetes/client-node";
import {
  ANNOTATION_DEFAULT_STORAGE_CLASS,
  ANNOTATION_NODE_SELECTOR,
  ANNOTATION_SELECTED_NODE,
  ANNOTATION_STORAGE_POOL_SELECTOR,
  CSI_DRIVER_NAME,
} from "../../constants.ts";
import type { SnapshotIndex } from "./_index.ts";
import { parseQuantity, tryParseVolumeHandle } from "../../domain/mod.ts";
import {
  csiParameter,
  POLICY_LOCAL_ONLY,
  type RemoteAccessPolicy,
  requiresLocalReplica,
  resolvePolicy,
  resolveStorageClassPolicy,
} from "../../csi/mod.ts";
import { type LabelSelector, parseLabelSelector } from "./_selector.ts";

/** A selector annotation, parsed or with its parse error. */
export type SelectorSpec =
  | {
    readonly text: string;
    readonly selector: LabelSelector;
    readonly error?: undefined;
  }
  | {
    readonly text: string;
    readonly selector?: undefined;
    readonly error: string;
  };

interface VolumeCommon {
  /** PVC key `namespace/name`. */
  readonly claim: string;
  readonly nodeSelector: SelectorSpec | undefined;
  readonly poolSelector: SelectorSpec | undefined;
}

/** A LINSTOR volume already provisioned. */
export interface BoundVolume extends VolumeCommon {
  readonly kind: "bound";
  readonly pv: string;
  /** LINSTOR resource definition name. */
  readonly resource: string;
  /**
   * The policy `resolvePolicy()` finds (PV override annotation, volume
   * context, StorageClass); `undefined` when it finds none or an invalid one
   * (no access opinion).
   */
  readonly policy: RemoteAccessPolicy | undefined;
}

/** An unbound WaitForFirstConsumer LINSTOR claim: its replica will be placed for this pod. */
export interface PendingVolume extends VolumeCommon {
  readonly kind: "pending";
  /** PVC UID (linstor-csi names the resource `pvc-<uid>`); `undefined` for an ephemeral claim not created yet. */
  readonly uid: string | undefined;
  readonly storageClass: string;
  readonly sizeKib: number;
  /** Candidate pools from the class (`storagePool` or its resource group); `undefined` = any data pool. */
  readonly pools: readonly string[] | undefined;
  readonly policy: RemoteAccessPolicy;
  /** The class forbids remote access, so the pod's node must get a replica. */
  readonly localOnly: boolean;
  /** `volume.kubernetes.io/selected-node`, when already set. */
  readonly selectedNode: string | undefined;
}

/** A pod's LINSTOR volumes. */
export interface PodVolumes {
  readonly bound: readonly BoundVolume[];
  readonly pending: readonly PendingVolume[];
  /** Claims we could not resolve or deliberately ignore, with why (shown by explain). */
  readonly notes: readonly string[];
  /** The pod uses at least one LINSTOR volume (bound, pending or not yet resolvable). */
  readonly usesLinstor: boolean;
  /**
   * Claims kube-scheduler knows but our cache does not yet (kube-scheduler
   * only asks once they exist, so our informers lag): a claim not cached at
   * all, or a bound claim of a LINSTOR class whose PV is not cached. A claim
   * whose class is unknown or another provisioner's is not held.
   */
  readonly missing: readonly string[];
}

/** `namespace/name` of a pod. */
export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? "default"}/${pod.metadata?.name ?? ""}`;
}

function selectorSpec(text: string | undefined): SelectorSpec | undefined {
  if (text === undefined) return undefined;
  try {
    return { text, selector: parseLabelSelector(text) };
  } catch (error) {
    return {
      text,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

function defaultClass(index: SnapshotIndex): V1StorageClass | undefined {
  for (const sc of index.snapshot.kube.storageClasses.values()) {
    if (
      sc.metadata?.annotations?.[ANNOTATION_DEFAULT_STORAGE_CLASS] === "true"
    ) return sc;
  }
  return undefined;
}

function poolsOf(
  index: SnapshotIndex,
  params: Readonly<Record<string, string>> | undefined,
): string[] | undefined {
  const direct = csiParameter(params, "storagePool");
  if (direct !== undefined && direct.trim() !== "") {
    return direct.trim().split(/\s+/);
  }
  const group = csiParameter(params, "resourceGroup");
  if (group !== undefined) {
    const filter = index.snapshot.linstor.resourceGroups.get(group)
      ?.selectFilter;
    if (filter?.storage_pool_list && filter.storage_pool_list.length > 0) {
      return [...filter.storage_pool_list];
    }
    if (filter?.storage_pool) return [filter.storage_pool];
  }
  return undefined;
}

/**
 * Resolves the LINSTOR volumes of `pod`. Pure over the snapshot (once per
 * request, not per node).
 */
export function resolvePodVolumes(
  index: SnapshotIndex,
  pod: V1Pod,
  options: {
    /** linstor-csi's `--default-remote-access-policy` (default: anywhere). */
    defaultPolicy?: RemoteAccessPolicy;
  } = {},
): PodVolumes {
  const policyOptions = options.defaultPolicy
    ? { defaultPolicy: options.defaultPolicy }
    : {};
  const bound: BoundVolume[] = [];
  const pending: PendingVolume[] = [];
  const notes: string[] = [];
  let usesLinstor = false;
  const missing: string[] = [];
  const namespace = pod.metadata?.namespace ?? "default";
  const kube = index.snapshot.kube;
  for (const volume of pod.spec?.volumes ?? []) {
    let claimName: string | undefined;
    let template: V1PersistentVolumeClaimSpec | undefined;
    if (volume.persistentVolumeClaim?.claimName) {
      claimName = volume.persistentVolumeClaim.claimName;
    } else if (volume.ephemeral?.volumeClaimTemplate) {
      claimName = `${pod.metadata?.name ?? ""}-${volume.name}`;
      template = volume.ephemeral.volumeClaimTemplate.spec;
    } else {
      continue;
    }
    const claim = `${namespace}/${claimName}`;
    const pvc = kube.persistentVolumeClaims.get(claim);
    const spec = pvc?.spec ?? template;
    if (!spec) {
      notes.push(`claim ${claim} not found`);
      missing.push(claim);
      continue;
    }
    const annotations = pvc?.metadata?.annotations ?? {};
    const volumeName = pvc?.spec?.volumeName;
    if (volumeName) {
      const pv = kube.persistentVolumes.get(volumeName);
      if (!pv) {
        notes.push(`claim ${claim}: volume ${volumeName} not found`);
        // Held only when the claim's class says it is a LINSTOR volume.
        const className = spec.storageClassName;
        if (
          className &&
          kube.storageClasses.get(className)?.provisioner === CSI_DRIVER_NAME
        ) missing.push(claim);
        continue;
      }
      if (pv.spec?.csi?.driver !== CSI_DRIVER_NAME) continue;
      usesLinstor = true;
      const resource = tryParseVolumeHandle(pv.spec.csi.volumeHandle)
        ?.resource;
      if (resource === undefined) {
        notes.push(
          `claim ${claim}: volume handle ${
            JSON.stringify(pv.spec.csi.volumeHandle)
          } is not a LINSTOR CSI handle; no opinion`,
        );
        continue;
      }
      const scName = pv.spec.storageClassName;
      const sc = scName ? kube.storageClasses.get(scName) : undefined;
      const resolved = resolvePolicy(pv, sc, policyOptions);
      let policy: RemoteAccessPolicy | undefined;
      if ("policy" in resolved) {
        policy = resolved.policy;
      } else if (resolved.reason === "StorageClassMissing") {
        notes.push(
          `claim ${claim}: storage class ${
            scName ?? "(none)"
          } not found; no access opinion`,
        );
      } else {
        notes.push(`claim ${claim}: ${resolved.detail}; no access opinion`);
      }
      bound.push({
        kind: "bound",
        claim,
        pv: volumeName,
        resource,
        policy,
        nodeSelector: selectorSpec(
          annotations[ANNOTATION_NODE_SELECTOR] ??
            sc?.metadata?.annotations?.[ANNOTATION_NODE_SELECTOR],
        ),
        poolSelector: undefined,
      });
      continue;
    }
    // An explicit "" means "no class" (static binding); absent means the default class.
    const scName = spec.storageClassName ?? defaultClass(index)?.metadata?.name;
    const sc = scName ? kube.storageClasses.get(scName) : undefined;
    if (!sc) {
      // Nothing says this is a LINSTOR claim: no hold, no opinion.
      if (scName) {
        notes.push(`claim ${claim}: storage class ${scName} not found`);
      }
      continue;
    }
    if (sc.provisioner !== CSI_DRIVER_NAME) continue;
    usesLinstor = true;
    if (sc.volumeBindingMode !== "WaitForFirstConsumer") {
      notes.push(
        `claim ${claim}: not bound yet (Immediate binding); no capacity opinion`,
      );
      continue;
    }
    const request = spec.resources?.requests?.storage;
    let sizeKib = 0;
    try {
      sizeKib = request === undefined
        ? 0
        : Math.ceil(parseQuantity(String(request)) / 1024);
    } catch (error) {
      notes.push(
        `claim ${claim}: ${error instanceof Error ? error.message : error}`,
      );
    }
    const resolved = resolveStorageClassPolicy(
      scName ?? "",
      sc,
      policyOptions,
    );
    let policy: RemoteAccessPolicy;
    if ("policy" in resolved) {
      policy = resolved.policy;
    } else {
      notes.push(`claim ${claim}: ${resolved.detail}; treated as local-only`);
      policy = POLICY_LOCAL_ONLY;
    }
    const scAnnotations = sc.metadata?.annotations ?? {};
    pending.push({
      kind: "pending",
      claim,
      uid: pvc?.metadata?.uid,
      storageClass: scName ?? "",
      sizeKib,
      pools: poolsOf(index, sc.parameters),
      policy,
      localOnly: requiresLocalReplica(policy),
      selectedNode: annotations[ANNOTATION_SELECTED_NODE],
      nodeSelector: selectorSpec(
        annotations[ANNOTATION_NODE_SELECTOR] ??
          scAnnotations[ANNOTATION_NODE_SELECTOR],
      ),
      poolSelector: selectorSpec(
        annotations[ANNOTATION_STORAGE_POOL_SELECTOR] ??
          scAnnotations[ANNOTATION_STORAGE_POOL_SELECTOR],
      ),
    });
  }
  return { bound, pending, notes, usesLinstor, missing };
}
