/**
 * Logging setup: the only caller of LogTape's `configure()`, used by the CLI.
 *
 * @module
 */
import {
  configure,
  getJsonLinesFormatter,
  getTextFormatter,
  type LogLevel,
  type LogRecord,
  reset,
} from "@logtape/logtape";
import { LOG_CATEGORY } from "../constants.ts";

/** Log output formats. */
export type LogFormat = "text" | "json";

/** Options of `configureLogging()`. */
export interface LoggingOptions {
  /** Lowest level written. */
  level: LogLevel;
  /** Text lines or JSON lines. */
  format: LogFormat;
  /** Receives each formatted line, newline included. */
  write: (line: string) => void;
}

/** Maps klog-style `-v` verbosity to a log level (0 info, 1–4 debug, 5+ trace). */
export function verbosityToLevel(verbosity: number): LogLevel {
  if (verbosity >= 5) return "trace";
  if (verbosity >= 1) return "debug";
  return "info";
}

/** Configures LogTape for the whole process; call once from the CLI. */
export async function configureLogging(options: LoggingOptions): Promise<void> {
  const formatter = options.format === "json"
    ? getJsonLinesFormatter({ categorySeparator: ".", message: "rendered" })
    : getTextFormatter({ timestamp: "date-time-timezone", category: "." });
  await configure({
    reset: true,
    sinks: {
      out: (record: LogRecord) => options.write(formatter(record)),
    },
    loggers: [
      { category: [LOG_CATEGORY], lowestLevel: options.level, sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}

/** Removes the logging configuration (tests, shutdown). */
export async function resetLogging(): Promise<void> {
  await reset();
}
