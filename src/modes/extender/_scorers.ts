/**
 * The named scorers: locality of bound volumes and capacity for unbound
 * WaitForFirstConsumer volumes, combined into one integer 0..10.
 *
 * @module
 */
import type {
  Candidate,
  EvalContext,
  NodeLocality,
  ResourcePlacement,
} from "./_context.ts";
import { capacityScore } from "./_capacity.ts";
import type { NodeMemo } from "./_predicates.ts";
import { EXTENDER_MAX_SCORE, EXTENDER_MIN_SCORE } from "../../constants.ts";

/** A node's score and its parts. */
export interface ScoreParts {
  /** 0..10, what kube-scheduler gets. */
  readonly score: number;
  /** Mean locality over bound volumes with known replicas; `undefined` without such volumes. */
  readonly locality: number | undefined;
  /** Capacity score; `undefined` without pending volumes. */
  readonly capacity: number | undefined;
  /** Per-volume locality, `claim → score`. */
  readonly perVolume: Readonly<Record<string, number>>;
}

const NO_PARTS: Record<string, number> = Object.freeze({}) as Record<
  string,
  number
>;

function includes(ids: readonly number[], id: number): boolean {
  for (let i = 0; i < ids.length; i++) if (ids[i] === id) return true;
  return false;
}

/**
 * Locality of one bound volume on a node: 10 for a diskful current replica,
 * `syncingScore` for a diskful one still syncing, the first matching topology
 * level's score for a replica in the same zone/rack (nested paths, see
 * `localityPaths()`), else 0 (diskless and tie-breaker resources count as
 * remote). Compares the ids of the snapshot index, not strings.
 */
function localityScore(
  context: EvalContext,
  placement: ResourcePlacement,
  locality: NodeLocality,
): number {
  const id = locality.linstorId;
  if (id >= 0) {
    if (includes(placement.currentIds, id)) return EXTENDER_MAX_SCORE;
    if (includes(placement.syncingIds, id)) {
      return context.config.locality.syncingScore;
    }
  }
  const levels = context.config.locality.levels;
  for (let i = 0; i < levels.length; i++) {
    const path = locality.pathIds[i]!;
    if (path >= 0 && includes(placement.levelIds[i]!, path)) {
      return levels[i]!.score;
    }
  }
  return EXTENDER_MIN_SCORE;
}

/**
 * The combined score: the volume-count-weighted mean of per-volume locality
 * and the capacity score (one entry per pending volume), rounded and clamped
 * to 0..10.
 */
function combine(
  localitySum: number,
  localityCount: number,
  capacity: number | undefined,
  pendingCount: number,
): number {
  const total = localityCount + pendingCount;
  const raw = total === 0
    ? 0
    : (localitySum + (capacity ?? 0) * pendingCount) / total;
  return Math.min(
    EXTENDER_MAX_SCORE,
    Math.max(EXTENDER_MIN_SCORE, Math.round(raw)),
  );
}

/**
 * Scores a node: the volume-count-weighted mean of per-volume locality
 * (bound volumes) and the capacity score (one entry per pending volume),
 * rounded and clamped to 0..10; with its parts.
 */
export function scoreNode(
  context: EvalContext,
  node: Candidate,
  options: { memo: NodeMemo; detail?: boolean },
): ScoreParts {
  const { memo, detail = false } = options;
  const perVolume: Record<string, number> = detail ? {} : NO_PARTS;
  let localitySum = 0;
  let localityCount = 0;
  const bound = context.volumes.bound;
  const placements = context.placements();
  for (let i = 0; i < bound.length; i++) {
    const placement = placements[i];
    if (!placement) continue;
    const score = localityScore(context, placement, context.localityOf(node));
    if (detail) perVolume[bound[i]!.claim] = score;
    localitySum += score;
    localityCount++;
  }
  const pendingCount = context.volumes.pending.length;
  const capacity = capacityPart(context, node, memo);
  return {
    score: combine(localitySum, localityCount, capacity, pendingCount),
    locality: localityCount > 0 ? localitySum / localityCount : undefined,
    capacity,
    perVolume,
  };
}

/** The capacity score of a pod with pending volumes (0 off LINSTOR); `undefined` without any. */
function capacityPart(
  context: EvalContext,
  node: Candidate,
  memo: NodeMemo,
): number | undefined {
  if (context.volumes.pending.length === 0) return undefined;
  return node.linstor ? capacityScore(context, memo.fit(context, node)) : 0;
}

/** `scoreNode()`'s score alone, without allocating its parts (the prioritize hot path). */
export function nodeScore(
  context: EvalContext,
  node: Candidate,
  memo: NodeMemo,
): number {
  return combinedScore(context, {
    localitySum: localitySum(context, node),
    capacity: capacityPart(context, node, memo),
  });
}

/**
 * The sum of the locality of the pod's bound volumes with known replicas on
 * a node (there are `context.placementCount()` of them).
 */
export function localitySum(context: EvalContext, node: Candidate): number {
  let sum = 0;
  const placements = context.placements();
  if (placements.length > 0) {
    const locality = context.localityOf(node);
    for (let i = 0; i < placements.length; i++) {
      const placement = placements[i];
      if (placement) sum += localityScore(context, placement, locality);
    }
  }
  return sum;
}

/**
 * `localitySum()` over the candidates of one request, worked out once per
 * locality (`NodeLocality.key`) for the nodes that hold no replica of the
 * pod's volumes: their sum depends on their topology paths alone.
 */
export class LocalitySums {
  readonly #context: EvalContext;
  /** Ids of the LINSTOR nodes with a current or syncing replica of a placement. */
  readonly #replicaIds: readonly number[];
  readonly #byKey = new Map<number, number>();
  readonly #none: boolean;

  constructor(context: EvalContext) {
    this.#context = context;
    const ids: number[] = [];
    for (const placement of context.placements()) {
      if (placement) ids.push(...placement.currentIds, ...placement.syncingIds);
    }
    this.#replicaIds = ids;
    this.#none = context.placementCount() === 0;
  }

  /** `localitySum(context, node)`. */
  of(node: Candidate): number {
    if (this.#none) return 0;
    const context = this.#context;
    const locality = context.localityOf(node);
    const id = locality.linstorId;
    if (id >= 0 && includes(this.#replicaIds, id)) {
      return localitySum(context, node);
    }
    let sum = this.#byKey.get(locality.key);
    if (sum === undefined) {
      sum = localitySum(context, node);
      this.#byKey.set(locality.key, sum);
    }
    return sum;
  }
}

/**
 * The combined score of a node from its `localitySum()` and capacity score
 * (`undefined` without pending volumes): `scoreNode()`'s rule.
 */
export function combinedScore(
  context: EvalContext,
  parts: { localitySum: number; capacity: number | undefined },
): number {
  return combine(
    parts.localitySum,
    context.placementCount(),
    parts.capacity,
    context.volumes.pending.length,
  );
}
