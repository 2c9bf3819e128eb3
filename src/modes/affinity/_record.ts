/**
 * The recovery record of a PV replace: written before anything is touched,
 * it holds the full intended PV and this cluster's identity, so a later pass
 * (in this process or a restarted one) can finish an interrupted replace,
 * and a second cluster sharing the LINSTOR cluster ignores it.
 *
 * @module
 */
import type {
  V1ObjectMeta,
  V1PersistentVolume,
  V1VolumeNodeAffinity,
} from "@kubernetes/client-node";
import {
  ANNOTATION_AFFINITY_RECORD,
  ANNOTATION_AFFINITY_REPLACING,
  ANNOTATION_SKIP_RECLAIM,
} from "../../constants.ts";

/** Format version of the record. */
export const RECORD_VERSION = 1;

/** The recovery record of one PV replace. */
export interface RecoveryRecord {
  /** Always {@linkcode RECORD_VERSION}. */
  readonly version: number;
  /** The identity of the cluster that wrote it (kube-system namespace UID). */
  readonly cluster: string;
  /** PV name (equal to `pv.metadata.name`). */
  readonly pvName: string;
  /** UID of the PV being replaced. */
  readonly oldUid: string;
  /** The PV's bound claim at the time of writing, if any. */
  readonly claim?: {
    readonly namespace: string;
    readonly name: string;
    readonly uid: string;
  };
  /** LINSTOR resource definition and volume number of the PV. */
  readonly resource: string;
  /** Volume number inside `resource`. */
  readonly volume: number;
  /** When it was written (ISO 8601, from the injected clock). */
  readonly writtenAt: string;
  /** The PV to create: full original spec and metadata, new affinity, original reclaim policy. */
  readonly pv: V1PersistentVolume;
}

/** Where a record was found. */
export type RecordLocation = "linstor" | "kubernetes";

/** A record found in the snapshot, with where it was found. */
export interface FoundRecord {
  readonly record: RecoveryRecord;
  readonly locations: readonly RecordLocation[];
}

/** Encodes a record as JSON (the property and annotation value). */
export function encodeRecord(record: RecoveryRecord): string {
  return JSON.stringify(record);
}

/** Decodes and validates a record; throws `SyntaxError`/`TypeError` on anything malformed. */
export function decodeRecord(text: string): RecoveryRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new SyntaxError(`Cannot decode recovery record: not JSON`, {
      cause,
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`Cannot decode recovery record: not an object`);
  }
  const r = value as Record<string, unknown>;
  if (r.version !== RECORD_VERSION) {
    throw new TypeError(
      `Cannot decode recovery record: unsupported version "${
        String(r.version)
      }"`,
    );
  }
  for (
    const field of ["cluster", "pvName", "oldUid", "resource", "writtenAt"]
  ) {
    if (typeof r[field] !== "string" || r[field] === "") {
      throw new TypeError(
        `Cannot decode recovery record: field "${field}" must be a non-empty string`,
      );
    }
  }
  if (!Number.isInteger(r.volume) || (r.volume as number) < 0) {
    throw new TypeError(
      `Cannot decode recovery record: field "volume" must be a non-negative integer`,
    );
  }
  const pv = r.pv as V1PersistentVolume | undefined;
  if (
    pv === null || typeof pv !== "object" || pv.metadata?.name !== r.pvName ||
    pv.spec?.csi?.volumeHandle === undefined
  ) {
    throw new TypeError(
      `Cannot decode recovery record of "${r.pvName}": field "pv" is not the PV named in the record`,
    );
  }
  const claim = r.claim as Record<string, unknown> | undefined;
  if (
    claim !== undefined &&
    (typeof claim !== "object" || claim === null ||
      typeof claim.namespace !== "string" ||
      typeof claim.name !== "string" || typeof claim.uid !== "string")
  ) {
    throw new TypeError(
      `Cannot decode recovery record of "${r.pvName}": field "claim" is malformed`,
    );
  }
  return value as RecoveryRecord;
}

/** Annotations that exist only during a replace and never reach the new PV. */
const TRANSIENT_ANNOTATIONS: readonly string[] = Object.freeze([
  ANNOTATION_AFFINITY_REPLACING,
  ANNOTATION_AFFINITY_RECORD,
]);

/**
 * The PV to create in replace step 5: every field of `live` (spec, labels,
 * annotations, finalizers, claimRef incl. uid) with `affinity` and without
 * server-owned metadata (uid, resourceVersion, timestamps, managedFields,
 * status) or our transient annotations. The skip-reclaim annotation stays
 * only when the user had set it before the replace started.
 */
export function intendedPv(
  live: V1PersistentVolume,
  affinity: V1VolumeNodeAffinity | undefined,
  options: {
    originalSkipReclaim: string | undefined;
    reclaimPolicy: string | undefined;
  },
): V1PersistentVolume {
  const copy = structuredClone(live);
  const source: V1ObjectMeta = copy.metadata ?? {};
  const annotations = { ...(source.annotations ?? {}) };
  for (const key of TRANSIENT_ANNOTATIONS) delete annotations[key];
  delete annotations[ANNOTATION_SKIP_RECLAIM];
  if (options.originalSkipReclaim !== undefined) {
    annotations[ANNOTATION_SKIP_RECLAIM] = options.originalSkipReclaim;
  }
  const metadata: V1ObjectMeta = { name: source.name! };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  if (source.labels !== undefined) metadata.labels = source.labels;
  if (source.finalizers !== undefined) metadata.finalizers = source.finalizers;
  if (source.ownerReferences !== undefined) {
    metadata.ownerReferences = source.ownerReferences;
  }
  const spec = copy.spec ?? {};
  if (affinity === undefined) delete spec.nodeAffinity;
  else spec.nodeAffinity = affinity;
  if (options.reclaimPolicy !== undefined) {
    spec.persistentVolumeReclaimPolicy = options.reclaimPolicy;
  }
  if (spec.claimRef !== undefined) delete spec.claimRef.resourceVersion;
  const result: V1PersistentVolume = { metadata, spec };
  if (copy.apiVersion !== undefined) result.apiVersion = copy.apiVersion;
  if (copy.kind !== undefined) result.kind = copy.kind;
  return result;
}
