/**
 * Named, idempotent operations and their bounded, leader-gated execution.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";

/** One idempotent action a planner asks for. */
export interface Operation {
  /** PascalCase kind, used in logs and metric labels (`ReplacePvAffinity`). */
  readonly name: string;
  /** The target, unique within one plan (`pv/pvc-123`). */
  readonly key: string;
  /** One line saying what the operation does, for logs and dry-run output. */
  readonly summary: string;
  /**
   * Whether only the leader may execute it. `false` for work a replica does
   * for itself (an agent registering its own node's pools) or that needs no
   * leader (fencing, guarded by its own storm limit).
   * @default {true}
   */
  readonly leaderOnly?: boolean;
  /** Performs the action; must be safe to repeat after a partial run. */
  execute(signal: AbortSignal): Promise<void>;
}

/** Why an operation was not executed. */
export type SkipReason = "dry-run" | "not-leader" | "aborted";

/** What `executeOperations()` did. */
export interface ExecuteReport {
  /** Operations that finished without error. */
  readonly executed: readonly Operation[];
  /** Operations that threw, with their error. */
  readonly failed: readonly { operation: Operation; error: unknown }[];
  /** Operations that were not started, with the reason. */
  readonly skipped: readonly { operation: Operation; reason: SkipReason }[];
}

/** Counters `executeOperations()` reports to (the metrics registry or a test double). */
export interface OperationMetrics {
  /** Called once per operation with its outcome and duration in seconds. */
  observe(
    name: string,
    outcome: "success" | "error" | SkipReason,
    seconds: number,
  ): void;
}

/** Options of `executeOperations()`. */
export interface ExecuteOptions {
  /** Stops starting new operations and aborts running ones. */
  signal: AbortSignal;
  /**
   * Operations running at once.
   * @default {4}
   */
  concurrency?: number;
  /**
   * Log what would be done and execute nothing.
   * @default {false}
   */
  dryRun?: boolean;
  /**
   * Asked before each operation; a `false` skips it (only the leader acts).
   * @default {() => true}
   */
  isLeader?: () => boolean;
  /**
   * The signal of the current leadership term: leader-only operations run
   * with it and are aborted the moment leadership is lost (client-go's
   * OnStoppedLeading).
   */
  leaderSignal?: () => AbortSignal;
  /** Per-operation timeout in ms; none when unset. */
  timeoutMs?: number;
  /** Where outcomes are logged. */
  logger?: Logger;
  /** Where outcomes are counted. */
  metrics?: OperationMetrics;
  /** Monotonic time source in ms for durations. @default {performance.now} */
  elapsed?: () => number;
}

/**
 * Executes `operations` with bounded concurrency, in the given order of start.
 *
 * One failing operation is logged and counted, never fatal: the report lists
 * it and the others still run. Dry-run skips every operation; non-leaders
 * skip every leader-only one (they still plan and log, like
 * linstor-affinity-controller).
 */
export async function executeOperations(
  operations: readonly Operation[],
  options: ExecuteOptions,
): Promise<ExecuteReport> {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `Cannot execute operations with concurrency "${concurrency}": must be a positive integer`,
    );
  }
  const elapsed = options.elapsed ?? (() => performance.now());
  const executed: Operation[] = [];
  const failed: { operation: Operation; error: unknown }[] = [];
  const skipped: { operation: Operation; reason: SkipReason }[] = [];
  const skip = (operation: Operation, reason: SkipReason) => {
    skipped.push({ operation, reason });
    options.metrics?.observe(operation.name, reason, 0);
    options.logger?.info(
      "{reason}: {name} {key}: {summary}",
      {
        reason,
        name: operation.name,
        key: operation.key,
        summary: operation.summary,
      },
    );
  };
  let next = 0;
  const worker = async () => {
    while (next < operations.length) {
      const operation = operations[next++]!;
      if (options.signal.aborted) {
        skip(operation, "aborted");
        continue;
      }
      if (options.dryRun) {
        skip(operation, "dry-run");
        continue;
      }
      const leaderOnly = operation.leaderOnly !== false;
      if (leaderOnly && options.isLeader && !options.isLeader()) {
        skip(operation, "not-leader");
        continue;
      }
      const signals = [options.signal];
      if (leaderOnly && options.leaderSignal) {
        signals.push(options.leaderSignal());
      }
      if (options.timeoutMs !== undefined) {
        signals.push(AbortSignal.timeout(options.timeoutMs));
      }
      const started = elapsed();
      const observe = (outcome: "success" | "error") =>
        options.metrics?.observe(
          operation.name,
          outcome,
          (elapsed() - started) / 1000,
        );
      const { name, key, summary } = operation;
      try {
        await operation.execute(AbortSignal.any(signals));
        executed.push(operation);
        observe("success");
        options.logger?.info("Executed {name} {key}: {summary}", {
          name,
          key,
          summary,
        });
      } catch (error) {
        failed.push({ operation, error });
        observe("error");
        options.logger?.error("Cannot execute {name} {key}: {error}", {
          name,
          key,
          error: errorMessage(error),
        });
      }
    }
  };
  const workers = Array.from(
    { length: Math.min(concurrency, operations.length) },
    () => worker(),
  );
  await Promise.all(workers);
  return { executed, failed, skipped };
}

/** The message of an error-like value, with its causes. */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let message = error.message;
  let cause = error.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    const text = cause instanceof Error ? cause.message : String(cause);
    if (!message.includes(text)) message += `: ${text}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return message;
}
