/**
 * Flag parsing for every subcommand, over `node:util` `parseArgs`.
 *
 * Accepts what existing charts generate: `--flag=value`, `--flag value`,
 * `-v=2`, `--v=2`, booleans as `--x`, `--x=true` or `--x=false`, and Go
 * durations. Each flag may fall back to an environment variable, then to its
 * default.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { formatDuration, parseDuration } from "../domain/mod.ts";

/** The value kinds a flag can hold. */
export type FlagType =
  | "string"
  | "boolean"
  | "int"
  | "number"
  | "duration"
  | "list";

/** A flag's declaration. */
export interface FlagSpec {
  /** Long name in kebab-case, without dashes. */
  readonly name: string;
  readonly type: FlagType;
  /** One line for the usage text. */
  readonly description: string;
  /** One-letter short form. */
  readonly short?: string;
  /** Other long names accepted for compatibility (e.g. `v`). */
  readonly aliases?: readonly string[];
  /** Environment variable used when the flag is not given. */
  readonly env?: string;
  /** Default value; durations in ms. */
  readonly default?: string | number | boolean | readonly string[];
  /** Allowed values of a string flag. */
  readonly choices?: readonly string[];
  /** Placeholder in the usage text. */
  readonly valueName?: string;
}

/** A command-line usage error: exit code 2 with usage. */
export class UsageError extends Error {
  /** Creates a usage error with a one-line message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

type FlagValue = string | number | boolean | readonly string[] | undefined;

/** Typed access to parsed flag values. */
export class ParsedFlags {
  #values: ReadonlyMap<string, FlagValue>;
  #explicit: ReadonlySet<string>;

  /** Wraps parsed values; `explicit` names the flags given on the command line or env. */
  constructor(
    values: ReadonlyMap<string, FlagValue>,
    explicit: ReadonlySet<string>,
  ) {
    this.#values = values;
    this.#explicit = explicit;
  }

  /** `true` when the flag was given on the command line or in its env variable. */
  isSet(name: string): boolean {
    return this.#explicit.has(name);
  }

  /** A string flag's value, or `undefined` when unset without default. */
  string(name: string): string | undefined {
    return this.#get(name, "string") as string | undefined;
  }

  /** A boolean flag's value (`false` when unset without default). */
  boolean(name: string): boolean {
    return (this.#get(name, "boolean") as boolean | undefined) ?? false;
  }

  /** A numeric (`int`, `number` or `duration` in ms) flag's value. */
  number(name: string): number | undefined {
    return this.#get(name, "number") as number | undefined;
  }

  /** A list flag's value (empty when unset without default). */
  list(name: string): readonly string[] {
    return (this.#get(name, "list") as readonly string[] | undefined) ?? [];
  }

  #get(name: string, kind: string): FlagValue {
    if (!this.#values.has(name)) {
      throw new TypeError(
        `Cannot read flag "${name}" as ${kind}: not declared`,
      );
    }
    return this.#values.get(name);
  }
}

/** Options of `parseFlags()`. */
export interface ParseFlagsOptions {
  /** The declared flags. */
  flags: readonly FlagSpec[];
  /** Environment for fallbacks. */
  env: Readonly<Record<string, string>>;
}

/** The result of `parseFlags()`. */
export interface ParsedCommandLine {
  readonly flags: ParsedFlags;
  readonly positionals: readonly string[];
}

/**
 * Parses `args` against `options.flags`.
 *
 * @throws {UsageError} naming the flag on an unknown flag or a bad value.
 */
export function parseFlags(
  args: readonly string[],
  options: ParseFlagsOptions,
): ParsedCommandLine {
  const byName = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const spec of options.flags) {
    for (const name of [spec.name, ...(spec.aliases ?? [])]) {
      byName.set(name, spec);
    }
    if (spec.short) byShort.set(spec.short, spec);
  }
  const forced = new Map<string, boolean>();
  const normalized: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      normalized.push(...args.slice(i));
      break;
    }
    const short = /^-([A-Za-z])=(.*)$/s.exec(arg);
    if (short) {
      normalized.push(`-${short[1]}`, short[2]!);
      continue;
    }
    const long = /^--([^=]+)=(.*)$/s.exec(arg);
    const spec = long ? byName.get(long[1]!) : undefined;
    if (long && spec?.type === "boolean") {
      forced.set(spec.name, parseBoolean(long[2]!, `--${long[1]}`));
      continue;
    }
    normalized.push(arg);
  }
  const parseOptions: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple: boolean }
  > = {};
  for (const [name, spec] of byName) {
    parseOptions[name] = {
      type: spec.type === "boolean" ? "boolean" : "string",
      multiple: true,
      ...(spec.short && name === spec.name ? { short: spec.short } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: normalized,
      options: parseOptions,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(describeParseError(error), { cause: error });
  }
  const raw = new Map<string, (string | boolean)[]>();
  for (const [name, value] of Object.entries(parsed.values)) {
    const spec = byName.get(name)!;
    const list = raw.get(spec.name) ?? [];
    list.push(...(value as (string | boolean)[]));
    raw.set(spec.name, list);
  }
  const values = new Map<string, FlagValue>();
  const explicit = new Set<string>();
  for (const spec of options.flags) {
    const given = raw.get(spec.name);
    let value: FlagValue;
    if (forced.has(spec.name)) {
      value = forced.get(spec.name);
      explicit.add(spec.name);
    } else if (given && given.length > 0) {
      value = convert(spec, given, `--${spec.name}`);
      explicit.add(spec.name);
    } else if (spec.env && (options.env[spec.env] ?? "") !== "") {
      value = convert(spec, [options.env[spec.env]!], `env ${spec.env}`);
      explicit.add(spec.name);
    } else {
      value = spec.default;
    }
    values.set(spec.name, value);
  }
  return {
    flags: new ParsedFlags(values, explicit),
    positionals: parsed.positionals,
  };
}

function convert(
  spec: FlagSpec,
  given: readonly (string | boolean)[],
  source: string,
): FlagValue {
  const fail = (text: string, why: string): never => {
    throw new UsageError(
      `Cannot parse flag "--${spec.name}" from ${source} "${text}": ${why}`,
    );
  };
  if (spec.type === "list") {
    return given.flatMap((v) =>
      String(v).split(",").map((s) => s.trim()).filter((s) => s !== "")
    );
  }
  const last = given[given.length - 1]!;
  if (typeof last === "boolean") return last;
  switch (spec.type) {
    case "boolean":
      return parseBoolean(last, source);
    case "int": {
      if (!/^[+-]?\d+$/.test(last.trim())) fail(last, "expected an integer");
      return Number(last);
    }
    case "number": {
      const n = Number(last);
      if (last.trim() === "" || !Number.isFinite(n)) {
        fail(last, "expected a number");
      }
      return n;
    }
    case "duration": {
      try {
        return parseDuration(last);
      } catch (error) {
        return fail(
          last,
          error instanceof RangeError
            ? (error.message.split(": ").at(-1) ?? error.message)
            : 'expected a Go duration such as "15s" or "1m30s"',
        );
      }
    }
    default: {
      if (spec.choices && !spec.choices.includes(last)) {
        fail(
          last,
          `expected one of ${spec.choices.map((c) => `"${c}"`).join(", ")}`,
        );
      }
      return last;
    }
  }
}

function parseBoolean(text: string, source: string): boolean {
  const value = text.trim().toLowerCase();
  if (["true", "1", "t", "yes"].includes(value)) return true;
  if (["false", "0", "f", "no"].includes(value)) return false;
  throw new UsageError(
    `Cannot parse boolean ${source} "${text}": expected "true" or "false"`,
  );
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `Cannot parse flags: unknown flag "${unknown[1]}"`;
  const missing = /Option '(--?[^' ]+)[^']*' argument missing/.exec(message);
  if (missing) return `Cannot parse flags: flag "${missing[1]}" needs a value`;
  return `Cannot parse flags: ${message.split("\n")[0]}`;
}

/** Formats one flag's line for usage text. */
export function formatFlag(spec: FlagSpec): string {
  const names = [
    ...(spec.short ? [`-${spec.short}`] : []),
    `--${spec.name}`,
  ].join(", ");
  const value = spec.type === "boolean"
    ? ""
    : ` ${spec.valueName ?? valueNameOf(spec.type)}`;
  const notes: string[] = [];
  if (spec.env) notes.push(`env ${spec.env}`);
  const def = defaultText(spec);
  if (def !== undefined) notes.push(`default ${def}`);
  if (spec.choices) notes.push(`one of ${spec.choices.join("|")}`);
  const head = `  ${names}${value}`;
  return `${head.padEnd(36)} ${spec.description}${
    notes.length ? ` (${notes.join("; ")})` : ""
  }`;
}

function valueNameOf(type: FlagType): string {
  switch (type) {
    case "duration":
      return "DURATION";
    case "int":
    case "number":
      return "N";
    case "list":
      return "A,B";
    default:
      return "VALUE";
  }
}

function defaultText(spec: FlagSpec): string | undefined {
  const d = spec.default;
  if (d === undefined || d === "") return undefined;
  if (spec.type === "duration" && typeof d === "number") {
    return formatDuration(d);
  }
  if (Array.isArray(d)) return d.length ? d.join(",") : undefined;
  return String(d);
}
