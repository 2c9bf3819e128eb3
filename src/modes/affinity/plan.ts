/**
 * The pure planner of the affinity mode: Snapshot + now → actions (sorted by
 * key) and skip decisions with reasons. No I/O, no clock, no globals.
 *
 * @module
 */
import type {
  V1PersistentVolume,
  V1VolumeNodeAffinity,
} from "@kubernetes/client-node";
import {
  ANNOTATION_AFFINITY_REPLACING,
  ANNOTATION_SKIP_AFFINITY,
  ANNOTATION_SKIP_RECLAIM,
  CSI_DRIVER_NAME,
  LINSTOR_PROP_AFFINITY_RECORD,
  LINSTOR_PROP_AFFINITY_SKIP,
} from "../../constants.ts";
import type { KubeKind, Snapshot } from "../../state/types.ts";
import {
  legacyVolumeParameters,
  type PlacementPolicy,
  placementPolicyOf,
  type PolicyCache,
  type PolicyProblem,
  type RemoteAccessPolicy,
  type ResolvedPolicy,
  resolveParametersPolicy,
  resolvePvPolicy,
  resolveStorageClassPolicy,
} from "../../csi/mod.ts";
import {
  collectRecords,
  type FoundRecord,
  type RecordLocation,
  type RecoveryRecord,
} from "./_record.ts";
import {
  accessibleTopology,
  affinityFromSegments,
  affinityMatches,
  compareText,
  describeSegments,
  type TopologyCache,
  type TopologyDoubt,
} from "./_topology.ts";
import {
  formatVolumeHandle,
  freshness,
  parseVolumeHandle,
  tryParseVolumeHandle,
  type VolumeHandle,
} from "../../domain/mod.ts";

/** Memos of one planning pass (the snapshot is immutable). */
interface PlanCache {
  readonly topology: TopologyCache;
  readonly policies: PolicyCache;
  readonly classes: Map<string, ResolvedPolicy | PolicyProblem>;
  readonly placements: Map<string, PlacementPolicy | PolicyProblem>;
}

/** Options of the planner (from flags). */
export interface AffinityPlanOptions {
  /** LINSTOR node property namespace holding topology keys (`Aux/topology` or `Aux`). */
  propertyNamespace: string;
  /** PVs younger than this (ms) are left alone: LINSTOR may not show all replicas yet. */
  gracePeriodMs: number;
  /** LINSTOR data older than this (ms) is stale: nothing is changed. */
  maxLinstorAgeMs: number;
  /** At most this many PV replacements are planned per pass. */
  maxReplacementsPerPass: number;
  /** linstor-csi `--default-remote-access-policy`. @default {POLICY_ANYWHERE} */
  defaultPolicy?: RemoteAccessPolicy;
  /**
   * A drift must have pointed at the same target for this long (ms) before
   * anything is changed, so a replica that is briefly Outdated or syncing
   * (node reboot) does not make a PV flap. `0` acts at once.
   * @default {0}
   */
  settleMs?: number;
}

/** When a PV was first seen drifting towards one target. */
export interface DriftObservation {
  /** The desired affinity, rendered (`describeSegments()`). */
  readonly target: string;
  /** First pass (ms since the epoch) that saw this target. */
  readonly since: number;
}

/** Everything `planAffinity()` needs besides the snapshot. */
export interface AffinityPlanContext {
  /** Current time (ms since the epoch). */
  now: number;
  options: AffinityPlanOptions;
  /** This cluster's identity (kube-system namespace UID); records of other clusters are ignored. */
  clusterIdentity: string;
  /** Whether the apiserver accepts in-place nodeAffinity changes; `undefined` = not known yet (probe). */
  inPlaceSupported: boolean | undefined;
  /** The previous plan's `driftSeen` (cross-pass memory for `settleMs`). */
  driftSeen?: ReadonlyMap<string, DriftObservation>;
}

/** The claim a PV is bound to, as verified against the snapshot. */
export interface ClaimRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

interface ActionBase {
  /** `pv/<name>`. */
  readonly key: string;
  /** One line for logs and dry-run. */
  readonly summary: string;
  readonly pvName: string;
}

/** Sets nodeAffinity on a PV that has none (allowed in place by every apiserver). */
export interface SetPvAffinityAction extends ActionBase {
  readonly kind: "SetPvAffinity";
  readonly uid: string;
  readonly resourceVersion: string;
  readonly affinity: V1VolumeNodeAffinity;
  readonly claim: ClaimRef | undefined;
}

/** Changes nodeAffinity in place (apiserver with `MutablePVNodeAffinity`). */
export interface PatchPvAffinityInPlaceAction extends ActionBase {
  readonly kind: "PatchPvAffinityInPlace";
  readonly uid: string;
  readonly resourceVersion: string;
  readonly affinity: V1VolumeNodeAffinity | undefined;
  readonly claim: ClaimRef | undefined;
}

/** Replaces a PV (delete and re-create under the same name), probing in-place support first when unknown. */
export interface ReplacePvAffinityAction extends ActionBase {
  readonly kind: "ReplacePvAffinity";
  readonly uid: string;
  readonly resourceVersion: string;
  readonly handle: VolumeHandle;
  readonly affinity: V1VolumeNodeAffinity | undefined;
  readonly claim: ClaimRef | undefined;
  /** Probe in-place support with a dry-run update before replacing. */
  readonly probeInPlace: boolean;
}

/** Finishes an interrupted replace from its recovery record. */
export interface ResumeReplacePvAction extends ActionBase {
  readonly kind: "ResumeReplacePv";
  readonly record: RecoveryRecord;
  readonly locations: readonly RecordLocation[];
}

/** Removes a recovery record whose replace is finished or abandoned. */
export interface DropRecoveryRecordAction extends ActionBase {
  readonly kind: "DropRecoveryRecord";
  readonly record: RecoveryRecord;
  readonly locations: readonly RecordLocation[];
  /** The replace finished (new PV live): emit the `VolumeAffinityUpdated` Events. */
  readonly finished: boolean;
  /** The replace is abandoned for this reason: emit a Warning Event `VolumeAffinityReplaceAbandoned`. */
  readonly abandoned?: string;
}

/** One planned action. */
export type AffinityAction =
  | SetPvAffinityAction
  | PatchPvAffinityInPlaceAction
  | ReplacePvAffinityAction
  | ResumeReplacePvAction
  | DropRecoveryRecordAction;

/** Why a PV was left alone. */
export type AffinitySkipReason =
  | "SkipAnnotation"
  | "SkipProperty"
  | "InvalidVolumeHandle"
  | "DuplicateVolumeHandle"
  | "Released"
  | "Deleting"
  | "TooYoung"
  | "LinstorStale"
  | "KubeNotSynced"
  | "ResourceDefinitionMissing"
  | "VolumeDefinitionMissing"
  | "StorageClassMissing"
  | "InvalidPolicy"
  | TopologyDoubt
  | "ClaimMissing"
  | "ClaimMismatch"
  | "ClaimDeleting"
  | "ReplaceRateLimited"
  | "InvalidRecoveryRecord"
  | "ForeignRecoveryRecord"
  | "UntrustedRecoveryRecord"
  | "RecoveryMirrorMismatch"
  | "ReplaceUnprotected"
  | "OrphanedReplaceMarker"
  | "DriftSettling";

/** A skip decision. */
export interface AffinitySkip {
  /** PV name; `""` for a pass-wide skip (stale data). */
  readonly pvName: string;
  readonly reason: AffinitySkipReason;
  readonly detail: string;
  /** Worth a Warning Event (a doubt a human should look at). */
  readonly event: boolean;
  /** The PVC the Event goes on (a recovery record copy on it); the PV otherwise. */
  readonly claim?: ClaimRef;
}

/** The result of `planAffinity()`. */
export interface AffinityPlan {
  /** Actions sorted by key, at most one per PV. */
  readonly actions: readonly AffinityAction[];
  /** Skips sorted by PV name then reason. */
  readonly skips: readonly AffinitySkip[];
  /** LINSTOR CSI PVs examined. */
  readonly examined: number;
  /** PVs whose affinity differs from LINSTOR (acted on or not). */
  readonly drifted: number;
  /** Drifts seen in this pass, for the next pass's `context.driftSeen`. */
  readonly driftSeen: ReadonlyMap<string, DriftObservation>;
}

const REQUIRED_KINDS: readonly KubeKind[] = [
  "persistentVolumes",
  "persistentVolumeClaims",
  "storageClasses",
];

/**
 * Plans one pass: which PVs need their nodeAffinity set, changed in place or
 * replaced, which interrupted replaces to finish, and why others are left
 * alone. Pure: same snapshot and context, same plan.
 */
export function planAffinity(
  snapshot: Snapshot,
  context: AffinityPlanContext,
): AffinityPlan {
  const actions: AffinityAction[] = [];
  const skips: AffinitySkip[] = [];
  const skip = (
    pvName: string,
    reason: AffinitySkipReason,
    detail: string,
    event: boolean,
  ) => skips.push({ pvName, reason, detail, event });
  const { options } = context;

  const verdict = freshness(snapshot, context.now, {
    maxAgeMs: options.maxLinstorAgeMs,
    kinds: REQUIRED_KINDS,
  });
  if (!verdict.fresh) {
    skip(
      "",
      verdict.reason === "KubeNotSynced" ? "KubeNotSynced" : "LinstorStale",
      verdict.detail,
      false,
    );
    return finish(actions, skips, {
      examined: 0,
      drifted: 0,
      driftSeen: context.driftSeen ?? new Map(),
    });
  }

  const records = collectRecords(snapshot, context.clusterIdentity);
  skips.push(...records.problems);
  const pvs = [...snapshot.kube.persistentVolumes.values()]
    .filter((pv) => pv.spec?.csi?.driver === CSI_DRIVER_NAME)
    .sort((a, b) =>
      compareText(a.metadata?.name ?? "", b.metadata?.name ?? "")
    );
  const handleUsers = new Map<string, number>();
  for (const pv of pvs) {
    const key = volumeKey(pv.spec!.csi!.volumeHandle);
    handleUsers.set(key, (handleUsers.get(key) ?? 0) + 1);
  }

  let drifted = 0;
  let replacements = 0;
  const handled = new Set<string>();

  // Interrupted replaces come first: they leave PVs in a transient state.
  for (const [pvName, found] of records.own) {
    if (records.invalidFor.has(pvName)) continue;
    handled.add(pvName);
    const live = snapshot.kube.persistentVolumes.get(pvName);
    const decision = planRecord(pvName, found, live);
    if (decision !== undefined && "reason" in decision) {
      skips.push(decision);
      continue;
    }
    if (decision !== undefined) {
      actions.push(decision);
      continue;
    }
    // Crash after step 1: the PV is untouched; re-plan it normally (a
    // replace rewrites the record, no drift drops it).
    handled.delete(pvName);
  }

  const driftSeen = new Map<string, DriftObservation>();
  const cache: PlanCache = {
    topology: new Map(),
    policies: new Map(),
    classes: new Map(),
    placements: new Map(),
  };
  for (const pv of pvs) {
    const name = pv.metadata?.name ?? "";
    if (handled.has(name) || records.invalidFor.has(name)) continue;
    const decision = planPv(snapshot, context, pv, { handleUsers, cache });
    if (decision.kind === "skip") {
      skip(name, decision.reason, decision.detail, decision.event);
      if (decision.drifted) drifted++;
      continue;
    }
    if (decision.kind === "in-sync") {
      const record = records.own.get(name);
      if (record !== undefined) {
        actions.push(dropAction(record, false, "the PV is in sync"));
      }
      continue;
    }
    drifted++;
    const action = decision.action;
    const previous = context.driftSeen?.get(name);
    const since = previous?.target === decision.target
      ? previous.since
      : context.now;
    driftSeen.set(name, { target: decision.target, since });
    const settleMs = options.settleMs ?? 0;
    if (context.now - since < settleMs) {
      skip(
        name,
        "DriftSettling",
        `drift to ${decision.target} seen for ${
          Math.round((context.now - since) / 1000)
        }s; acting after ${Math.round(settleMs / 1000)}s`,
        false,
      );
      continue;
    }
    if (action.kind === "ReplacePvAffinity") {
      if (replacements >= options.maxReplacementsPerPass) {
        skip(
          name,
          "ReplaceRateLimited",
          `more than ${options.maxReplacementsPerPass} replacements in this pass`,
          false,
        );
        continue;
      }
      replacements++;
    }
    actions.push(action);
  }
  return finish(actions, skips, { examined: pvs.length, drifted, driftSeen });
}

function finish(
  actions: AffinityAction[],
  skips: AffinitySkip[],
  counts: {
    examined: number;
    drifted: number;
    driftSeen: ReadonlyMap<string, DriftObservation>;
  },
): AffinityPlan {
  actions.sort((a, b) => compareText(a.key, b.key));
  skips.sort((a, b) =>
    compareText(a.pvName, b.pvName) || compareText(a.reason, b.reason)
  );
  return { actions, skips, ...counts };
}

/**
 * What an own-cluster LINSTOR record asks for: an action, a skip (the record
 * cannot be trusted for what it would do), or `undefined` (crash after step
 * 1: the PV is untouched, re-plan it normally).
 */
function planRecord(
  pvName: string,
  found: FoundRecord,
  live: V1PersistentVolume | undefined,
): AffinityAction | AffinitySkip | undefined {
  const { record } = found;
  if (live !== undefined && live.metadata?.uid !== record.oldUid) {
    // The name is held by another PV: nothing is created or deleted.
    const ours = isReplacementOf(live, record);
    return dropAction(
      found,
      ours,
      ours ? "the replacement PV exists" : "the PV name is held by another PV",
    );
  }
  if (
    live !== undefined &&
    live.metadata?.annotations?.[ANNOTATION_AFFINITY_REPLACING] !==
      record.oldUid
  ) {
    if (live.metadata?.deletionTimestamp !== undefined) {
      // Deleted by someone else before we set Retain: their delete stands.
      return dropAction(
        found,
        false,
        "the PV is being deleted by someone else; replace abandoned",
      );
    }
    return undefined;
  }
  if (
    record.deletingAt === undefined &&
    (live === undefined || live.metadata?.deletionTimestamp !== undefined)
  ) {
    // Only a record marked before our delete proves the delete was ours.
    const why = live === undefined
      ? `PV ${pvName} was deleted by someone else during its replace; it is not re-created`
      : `PV ${pvName} is being deleted by someone else during its replace; it stays Retain`;
    return { ...dropAction(found, false, "replace abandoned"), abandoned: why };
  }
  if (live !== undefined) {
    const unprotected = unprotectedBecause(live);
    if (unprotected !== undefined) {
      return {
        pvName,
        reason: "ReplaceUnprotected",
        detail:
          `${unprotected} since the replace started; the PV is not deleted (restore it, or remove ${ANNOTATION_AFFINITY_REPLACING} and the recovery record by hand)`,
        event: true,
      };
    }
  }
  // From here the record's content is acted on (the old PV deleted, the new
  // one created): its mirror on a still-existing claim must agree.
  if (found.mirror === "missing" || found.mirror === "disagrees") {
    return {
      pvName,
      reason: "RecoveryMirrorMismatch",
      detail:
        `the recovery record on claim ${record.claim?.namespace}/${record.claim?.name} is ${
          found.mirror === "missing"
            ? "missing"
            : "different from the one in LINSTOR"
        }; the replace is not continued (restore the annotation from the LINSTOR property ${LINSTOR_PROP_AFFINITY_RECORD}, or finish by hand)`,
      event: true,
      ...(record.claim ? { claim: record.claim } : {}),
    };
  }
  return {
    kind: "ResumeReplacePv",
    key: `pv/${pvName}`,
    pvName,
    summary: live === undefined
      ? `re-create deleted PV ${pvName} from its recovery record`
      : `finish the interrupted replace of PV ${pvName}`,
    record,
    locations: found.locations,
  };
}

/**
 * Why a PV marked for replace may no longer be deleted: its reclaim policy
 * is no longer `Retain` or its skip-reclaim annotation is gone (someone
 * undid step 2); `undefined` while both still protect the data.
 */
export function unprotectedBecause(
  pv: V1PersistentVolume,
): string | undefined {
  const policy = pv.spec?.persistentVolumeReclaimPolicy;
  if (policy !== "Retain") {
    return `the reclaim policy was changed to ${policy ?? "(none)"}`;
  }
  const skip = pv.metadata?.annotations?.[ANNOTATION_SKIP_RECLAIM];
  if (skip !== "true") {
    return `annotation ${ANNOTATION_SKIP_RECLAIM} was ${
      skip === undefined ? "removed" : `changed to "${skip}"`
    }`;
  }
  return undefined;
}

/** Whether `live` is the PV a replace under `record` created (same volume and claim). */
function isReplacementOf(
  live: V1PersistentVolume,
  record: RecoveryRecord,
): boolean {
  const want = record.pv.spec;
  const have = live.spec;
  return have?.csi?.driver === want?.csi?.driver &&
    have?.csi?.volumeHandle === want?.csi?.volumeHandle &&
    have?.claimRef?.uid === want?.claimRef?.uid;
}

function dropAction(
  found: FoundRecord,
  finished: boolean,
  why: string,
): DropRecoveryRecordAction {
  const pvName = found.record.pvName;
  return {
    kind: "DropRecoveryRecord",
    key: `pv/${pvName}`,
    pvName,
    summary: `drop the recovery record of PV ${pvName} (${why})`,
    record: found.record,
    locations: found.locations,
    finished,
  };
}

type PvDecision =
  | { kind: "in-sync" }
  | {
    kind: "skip";
    reason: AffinitySkipReason;
    detail: string;
    event: boolean;
    drifted: boolean;
  }
  | { kind: "act"; action: AffinityAction; target: string };

function planPv(
  snapshot: Snapshot,
  context: AffinityPlanContext,
  pv: V1PersistentVolume,
  memo: { handleUsers: ReadonlyMap<string, number>; cache: PlanCache },
): PvDecision {
  const { handleUsers, cache } = memo;
  const skip = (
    reason: AffinitySkipReason,
    detail: string,
    event: boolean,
    drifted = false,
  ): PvDecision => ({ kind: "skip", reason, detail, event, drifted });
  const { options } = context;
  const metadata = pv.metadata ?? {};
  const name = metadata.name ?? "";
  const optOut = metadata.annotations?.[ANNOTATION_SKIP_AFFINITY];
  if (optOut !== undefined && optOut !== "") {
    return skip(
      "SkipAnnotation",
      `annotation ${ANNOTATION_SKIP_AFFINITY}`,
      false,
    );
  }
  if (metadata.annotations?.[ANNOTATION_AFFINITY_REPLACING] !== undefined) {
    // Step 2 happened but no record is left: the original reclaim policy is
    // unknown, so a human decides (remove the annotation, restore the policy).
    return skip(
      "OrphanedReplaceMarker",
      `annotation ${ANNOTATION_AFFINITY_REPLACING} is set but no recovery record exists; restore the reclaim policy and remove the annotation and ${ANNOTATION_SKIP_RECLAIM} by hand`,
      true,
    );
  }
  const rawHandle = pv.spec!.csi!.volumeHandle;
  let handle: VolumeHandle;
  try {
    handle = parseVolumeHandle(rawHandle);
  } catch (error) {
    return skip("InvalidVolumeHandle", (error as Error).message, true);
  }
  if ((handleUsers.get(formatVolumeHandle(handle)) ?? 0) > 1) {
    return skip(
      "DuplicateVolumeHandle",
      `the volume of handle "${rawHandle}" is used by more than one PV`,
      true,
    );
  }
  if (metadata.deletionTimestamp !== undefined) {
    return skip("Deleting", "the PV is being deleted", false);
  }
  if (pv.status?.phase === "Released" || pv.status?.phase === "Failed") {
    return skip("Released", `the PV is ${pv.status.phase}`, false);
  }
  const created = toMillis(metadata.creationTimestamp);
  if (created === undefined || context.now - created < options.gracePeriodMs) {
    return skip(
      "TooYoung",
      `the PV is younger than ${Math.round(options.gracePeriodMs / 1000)}s`,
      false,
    );
  }
  const rd = snapshot.linstor.resourceDefinitions.get(handle.resource);
  if (rd === undefined) {
    return skip(
      "ResourceDefinitionMissing",
      `LINSTOR has no resource definition "${handle.resource}"`,
      true,
    );
  }
  const rdSkip = rd.props[LINSTOR_PROP_AFFINITY_SKIP];
  if (rdSkip !== undefined && rdSkip !== "") {
    return skip(
      "SkipProperty",
      `LINSTOR property ${LINSTOR_PROP_AFFINITY_SKIP}`,
      false,
    );
  }
  if (!rd.volumeDefinitions.some((vd) => vd.volumeNumber === handle.volume)) {
    return skip(
      "VolumeDefinitionMissing",
      `LINSTOR resource definition "${handle.resource}" has no volume ${handle.volume}`,
      true,
    );
  }
  const rules = volumeRules(snapshot, pv, rd.props, {
    cache,
    ...(options.defaultPolicy ? { defaultPolicy: options.defaultPolicy } : {}),
  });
  if ("reason" in rules) return skip(rules.reason, rules.detail, true);
  const topology = accessibleTopology(snapshot, handle, {
    policy: rules.policy,
    placement: rules.placement,
    propertyNamespace: options.propertyNamespace,
    cache: cache.topology,
  });
  if (!topology.ok) return skip(topology.reason, topology.detail, true);
  const current = pv.spec?.nodeAffinity;
  if (affinityMatches(current, topology.segments)) return { kind: "in-sync" };

  const claim = verifyClaim(snapshot, pv);
  if ("reason" in claim) {
    return skip(claim.reason, claim.detail, true, true);
  }
  const affinity = affinityFromSegments(topology.segments);
  const base = {
    key: `pv/${name}`,
    pvName: name,
    uid: metadata.uid ?? "",
    resourceVersion: metadata.resourceVersion ?? "",
    claim: claim.ref,
  };
  const target = describeSegments(topology.segments);
  if (current === undefined && affinity !== undefined) {
    return {
      kind: "act",
      target,
      action: {
        ...base,
        kind: "SetPvAffinity",
        affinity,
        summary: `set nodeAffinity of PV ${name} to ${target}`,
      },
    };
  }
  if (context.inPlaceSupported === true) {
    return {
      kind: "act",
      target,
      action: {
        ...base,
        kind: "PatchPvAffinityInPlace",
        affinity,
        summary: `change nodeAffinity of PV ${name} in place to ${target}`,
      },
    };
  }
  return {
    kind: "act",
    target,
    action: {
      ...base,
      kind: "ReplacePvAffinity",
      handle,
      affinity,
      probeInPlace: context.inPlaceSupported === undefined,
      summary: `replace PV ${name} with nodeAffinity ${target}`,
    },
  };
}

/**
 * The remote-access policy and placement policy the volume was created
 * with, as linstor-csi resolves them: the PV (override annotation, volume
 * context), else the legacy parameters linstor-csi kept in the resource
 * definition (`Aux/csi-volume-annotations`, volumes older than the volume
 * context), else the StorageClass. The placement policy comes from the
 * legacy parameters or the StorageClass (generic when neither exists).
 */
function volumeRules(
  snapshot: Snapshot,
  pv: V1PersistentVolume,
  rdProps: Readonly<Record<string, string>>,
  memo: { cache: PlanCache; defaultPolicy?: RemoteAccessPolicy },
): { policy: RemoteAccessPolicy; placement: PlacementPolicy } | PolicyProblem {
  const { cache } = memo;
  const defaults = memo.defaultPolicy
    ? { defaultPolicy: memo.defaultPolicy }
    : {};
  const found = legacyVolumeParameters(rdProps);
  if (found !== undefined && "reason" in found) return found;
  const legacy = found?.parameters;
  const className = pv.spec?.storageClassName ?? "";
  const storageClass = className
    ? snapshot.kube.storageClasses.get(className)
    : undefined;
  let resolved = resolvePvPolicy(pv, { cache: cache.policies });
  if (resolved === undefined && legacy !== undefined) {
    resolved = resolveParametersPolicy(legacy, {
      ...defaults,
      source: "legacy-parameters",
    });
  }
  if (resolved === undefined) {
    resolved = cache.classes.get(className);
    if (resolved === undefined) {
      resolved = resolveStorageClassPolicy(className, storageClass, defaults);
      cache.classes.set(className, resolved);
    }
  }
  if ("reason" in resolved) return resolved;
  let placement: PlacementPolicy | PolicyProblem;
  if (legacy !== undefined) placement = placementPolicyOf(legacy);
  else {
    const cached = cache.placements.get(className);
    placement = cached ?? placementPolicyOf(storageClass?.parameters);
    if (cached === undefined) cache.placements.set(className, placement);
  }
  if (typeof placement !== "string") return placement;
  return { policy: resolved.policy, placement };
}

function verifyClaim(
  snapshot: Snapshot,
  pv: V1PersistentVolume,
):
  | { ref: ClaimRef | undefined }
  | { reason: AffinitySkipReason; detail: string } {
  const claimRef = pv.spec?.claimRef;
  if (claimRef === undefined) return { ref: undefined };
  const namespace = claimRef.namespace ?? "";
  const name = claimRef.name ?? "";
  const pvc = snapshot.kube.persistentVolumeClaims.get(`${namespace}/${name}`);
  if (pvc === undefined) {
    return {
      reason: "ClaimMissing",
      detail: `claim ${namespace}/${name} does not exist`,
    };
  }
  if (claimRef.uid === undefined || pvc.metadata?.uid !== claimRef.uid) {
    return {
      reason: "ClaimMismatch",
      detail: `claim ${namespace}/${name} has UID ${
        pvc.metadata?.uid ?? "(none)"
      }, the PV's claimRef names ${claimRef.uid ?? "(none)"}`,
    };
  }
  if (pvc.metadata?.deletionTimestamp !== undefined) {
    return {
      reason: "ClaimDeleting",
      detail: `claim ${namespace}/${name} is being deleted`,
    };
  }
  return { ref: { namespace, name, uid: claimRef.uid } };
}

function toMillis(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Two PVs whose handles name the same LINSTOR volume share this key. */
function volumeKey(rawHandle: string): string {
  const handle = tryParseVolumeHandle(rawHandle);
  return handle === undefined ? rawHandle : formatVolumeHandle(handle);
}
