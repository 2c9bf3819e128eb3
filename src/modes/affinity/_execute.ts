/**
 * Executing affinity actions against the apiserver and LINSTOR.
 *
 * Every step re-reads the live object and carries UID/resourceVersion
 * preconditions; a stale plan is a no-op (the next pass re-plans).
 *
 * The replace procedure (numbered as in docs/affinity.md):
 *
 * 0. validate the new PV with a server-side dry-run create (nothing is
 *    touched when admission or validation would refuse it);
 * 1. write the recovery record (full intended PV + cluster identity) to the
 *    LINSTOR volume definition and mirror it on the bound PVC;
 * 2. set reclaim `Retain`, the skip-reclaim annotation and our `replacing`
 *    marker, with UID and resourceVersion preconditions;
 * 3. re-verify `Retain` and skip-reclaim on the live PV, (when resuming)
 *    validate the new PV again, and mark the LINSTOR record `deletingAt`;
 * 4. delete the PV with UID and resourceVersion preconditions;
 * 5. remove its finalizers (it is Terminating while Bound), still protected;
 * 6. create the PV under the same name from the record (original reclaim
 *    policy, every field, new affinity) — with `Retain` and a Warning Event
 *    if its claim vanished meanwhile, so nothing deletes the data;
 * 7. drop the record in both places;
 * 8. Events `VolumeAffinityUpdated` on the PV and its PVC.
 *
 * A crash after any step is finished from the record by a later pass; a PV
 * that vanished without the step-3 marker is never re-created.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type {
  V1PersistentVolume,
  V1VolumeNodeAffinity,
} from "@kubernetes/client-node";
import {
  AFFINITY_ACTION_REPLACED,
  AFFINITY_ACTION_UPDATED_IN_PLACE,
  AFFINITY_MIRROR_ATTEMPTS,
  ANNOTATION_AFFINITY_RECORD,
  ANNOTATION_AFFINITY_REPLACING,
  ANNOTATION_SKIP_RECLAIM,
  EVENT_REASON_VOLUME_AFFINITY_CLAIM_LOST,
  EVENT_REASON_VOLUME_AFFINITY_REPLACE_ABANDONED,
  EVENT_REASON_VOLUME_AFFINITY_UPDATED,
  LINSTOR_PROP_AFFINITY_RECORD,
} from "../../constants.ts";
import {
  type InvolvedObject,
  isAlreadyExists,
  isConflict,
  isInvalid,
  isNotFound,
  type KubeApi,
} from "../../kube/mod.ts";
import {
  isNotFound as isLinstorNotFound,
  type LinstorClient,
  type PropsModify,
} from "../../linstor/mod.ts";
import type { Operation } from "../../reconcile/mod.ts";
import type { Clock } from "../../system/clock.ts";
import {
  encodeRecord,
  intendedPv,
  RECORD_VERSION,
  type RecoveryRecord,
} from "./_record.ts";
import {
  type AffinityAction,
  type ClaimRef,
  type DropRecoveryRecordAction,
  type PatchPvAffinityInPlaceAction,
  type ReplacePvAffinityAction,
  type ResumeReplacePvAction,
  type SetPvAffinityAction,
  unprotectedBecause,
} from "./plan.ts";

/** The LINSTOR calls the affinity mode makes (a subset of `LinstorClient`). */
export interface AffinityLinstor {
  /** Sets and deletes properties of volume definition `volume` of `resource`. */
  modifyVolumeDefinition(
    resource: string,
    volume: number,
    body: PropsModify,
    options: { signal: AbortSignal },
  ): Promise<void>;
}

/** The `AffinityLinstor` port over the shared `LinstorClient`. */
export function affinityLinstorFrom(
  client: Pick<LinstorClient, "volumeDefinitions">,
): AffinityLinstor {
  return {
    async modifyVolumeDefinition(resource, volume, body, options) {
      await client.volumeDefinitions.modify(resource, volume, {
        ...body,
        signal: options.signal,
      });
    },
  };
}

/** The replace steps, for the fault hook and logs. */
export const REPLACE_STEPS: readonly string[] = Object.freeze([
  "",
  "write recovery record",
  "set Retain and skip-reclaim",
  "mark record before delete",
  "delete PV",
  "remove finalizers",
  "create PV",
  "drop recovery record",
  "emit events",
]);

/** What executing operations needs. */
export interface AffinityExecutorDeps {
  kube: KubeApi;
  linstor: AffinityLinstor;
  clock: Clock;
  /** This cluster's identity, written into recovery records. */
  clusterIdentity: string;
  logger: Logger;
}

/** Options of `createAffinityOperation()`. */
export interface AffinityExecutorOptions {
  /**
   * Test-only fault hook: called after each finished replace step (1–8).
   * The CLI wires it to exit the process at one step for crash tests.
   */
  afterStep?: (step: number, pvName: string) => void;
  /** Told what an in-place probe (server-side dry-run) found. */
  onInPlaceProbe?: (supported: boolean) => void;
  /**
   * Checked between replace steps: a replica that lost the Lease stops at
   * once (the new leader finishes from the record).
   * @default {() => true}
   */
  isLeader?: () => boolean;
}

/** Binds a planned action to the apiserver and LINSTOR as an `Operation`. */
export function createAffinityOperation(
  action: AffinityAction,
  deps: AffinityExecutorDeps,
  options: AffinityExecutorOptions = {},
): Operation {
  const executor = new Executor(deps, options);
  return {
    name: action.kind,
    key: action.key,
    summary: action.summary,
    execute(signal: AbortSignal): Promise<void> {
      switch (action.kind) {
        case "SetPvAffinity":
        case "PatchPvAffinityInPlace":
          return executor.inPlace(action, signal);
        case "ReplacePvAffinity":
          return executor.replace(action, signal);
        case "ResumeReplacePv":
          return executor.resume(action, signal);
        case "DropRecoveryRecord":
          return executor.drop(action, signal);
      }
    },
  };
}

class Executor {
  #deps: AffinityExecutorDeps;
  #options: AffinityExecutorOptions;

  constructor(deps: AffinityExecutorDeps, options: AffinityExecutorOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  async inPlace(
    action: SetPvAffinityAction | PatchPvAffinityInPlaceAction,
    signal: AbortSignal,
  ): Promise<void> {
    const live = await this.#planned(action, signal);
    if (live === undefined) return;
    const updated = withAffinity(live, action.affinity);
    let result: V1PersistentVolume;
    try {
      result = await this.#deps.kube.replace("persistentVolumes", updated, {
        signal,
      });
    } catch (error) {
      // The apiserver stopped allowing in-place changes (gate turned off):
      // the next pass plans a replace.
      if (action.kind === "PatchPvAffinityInPlace" && isInvalid(error)) {
        this.#options.onInPlaceProbe?.(false);
      }
      throw error;
    }
    await this.#updatedEvents(
      result,
      action.claim,
      AFFINITY_ACTION_UPDATED_IN_PLACE,
    );
  }

  async replace(
    action: ReplacePvAffinityAction,
    signal: AbortSignal,
  ): Promise<void> {
    const { kube } = this.#deps;
    const live = await this.#planned(action, signal);
    if (live === undefined) return;
    if (action.probeInPlace && live.spec?.nodeAffinity !== undefined) {
      const candidate = withAffinity(live, action.affinity);
      try {
        await kube.replace("persistentVolumes", candidate, {
          signal,
          dryRun: "All",
        });
        this.#options.onInPlaceProbe?.(true);
        const result = await kube.replace("persistentVolumes", candidate, {
          signal,
        });
        await this.#updatedEvents(
          result,
          action.claim,
          AFFINITY_ACTION_UPDATED_IN_PLACE,
        );
        return;
      } catch (error) {
        if (!isInvalid(error)) throw error;
        this.#options.onInPlaceProbe?.(false);
      }
    }
    const annotations = live.metadata?.annotations ?? {};
    const record: RecoveryRecord = {
      version: RECORD_VERSION,
      cluster: this.#deps.clusterIdentity,
      pvName: action.pvName,
      oldUid: action.uid,
      ...(action.claim ? { claim: action.claim } : {}),
      resource: action.handle.resource,
      volume: action.handle.volume,
      writtenAt: new Date(this.#deps.clock.now()).toISOString(),
      pv: intendedPv(live, action.affinity, {
        originalSkipReclaim: annotations[ANNOTATION_SKIP_RECLAIM],
        reclaimPolicy: live.spec?.persistentVolumeReclaimPolicy,
      }),
    };
    // Step 0: would the apiserver accept the new PV? Nothing is touched yet.
    await this.#validate(record, signal);
    // Step 1: the write-ahead record, in LINSTOR and in Kubernetes.
    const text = encodeRecord(record);
    await this.#deps.linstor.modifyVolumeDefinition(
      record.resource,
      record.volume,
      { override_props: { [LINSTOR_PROP_AFFINITY_RECORD]: text } },
      { signal },
    );
    if (action.claim) await this.#mirrorRecord(record, action.claim, signal);
    this.#step(1, action.pvName);
    // Step 2: Retain + skip-reclaim + marker, preconditioned on UID and resourceVersion.
    const retained = structuredClone(live);
    retained.spec!.persistentVolumeReclaimPolicy = "Retain";
    retained.metadata!.annotations = {
      ...annotations,
      [ANNOTATION_SKIP_RECLAIM]: "true",
      [ANNOTATION_AFFINITY_REPLACING]: action.uid,
    };
    const marked = await kube.replace("persistentVolumes", retained, {
      signal,
    });
    this.#step(2, action.pvName);
    await this.#continue(record, marked, signal, { validated: true });
  }

  async resume(
    action: ResumeReplacePvAction,
    signal: AbortSignal,
  ): Promise<void> {
    const live = await this.#getPv(action.pvName, signal);
    await this.#continue(action.record, live, signal, { validated: false });
  }

  async drop(
    action: DropRecoveryRecordAction,
    signal: AbortSignal,
  ): Promise<void> {
    await this.#dropRecord(action.record, signal);
    if (action.abandoned !== undefined) {
      await this.#abandonedEvent(action.record, action.abandoned);
    }
    if (action.finished) {
      const live = await this.#getPv(action.pvName, signal);
      if (live !== undefined) {
        await this.#updatedEvents(
          live,
          action.record.claim,
          AFFINITY_ACTION_REPLACED,
        );
      }
    }
  }

  /** Steps 3–8 from whatever state the live PV is in. */
  async #continue(
    record: RecoveryRecord,
    live: V1PersistentVolume | undefined,
    signal: AbortSignal,
    options: { validated: boolean },
  ): Promise<void> {
    const { kube } = this.#deps;
    const name = record.pvName;
    let claimOk: boolean | undefined;
    if (live !== undefined && live.metadata?.uid === record.oldUid) {
      const marked =
        live.metadata?.annotations?.[ANNOTATION_AFFINITY_REPLACING] ===
          record.oldUid;
      if (!marked) {
        // Step 2 never happened: nothing protects the data, so never delete.
        if (live.metadata?.deletionTimestamp !== undefined) {
          await this.#dropRecord(record, signal);
        }
        return;
      }
      if (
        live.metadata?.deletionTimestamp !== undefined &&
        record.deletingAt === undefined
      ) {
        // Someone else deletes it after step 2: their delete stands, Retain.
        await this.#dropRecord(record, signal);
        await this.#abandonedEvent(
          record,
          `PV ${name} is being deleted by someone else during its replace; it stays Retain`,
        );
        return;
      }
      this.#assertProtected(live);
      if (live.metadata?.deletionTimestamp === undefined) {
        // Step 3: prove the delete is ours before making it.
        if (!options.validated) await this.#validate(record, signal);
        if (record.deletingAt === undefined) {
          record = {
            ...record,
            deletingAt: new Date(this.#deps.clock.now()).toISOString(),
          };
          await this.#deps.linstor.modifyVolumeDefinition(
            record.resource,
            record.volume,
            {
              override_props: {
                [LINSTOR_PROP_AFFINITY_RECORD]: encodeRecord(record),
              },
            },
            { signal },
          );
        }
        this.#step(3, name);
        // Step 4: delete this very PV, exactly as verified.
        await kube.delete({ kind: "persistentVolumes", name }, {
          preconditions: {
            uid: record.oldUid,
            resourceVersion: live.metadata?.resourceVersion ?? "",
          },
          signal,
        }).catch(ignoreNotFound);
        this.#step(4, name);
      }
      // Step 5: strip the finalizers of the Terminating PV, still protected,
      // while the claim is read for step 6 (the two are independent).
      const [, bound] = await Promise.all([
        this.#stripFinalizers(record, signal),
        this.#claimStillBound(record.claim, signal),
      ]);
      claimOk = bound;
      this.#step(5, name);
      live = undefined;
    } else if (live === undefined && record.deletingAt === undefined) {
      // Not deleted by us: never re-created.
      await this.#dropRecord(record, signal);
      await this.#abandonedEvent(
        record,
        `PV ${name} was deleted by someone else during its replace; it is not re-created`,
      );
      return;
    }
    let created: V1PersistentVolume | undefined = live;
    if (created === undefined) {
      // Step 6: re-create from the record.
      const pv = structuredClone(record.pv);
      claimOk ??= await this.#claimStillBound(record.claim, signal);
      if (!claimOk) pv.spec!.persistentVolumeReclaimPolicy = "Retain";
      try {
        created = await kube.create("persistentVolumes", pv, { signal });
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
        created = await this.#getPv(name, signal);
        if (created?.metadata?.uid === record.oldUid) {
          throw new Error(
            `Cannot re-create PV "${name}": the old PV still exists`,
            { cause: error },
          );
        }
      }
      if (!claimOk && created !== undefined) {
        await kube.recordEvent(created, {
          type: "Warning",
          reason: EVENT_REASON_VOLUME_AFFINITY_CLAIM_LOST,
          action: AFFINITY_ACTION_REPLACED,
          message:
            `PV re-created with reclaim policy Retain: its claim ${record.claim?.namespace}/${record.claim?.name} (UID ${record.claim?.uid}) is gone or was replaced; the LINSTOR volume is kept`,
        });
      }
      this.#step(6, name);
    }
    // Steps 7 and 8: drop the record and tell the user, at once: an Event
    // sent before a crash that kept the record is only sent twice.
    const told = created === undefined
      ? Promise.resolve()
      : this.#updatedEvents(
        created,
        record.claim,
        AFFINITY_ACTION_REPLACED,
      );
    const [dropped] = await Promise.allSettled([
      this.#dropRecord(record, signal).then(() => this.#step(7, name)),
      told,
    ]);
    if (dropped.status === "rejected") throw dropped.reason;
    await told;
    this.#step(8, name);
  }

  /**
   * Step 5 in one call: a JSON patch whose `test` operations are the
   * preconditions (this very PV, marked by us, still `Retain` with
   * skip-reclaim) empties the finalizers of the Terminating PV. A failed
   * test falls back to reading the PV to tell why.
   */
  async #stripFinalizers(
    record: RecoveryRecord,
    signal: AbortSignal,
  ): Promise<void> {
    const { kube } = this.#deps;
    const name = record.pvName;
    try {
      await kube.patch({ kind: "persistentVolumes", name }, {
        type: "json",
        body: [
          { op: "test", path: "/metadata/uid", value: record.oldUid },
          {
            op: "test",
            path: annotationPath(ANNOTATION_AFFINITY_REPLACING),
            value: record.oldUid,
          },
          {
            op: "test",
            path: "/spec/persistentVolumeReclaimPolicy",
            value: "Retain",
          },
          {
            op: "test",
            path: annotationPath(ANNOTATION_SKIP_RECLAIM),
            value: "true",
          },
          { op: "add", path: "/metadata/finalizers", value: [] },
        ],
      }, { signal });
      return;
    } catch (error) {
      if (isNotFound(error)) return;
      if (!isInvalid(error)) throw error;
    }
    const terminating = await this.#getPv(name, signal);
    if (
      terminating !== undefined && terminating.metadata?.uid === record.oldUid
    ) {
      this.#assertProtected(terminating);
      if ((terminating.metadata?.finalizers ?? []).length > 0) {
        const stripped = structuredClone(terminating);
        stripped.metadata!.finalizers = [];
        await kube.replace("persistentVolumes", stripped, { signal }).catch(
          ignoreNotFound,
        );
      }
    }
    // Gone now; if not, the create of step 6 fails with AlreadyExists.
  }

  /**
   * Step 1's mirror: the record text as an annotation of the claim, with the
   * claim's UID as precondition (a JSON patch `test`), so an unrelated change
   * of the PVC (status, other annotations) is no conflict. A PVC without
   * annotations (the patch cannot add to a missing map) is read and patched
   * with its resourceVersion instead. A claim that is gone, replaced or being
   * deleted takes the LINSTOR record back (nothing was touched yet).
   */
  async #mirrorRecord(
    record: RecoveryRecord,
    claim: ClaimRef,
    signal: AbortSignal,
  ): Promise<void> {
    const { kube } = this.#deps;
    const text = encodeRecord(record);
    const path = annotationPath(ANNOTATION_AFFINITY_RECORD);
    try {
      await kube.patch({ ...claim, kind: "persistentVolumeClaims" }, {
        type: "json",
        body: [
          { op: "test", path: "/metadata/uid", value: claim.uid },
          { op: "add", path, value: text },
        ],
      }, { signal });
      return;
    } catch (error) {
      if (!isInvalid(error) && !isNotFound(error)) throw error;
    }
    // A claim just bound is still being updated by the PV controller: a
    // conflict is retried with a fresh read (bounded).
    for (let attempt = 1;; attempt++) {
      const pvc = await kube.get({ ...claim, kind: "persistentVolumeClaims" }, {
        signal,
      }).catch(ignoreNotFound);
      if (
        pvc === undefined || pvc.metadata?.uid !== claim.uid ||
        pvc.metadata?.deletionTimestamp !== undefined
      ) {
        await this.#dropRecord(record, signal);
        throw new Error(
          `Cannot replace PV "${record.pvName}": claim ${claim.namespace}/${claim.name} is gone, replaced or being deleted`,
        );
      }
      try {
        await kube.patch({ ...claim, kind: "persistentVolumeClaims" }, {
          type: "merge",
          body: {
            metadata: {
              resourceVersion: pvc.metadata?.resourceVersion,
              annotations: { [ANNOTATION_AFFINITY_RECORD]: text },
            },
          },
        }, { signal });
        return;
      } catch (error) {
        if (!isConflict(error) || attempt >= AFFINITY_MIRROR_ATTEMPTS) {
          throw error;
        }
      }
    }
  }

  /** Throws unless the PV is still `Retain` with skip-reclaim (step 2 not undone). */
  #assertProtected(pv: V1PersistentVolume): void {
    const why = unprotectedBecause(pv);
    if (why !== undefined) {
      throw new Error(
        `Cannot delete PV "${pv.metadata?.name}" to replace it: ${why}; the replace is paused`,
      );
    }
  }

  /**
   * Step 0: a server-side dry-run create of the record's PV under a
   * generated name (the real name is still taken), so validation and
   * admission that would refuse the re-create refuse it before the delete.
   */
  async #validate(record: RecoveryRecord, signal: AbortSignal): Promise<void> {
    const probe = structuredClone(record.pv);
    const { name: _, ...metadata } = probe.metadata ?? {};
    probe.metadata = { ...metadata, generateName: `${record.pvName}-` };
    try {
      await this.#deps.kube.create("persistentVolumes", probe, {
        signal,
        dryRun: "All",
      });
    } catch (error) {
      throw new Error(
        `Cannot replace PV "${record.pvName}": the apiserver would not accept the new PV (${
          errorText(error)
        }); the old PV is not deleted`,
        { cause: error },
      );
    }
  }

  async #abandonedEvent(
    record: RecoveryRecord,
    message: string,
  ): Promise<void> {
    const involved: InvolvedObject = record.claim
      ? {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: {
          namespace: record.claim.namespace,
          name: record.claim.name,
          uid: record.claim.uid,
        },
      }
      : {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: record.pvName, uid: record.oldUid },
      };
    await this.#deps.kube.recordEvent(involved, {
      type: "Warning",
      reason: EVENT_REASON_VOLUME_AFFINITY_REPLACE_ABANDONED,
      action: AFFINITY_ACTION_REPLACED,
      message,
    });
  }

  async #claimStillBound(
    claim: ClaimRef | undefined,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (claim === undefined) return true;
    try {
      const pvc = await this.#deps.kube.get({
        ...claim,
        kind: "persistentVolumeClaims",
      }, {
        signal,
      });
      return pvc.metadata?.uid === claim.uid &&
        pvc.metadata?.deletionTimestamp === undefined;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async #dropRecord(
    record: RecoveryRecord,
    signal: AbortSignal,
  ): Promise<void> {
    if (record.claim) {
      await this.#deps.kube.patch({
        ...record.claim,
        kind: "persistentVolumeClaims",
      }, {
        type: "merge",
        body: {
          metadata: { annotations: { [ANNOTATION_AFFINITY_RECORD]: null } },
        },
      }, { signal }).catch(ignoreNotFound);
    }
    await this.#deps.linstor.modifyVolumeDefinition(
      record.resource,
      record.volume,
      { delete_props: [LINSTOR_PROP_AFFINITY_RECORD] },
      { signal },
    ).catch((error) => {
      // A volume definition that is gone holds no record.
      if (!isLinstorNotFound(error)) throw error;
    });
  }

  async #updatedEvents(
    pv: V1PersistentVolume,
    claim: ClaimRef | undefined,
    how: string,
  ): Promise<void> {
    const affinity = describeAffinity(pv.spec?.nodeAffinity);
    const message = how === AFFINITY_ACTION_REPLACED
      ? `PV re-created with nodeAffinity ${affinity} to match its LINSTOR replicas`
      : `nodeAffinity changed in place to ${affinity} to match its LINSTOR replicas`;
    const events = [this.#deps.kube.recordEvent(pv, {
      type: "Normal",
      reason: EVENT_REASON_VOLUME_AFFINITY_UPDATED,
      action: how,
      message,
    })];
    if (claim) {
      const involved: InvolvedObject = {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: {
          namespace: claim.namespace,
          name: claim.name,
          uid: claim.uid,
        },
      };
      events.push(this.#deps.kube.recordEvent(involved, {
        type: "Normal",
        reason: EVENT_REASON_VOLUME_AFFINITY_UPDATED,
        action: how,
        message: `PV ${pv.metadata?.name}: ${message}`,
      }));
    }
    await Promise.all(events);
  }

  async #getPv(
    name: string,
    signal: AbortSignal,
  ): Promise<V1PersistentVolume | undefined> {
    try {
      return await this.#deps.kube.get({ kind: "persistentVolumes", name }, {
        signal,
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * The live PV, unless it is gone, re-created, being deleted or changed
   * since `action` was planned.
   */
  async #planned(
    action: { pvName: string; uid: string; resourceVersion: string },
    signal: AbortSignal,
  ): Promise<V1PersistentVolume | undefined> {
    const name = action.pvName;
    const live = await this.#getPv(name, signal);
    if (live === undefined || live.metadata?.uid !== action.uid) {
      this.#deps.logger.debug(
        "PV {pv} is gone or was re-created since it was planned",
        { pv: name },
      );
      return undefined;
    }
    if (live.metadata?.deletionTimestamp !== undefined) {
      this.#deps.logger.debug("PV {pv} is being deleted; left alone", {
        pv: name,
      });
      return undefined;
    }
    if (live.metadata?.resourceVersion !== action.resourceVersion) {
      this.#deps.logger.debug(
        "PV {pv} changed since it was planned; re-planning next pass",
        { pv: name },
      );
      return undefined;
    }
    return live;
  }

  #step(step: number, pvName: string): void {
    this.#deps.logger.debug("Replace of PV {pv}: step {step} ({what}) done", {
      pv: pvName,
      step,
      what: REPLACE_STEPS[step],
    });
    this.#options.afterStep?.(step, pvName);
    if (step < 8 && this.#options.isLeader && !this.#options.isLeader()) {
      throw new Error(
        `Cannot continue replacing PV "${pvName}" after step ${step}: no longer the leader; the leader finishes it from the recovery record`,
      );
    }
  }
}

function withAffinity(
  live: V1PersistentVolume,
  affinity: V1VolumeNodeAffinity | undefined,
): V1PersistentVolume {
  const copy = structuredClone(live);
  if (affinity === undefined) delete copy.spec!.nodeAffinity;
  else copy.spec!.nodeAffinity = affinity;
  return copy;
}

/** The RFC 6901 JSON pointer of annotation `key`. */
function annotationPath(key: string): string {
  return `/metadata/annotations/${
    key.replaceAll("~", "~0").replaceAll("/", "~1")
  }`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function ignoreNotFound(error: unknown): undefined {
  if (isNotFound(error)) return undefined;
  throw error;
}

function describeAffinity(affinity: V1VolumeNodeAffinity | undefined): string {
  const terms = affinity?.required?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return "(none: anywhere)";
  return terms.map((term) =>
    `{${
      (term.matchExpressions ?? []).map((e) =>
        `${e.key} ${e.operator} ${(e.values ?? []).join(",")}`
      ).join(", ")
    }}`
  ).join(" | ");
}
