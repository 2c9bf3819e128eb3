/**
 * The named scorers: locality of bound volumes and capacity for unbound
 * WaitForFirstConsumer volumes, combined into one integer 0..10.
 *
 * @module
 */
import {
  type Candidate,
  type EvalContext,
  localityPaths,
  type ResourcePlacement,
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

/**
 * Locality of one bound volume on a node: 10 for a diskful current replica,
 * `syncingScore` for a diskful one still syncing, the first matching topology
 * level's score for a replica in the same zone/rack, else 0 (diskless and
 * tie-breaker resources count as remote).
 */
export function volumeLocality(
  context: EvalContext,
  node: Candidate,
  options: {
    placement: ResourcePlacement | undefined;
    /** The node's `localityPaths()`, computed once per node by the caller. */
    paths?: () => readonly (string | undefined)[];
  },
): number | undefined {
  const placement = options.placement;
  if (!placement) return undefined;
  const linstorName = node.linstor?.name;
  if (linstorName !== undefined) {
    if (placement.current.has(linstorName)) return EXTENDER_MAX_SCORE;
    if (placement.syncing.has(linstorName)) {
      return context.config.locality.syncingScore;
    }
  }
  const levels = context.config.locality.levels;
  if (levels.length === 0) return EXTENDER_MIN_SCORE;
  const paths = options.paths?.() ?? nodePaths(context, node);
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    const path = paths[i];
    if (path !== undefined && placement.levelValues.get(level.key)?.has(path)) {
      return level.score;
    }
  }
  return EXTENDER_MIN_SCORE;
}

/** A candidate's locality paths: Kubernetes labels, else LINSTOR segments. */
function nodePaths(
  context: EvalContext,
  node: Candidate,
): (string | undefined)[] {
  const labels = node.kubeNode?.metadata?.labels;
  const linstorName = node.linstor?.name;
  return localityPaths(
    context.config.locality.levels,
    (key) =>
      labels?.[key] ??
        (linstorName !== undefined
          ? context.index.segmentsOf(linstorName)[key]
          : undefined),
  );
}

/**
 * Scores a node: the volume-count-weighted mean of per-volume locality
 * (bound volumes) and the capacity score (one entry per pending volume),
 * rounded and clamped to 0..10.
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
  let cached: (string | undefined)[] | undefined;
  const paths = () => cached ??= nodePaths(context, node);
  for (let i = 0; i < bound.length; i++) {
    const score = volumeLocality(context, node, {
      placement: placements[i],
      paths,
    });
    if (score === undefined) continue;
    if (detail) perVolume[bound[i]!.claim] = score;
    localitySum += score;
    localityCount++;
  }
  const pendingCount = context.volumes.pending.length;
  let capacity: number | undefined;
  if (pendingCount > 0) {
    capacity = node.linstor
      ? capacityScore(context, memo.fit(context, node.linstor.name))
      : 0;
  }
  const total = localityCount + pendingCount;
  const raw = total === 0
    ? 0
    : (localitySum + (capacity ?? 0) * pendingCount) / total;
  return {
    score: Math.min(
      EXTENDER_MAX_SCORE,
      Math.max(EXTENDER_MIN_SCORE, Math.round(raw)),
    ),
    locality: localityCount > 0 ? localitySum / localityCount : undefined,
    capacity,
    perVolume,
  };
}
