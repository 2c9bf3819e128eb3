/**
 * The DRBD stream source: keeps `drbdsetup events2 --timestamps --full`
 * running through the command edge and feeds its lines into a
 * {@linkcode DrbdState}; reads the quorum policies with
 * `drbdsetup show --json`.
 *
 * `drbdsetup` failing is never fatal (piraeus-ha-controller crash-loops
 * there): the state turns blind, the agent reports unready, and the stream
 * is restarted with a doubling backoff, reset once a restarted stream
 * completes its initial dump.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import {
  FENCING_DRBDSETUP_RCVBUF_BYTES,
  FENCING_RESTART_BACKOFF_INITIAL_MS,
  FENCING_RESTART_BACKOFF_MAX_MS,
  LOG_CATEGORY,
} from "../../constants.ts";
import type { Clock, CommandRunner } from "../../system/mod.ts";
import type { DrbdState } from "./drbd_state.ts";
import { parseDrbdShowJson, parseEvents2Line } from "./events2.ts";

/** What the source needs. */
export interface DrbdSourceDeps {
  readonly runner: CommandRunner;
  readonly clock: Clock;
  /** Receives every line. */
  readonly state: DrbdState;
  /** Called after lines changed the state (the caller debounces). */
  readonly onChange?: () => void;
  /** Called on each start of `drbdsetup events2` (metrics). */
  readonly onStart?: () => void;
  /** Called for every line by kind, after it was applied (metrics). */
  readonly onLine?: (kind: string) => void;
  /** @default {getLogger(["linstor-suite", "fencing", "drbd"])} */
  readonly logger?: Logger;
}

/** Options of {@linkcode runDrbdSource}. */
export interface DrbdSourceOptions {
  /** Stops the stream (the promise then resolves). */
  readonly signal: AbortSignal;
  /** The `drbdsetup` program. @default {"drbdsetup"} */
  readonly program?: string;
  /** First restart delay (ms). @default {1000} */
  readonly backoffInitialMs?: number;
  /** Largest restart delay (ms). @default {30000} */
  readonly backoffMaxMs?: number;
  /** Timeout of `drbdsetup show --json` (ms). @default {30000} */
  readonly showTimeoutMs?: number;
}

/** The arguments of the events2 stream. */
export const EVENTS2_ARGS: readonly string[] = Object.freeze([
  "events2",
  "--timestamps",
  "--full",
]);

/** Refreshes the quorum policies from `drbdsetup show --json`; `false` when that failed. */
export async function refreshQuorumPolicies(
  deps: DrbdSourceDeps,
  options: DrbdSourceOptions,
): Promise<boolean> {
  const logger = deps.logger ?? getLogger([LOG_CATEGORY, "fencing", "drbd"]);
  try {
    const output = await deps.runner.run({
      program: options.program ?? "drbdsetup",
      args: ["show", "--json"],
      timeoutMs: options.showTimeoutMs ?? 30_000,
      signal: options.signal,
    });
    deps.state.setQuorumPolicies(parseDrbdShowJson(output.stdout));
    deps.onChange?.();
    return true;
  } catch (error) {
    if (options.signal.aborted) return false;
    logger.warn(
      "Cannot read the DRBD quorum policies: {error} (resources without a known policy are never fenced)",
      { error: error instanceof Error ? error.message : String(error) },
    );
    return false;
  }
}

/**
 * Runs `drbdsetup events2` until `options.signal` aborts, restarting it
 * with backoff whenever it ends. Never rejects.
 */
export async function runDrbdSource(
  deps: DrbdSourceDeps,
  options: DrbdSourceOptions,
): Promise<void> {
  const logger = deps.logger ?? getLogger([LOG_CATEGORY, "fencing", "drbd"]);
  const program = options.program ?? "drbdsetup";
  const initialMs = options.backoffInitialMs ??
    FENCING_RESTART_BACKOFF_INITIAL_MS;
  const maxMs = options.backoffMaxMs ?? FENCING_RESTART_BACKOFF_MAX_MS;
  const signal = options.signal;
  let delay = initialMs;
  let refresh: Promise<unknown> = Promise.resolve();
  let refreshing = false;
  let refreshAgain = false;
  const requestRefresh = () => {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    refresh = (async () => {
      do {
        refreshAgain = false;
        await refreshQuorumPolicies(deps, options);
      } while (refreshAgain && !signal.aborted);
      refreshing = false;
    })();
  };
  while (!signal.aborted) {
    await refreshQuorumPolicies(deps, options);
    if (signal.aborted) break;
    deps.state.beginResync();
    deps.onChange?.();
    deps.onStart?.();
    const stream = deps.runner.stream({
      program,
      args: EVENTS2_ARGS,
      env: { DRBD_GENL_RCVBUF_SZ: String(FENCING_DRBDSETUP_RCVBUF_BYTES) },
      signal,
    });
    let synced = false;
    try {
      for await (const text of stream.lines) {
        const line = parseEvents2Line(text);
        if (line.kind === "garbage") {
          logger.debug("Skipped an events2 line ({reason}): {line}", {
            reason: line.reason,
            line: text.slice(0, 200),
          });
        }
        const changed = deps.state.apply(line, deps.clock.now());
        deps.onLine?.(line.kind);
        if (line.kind === "dump-complete") synced = true;
        if (
          (line.kind === "dump-complete" ||
            (line.kind === "event" && line.object === "resource" &&
              (line.verb === "create" || line.verb === "rename"))) &&
          deps.state.resourcesWithoutPolicy().length > 0
        ) {
          requestRefresh();
        }
        if (changed) deps.onChange?.();
      }
    } catch (error) {
      logger.warn("Cannot read drbdsetup events2: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    stream.kill();
    const status = await stream.status;
    deps.state.markBlind();
    deps.onChange?.();
    if (signal.aborted) break;
    if (synced) delay = initialMs;
    logger.warn(
      "drbdsetup events2 ended (exit code {code}{stderr}); restarting in {delay} ms, blind until then",
      {
        code: status.code,
        stderr: status.stderr.trim() === ""
          ? ""
          : `: ${status.stderr.trim().split("\n").slice(-1)[0]}`,
        delay,
      },
    );
    try {
      await deps.clock.sleep(delay, signal);
    } catch {
      break;
    }
    delay = Math.min(maxMs, delay * 2);
  }
  await refresh;
}
