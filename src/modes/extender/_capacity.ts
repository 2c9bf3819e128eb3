/**
 * Capacity of a node for a pod's unbound WaitForFirstConsumer volumes, and
 * TopoLVM's capacity score.
 *
 * @module
 */
import type { EvalContext } from "./_context.ts";
import type { PendingVolume } from "./_volumes.ts";

/** Why one volume does not fit on a node. */
export interface FitFailure {
  readonly claim: string;
  readonly reason: string;
  /** Whether this failure rejects the node (the volume needs a local replica). */
  readonly hard: boolean;
  /** It would fit without others' reservations (so it may pass soon). */
  readonly onlyReservations: boolean;
  /** No usable pool exists on the node at all. */
  readonly noPool: boolean;
}

/** Result of fitting a pod's pending volumes on one node. */
export interface Fit {
  /** Claim → pool chosen on this node. */
  readonly assignments: ReadonlyMap<string, string>;
  readonly failures: readonly FitFailure[];
  /** Pool → KiB still available after reservations (before this pod). */
  readonly availableKib: ReadonlyMap<string, number>;
  /** Pool → KiB reserved by others. */
  readonly reservedKib: ReadonlyMap<string, number>;
}

/** Formats KiB as GiB with one decimal. */
export function gib(kib: number): string {
  return `${(kib / 1048576).toFixed(1)}GiB`;
}

/** Whether a pending volume's capacity check rejects nodes under the config. */
export function isHard(context: EvalContext, volume: PendingVolume): boolean {
  const mode = context.config.capacity.hardFilter;
  return mode === "always" || (mode === "local-only" && volume.localOnly);
}

/**
 * Fits the pod's pending volumes on a LINSTOR node: biggest first, each into
 * the candidate pool with the most room left (summing per pool).
 */
export function fitOnNode(context: EvalContext, linstorNode: string): Fit {
  const assignments = new Map<string, string>();
  const failures: FitFailure[] = [];
  const availableKib = new Map<string, number>();
  const reservedKib = new Map<string, number>();
  const remaining = new Map<string, number>();
  const unreserved = new Map<string, number>();
  const volumes = [...context.volumes.pending].sort((a, b) =>
    b.sizeKib - a.sizeKib || (a.claim < b.claim ? -1 : 1)
  );
  for (const volume of volumes) {
    const hard = isHard(context, volume);
    const pools = context.candidatePools(linstorNode, volume);
    if (pools.length === 0) {
      const wanted = volume.pools
        ? `storage pool ${volume.pools.join(" or ")}`
        : "data storage pool";
      const selector = volume.poolSelector?.selector
        ? ` matching "${volume.poolSelector.text}"`
        : "";
      failures.push({
        claim: volume.claim,
        reason: `no ${wanted}${selector} for claim ${volume.claim}`,
        hard,
        onlyReservations: false,
        noPool: true,
      });
      continue;
    }
    let best: string | undefined;
    let bestLeft = -Infinity;
    let bestUnreserved = -Infinity;
    const unknown: string[] = [];
    for (const pool of pools) {
      if (!remaining.has(pool.name)) {
        const capacity = context.poolCapacityKib(pool);
        if (capacity === undefined) {
          unknown.push(pool.name);
          continue;
        }
        const reserved = context.reservedKib(linstorNode, pool.name);
        availableKib.set(pool.name, Math.max(0, capacity - reserved));
        reservedKib.set(pool.name, reserved);
        remaining.set(pool.name, capacity - reserved);
        unreserved.set(pool.name, capacity);
      }
      const left = remaining.get(pool.name) ?? -Infinity;
      if (left > bestLeft) {
        bestLeft = left;
        best = pool.name;
      }
      bestUnreserved = Math.max(
        bestUnreserved,
        unreserved.get(pool.name) ?? -Infinity,
      );
    }
    if (best !== undefined && bestLeft >= volume.sizeKib) {
      assignments.set(volume.claim, best);
      remaining.set(best, bestLeft - volume.sizeKib);
      unreserved.set(best, (unreserved.get(best) ?? 0) - volume.sizeKib);
      continue;
    }
    if (best === undefined) {
      failures.push({
        claim: volume.claim,
        reason: `free capacity of pool ${
          unknown.join(", ")
        } unknown for claim ${volume.claim}`,
        hard,
        onlyReservations: true,
        noPool: false,
      });
      continue;
    }
    const reserved = reservedKib.get(best) ?? 0;
    failures.push({
      claim: volume.claim,
      reason:
        `pool ${best}: claim ${volume.claim} needs ${gib(volume.sizeKib)}, ${
          gib(Math.max(0, bestLeft))
        } free` +
        (reserved > 0 ? ` (${gib(reserved)} reserved)` : ""),
      hard,
      onlyReservations: bestUnreserved >= volume.sizeKib,
      noPool: false,
    });
  }
  return { assignments, failures, availableKib, reservedKib };
}

/**
 * TopoLVM's score: `min(10, max(0, floor(log2((bytes >> 30) / divisor))))`;
 * less than 1 GiB scores 0.
 */
export function capacityToScore(kib: number, divisor: number): number {
  const gb = Math.floor(kib / 1048576);
  if (gb <= 0) return 0;
  const score = Math.floor(Math.log2(gb / divisor));
  return Math.min(10, Math.max(0, score));
}

/** The capacity score of a node for the pod: the minimum over the pools its volumes were fitted into. */
export function capacityScore(context: EvalContext, fit: Fit): number {
  if (fit.failures.length > 0) return 0;
  let min = 10;
  for (const pool of new Set(fit.assignments.values())) {
    const divisor = context.config.capacity.divisors[pool] ??
      context.config.capacity.defaultDivisor;
    min = Math.min(
      min,
      capacityToScore(fit.availableKib.get(pool) ?? 0, divisor),
    );
  }
  return min;
}
