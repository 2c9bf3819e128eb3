/**
 * The shape every long-running mode shares: a `Mode` describes what a mode
 * reads and how it plans; the CLI's `runMode()` does the wiring (state
 * model, leader election, loop, dry-run, health, shutdown). See
 * `docs/adding_a_mode.md`.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { KubeFields, KubeKind } from "../kube/mod.ts";
import { freshness } from "../domain/mod.ts";
import type { CheckResult } from "../observability/mod.ts";
import type { Snapshot } from "../state/types.ts";
import {
  executeOperations,
  type ExecuteReport,
  type Operation,
  type OperationMetrics,
} from "./operation.ts";

/**
 * An observed input a mode contributes besides the shared cluster state
 * (an LVM scan, a `drbdsetup events2` stream, the cluster identity…).
 * `runMode()` runs it next to the state model, hands `current()` to every
 * plan and counts `ready()` into readiness.
 */
export interface ModeSource<T> {
  /** Name for logs and readiness details. */
  readonly name: string;
  /** The latest observation (an initial value before the first one). */
  current(): T;
  /**
   * Observes until `signal` aborts, calling `wake()` after `current()`
   * changed. Transient failures are retried inside (with backoff), never
   * thrown: a source that cannot observe reports it through `ready()`.
   */
  run(signal: AbortSignal, wake: () => void): Promise<void>;
  /** Mode-specific readiness (e.g. "blind while drbdsetup is down"). @default {always ready} */
  ready?(): CheckResult;
}

/** A long-running part of a mode that is not a loop (the extender's HTTP listener). */
export interface ModeService {
  /** Name for logs. */
  readonly name: string;
  /** Runs until `signal` aborts; rejects only on an unrecoverable error. */
  run(signal: AbortSignal, host: ModeServiceHost): Promise<void>;
}

/** What `runMode()` offers a `ModeService`. */
export interface ModeServiceHost {
  /** The latest cluster snapshot. */
  snapshot(): Snapshot;
  /** `/healthz`, `/readyz` and `/metrics` by the one rule of the process, for services that serve them too. */
  healthRoutes(request: Request): Promise<Response> | undefined;
}

/** What a plan sees besides the snapshot. */
export interface PlanContext<Memory, Inputs> {
  /** The reference time of this pass (ms since the epoch). */
  readonly now: number;
  /** What the previous pass remembered (`Mode.memory` on the first). */
  readonly memory: Memory;
  /** `current()` of every source of the mode, by name. */
  readonly inputs: Inputs;
}

/** The result of `Mode.plan()`. */
export interface ModePlan<Memory> {
  /** Operations sorted by key; executed with bounded concurrency. */
  readonly operations: readonly Operation[];
  /** Memory for the next pass. */
  readonly memory: Memory;
}

/** Loop settings of a mode (from its flags). */
export interface ModeLoopOptions {
  /** A pass at least this often (ms): the periodic resync. */
  readonly intervalMs: number;
  /** A pass is aborted after this long (ms). */
  readonly passTimeoutMs: number;
  /** Operations executed at once. @default {4} */
  readonly workers?: number;
  /** Timeout of one operation (ms). @default {none} */
  readonly operationTimeoutMs?: number;
  /** After a wake-up, wait this long (ms) so bursts collapse. @default {1000} */
  readonly debounceMs?: number;
}

/**
 * A mode: what it reads and how it plans. Built by `createXMode(deps,
 * options)`; `runMode()` runs it.
 *
 * `Inputs` maps each source name to its observation type. Memory is an
 * explicit value passed from one pass to the next, never a hidden global.
 */
// deno-lint-ignore ban-types
export interface Mode<Memory = unknown, Inputs extends object = {}> {
  /** The subcommand name (`affinity`), also the log category and metric prefix. */
  readonly name: string;
  /** Kubernetes kinds the state model watches for this mode. */
  readonly kinds: readonly KubeKind[];
  /**
   * The fields of each kind the mode reads; the caches keep only these
   * (`projectionOf()`). @default {what `stripObject()` keeps, every kind}
   */
  readonly fields?: KubeFields;
  /** Whether the state model polls LINSTOR (readiness waits for it). @default {true} */
  readonly readsLinstor?: boolean;
  /** LINSTOR data older than this (ms) makes the process not ready. @default {60000} */
  readonly maxLinstorAgeMs?: number;
  /** The memory of the first pass. */
  readonly memory: Memory;
  /** Extra observed inputs. */
  readonly sources?: { readonly [K in keyof Inputs]: ModeSource<Inputs[K]> };
  /** Long-running parts that are not the loop (HTTP listeners). */
  readonly services?: readonly ModeService[];
  /** The loop; without it (and without `plan`) no loop runs. */
  readonly loop?: ModeLoopOptions;
  /** Pure: plans operations from the snapshot; no awaits, no clock, no I/O. */
  plan?(
    snapshot: Snapshot,
    context: PlanContext<Memory, Inputs>,
  ): ModePlan<Memory>;
  /**
   * Folds what was executed into memory (e.g. forget an Event that was not
   * sent because this replica is not the leader). @default {memory unchanged}
   */
  settle?(memory: Memory, report: ExecuteReport): Memory;
  /** Mode-specific readiness over the snapshot and inputs. @default {ready} */
  ready?(
    snapshot: Snapshot,
    context: { now: number; inputs: Inputs },
  ): CheckResult;
}

/** Options of `passMode()`. */
export interface PassModeOptions {
  /** Aborts the pass. */
  signal: AbortSignal;
  /** Plan and print; execute nothing. @default {false} */
  dryRun?: boolean;
  /** Receives one line per operation in dry-run. */
  print?: (line: string) => void;
  /** Leader gate of leader-only operations. @default {() => true} */
  isLeader?: () => boolean;
  /** The current leadership term: leader-only operations abort with it. */
  leaderSignal?: () => AbortSignal;
  /** Where outcomes are logged. */
  logger?: Logger;
  /** Where outcomes are counted. */
  metrics?: OperationMetrics;
}

/** What one pass did. */
export interface ModePassReport<Memory> {
  readonly operations: readonly Operation[];
  readonly execution: ExecuteReport;
  /** Memory after planning and settling. */
  readonly memory: Memory;
}

/** The inputs of one pass. */
export interface PassInput<Memory, Inputs> {
  readonly snapshot: Snapshot;
  readonly now: number;
  readonly memory: Memory;
  readonly inputs: Inputs;
}

/**
 * One pass of `mode`: plan from `input`, print in dry-run, execute (leader
 * gated, bounded), settle the memory. `runMode()` runs it in its loop; tests
 * and benchmarks call it directly.
 */
// deno-lint-ignore ban-types
export async function passMode<Memory, Inputs extends object = {}>(
  mode: Mode<Memory, Inputs>,
  input: PassInput<Memory, Inputs>,
  options: PassModeOptions,
): Promise<ModePassReport<Memory>> {
  if (mode.plan === undefined) {
    throw new TypeError(`Cannot run a pass of mode "${mode.name}": no plan`);
  }
  const planned = mode.plan(input.snapshot, {
    now: input.now,
    memory: input.memory,
    inputs: input.inputs,
  });
  if (options.dryRun) {
    for (const operation of planned.operations) {
      options.print?.(
        `dry-run: ${operation.name} ${operation.key}: ${operation.summary}\n`,
      );
    }
  }
  const execution = await executeOperations(planned.operations, {
    signal: options.signal,
    concurrency: mode.loop?.workers ?? 4,
    dryRun: options.dryRun ?? false,
    ...(options.isLeader ? { isLeader: options.isLeader } : {}),
    ...(options.leaderSignal ? { leaderSignal: options.leaderSignal } : {}),
    ...(mode.loop?.operationTimeoutMs !== undefined
      ? { timeoutMs: mode.loop.operationTimeoutMs }
      : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  const memory = mode.settle
    ? mode.settle(planned.memory, execution)
    : planned.memory;
  return { operations: planned.operations, execution, memory };
}

/** Options of `modeReadiness()`. */
export interface ModeReadinessOptions {
  /** The reference time. */
  now: number;
  /** Whether the mode reads LINSTOR. */
  readsLinstor: boolean;
  /** LINSTOR data older than this (ms) is not ready. */
  maxLinstorAgeMs: number;
  /** Readiness of each source. */
  sources?: readonly { name: string; result: CheckResult }[];
  /** The mode's own condition. */
  mode?: CheckResult;
}

/**
 * The one readiness rule of every mode: every watched kind listed, LINSTOR
 * polled and fresh (when the mode reads it), every source ready, and the
 * mode's own condition.
 */
export function modeReadiness(
  snapshot: Snapshot,
  options: ModeReadinessOptions,
): CheckResult {
  // The one freshness rule (`freshness()`); a mode that does not read
  // LINSTOR only needs its kinds listed.
  const fresh = freshness(snapshot, options.now, {
    maxAgeMs: options.maxLinstorAgeMs,
    kinds: [...snapshot.kube.subscribed].sort(),
  });
  if (
    !fresh.fresh &&
    (options.readsLinstor || fresh.reason === "KubeNotSynced")
  ) {
    const error = fresh.reason === "LinstorNeverRead" &&
        snapshot.linstor.lastError
      ? `: ${snapshot.linstor.lastError}`
      : "";
    return { ok: false, detail: `${fresh.detail}${error}` };
  }
  for (const source of options.sources ?? []) {
    if (!source.result.ok) {
      return { ok: false, detail: `${source.name}: ${source.result.detail}` };
    }
  }
  if (options.mode && !options.mode.ok) return options.mode;
  return { ok: true, detail: "caches synced" };
}
