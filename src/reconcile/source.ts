/**
 * Ready-made `ModeSource`s: a value read once at start-up, retried with
 * backoff until it succeeds (never a reason to exit), and a constant.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import {
  STARTUP_BACKOFF_INITIAL_MS,
  STARTUP_BACKOFF_MAX_MS,
} from "../constants.ts";
import type { CheckResult } from "../observability/mod.ts";
import type { Clock } from "../system/clock.ts";
import type { ModeSource } from "./mode.ts";
import { errorMessage } from "./operation.ts";

/** Options of `createOnceSource()`. */
export interface OnceSourceOptions<T> {
  /** Reads the value; a rejection is retried after a backoff. */
  read(signal: AbortSignal): Promise<T>;
  /** Backoff timer. */
  clock: Clock;
  /** First retry delay (ms), doubling. @default {STARTUP_BACKOFF_INITIAL_MS} */
  initialDelayMs?: number;
  /** Longest retry delay (ms). @default {STARTUP_BACKOFF_MAX_MS} */
  maxDelayMs?: number;
  /** Where failed attempts are logged. */
  logger?: Logger;
}

/**
 * A source that reads its value once and keeps it; until the first success
 * `current()` is `undefined`, `ready()` says why, and attempts repeat with
 * an exponential backoff. The fix for modes that exited when the apiserver
 * was not ready yet at start-up.
 */
export function createOnceSource<T>(
  name: string,
  options: OnceSourceOptions<T>,
): ModeSource<T | undefined> {
  const initial = options.initialDelayMs ?? STARTUP_BACKOFF_INITIAL_MS;
  const max = options.maxDelayMs ?? STARTUP_BACKOFF_MAX_MS;
  if (!(initial > 0) || !(max >= initial)) {
    throw new RangeError(
      `Cannot create source "${name}" with backoff "${initial}".."${max}" ms: need 0 < initial <= max`,
    );
  }
  let value: T | undefined;
  let known = false;
  let lastError = "";
  let attempts = 0;
  return {
    name,
    current: () => value,
    async run(signal, wake) {
      let delay = initial;
      while (!known && !signal.aborted) {
        attempts++;
        try {
          value = await options.read(signal);
          known = true;
          wake();
          if (attempts > 1) {
            options.logger?.info("Read {source} after {attempts} attempts", {
              source: name,
              attempts,
            });
          }
          return;
        } catch (error) {
          if (signal.aborted) return;
          lastError = errorMessage(error);
          options.logger?.[attempts === 1 ? "warn" : "debug"](
            "Cannot read {source} yet, retrying in {delayMs} ms: {error}",
            { source: name, delayMs: delay, error: lastError },
          );
        }
        try {
          await options.clock.sleep(delay, signal);
        } catch {
          return;
        }
        delay = Math.min(delay * 2, max);
      }
    },
    ready(): CheckResult {
      if (known) return { ok: true, detail: "read" };
      return {
        ok: false,
        detail: attempts === 0
          ? "not read yet"
          : `not read yet after ${attempts} attempts: ${lastError}`,
      };
    },
  };
}

/** A source whose value is known from the start (a flag). */
export function constantSource<T>(name: string, value: T): ModeSource<T> {
  return {
    name,
    current: () => value,
    run: () => Promise.resolve(),
  };
}
