/**
 * The pure filter and prioritize cores over (snapshot, pod, candidates, now,
 * reservations view), plus the fail-open check (`freshness()` from
 * `src/domain/`).
 *
 * @module
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeKind, Snapshot } from "../../state/types.ts";
import type { ExtenderConfig } from "./_config.ts";
import { type Candidate, EvalContext } from "./_context.ts";
import type { SnapshotIndex } from "./_index.ts";
import {
  NodeMemo,
  type Predicate,
  PREDICATE_APPLIES,
  PREDICATES,
  type Verdict,
} from "./_predicates.ts";
import type { ReservationView } from "./_reservations.ts";
import { nodeScore, scoreNode, type ScoreParts } from "./_scorers.ts";
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
}

/** Runs the configured predicate chain over every candidate. */
export function filterNodes(
  index: SnapshotIndex,
  input: { pod: V1Pod; names: readonly string[] },
  options: EvaluateOptions,
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
  for (const name of options.config.predicates) {
    if (PREDICATE_APPLIES[name](context)) chain.push(PREDICATES[name]);
  }
  const passed = runChain(context, {
    names: input.names,
    candidates,
    chain,
    memo,
    rejected,
    options,
  });
  return { context, candidates, memo, passed, rejected };
}

/**
 * The per-candidate loop of `filterNodes()` (its own function, so it stays
 * optimized): fills `rejected`, returns the names that passed (`names`
 * itself when every node passed, the common case: no copy of 5,000 names).
 */
function runChain(
  context: EvalContext,
  run: {
    readonly names: readonly string[];
    readonly candidates: readonly Candidate[];
    readonly chain: readonly Predicate[];
    readonly memo: NodeMemo;
    readonly rejected: Map<string, Verdict>;
    readonly options: EvaluateOptions;
  },
): readonly string[] {
  const { names, candidates, chain, memo, rejected, options } = run;
  // Built from the first rejection on.
  let passed: string[] | undefined;
  for (let i = 0; i < candidates.length; i++) {
    checkDeadline(options, "filter", i);
    const candidate = candidates[i]!;
    memo.at(i);
    let verdict: Verdict | undefined;
    for (let p = 0; p < chain.length && verdict === undefined; p++) {
      verdict = chain[p]!(context, candidate, memo);
    }
    if (verdict) {
      passed ??= names.slice(0, i);
      rejected.set(candidate.name, verdict);
    } else if (passed !== undefined) {
      passed.push(candidate.name);
    }
  }
  return passed ?? names;
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
