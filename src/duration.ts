/**
 * Go duration syntax (`15s`, `1m30s`, `1.5h`, `300ms`), as Kubernetes charts
 * write flag values. Used by the CLI flags. (The extender config and the
 * simulator's scenarios still parse their stricter subsets themselves.)
 *
 * @module
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration into milliseconds.
 *
 * Like Go's `time.ParseDuration`: a sequence of decimal numbers with units,
 * an optional sign, and `0` without a unit.
 *
 * @throws {SyntaxError} when `text` is not a Go duration.
 */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === "0" || input === "+0" || input === "-0") return 0;
  const match = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/u
    .exec(input);
  if (!match) {
    throw new SyntaxError(
      `Cannot parse duration "${text}": expected a Go duration such as "15s", "1m30s" or "500ms"`,
    );
  }
  let total = 0;
  for (
    const part of input.matchAll(
      /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gu,
    )
  ) {
    total += Number(part[1]) * UNIT_MS[part[2]!]!;
  }
  return match[1] === "-" ? -total : total;
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
