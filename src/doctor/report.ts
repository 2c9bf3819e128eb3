/**
 * The doctor's output: a table with the fix under each warning and failure,
 * or one JSON document.
 *
 * @module
 */
import { type Check, summarize } from "./check.ts";

const STATUS_TEXT: Readonly<Record<Check["status"], string>> = {
  ok: "ok",
  warn: "WARN",
  fail: "FAIL",
};

/**
 * The checks as a table (`STATUS  CHECK  DETAIL`); every warning and failure
 * is followed by one `fix:` line, and a summary line ends it.
 */
export function formatCheckTable(checks: readonly Check[]): string {
  const nameWidth = Math.max(5, ...checks.map((c) => c.name.length));
  const lines = [`STATUS  ${"CHECK".padEnd(nameWidth)}  DETAIL`];
  for (const check of checks) {
    lines.push(
      `${STATUS_TEXT[check.status].padEnd(6)}  ${
        check.name.padEnd(nameWidth)
      }  ${oneLine(check.detail)}`,
    );
    if (check.status !== "ok" && check.fix) {
      lines.push(`${"".padEnd(8 + nameWidth + 2)}fix: ${oneLine(check.fix)}`);
    }
  }
  const summary = summarize(checks);
  lines.push(
    "",
    `${summary.ok} ok, ${summary.warn} warning(s), ${summary.fail} failure(s)`,
    "",
  );
  return lines.join("\n");
}

/** The checks and their summary as one JSON document (`--output json`). */
export function formatCheckJson(checks: readonly Check[]): string {
  return `${
    JSON.stringify(
      {
        checks: checks.map((c) => ({
          name: c.name,
          status: c.status,
          detail: c.detail,
          ...(c.fix ? { fix: c.fix } : {}),
        })),
        summary: summarize(checks),
      },
      null,
      2,
    )
  }\n`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
