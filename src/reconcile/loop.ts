/**
 * The level-triggered loop every controller mode runs.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../system/clock.ts";
import { errorMessage } from "./operation.ts";

/**
 * A coalescing wake-up trigger. `wake()` only asks for one more pass; any
 * number of wakes before the loop looks collapse into one.
 */
export class Wakeups {
  #pending = false;
  #waiters: (() => void)[] = [];

  /** Asks the loop for another pass soon. */
  wake(): void {
    this.#pending = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves at the next wake (at once if one is pending) and clears it. */
  next(signal: AbortSignal): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const waiter = () => {
        signal.removeEventListener("abort", onAbort);
        this.#pending = false;
        resolve();
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }
}

/** The outcome of one pass. */
export interface PassResult {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly ok: boolean;
  readonly error?: unknown;
}

/** Options of `runLoop()`. */
export interface LoopOptions {
  /** Loop name for logs and metrics. */
  name: string;
  /** Time source; all waiting goes through it. */
  clock: Clock;
  /** Stops the loop; `runLoop()` resolves after the running pass ends. */
  signal: AbortSignal;
  /** Periodic resync: a pass runs at least this often (ms). */
  intervalMs: number;
  /** A pass is aborted after this long (ms). */
  passTimeoutMs: number;
  /** Extra wake-ups, e.g. from the state model. */
  wakeups?: Wakeups;
  /**
   * After a wake-up, wait this long (ms) so bursts collapse into one pass.
   * @default {0}
   */
  debounceMs?: number;
  /** Where failed passes are logged. */
  logger?: Logger;
  /** Called after every pass (metrics, liveness). */
  onPass?: (result: PassResult) => void;
}

/**
 * Runs `tick` on start, on every debounced wake-up and at least every
 * `intervalMs`, until `signal` aborts.
 *
 * Level-triggered: nothing is passed to `tick` about why it runs; each pass
 * recomputes from current state. A pass that throws or times out is logged
 * and reported, and the next pass retries.
 */
export async function runLoop(
  tick: (signal: AbortSignal) => Promise<void>,
  options: LoopOptions,
): Promise<void> {
  for (const key of ["intervalMs", "passTimeoutMs"] as const) {
    if (!(options[key] > 0)) {
      throw new RangeError(
        `Cannot run loop "${options.name}" with ${key} "${
          options[key]
        }": must be positive`,
      );
    }
  }
  const { signal } = options;
  while (!signal.aborted) {
    await runPass(tick, options);
    if (signal.aborted) break;
    await waitForNextPass(options);
  }
}

async function runPass(
  tick: (signal: AbortSignal) => Promise<void>,
  options: LoopOptions,
): Promise<void> {
  const { clock, signal } = options;
  const startedAt = clock.now();
  const pass = new AbortController();
  const timer = new AbortController();
  const onAbort = () => pass.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  clock.sleep(options.passTimeoutMs, timer.signal).then(
    () =>
      pass.abort(
        new Error(
          `Cannot finish pass of "${options.name}": timed out after ${options.passTimeoutMs} ms`,
        ),
      ),
    () => {},
  );
  let result: PassResult;
  try {
    await Promise.race([
      tick(pass.signal),
      new Promise<never>((_, reject) => {
        if (pass.signal.aborted) reject(pass.signal.reason);
        pass.signal.addEventListener(
          "abort",
          () => reject(pass.signal.reason),
          {
            once: true,
          },
        );
      }),
    ]);
    result = { startedAt, endedAt: clock.now(), ok: true };
  } catch (error) {
    result = { startedAt, endedAt: clock.now(), ok: false, error };
    if (!signal.aborted) {
      options.logger?.error("Pass of {loop} failed: {error}", {
        loop: options.name,
        error: errorMessage(error),
      });
    }
  } finally {
    timer.abort();
    signal.removeEventListener("abort", onAbort);
    if (!pass.signal.aborted) pass.abort();
  }
  options.onPass?.(result);
}

async function waitForNextPass(options: LoopOptions): Promise<void> {
  const { clock, signal } = options;
  const wait = new AbortController();
  const onAbort = () => wait.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  let woken = false;
  try {
    const waits = [clock.sleep(options.intervalMs, wait.signal)];
    if (options.wakeups) {
      waits.push(
        options.wakeups.next(wait.signal).then(() => {
          woken = true;
        }),
      );
    }
    await Promise.race(waits);
    if (woken && (options.debounceMs ?? 0) > 0) {
      await clock.sleep(options.debounceMs!, signal);
    }
  } catch {
    // Aborted: the loop ends.
  } finally {
    wait.abort();
    signal.removeEventListener("abort", onAbort);
  }
}
