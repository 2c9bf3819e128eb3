/**
 * Logging setup: the only caller of LogTape's `configure()`, used by the CLI,
 * and the two line formats.
 *
 * Text lines read as plain sentences with key=value context:
 * `2026-01-01T00:00:00.000Z WARN linstor-suite.kube.informer: Watch of nodes
 * failed; retrying in 1000 ms: Cannot list nodes: … kind=nodes`. Template
 * values are written as they are (no quotes); properties the message does
 * not name follow as `key=value`. An error is written as its message chain
 * down to the root cause; its stack trace only at debug level and below.
 *
 * JSON lines keep LogTape's keys (`@timestamp`, `level`, `message`,
 * `logger`, `properties`) and add, when a property is an error, `error` (its
 * message chain) and `root_cause` (the innermost cause's message) at the top
 * level.
 *
 * @module
 */
import {
  configure,
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

/** Options of the line formatters. */
export interface FormatOptions {
  /** Write errors' stack traces (at debug level and below). */
  stacks: boolean;
}

/**
 * Maps klog's `-v` verbosity to a log level: 0–3 info (steady state), 4
 * debug, 5 and more trace (with request bodies).
 */
export function verbosityToLevel(verbosity: number): LogLevel {
  if (verbosity >= 5) return "trace";
  if (verbosity >= 4) return "debug";
  return "info";
}

/** Configures LogTape for the whole process; call once from the CLI. */
export async function configureLogging(options: LoggingOptions): Promise<void> {
  const format = {
    stacks: options.level === "debug" || options.level === "trace",
  };
  const formatter = options.format === "json"
    ? (record: LogRecord) => formatJsonLine(record, format)
    : (record: LogRecord) => formatTextLine(record, format);
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

const LEVEL_NAMES: Record<LogLevel, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARN",
  error: "ERROR",
  fatal: "FATAL",
};

/** One text line (newline included; stack traces on the following lines). */
export function formatTextLine(
  record: LogRecord,
  options: FormatOptions,
): string {
  const used = placeholders(record.rawMessage);
  const context = Object.entries(record.properties)
    .filter(([key]) => !used.has(key))
    .map(([key, value]) => `${key}=${contextValue(value)}`);
  const line = [
    new Date(record.timestamp).toISOString(),
    LEVEL_NAMES[record.level],
    `${record.category.join(".")}:`,
    renderMessage(record),
    ...context,
  ].join(" ");
  const stacks = options.stacks
    ? errorsIn(record.properties).map((error) => stackOf(error))
      .filter((stack) => stack !== "")
    : [];
  return [line, ...stacks.map(indent)].join("\n") + "\n";
}

/** One JSON line (newline included). */
export function formatJsonLine(
  record: LogRecord,
  options: FormatOptions,
): string {
  const line: Record<string, unknown> = {
    "@timestamp": new Date(record.timestamp).toISOString(),
    level: LEVEL_NAMES[record.level],
    message: renderMessage(record),
    logger: record.category.join("."),
  };
  const [error] = errorsIn(record.properties);
  if (error !== undefined) {
    line.error = errorChain(error);
    line.root_cause = rootCause(error).message;
  }
  line.properties = jsonValue(record.properties, options);
  return stringify(line) + "\n";
}

/** The message with its values written plainly. */
function renderMessage(record: LogRecord): string {
  return record.message
    .map((part, i) => i % 2 === 0 ? String(part) : plain(part))
    .join("");
}

/** Top-level property names a message template refers to. */
function placeholders(raw: string | TemplateStringsArray): Set<string> {
  if (typeof raw !== "string") return new Set();
  const names = new Set<string>();
  for (const match of raw.replaceAll("{{", "").matchAll(/\{([^{}]+)\}/g)) {
    const name = (match[1] ?? "").trim().split(/[.[]/)[0] ?? "";
    names.add(name);
  }
  return names;
}

/** A value inside a sentence: strings as they are, errors as their chain. */
function plain(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return errorChain(value);
  if (Array.isArray(value)) return value.map(plain).join(",");
  if (value !== null && typeof value === "object") return stringify(value);
  return String(value);
}

/** A key=value value: quoted only when it has spaces, quotes or `=`. */
function contextValue(value: unknown): string {
  const text = plain(value);
  return text === "" || /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

/** An error's message followed by each cause's that it does not already contain. */
export function errorChain(error: Error): string {
  let text = error.message || error.name;
  for (const cause of causes(error).slice(1)) {
    const message = cause.message || cause.name;
    if (!text.includes(message)) text += `: ${message}`;
  }
  return text;
}

/** The innermost `Error` cause (the error itself without one). */
export function rootCause(error: Error): Error {
  return causes(error).at(-1) ?? error;
}

function causes(error: Error): Error[] {
  const chain: Error[] = [];
  let current: unknown = error;
  while (current instanceof Error && !chain.includes(current)) {
    chain.push(current);
    current = current.cause;
  }
  return chain;
}

function errorsIn(properties: Record<string, unknown>): Error[] {
  return Object.values(properties).filter((v): v is Error =>
    v instanceof Error
  );
}

function stackOf(error: Error): string {
  return causes(error)
    .map((e, i) => (i === 0 ? "" : "Caused by: ") + (e.stack ?? ""))
    .filter((text) => text.trim() !== "" && text !== "Caused by: ")
    .join("\n");
}

function indent(text: string): string {
  return text.split("\n").map((line) => `    ${line}`).join("\n");
}

/** JSON form of property values: errors as name, message, cause and (at debug) stack. */
function jsonValue(
  value: unknown,
  options: FormatOptions,
  seen: WeakSet<object> = new WeakSet(),
): unknown {
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[circular]";
  seen.add(value);
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...(value.cause instanceof Error
        ? { cause: jsonValue(value.cause, options, seen) }
        : {}),
      ...(options.stacks && value.stack ? { stack: value.stack } : {}),
    };
  }
  if (Array.isArray(value)) {
    return value.map((v) => jsonValue(v, options, seen));
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, jsonValue(v, options, seen)]),
  );
}

function stringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === "bigint") return item.toString();
    if (item instanceof Error) return errorChain(item);
    if (item instanceof Map) return Object.fromEntries(item);
    if (item instanceof Set) return [...item];
    if (item !== null && typeof item === "object") {
      if (seen.has(item)) return "[circular]";
      seen.add(item);
    }
    return item;
  });
}
