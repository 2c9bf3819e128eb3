/**
 * The reservation policy as pure functions: given the held reservations, the
 * snapshot and an evaluation outcome, which changes to make. The handler (and
 * `Reservations.prune()`) apply them; nothing here mutates or reads a clock.
 *
 * @module
 */
import type { PoolInfo, Snapshot } from "../../state/types.ts";
import { ANNOTATION_SELECTED_NODE } from "../../constants.ts";
import {
  claimResourceName,
  isDiskfulDeployed,
  tryParseVolumeHandle,
} from "../../domain/mod.ts";
import type { Candidate, EvalContext } from "./_context.ts";
import type { NodeMemo } from "./_predicates.ts";
import type { HoldPlan } from "./_core.ts";

/** Storage pools by LINSTOR node, as a snapshot holds them. */
export type PoolsByNode = ReadonlyMap<string, ReadonlyMap<string, PoolInfo>>;

/** One reservation: a claim's size held on each candidate node's chosen pool. */
export interface Reservation {
  /** PVC key `namespace/name`. */
  readonly claim: string;
  /** PVC UID, to notice when LINSTOR shows `pvc-<uid>`. */
  readonly uid: string | undefined;
  /** `namespace/name` of the pod that caused it. */
  readonly pod: string;
  readonly sizeKib: number;
  /** LINSTOR node name → storage pool name. */
  readonly nodes: ReadonlyMap<string, string>;
  readonly createdAt: number;
  readonly expiresAt: number;
  /**
   * Narrowed for good: to the node in `volume.kubernetes.io/selected-node`,
   * or to the replicas LINSTOR placed (`placed`).
   */
  readonly narrowed: boolean;
  /**
   * LINSTOR shows the resource; `nodes` are its diskful replicas whose
   * thick pool does not report the volume's space as used yet.
   */
  readonly placed?: boolean | undefined;
  /**
   * The pools of the latest snapshot in which LINSTOR did not show the
   * resource yet: their free space is what a pool reported before the
   * volume, to tell when it reports the volume (a shared reference, not a
   * copy).
   */
  readonly poolsBefore?: PoolsByNode | undefined;
}

/** A change to the held reservations. */
export type ReservationChange =
  | {
    readonly op: "reserve";
    readonly claim: string;
    readonly pod: string;
    readonly uid: string | undefined;
    readonly sizeKib: number;
    /** LINSTOR node → pool; a fresh map the store keeps. */
    readonly nodes: ReadonlyMap<string, string>;
    readonly poolsBefore?: PoolsByNode | undefined;
  }
  | { readonly op: "refresh"; readonly claim: string }
  | {
    readonly op: "narrow";
    readonly claim: string;
    readonly nodes: ReadonlySet<string>;
    /** Keep this narrowing (the scheduler chose the node). */
    readonly final: boolean;
  }
  | {
    readonly op: "place";
    readonly claim: string;
    /** The replica nodes whose pools do not show the volume yet → pool. */
    readonly nodes: ReadonlyMap<string, string>;
  }
  | {
    readonly op: "observe";
    readonly claim: string;
    readonly poolsBefore: PoolsByNode;
  }
  | {
    readonly op: "release";
    readonly claim: string;
    readonly reason:
      | "expired"
      | "claim-deleted"
      | "claim-recreated"
      | "in-linstor";
  };

/** Options of `reviewReservations()`. */
export interface ReviewOptions {
  /** The LINSTOR node of a Kubernetes node name. */
  readonly linstorNodeOf?:
    | ((kubeNode: string) => string | undefined)
    | undefined;
}

/**
 * What to change in `held` against `snapshot` at `now`:
 *
 * - expired → released;
 * - the claim deleted (once created) or recreated with another UID → released;
 * - LINSTOR shows the resource (`pvc-<uid>` or the bound PV's handle) → kept
 *   only on its diskful replicas whose thick pool still reports the free
 *   space it had before the volume (reported free > before − size), released
 *   once every such pool reports the volume; thin pools count the volume in
 *   their virtual sizes as soon as LINSTOR lists it;
 * - otherwise the pools are remembered as "before the volume", and a claim
 *   that got `selected-node` is narrowed to that node for good.
 */
export function reviewReservations(
  held: Iterable<Reservation>,
  snapshot: Snapshot,
  options: ReviewOptions & { now: number },
): ReservationChange[] {
  const changes: ReservationChange[] = [];
  const claimsSynced = snapshot.kube.synced.has("persistentVolumeClaims");
  const pools = snapshot.linstor.poolsByNode;
  for (const r of held) {
    const claim = r.claim;
    if (r.expiresAt <= options.now) {
      changes.push({ op: "release", claim, reason: "expired" });
      continue;
    }
    const pvc = snapshot.kube.persistentVolumeClaims.get(claim);
    if (!pvc) {
      // An ephemeral claim may not exist yet; only drop claims that were created and are gone.
      if (claimsSynced && r.uid !== undefined) {
        changes.push({ op: "release", claim, reason: "claim-deleted" });
      }
      continue;
    }
    const uid = pvc.metadata?.uid;
    if (r.uid !== undefined && uid !== undefined && uid !== r.uid) {
      changes.push({ op: "release", claim, reason: "claim-recreated" });
      continue;
    }
    const resource = shownResource(snapshot, pvc);
    if (resource !== undefined) {
      const waiting = unreflectedReplicas(snapshot, resource, r);
      if (waiting.size === 0) {
        changes.push({ op: "release", claim, reason: "in-linstor" });
      } else if (!r.placed || !sameEntries(waiting, r.nodes)) {
        changes.push({ op: "place", claim, nodes: waiting });
      }
      continue;
    }
    if (r.poolsBefore !== pools) {
      changes.push({ op: "observe", claim, poolsBefore: pools });
    }
    const selected = pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE];
    if (selected && !r.narrowed) {
      const node = options.linstorNodeOf?.(selected) ?? selected;
      changes.push({
        op: "narrow",
        claim,
        nodes: new Set([node]),
        final: true,
      });
    }
  }
  return changes;
}

/** The claim's LINSTOR resource when LINSTOR shows it. */
function shownResource(
  snapshot: Snapshot,
  pvc: NonNullable<
    ReturnType<Snapshot["kube"]["persistentVolumeClaims"]["get"]>
  >,
): string | undefined {
  const replicas = snapshot.linstor.replicasByResource;
  const created = claimResourceName(pvc);
  if (created !== undefined && replicas.has(created)) return created;
  const volumeName = pvc.spec?.volumeName;
  if (!volumeName) return undefined;
  const resource = tryParseVolumeHandle(
    snapshot.kube.persistentVolumes.get(volumeName)?.spec?.csi?.volumeHandle,
  )?.resource;
  return resource !== undefined && replicas.has(resource)
    ? resource
    : undefined;
}

/**
 * Diskful replicas of `resource` (node → pool) whose thick pool reports at
 * least as much free space as before the volume minus less than its size.
 */
function unreflectedReplicas(
  snapshot: Snapshot,
  resource: string,
  r: Reservation,
): Map<string, string> {
  const waiting = new Map<string, string>();
  for (
    const replica of snapshot.linstor.replicasByResource.get(resource) ?? []
  ) {
    if (!isDiskfulDeployed(replica)) continue;
    for (const volume of replica.volumes) {
      const poolName = volume.storagePool;
      if (!poolName) continue;
      const pool = snapshot.linstor.poolsByNode.get(replica.node)?.get(
        poolName,
      );
      const before = r.poolsBefore?.get(replica.node)?.get(poolName)?.freeKib;
      const now = pool?.freeKib;
      if (
        pool !== undefined && !pool.thin && before !== undefined &&
        now !== undefined && now > before - r.sizeKib
      ) {
        waiting.set(replica.node, poolName);
      }
    }
  }
  return waiting;
}

function sameEntries(
  a: ReadonlyMap<string, string>,
  b: ReadonlyMap<string, string>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

/** What `filterReservations()` reads of a filter's outcome. */
export interface FilterForReservations {
  readonly context: EvalContext;
  readonly candidates: readonly Candidate[];
  readonly memo: NodeMemo;
  /**
   * What each pending volume would hold, worked out in the filter's pass
   * (`filterNodes()` with `held`), in `volumes.pending` order; visited node
   * by node here otherwise.
   */
  readonly holds?: readonly HoldPlan[] | undefined;
}

/**
 * The reservations a filter makes: each pending claim of the pod holds its
 * size on the pool chosen on every passing node (`passed`; `undefined` =
 * all). A claim held unchanged already (a retried pod) is only refreshed.
 */
export function filterReservations(
  outcome: FilterForReservations,
  options: {
    readonly held: (claim: string) => Reservation | undefined;
    readonly passed: ReadonlySet<string> | undefined;
    readonly pools: PoolsByNode;
  },
): ReservationChange[] {
  const changes: ReservationChange[] = [];
  const { context, candidates } = outcome;
  const { passed } = options;
  const pending = context.volumes.pending;
  for (let v = 0; v < pending.length; v++) {
    const volume = pending[v]!;
    const at = context.pendingInFitOrder.indexOf(volume);
    const existing = options.held(volume.claim);
    // The filter's pass compared or built the map already (same claim,
    // compared with this very map): the same answer as visiting the nodes.
    const plan = outcome.holds?.[v];
    const planned = plan !== undefined && plan.claim === volume.claim
      ? plan
      : undefined;
    if (
      existing !== undefined && !existing.narrowed &&
      existing.sizeKib === volume.sizeKib &&
      (planned !== undefined && planned.compared === existing.nodes
        ? planned.unchanged
        : holdsUnchanged(existing.nodes, outcome, { passed, at }))
    ) {
      changes.push({ op: "refresh", claim: volume.claim });
      continue;
    }
    let nodes: ReadonlyMap<string, string> | undefined = planned?.nodes;
    if (nodes === undefined) {
      const built = new Map<string, string>();
      for (let i = 0; i < candidates.length; i++) {
        const pool = chosenPool(outcome, passed, at, i);
        if (pool !== undefined) built.set(candidates[i]!.linstor!.name, pool);
      }
      nodes = built;
    }
    changes.push({
      op: "reserve",
      claim: volume.claim,
      pod: context.podKey,
      uid: volume.uid,
      sizeKib: volume.sizeKib,
      nodes,
      poolsBefore: options.pools,
    });
  }
  return changes;
}

/**
 * The pool the volume at `at` of the fit order takes on candidate `i`'s
 * LINSTOR node, if that candidate passed (`passed`; `undefined` = all).
 */
function chosenPool(
  outcome: FilterForReservations,
  passed: ReadonlySet<string> | undefined,
  at: number,
  i: number,
): string | undefined {
  const candidate = outcome.candidates[i]!;
  if (!candidate.linstor) return undefined;
  if (passed !== undefined && !passed.has(candidate.name)) return undefined;
  return outcome.memo.at(i).fit(outcome.context, candidate).pools[at];
}

/** Whether `nodes` (node → pool) is exactly what the filter would hold for the volume at `at`. */
function holdsUnchanged(
  nodes: ReadonlyMap<string, string>,
  outcome: FilterForReservations,
  options: { passed: ReadonlySet<string> | undefined; at: number },
): boolean {
  const { passed, at } = options;
  const candidates = outcome.candidates;
  let count = 0;
  for (let i = 0; i < candidates.length; i++) {
    const pool = chosenPool(outcome, passed, at, i);
    if (pool === undefined) continue;
    count++;
    if (nodes.get(candidates[i]!.linstor!.name) !== pool) return false;
  }
  return count === nodes.size;
}

/**
 * Prioritize narrows the pod's reservations to the nodes it was asked to
 * score (LINSTOR names of `candidates`), skipping `skip` (claims the filter
 * of the same candidates just reserved afresh: narrowing would keep all).
 */
export function prioritizeNarrowing(
  context: EvalContext,
  options: {
    readonly candidates: readonly Candidate[];
    readonly skip?: ReadonlySet<string> | undefined;
    readonly held: (claim: string) => Reservation | undefined;
  },
): ReservationChange[] {
  const claims = context.volumes.pending
    .map((v) => v.claim)
    .filter((claim) =>
      !options.skip?.has(claim) && options.held(claim) !== undefined
    );
  if (claims.length === 0) return [];
  const scored = new Set<string>();
  for (const candidate of options.candidates) {
    if (candidate.linstor) scored.add(candidate.linstor.name);
  }
  return claims.map((claim) => ({
    op: "narrow",
    claim,
    nodes: scored,
    final: false,
  }));
}
