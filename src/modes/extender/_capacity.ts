/**
 * Capacity of a node for a pod's unbound WaitForFirstConsumer volumes, and
 * TopoLVM's capacity score.
 *
 * @module
 */
import type { Candidate, EvalContext } from "./_context.ts";
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
  /** Pool chosen per volume of `context.pendingInFitOrder` (`undefined`: did not fit). */
  readonly pools: readonly (string | undefined)[];
  /**
   * KiB available in that pool for the volume: after others' reservations
   * and the pod's own volumes fitted there before it.
   */
  readonly availableKib: readonly number[];
  readonly failures: readonly FitFailure[];
}

/**
 * A `PoolChoice` kept in a table shared by requests, with the fit record of
 * the requests whose volume fits it (it does not depend on their sizes).
 */
export interface PoolChoiceEntry {
  readonly choice: PoolChoice;
  passing: Fit | undefined;
}

const NO_FAILURES: readonly FitFailure[] = Object.freeze([]);

/**
 * The pool choices (`choosePool()`) of one volume shape on LINSTOR nodes by
 * their index id (`SnapshotIndex.intern()`), shared by the requests that see
 * the same inputs (`EvalContext.poolChoice()`). Besides the entries, the
 * room each choice leaves is kept packed by id, so the filter's loop over
 * thousands of nodes reads numbers instead of following records.
 */
export class PoolChoiceTable {
  readonly #entries: (PoolChoiceEntry | undefined)[] = [];
  /** `choice.leftKib` by id; `NaN` where no entry is filled yet. */
  #left = new Float64Array(0).fill(NaN);
  /** `choice.pool` by id. */
  readonly #pool: (string | undefined)[] = [];
  /** `capacityScore()` of each passing fit by id under `#scoreFor`; -1 where not worked out. */
  #score = new Int8Array(0).fill(-1);
  #scoreFor: object | undefined;

  /** The entry of id `id`, when filled. */
  entry(id: number): PoolChoiceEntry | undefined {
    return this.#entries[id];
  }

  /** Fills the entry of id `id` (once: entries never change). */
  set(id: number, entry: PoolChoiceEntry): void {
    this.#entries[id] = entry;
    if (id >= this.#left.length) {
      const grown = new Float64Array(Math.max(64, (id + 1) * 2)).fill(NaN);
      grown.set(this.#left);
      this.#left = grown;
    }
    this.#left[id] = entry.choice.leftKib;
    this.#pool[id] = entry.choice.pool;
  }

  /** The pool chosen on node `id` (filled entries only). */
  pool(id: number): string | undefined {
    return this.#pool[id];
  }

  /**
   * `capacityScore()` of a volume that fits the filled entry of node `id`,
   * worked out once per id and capacity config.
   */
  passingScore(context: EvalContext, id: number): number {
    const capacity = context.config.capacity;
    if (this.#scoreFor !== capacity || id >= this.#score.length) {
      const grown = new Int8Array(Math.max(64, this.#left.length)).fill(-1);
      if (this.#scoreFor === capacity) grown.set(this.#score);
      this.#score = grown;
      this.#scoreFor = capacity;
    }
    let score = this.#score[id]!;
    if (score < 0) {
      // `capacityScore()` of the entry's passing fit, without making it.
      score = poolScore(context, this.#pool[id]!, Math.max(0, this.#left[id]!));
      this.#score[id] = score;
    }
    return score;
  }

  /**
   * KiB the chosen pool leaves on node `id` (`-Infinity` without a pool),
   * `NaN` when that node's entry is not filled yet.
   */
  leftKib(id: number): number {
    return id < this.#left.length ? this.#left[id]! : NaN;
  }
}

/** Formats KiB as GiB with one decimal. */
export function gib(kib: number): string {
  return `${(kib / 1048576).toFixed(1)}GiB`;
}

/** The pool one pending volume would take on a node, and its room there. */
export interface PoolChoice {
  /** How many pools of the node the volume may use. */
  readonly candidates: number;
  /** The allowed pool with the most room left; `undefined` when none has a known capacity. */
  readonly pool: string | undefined;
  /**
   * KiB left in `pool` after others' reservations and the pod's volumes
   * fitted there before (`-Infinity` without `pool`).
   */
  readonly leftKib: number;
  /** The most KiB left in an allowed pool without others' reservations. */
  readonly unreservedKib: number;
  /** KiB others' reservations hold on `pool`. */
  readonly reservedKib: number;
  /** Allowed pools whose free capacity LINSTOR does not know. */
  readonly unknown: readonly string[] | undefined;
}

/**
 * The capacity rule for one volume on a LINSTOR node: of the pools it may
 * use, the one with the most room left after others' reservations and what
 * this pod already placed there (`used`: pool → KiB).
 */
export function choosePool(
  context: EvalContext,
  linstorNode: string,
  options: {
    readonly volume: PendingVolume;
    readonly used?: ReadonlyMap<string, number> | undefined;
    /** The node's `SnapshotIndex.intern()` id, when the caller has it. */
    readonly linstorId?: number | undefined;
  },
): PoolChoice {
  const { volume, used, linstorId } = options;
  let candidates = 0;
  let best: string | undefined;
  let bestLeft = -Infinity;
  let bestUnreserved = -Infinity;
  let bestReserved = 0;
  let unknown: string[] | undefined;
  for (
    const { pool, capacityKib: capacity } of context.index.poolCapacities(
      linstorNode,
      linstorId,
    )
  ) {
    if (!context.poolAllowed(pool, volume)) continue;
    candidates++;
    if (capacity === undefined) {
      (unknown ??= []).push(pool.name);
      continue;
    }
    const reserved = context.reservedKib(linstorNode, pool.name, linstorId);
    const mine = used?.get(pool.name) ?? 0;
    const left = capacity - reserved - mine;
    if (left > bestLeft) {
      bestLeft = left;
      best = pool.name;
      bestReserved = reserved;
    }
    bestUnreserved = Math.max(bestUnreserved, capacity - mine);
  }
  return {
    candidates,
    pool: best,
    leftKib: bestLeft,
    unreservedKib: bestUnreserved,
    reservedKib: bestReserved,
    unknown,
  };
}

/** Whether a volume fits the pool `choosePool()` chose for it. */
export function fitsChoice(volume: PendingVolume, choice: PoolChoice): boolean {
  return choice.pool !== undefined && choice.leftKib >= volume.sizeKib;
}

/** Why a volume does not fit the pool `choosePool()` chose (it does not: `fitsChoice()`). */
export function failureOf(
  context: EvalContext,
  volume: PendingVolume,
  choice: PoolChoice,
): FitFailure {
  const hard = context.isHard(volume);
  if (choice.candidates === 0) {
    const wanted = volume.pools
      ? `storage pool ${volume.pools.join(" or ")}`
      : "data storage pool";
    const selector = volume.poolSelector?.selector
      ? ` matching "${volume.poolSelector.text}"`
      : "";
    return {
      claim: volume.claim,
      reason: `no ${wanted}${selector} for claim ${volume.claim}`,
      hard,
      onlyReservations: false,
      noPool: true,
    };
  }
  if (choice.pool === undefined) {
    return {
      claim: volume.claim,
      reason: `free capacity of pool ${
        (choice.unknown ?? []).join(", ")
      } unknown for claim ${volume.claim}`,
      hard,
      onlyReservations: true,
      noPool: false,
    };
  }
  return {
    claim: volume.claim,
    reason:
      `pool ${choice.pool}: claim ${volume.claim} needs ${
        gib(volume.sizeKib)
      }, ${gib(Math.max(0, choice.leftKib))} free` +
      (choice.reservedKib > 0 ? ` (${gib(choice.reservedKib)} reserved)` : ""),
    hard,
    onlyReservations: choice.unreservedKib >= volume.sizeKib,
    noPool: false,
  };
}

/**
 * Fits the pod's pending volumes on a LINSTOR node by the rule, every time:
 * those that need a local replica first, then the rest, each group biggest
 * first, each into the candidate pool with the most room left
 * (`choosePool()`), summing what this pod already placed in a pool.
 */
export function fitOnNodeByRule(
  context: EvalContext,
  linstorNode: string,
): Fit {
  const volumes = context.pendingInFitOrder;
  const pools: (string | undefined)[] = [];
  const availableKib: number[] = [];
  let failures: FitFailure[] | undefined;
  // Pool name → KiB this pod already placed there (only when > 1 volume).
  let used: Map<string, number> | undefined;
  for (const volume of volumes) {
    const choice = choosePool(context, linstorNode, { volume, used });
    if (fitsChoice(volume, choice)) {
      const pool = choice.pool!;
      pools.push(pool);
      availableKib.push(Math.max(0, choice.leftKib));
      if (volumes.length > 1) {
        used ??= new Map();
        used.set(pool, (used.get(pool) ?? 0) + volume.sizeKib);
      }
      continue;
    }
    pools.push(undefined);
    availableKib.push(0);
    (failures ??= []).push(failureOf(context, volume, choice));
  }
  return { pools, availableKib, failures: failures ?? NO_FAILURES };
}

/**
 * `fitOnNodeByRule()`'s answer on a candidate's LINSTOR node. A pod with one
 * pending volume (the common case) reads the volume's pool choice from a
 * table shared by the requests with the same snapshot, pool shape and
 * others' reservations (`EvalContext.poolChoice()`, filled by `choosePool()`
 * itself), and a fit that passes is one record shared by those requests;
 * more volumes take the rule every time.
 */
export function fitOnNode(context: EvalContext, node: Candidate): Fit {
  const linstor = node.linstor;
  if (linstor === undefined) {
    throw new TypeError(
      `Cannot fit volumes on node "${node.name}": it has no LINSTOR node`,
    );
  }
  const volumes = context.pendingInFitOrder;
  if (volumes.length !== 1) return fitOnNodeByRule(context, linstor.name);
  const volume = volumes[0]!;
  const entry = context.poolChoice(linstor.name, node.linstorId);
  const choice = entry.choice;
  if (fitsChoice(volume, choice)) return passingFit(entry);
  return {
    pools: [undefined],
    availableKib: [0],
    failures: [failureOf(context, volume, choice)],
  };
}

/** The fit record of a volume that fits an entry's choice, one per entry. */
function passingFit(entry: PoolChoiceEntry): Fit {
  return entry.passing ??= {
    pools: [entry.choice.pool],
    availableKib: [Math.max(0, entry.choice.leftKib)],
    failures: NO_FAILURES,
  };
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
    min = Math.min(
      min,
      poolScore(context, fit.pools[i]!, fit.availableKib[i] ?? 0),
    );
  }
  return min;
}

/** The capacity score of `availableKib` left in `pool`, by the pool's divisor. */
function poolScore(
  context: EvalContext,
  pool: string,
  availableKib: number,
): number {
  const capacity = context.config.capacity;
  // Own keys only: a pool named like an `Object.prototype` member
  // ("constructor") must not read a function as its divisor.
  const divisor = Object.hasOwn(capacity.divisors, pool)
    ? capacity.divisors[pool]!
    : capacity.defaultDivisor;
  return capacityToScore(availableKib, divisor);
}
