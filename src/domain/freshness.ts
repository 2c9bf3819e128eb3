/**
 * Whether a snapshot is fresh enough to act on: the one rule behind the
 * extender's fail-open, affinity's skipped pass and the state model's
 * staleness query.
 *
 * @module
 */
import type { KubeKind, Snapshot } from "../state/types.ts";

/** Why a snapshot is not fresh enough. */
export type StaleReason = "KubeNotSynced" | "LinstorNeverRead" | "LinstorStale";

/** The verdict of {@linkcode freshness}. */
export type Freshness =
  | {
    readonly fresh: true;
    /** Age of the LINSTOR data in ms (never negative). */
    readonly ageMs: number;
  }
  | {
    readonly fresh: false;
    readonly reason: StaleReason;
    /** One line for logs, Events and fail-open answers. */
    readonly detail: string;
    /** Age of the LINSTOR data in ms; `undefined` before the first poll. */
    readonly ageMs: number | undefined;
  };

/** Options of {@linkcode freshness}. */
export interface FreshnessOptions {
  /** LINSTOR data older than this (ms) is stale; equal is still fresh. */
  readonly maxAgeMs: number;
  /** Kubernetes kinds that must have listed at least once. @default {[]} */
  readonly kinds?: readonly KubeKind[];
}

/**
 * Whether `snapshot` is fresh at `now` (ms since the epoch): every kind in
 * `kinds` synced, LINSTOR read at least once, and its data at most
 * `maxAgeMs` old. Checked in that order; the detail of stale LINSTOR data
 * carries the last poll error.
 *
 * @throws {RangeError} when `maxAgeMs` is negative or not a number.
 */
export function freshness(
  snapshot: Snapshot,
  now: number,
  options: FreshnessOptions,
): Freshness {
  const { maxAgeMs, kinds = [] } = options;
  if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
    throw new RangeError(
      `Cannot check freshness with maximum age "${maxAgeMs}": must be a non-negative number of ms`,
    );
  }
  const ageMs = linstorDataAge(snapshot, now);
  const notSynced = kinds.filter((kind) => !snapshot.kube.synced.has(kind));
  if (notSynced.length > 0) {
    return {
      fresh: false,
      reason: "KubeNotSynced",
      detail: `Kubernetes ${notSynced.join(", ")} not synced yet`,
      ageMs,
    };
  }
  if (ageMs === undefined) {
    return {
      fresh: false,
      reason: "LinstorNeverRead",
      detail: "LINSTOR not polled successfully yet",
      ageMs,
    };
  }
  if (ageMs > maxAgeMs) {
    const error = snapshot.linstor.lastError;
    return {
      fresh: false,
      reason: "LinstorStale",
      detail: `LINSTOR data is ${Math.round(ageMs / 1000)}s old (max ${
        Math.round(maxAgeMs / 1000)
      }s)${error ? `: ${error}` : ""}`,
      ageMs,
    };
  }
  return { fresh: true, ageMs };
}

/** Age of the LINSTOR data in ms at `now` (never negative); `undefined` before the first poll. */
export function linstorDataAge(
  snapshot: Snapshot,
  now: number,
): number | undefined {
  const observedAt = snapshot.linstor.observedAt;
  return observedAt === undefined ? undefined : Math.max(0, now - observedAt);
}
