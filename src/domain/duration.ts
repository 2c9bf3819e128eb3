/**
 * Durations, one syntax everywhere (flags, environment variables, the
 * extender config file, simulator scenarios and its HTTP controls): Go's
 * `time.ParseDuration`, the syntax Kubernetes charts write.
 *
 * - A duration is an optional sign and one or more decimal numbers, each
 *   with a unit: `15s`, `1m30s`, `1.5h`, `.5s`, `300ms`, `2h45m10.5s`.
 * - Units: `ns`, `us` (also `µs` and `μs`), `ms`, `s`, `m`, `h`. There is no
 *   `d`: write `24h`.
 * - A number needs a unit; the only exception is `0` (also `+0`, `-0`).
 * - Nothing else: no spaces (not even around the text), no `1e3s`, no `_`.
 * - Durations are never negative here: `-5s` is read, then refused.
 * - In YAML or JSON files a duration is a string; the number `0` is also
 *   accepted, any other bare number is refused (it has no unit).
 *
 * @module
 */

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
});

const DURATION =
  /^[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+$/u;
const PART = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/gu;

/**
 * Parses a Go duration (see the module documentation) into milliseconds
 * (fractional below 1 ms).
 *
 * @throws {SyntaxError} when `text` is not a Go duration.
 * @throws {RangeError} when it is negative or too large.
 */
export function parseDuration(text: string): number {
  if (/^[+-]?0$/.test(text)) return 0;
  if (!DURATION.test(text)) {
    throw new SyntaxError(
      `Cannot parse duration "${text}": expected a Go duration such as "15s", "1m30s" or "500ms"`,
    );
  }
  let total = 0;
  for (const part of text.matchAll(PART)) {
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
  }
  if (text.startsWith("-") && total !== 0) {
    throw new RangeError(
      `Cannot parse duration "${text}": must not be negative`,
    );
  }
  if (!(total <= Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`Cannot parse duration "${text}": too large`);
  }
  return total;
}

/**
 * Reads a duration from a YAML or JSON value: a string as `parseDuration()`,
 * or the number `0`.
 *
 * @throws {TypeError} for any other value (a bare number has no unit).
 * @throws {SyntaxError} or {RangeError} as `parseDuration()`.
 */
export function readDuration(value: unknown): number {
  if (value === 0) return 0;
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot read duration "${
        String(value)
      }": expected a string such as "5s" or "1m30s"`,
    );
  }
  return parseDuration(value);
}

/** Formats milliseconds as a Go duration (`1m30s`, `500ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  return sign + (hours ? `${hours}h` : "") +
    (hours || minutes ? `${minutes}m` : "") +
    `${seconds}s`;
}
