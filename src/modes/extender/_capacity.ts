/**
 * Capacity of a node for a pod's unbound WaitForFirstConsumer volumes, and
 * TopoLVM's capacity score.
 *
 * @module
 */
import type { EvalContext } from "./_context.ts";

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
  /** Pool chosen per volume of `context.pendingInFitOrder` (`undefined`: did not fit). */
  readonly pools: readonly (string | undefined)[];
  /**
   * KiB available in that pool for the volume: after others' reservations
   * and the pod's own volumes fitted there before it.
   */
  readonly availableKib: readonly number[];
  readonly failures: readonly FitFailure[];
}

const NO_FAILURES: readonly FitFailure[] = Object.freeze([]);

/** Formats KiB as GiB with one decimal. */
export function gib(kib: number): string {
  return `${(kib / 1048576).toFixed(1)}GiB`;
}

/**
 * Fits the pod's pending volumes on a LINSTOR node: those that need a local
 * replica first, then the rest, each group biggest first, each into
 * the candidate pool with the most room left, summing what this pod already
 * placed in a pool.
 */
export function fitOnNode(context: EvalContext, linstorNode: string): Fit {
  const volumes = context.pendingInFitOrder;
  const pools: (string | undefined)[] = [];
  const availableKib: number[] = [];
  let failures: FitFailure[] | undefined;
  // Pool name → KiB this pod already placed there (only when > 1 volume).
  let used: Map<string, number> | undefined;
  for (const volume of volumes) {
    let candidates = 0;
    let best: string | undefined;
    let bestLeft = -Infinity;
    let bestUnreserved = -Infinity;
    let bestReserved = 0;
    let unknown: string[] | undefined;
    for (
      const { pool, capacityKib: capacity } of context.index.poolCapacities(
        linstorNode,
      )
    ) {
      if (!context.poolAllowed(pool, volume)) continue;
      candidates++;
      if (capacity === undefined) {
        (unknown ??= []).push(pool.name);
        continue;
      }
      const reserved = context.reservedKib(linstorNode, pool.name);
      const mine = used?.get(pool.name) ?? 0;
      const left = capacity - reserved - mine;
      if (left > bestLeft) {
        bestLeft = left;
        best = pool.name;
        bestReserved = reserved;
      }
      bestUnreserved = Math.max(bestUnreserved, capacity - mine);
    }
    if (best !== undefined && bestLeft >= volume.sizeKib) {
      pools.push(best);
      availableKib.push(Math.max(0, bestLeft));
      if (volumes.length > 1) {
        used ??= new Map();
        used.set(best, (used.get(best) ?? 0) + volume.sizeKib);
      }
      continue;
    }
    pools.push(undefined);
    availableKib.push(0);
    failures ??= [];
    const hard = context.isHard(volume);
    if (candidates === 0) {
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
    } else if (best === undefined) {
      failures.push({
        claim: volume.claim,
        reason: `free capacity of pool ${
          (unknown ?? []).join(", ")
        } unknown for claim ${volume.claim}`,
        hard,
        onlyReservations: true,
        noPool: false,
      });
    } else {
      failures.push({
        claim: volume.claim,
        reason:
          `pool ${best}: claim ${volume.claim} needs ${gib(volume.sizeKib)}, ${
            gib(Math.max(0, bestLeft))
          } free` +
          (bestReserved > 0 ? ` (${gib(bestReserved)} reserved)` : ""),
        hard,
        onlyReservations: bestUnreserved >= volume.sizeKib,
        noPool: false,
      });
    }
  }
  return { pools, availableKib, failures: failures ?? NO_FAILURES };
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
  for (let i = 0; i < fit.pools.length; i++) {
    const pool = fit.pools[i]!;
    const divisor = context.config.capacity.divisors[pool] ??
      context.config.capacity.defaultDivisor;
    min = Math.min(min, capacityToScore(fit.availableKib[i] ?? 0, divisor));
  }
  return min;
}
