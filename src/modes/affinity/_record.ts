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
  CSI_DRIVER_NAME,
  LINSTOR_PROP_AFFINITY_RECORD,
} from "../../constants.ts";
import type { Snapshot } from "../../state/types.ts";
import { parseVolumeHandle } from "../../domain/mod.ts";

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
  /**
   * The step marker, written to the LINSTOR copy only, right before this
   * controller deletes the old PV (ISO 8601). Without it a vanished PV was
   * deleted by someone else and is never re-created.
   */
  readonly deletingAt?: string;
}

/** Where a record was found. */
export type RecordLocation = "linstor" | "kubernetes";

/**
 * How the PVC copy of a record relates to its LINSTOR copy (the authority):
 * `agrees` (the record's claim, same namespace, name and UID, carries the
 * identical text), `missing` or `disagrees` (that claim exists but its copy
 * is absent or different), `no-claim` (the record names no claim, or its
 * claim is gone or was replaced, so no copy can exist).
 */
export type MirrorState = "agrees" | "missing" | "disagrees" | "no-claim";

/** A record found in the snapshot: always from LINSTOR, with how its PVC mirror relates. */
export interface FoundRecord {
  readonly record: RecoveryRecord;
  readonly locations: readonly RecordLocation[];
  /** The PVC mirror of the record (see {@linkcode MirrorState}). */
  readonly mirror: MirrorState;
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
  if (
    r.deletingAt !== undefined &&
    (typeof r.deletingAt !== "string" || r.deletingAt === "")
  ) {
    throw new TypeError(
      `Cannot decode recovery record of "${r.pvName}": field "deletingAt" must be a non-empty string`,
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

/** The record as its PVC mirror holds it: without the LINSTOR-only step marker. */
export function mirrorText(record: RecoveryRecord): string {
  const { deletingAt: _, ...mirrored } = record;
  return encodeRecord(mirrored);
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

/** Why a record (or a copy of one) is not acted on. */
export type RecordProblemReason =
  | "InvalidRecoveryRecord"
  | "ForeignRecoveryRecord"
  | "UntrustedRecoveryRecord";

/** A record (or a PVC copy) that is not acted on. */
export interface RecordProblem {
  /** The PV the record names; `""` when it cannot be read. */
  readonly pvName: string;
  readonly reason: RecordProblemReason;
  readonly detail: string;
  /** Worth a Warning Event. */
  readonly event: boolean;
  /** The PVC the Event goes on (a planted or tampered copy); the PV otherwise. */
  readonly claim?: {
    readonly namespace: string;
    readonly name: string;
    readonly uid: string;
  };
}

/** Recovery records found in a snapshot. */
export interface CollectedRecords {
  /** This cluster's LINSTOR records by PV name (the only ones ever acted on). */
  readonly own: ReadonlyMap<string, FoundRecord>;
  /** PV names whose LINSTOR record cannot be trusted: never acted on. */
  readonly invalidFor: ReadonlySet<string>;
  /** Records and copies that were ignored, with reasons. */
  readonly problems: readonly RecordProblem[];
}

/**
 * Why a decoded LINSTOR record found on volume `volume` of resource
 * definition `rd` cannot describe the PV it names; `undefined` when it is
 * consistent: it sits on the volume it names, the PV to create is that
 * volume's LINSTOR CSI PV, and the PV's `claimRef` is the record's claim.
 */
export function recordInconsistency(
  record: RecoveryRecord,
  where: { rd: string; volume: number },
): string | undefined {
  if (record.resource !== where.rd || record.volume !== where.volume) {
    return `names volume ${record.resource}/${record.volume} but sits on ${where.rd}/${where.volume}`;
  }
  const csi = record.pv.spec?.csi;
  if (csi?.driver !== CSI_DRIVER_NAME) {
    return `its PV has CSI driver "${
      csi?.driver ?? ""
    }", not ${CSI_DRIVER_NAME}`;
  }
  let handle: { resource: string; volume: number };
  try {
    handle = parseVolumeHandle(csi.volumeHandle);
  } catch (error) {
    return (error as Error).message;
  }
  if (handle.resource !== record.resource || handle.volume !== record.volume) {
    return `its PV has volume handle "${csi.volumeHandle}", not volume ${record.resource}/${record.volume}`;
  }
  const ref = record.pv.spec?.claimRef;
  const claim = record.claim;
  const same = ref === undefined
    ? claim === undefined
    : claim !== undefined && ref.namespace === claim.namespace &&
      ref.name === claim.name && ref.uid === claim.uid;
  if (!same) {
    return `its PV's claimRef (${
      describeRef(ref)
    }) is not the record's claim (${describeRef(claim)})`;
  }
  return undefined;
}

function describeRef(
  ref: { namespace?: string; name?: string; uid?: string } | undefined,
): string {
  return ref === undefined
    ? "none"
    : `${ref.namespace ?? ""}/${ref.name ?? ""} UID ${ref.uid ?? ""}`;
}

/**
 * Decodes a record copy found at `where`; `undefined` (with the problem
 * added to `problems`) when it cannot be read or is another cluster's.
 */
function decodeOwnRecord(
  text: string,
  options: {
    where: string;
    clusterIdentity: string;
    problems: RecordProblem[];
    /** How an unreadable copy is reported. */
    unreadable: Pick<RecordProblem, "reason" | "event" | "claim">;
  },
): RecoveryRecord | undefined {
  const { where, problems } = options;
  let record: RecoveryRecord;
  try {
    record = decodeRecord(text);
  } catch (error) {
    problems.push({
      pvName: "",
      detail: `${where}: ${(error as Error).message}`,
      ...options.unreadable,
    });
    return undefined;
  }
  if (record.cluster !== options.clusterIdentity) {
    problems.push({
      pvName: record.pvName,
      reason: "ForeignRecoveryRecord",
      detail: `${where} belongs to cluster ${record.cluster}`,
      event: false,
    });
    return undefined;
  }
  return record;
}

/**
 * Collects the recovery records in `snapshot`. The LINSTOR copy (a
 * volume-definition property only admins can write) is the authority; a PVC
 * annotation is only its mirror, written by us but writable by the tenant.
 * A LINSTOR record is kept when it is this cluster's, consistent
 * (`recordInconsistency()`) and alone for its PV. A PVC copy is never a
 * record of its own: it counts as the mirror when it is byte-identical to
 * the LINSTOR record whose claim is that very PVC (namespace, name, UID),
 * apart from the LINSTOR-only step marker;
 * any other copy is reported as untrusted (a Warning Event on that PVC).
 */
export function collectRecords(
  snapshot: Snapshot,
  clusterIdentity: string,
): CollectedRecords {
  const found = new Map<
    string,
    { record: RecoveryRecord; mirror?: "agrees" | "disagrees" }
  >();
  const invalidFor = new Set<string>();
  const problems: RecordProblem[] = [];
  for (const rd of snapshot.linstor.resourceDefinitions.values()) {
    for (const vd of rd.volumeDefinitions) {
      const text = vd.props[LINSTOR_PROP_AFFINITY_RECORD];
      if (text === undefined) continue;
      const where = `LINSTOR ${rd.name}/${vd.volumeNumber}`;
      const record = decodeOwnRecord(text, {
        where,
        clusterIdentity,
        problems,
        unreadable: { reason: "InvalidRecoveryRecord", event: false },
      });
      if (record === undefined) continue;
      const wrong = recordInconsistency(record, {
        rd: rd.name,
        volume: vd.volumeNumber,
      });
      if (wrong !== undefined) {
        invalidFor.add(record.pvName);
        problems.push({
          pvName: record.pvName,
          reason: "InvalidRecoveryRecord",
          detail: `${where}: ${wrong}`,
          event: true,
        });
        continue;
      }
      if (found.has(record.pvName)) {
        invalidFor.add(record.pvName);
        problems.push({
          pvName: record.pvName,
          reason: "InvalidRecoveryRecord",
          detail: `${where} is a second record of the same PV`,
          event: true,
        });
        continue;
      }
      found.set(record.pvName, { record });
    }
  }
  for (const [key, pvc] of snapshot.kube.persistentVolumeClaims) {
    const text = pvc.metadata?.annotations?.[ANNOTATION_AFFINITY_RECORD];
    if (text === undefined) continue;
    const claim = {
      namespace: pvc.metadata?.namespace ?? "",
      name: pvc.metadata?.name ?? "",
      uid: pvc.metadata?.uid ?? "",
    };
    const where = `PVC ${key}`;
    const record = decodeOwnRecord(text, {
      where,
      clusterIdentity,
      problems,
      unreadable: { reason: "UntrustedRecoveryRecord", event: true, claim },
    });
    if (record === undefined) continue;
    const authority = found.get(record.pvName);
    const own = authority?.record.claim;
    const isItsClaim = own !== undefined && own.namespace === claim.namespace &&
      own.name === claim.name && own.uid === claim.uid;
    if (authority !== undefined && isItsClaim) {
      // The planner decides whether a disagreeing mirror blocks anything.
      authority.mirror = mirrorText(authority.record) === text
        ? "agrees"
        : "disagrees";
      continue;
    }
    problems.push({
      pvName: record.pvName,
      reason: "UntrustedRecoveryRecord",
      detail: authority === undefined
        ? `${where} carries a recovery record of PV ${record.pvName} that LINSTOR does not hold; ignored`
        : `${where} carries a recovery record of PV ${record.pvName}, whose claim is another PVC; ignored`,
      event: true,
      claim,
    });
  }
  const own = new Map<string, FoundRecord>();
  for (const [pvName, entry] of found) {
    if (invalidFor.has(pvName)) continue;
    const claim = entry.record.claim;
    const pvc = claim === undefined
      ? undefined
      : snapshot.kube.persistentVolumeClaims.get(
        `${claim.namespace}/${claim.name}`,
      );
    const claimPresent = pvc !== undefined && claim !== undefined &&
      pvc.metadata?.uid === claim.uid;
    const mirror: MirrorState = !claimPresent
      ? "no-claim"
      : entry.mirror ?? "missing";
    own.set(pvName, {
      record: entry.record,
      locations: mirror === "agrees" ? ["linstor", "kubernetes"] : ["linstor"],
      mirror,
    });
  }
  return { own, invalidFor, problems };
}
