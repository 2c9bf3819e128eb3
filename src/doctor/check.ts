/**
 * The doctor's check model: one named verdict with its detail and, when it is
 * not ok, the one-line fix; the summary and the exit code over a list of them.
 *
 * @module
 */

/** How a check came out. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One verdict of `linstor-suite doctor`. */
export interface Check {
  /** What was checked, e.g. `LINSTOR http://ctl:3370 auth`. */
  readonly name: string;
  readonly status: CheckStatus;
  /** What was found (one line). */
  readonly detail: string;
  /** What to do about it (one line); set for every warning and failure. */
  readonly fix?: string;
}

/** Counts of a list of checks by status. */
export interface CheckSummary {
  readonly ok: number;
  readonly warn: number;
  readonly fail: number;
}

/** An ok check. */
export function ok(name: string, detail: string): Check {
  return { name, status: "ok", detail };
}

/** A warning: works, but not as it should. */
export function warn(name: string, detail: string, fix: string): Check {
  return { name, status: "warn", detail, fix };
}

/** A failure: something the suite needs is wrong. */
export function fail(name: string, detail: string, fix: string): Check {
  return { name, status: "fail", detail, fix };
}

/** Counts `checks` by status. */
export function summarize(checks: readonly Check[]): CheckSummary {
  let okCount = 0;
  let warnCount = 0;
  let failCount = 0;
  for (const check of checks) {
    if (check.status === "ok") okCount++;
    else if (check.status === "warn") warnCount++;
    else failCount++;
  }
  return { ok: okCount, warn: warnCount, fail: failCount };
}

/** The doctor's exit code: 1 when any check failed, else 0 (warnings pass). */
export function exitCodeOf(checks: readonly Check[]): number {
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}
