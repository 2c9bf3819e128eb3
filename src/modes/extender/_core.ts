/**
 * The pure filter and prioritize cores over (snapshot, pod, candidates, now,
 * reservations view), plus the fail-open check (`freshness()` from
 * `src/domain/`).
 *
 * @module
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeKind, Snapshot } from "../../state/types.ts";
import type { ExtenderConfig, PredicateName } from "./_config.ts";
import { type Candidate, EvalContext } from "./_context.ts";
import type { SnapshotIndex } from "./_index.ts";
import {
  capacityPredicate,
  NodeMemo,
  type Predicate,
  PREDICATE_APPLIES,
  PREDICATES,
  satellitePredicate,
  type Verdict,
} from "./_predicates.ts";
import type { PoolChoiceTable } from "./_capacity.ts";
import { NodeIdMap } from "./_node_id_map.ts";
import type { Reservation, ReservationView } from "./_reservations.ts";
import {
  combinedScore,
  LocalitySums,
  nodeScore,
  scoreNode,
  type ScoreParts,
} from "./_scorers.ts";
import { freshness } from "../../domain/mod.ts";

/** Kinds the extender reads from the state model. */
export const EXTENDER_KINDS: readonly KubeKind[] = Object.freeze([
  "nodes",
  "persistentVolumes",
  "persistentVolumeClaims",
  "storageClasses",
]);

/** Why we fail open, or `undefined` when the data is fresh enough to decide. */
export function staleReason(
  snapshot: Snapshot,
  now: number,
  maxStalenessMs: number,
): string | undefined {
  const verdict = freshness(snapshot, now, {
    maxAgeMs: maxStalenessMs,
    kinds: EXTENDER_KINDS,
  });
  return verdict.fresh ? undefined : verdict.detail;
}

/** The request's deadline passed before the evaluation finished. */
export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
}

/** How many candidates are evaluated between two deadline checks. */
const DEADLINE_CHECK_EVERY = 64;

function checkDeadline(
  options: EvaluateOptions,
  verb: string,
  done: number,
): void {
  if (done % DEADLINE_CHECK_EVERY === 0 && options.expired?.()) {
    throw new DeadlineExceeded(
      `Cannot ${verb}: the answer deadline passed after ${done} nodes`,
    );
  }
}

/** Inputs of one evaluation. */
export interface EvaluateOptions {
  /**
   * Whether the request's deadline has passed; checked every few candidates,
   * and `DeadlineExceeded` thrown when it has.
   */
  readonly expired?: (() => boolean) | undefined;
  readonly config: ExtenderConfig;
  readonly now: number;
  readonly reservations: ReservationView;
  /** Full Node objects from the request, when sent. */
  readonly nodes?: readonly V1Node[] | undefined;
  /** Keep per-volume score parts (explain). */
  readonly detail?: boolean;
  /**
   * Capacity fits of the same pod over the same candidates, snapshot and
   * reservations (from the filter just before); computed afresh otherwise.
   */
  readonly memo?: NodeMemo | undefined;
  /**
   * The candidate records of the same names and Node objects over the same
   * snapshot (from the filter just before); built afresh otherwise.
   */
  readonly candidates?: readonly Candidate[] | undefined;
  /**
   * `false`: the filter takes the general pass even where the packed one
   * applies (the two must agree: tests compare them).
   */
  readonly packed?: boolean | undefined;
}

/** What the filter also works out in its pass over the candidates. */
export interface FilterExtras {
  /**
   * Score the passing candidates as prioritize would with this filter's
   * fits (`FilterOutcome.scores`): kube-scheduler asks prioritize for the
   * passing names right after.
   */
  readonly score?: boolean | undefined;
  /**
   * The reservations held now: the pass also works out what each pending
   * claim would hold on the passing candidates (`FilterOutcome.holds`), so
   * the reservation policy does not visit every node again.
   */
  readonly held?: ((claim: string) => Reservation | undefined) | undefined;
}

/**
 * What a pending claim would hold on the passing candidates (LINSTOR node →
 * pool), worked out in the filter's pass.
 */
export interface HoldPlan {
  readonly claim: string;
  /** The node → pool map of the claim's held reservation it was compared with. */
  readonly compared: ReadonlyMap<string, string> | undefined;
  /** Whether `compared` is exactly what the claim would hold now. */
  readonly unchanged: boolean;
  /** What the claim would hold, when not compared (a fresh map). */
  readonly nodes: ReadonlyMap<string, string> | undefined;
}

/** A `HoldPlan` while the pass fills it. */
interface HoldWork {
  readonly claim: string;
  /** Position of the volume in `EvalContext.pendingInFitOrder`. */
  readonly at: number;
  readonly compared: ReadonlyMap<string, string> | undefined;
  /** `compared` by the index id of each LINSTOR node (`SnapshotIndex.byNodeId()`). */
  readonly comparedById: readonly (string | undefined)[] | undefined;
  readonly nodes: NodeIdMap | undefined;
  count: number;
  same: boolean;
}

/** Outcome of the filter. */
export interface FilterOutcome {
  readonly context: EvalContext;
  readonly candidates: readonly Candidate[];
  readonly memo: NodeMemo;
  /** Names that passed, in input order. */
  readonly passed: readonly string[];
  /** Kubernetes node name → verdict of the first failing predicate. */
  readonly rejected: ReadonlyMap<string, Verdict>;
  /** Scores of the passing candidates in `passed` order (with `score`, when the pass ran). */
  readonly scores?: readonly number[] | undefined;
  /** Per pending volume of the pod, in `volumes.pending` order (with `held`, when the pass ran). */
  readonly holds?: readonly HoldPlan[] | undefined;
}

/** Runs the configured predicate chain over every candidate. */
export function filterNodes(
  index: SnapshotIndex,
  input: { pod: V1Pod; names: readonly string[] },
  options: EvaluateOptions & FilterExtras,
): FilterOutcome {
  const context = new EvalContext(index, input.pod, options);
  const candidates = context.candidates(input.names, options.nodes);
  const memo = new NodeMemo(candidates.length);
  const rejected = new Map<string, Verdict>();
  const lagging = cacheLag(context, options);
  if (lagging) {
    for (const candidate of candidates) rejected.set(candidate.name, lagging);
    return { context, candidates, memo, passed: [], rejected };
  }
  if (!context.volumes.usesLinstor) {
    return { context, candidates, memo, passed: [...input.names], rejected };
  }
  // Only the predicates that can reject a node for this pod (e.g. no access
  // check without a restricting policy): the others pass every node.
  const chain: Predicate[] = [];
  const names: PredicateName[] = [];
  for (const name of options.config.predicates) {
    if (PREDICATE_APPLIES[name](context)) {
      chain.push(PREDICATES[name]);
      names.push(name);
    }
  }
  // Room for every candidate up front; cut to the passing ones after.
  const scores: number[] | undefined = options.score
    ? new Array<number>(candidates.length).fill(0)
    : undefined;
  const holds = options.held === undefined
    ? undefined
    : holdWork(context, options.held);
  const table = context.choiceTable();
  const packed = options.packed !== false &&
    (table !== undefined || context.volumes.pending.length === 0) &&
    names.every((name) => name === "satellite" || name === "capacity");
  const passed = (packed ? runPacked : runChain)(context, {
    table,
    predicates: names,
    names: input.names,
    candidates,
    chain,
    memo,
    rejected,
    options,
    scores,
    holds,
  });
  if (scores !== undefined) scores.length = passed.length;
  return {
    context,
    candidates,
    memo,
    passed,
    rejected,
    scores,
    holds: holds?.map((h) => ({
      claim: h.claim,
      compared: h.compared,
      unchanged: h.compared !== undefined && h.same &&
        h.count === h.compared.size,
      nodes: h.nodes,
    })),
  };
}

/**
 * What the pass works out per pending volume: a comparison with the map of
 * the claim's reservation when one is held with the same size and not
 * narrowed for good (a retried pod: refreshed when it would hold the same),
 * else the map it would hold.
 */
function holdWork(
  context: EvalContext,
  held: (claim: string) => Reservation | undefined,
): HoldWork[] {
  return context.volumes.pending.map((volume) => {
    const existing = held(volume.claim);
    const compare = existing !== undefined && !existing.narrowed &&
      existing.sizeKib === volume.sizeKib;
    return {
      claim: volume.claim,
      at: context.pendingInFitOrder.indexOf(volume),
      compared: compare ? existing.nodes : undefined,
      comparedById: compare
        ? context.index.byNodeId(existing.nodes)
        : undefined,
      nodes: compare ? undefined : new NodeIdMap(context.index.ids),
      count: 0,
      same: true,
    };
  });
}

/**
 * The per-candidate loop of `filterNodes()` (its own function, so it stays
 * optimized): fills `rejected`, returns the names that passed (`names`
 * itself when every node passed, the common case: no copy of 5,000 names).
 */
function runChain(context: EvalContext, run: ChainRun): readonly string[] {
  const { names, candidates, chain, memo, rejected, options, scores, holds } =
    run;
  const tally = new Tally(names, rejected);
  for (let i = 0; i < candidates.length; i++) {
    checkDeadline(options, "filter", i);
    const candidate = candidates[i]!;
    memo.at(i);
    let verdict: Verdict | undefined;
    for (let p = 0; p < chain.length && verdict === undefined; p++) {
      verdict = chain[p]!(context, candidate, memo);
    }
    if (verdict) {
      tally.reject(i, candidate.name, verdict);
      continue;
    }
    const count = tally.pass(candidate.name);
    // The passing node's score and holds, while its records are at hand.
    if (scores !== undefined) {
      scores[count] = nodeScore(context, candidate, memo);
    }
    if (holds !== undefined && holds.length > 0) {
      holdOn(context, { candidate, memo, holds });
    }
  }
  return tally.passed();
}

/**
 * `runChain()` for the common shape of pod: at most one pending volume and
 * no predicate besides satellite and capacity. The same rules, read from
 * what they left packed: each node's satellite verdict on its shared
 * record, and the pool choice's room, pool and capacity score by node id in
 * the shared `PoolChoiceTable`, so each candidate costs a few array reads
 * instead of following a chain of records.
 */
function runPacked(context: EvalContext, run: ChainRun): readonly string[] {
  const { names, candidates, memo, rejected, options, scores, holds, table } =
    run;
  const predicates = run.predicates;
  const volume = context.pendingInFitOrder[0];
  const sizeKib = volume === undefined ? 0 : volume.sizeKib;
  const hasPending = volume !== undefined;
  const locality = new LocalitySums(context);
  const tally = new Tally(names, rejected);
  for (let i = 0; i < candidates.length; i++) {
    checkDeadline(options, "filter", i);
    const candidate = candidates[i]!;
    const linstor = candidate.linstor;
    // The room the pod's volume leaves on the node's chosen pool.
    let left = -Infinity;
    let id = -1;
    if (table !== undefined && linstor !== undefined) {
      id = candidate.linstorId ?? context.index.intern(linstor.name);
      left = table.leftKib(id);
      if (left !== left) {
        context.poolChoice(linstor.name, id);
        left = table.leftKib(id);
      }
    }
    const fits = left >= sizeKib;
    let verdict: Verdict | undefined;
    for (let p = 0; p < predicates.length && verdict === undefined; p++) {
      if (predicates[p] === "satellite") {
        // Kept on the node's shared record after its first check.
        verdict = satellitePredicate(context, candidate);
      } else if (!fits) {
        verdict = capacityPredicate(context, candidate, memo.at(i));
      }
    }
    if (verdict) {
      tally.reject(i, candidate.name, verdict);
      continue;
    }
    const count = tally.pass(candidate.name);
    if (scores !== undefined) {
      scores[count] = combinedScore(context, {
        localitySum: locality.of(candidate),
        capacity: !hasPending
          ? undefined
          : linstor === undefined || !fits
          ? 0
          : table!.passingScore(context, id),
      });
    }
    if (holds !== undefined && fits && id >= 0) {
      // One pending volume: every hold is of it, at fit position 0. Inline
      // as in `holdOn()`: a shared helper (a class method or a function)
      // measured 1.3–1.5× the CPU per pair.
      const pool = table!.pool(id)!;
      for (let h = 0; h < holds.length; h++) {
        const hold = holds[h]!;
        if (hold.nodes !== undefined) {
          hold.nodes.add(linstor!.name, id, pool);
        } else {
          hold.count++;
          if (hold.same && hold.comparedById![id] !== pool) hold.same = false;
        }
      }
    }
  }
  return tally.passed();
}

/**
 * The passing names and the rejections of a filter's pass, in input order:
 * the names that passed are `names` itself while none was rejected (the
 * common case: no copy of 5,000 names), built from the first rejection on.
 */
class Tally {
  readonly #names: readonly string[];
  readonly #rejected: Map<string, Verdict>;
  #passed: string[] | undefined;
  #count = 0;

  constructor(names: readonly string[], rejected: Map<string, Verdict>) {
    this.#names = names;
    this.#rejected = rejected;
  }

  /** Rejects the name at position `i`. */
  reject(i: number, name: string, verdict: Verdict): void {
    this.#passed ??= this.#names.slice(0, i);
    this.#rejected.set(name, verdict);
  }

  /** Passes the next name; returns its position among the passing ones. */
  pass(name: string): number {
    if (this.#passed !== undefined) this.#passed.push(name);
    return this.#count++;
  }

  /** The names that passed. */
  passed(): readonly string[] {
    return this.#passed ?? this.#names;
  }
}

/** What `runChain()` and `runPacked()` read and fill. */
interface ChainRun {
  readonly names: readonly string[];
  readonly candidates: readonly Candidate[];
  readonly chain: readonly Predicate[];
  /** The names of `chain`. */
  readonly predicates: readonly PredicateName[];
  /** The pool-choice table of the pod's one pending volume, if it has one. */
  readonly table: PoolChoiceTable | undefined;
  readonly memo: NodeMemo;
  readonly rejected: Map<string, Verdict>;
  readonly options: EvaluateOptions;
  readonly scores: number[] | undefined;
  readonly holds: HoldWork[] | undefined;
}

/** Adds a passing candidate's pool of each pending volume to `holds`. */
function holdOn(
  context: EvalContext,
  run: {
    readonly candidate: Candidate;
    readonly memo: NodeMemo;
    readonly holds: HoldWork[];
  },
): void {
  const { candidate, memo, holds } = run;
  const linstor = candidate.linstor;
  if (linstor === undefined) return;
  const id = candidate.linstorId ?? context.index.intern(linstor.name);
  const pools = memo.fit(context, candidate).pools;
  for (let h = 0; h < holds.length; h++) {
    const hold = holds[h]!;
    const pool = pools[hold.at];
    if (pool === undefined) continue;
    if (hold.nodes !== undefined) {
      hold.nodes.add(linstor.name, id, pool);
    } else {
      hold.count++;
      if (hold.same && hold.comparedById![id] !== pool) hold.same = false;
    }
  }
}

/**
 * A resolvable rejection of every node while a claim of a young pod is
 * missing from our cache (kube-scheduler only asks once the claim exists, so
 * the informer is behind). After `maxStalenessMs` of pod age we decide with
 * what we have, so a cache that never catches up cannot hold a pod forever.
 */
function cacheLag(
  context: EvalContext,
  options: EvaluateOptions,
): Verdict | undefined {
  const missing = context.volumes.missing;
  if (missing.length === 0) return undefined;
  const created = context.pod.metadata?.creationTimestamp as unknown;
  const createdAt = created instanceof Date
    ? created.getTime()
    : typeof created === "string"
    ? Date.parse(created)
    : NaN;
  if (
    !Number.isFinite(createdAt) ||
    options.now - createdAt >= options.config.maxStalenessMs
  ) {
    return undefined;
  }
  return {
    predicate: "cache",
    reason: `claim ${missing[0]} is not in the extender's cache yet; retrying`,
    unresolvable: false,
  };
}

/** Outcome of prioritize. */
export interface ScoreOutcome {
  readonly context: EvalContext;
  readonly candidates: readonly Candidate[];
  readonly memo: NodeMemo;
  /** Score 0..10 of each candidate, in input order. */
  readonly scores: readonly number[];
  /** Score parts of each candidate (only with `detail`). */
  readonly parts: readonly ScoreParts[] | undefined;
}

/** Scores every candidate 0..10 (all 0 when the pod has no LINSTOR volumes). */
export function scoreNodes(
  index: SnapshotIndex,
  input: { pod: V1Pod; names: readonly string[] },
  options: EvaluateOptions,
): ScoreOutcome {
  const context = new EvalContext(index, input.pod, options);
  const candidates = options.candidates ??
    context.candidates(input.names, options.nodes);
  const memo = options.memo ?? new NodeMemo(candidates.length);
  const scores: number[] = new Array(candidates.length).fill(0);
  let parts: ScoreParts[] | undefined;
  if (options.detail ?? false) {
    parts = scoreWithParts(context, { candidates, memo, scores, options });
  } else if (context.volumes.usesLinstor) {
    scoreAll(context, { candidates, memo, scores, options });
  }
  return { context, candidates, memo, scores, parts };
}

/** What the scoring loops read and fill. */
interface ScoreRun {
  readonly candidates: readonly Candidate[];
  readonly memo: NodeMemo;
  readonly scores: number[];
  readonly options: EvaluateOptions;
}

/** The prioritize hot loop: each candidate's score, no parts (its own function, so it stays optimized). */
function scoreAll(context: EvalContext, run: ScoreRun): void {
  const { candidates, memo, scores, options } = run;
  for (let i = 0; i < candidates.length; i++) {
    checkDeadline(options, "prioritize", i);
    scores[i] = nodeScore(context, candidates[i]!, memo.at(i));
  }
}

/** Each candidate's score with its parts (explain). */
function scoreWithParts(context: EvalContext, run: ScoreRun): ScoreParts[] {
  const { candidates, memo, scores, options } = run;
  const parts: ScoreParts[] = [];
  const usesLinstor = context.volumes.usesLinstor;
  for (let i = 0; i < candidates.length; i++) {
    checkDeadline(options, "prioritize", i);
    const result = usesLinstor
      ? scoreNode(context, candidates[i]!, { memo: memo.at(i), detail: true })
      : NO_OPINION;
    scores[i] = result.score;
    parts.push(result);
  }
  return parts;
}

const NO_OPINION: ScoreParts = Object.freeze({
  score: 0,
  locality: undefined,
  capacity: undefined,
  perVolume: Object.freeze({}),
});
