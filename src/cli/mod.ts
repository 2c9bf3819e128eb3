/**
 * The CLI layer: subcommand dispatch, usage, flags, env and signals. The
 * only layer that reads the environment.
 *
 * @module
 */
import {
  BARE_FLAGS_MODES,
  DROP_IN_DEFAULT_ARGS,
  DROP_IN_PROGRAMS,
  PROGRAM_NAME,
  VERSION,
} from "../constants.ts";
import { errorMessage } from "../reconcile/mod.ts";
import type { Command, CommandContext, Write } from "./command.ts";
import { type FlagSpec, formatFlag, parseFlags, UsageError } from "./flags.ts";
import { commandTable } from "./_commands.ts";

export type { Command, CommandContext, Write } from "./command.ts";
export { parseDuration } from "../domain/mod.ts";
export { parseFlags, UsageError } from "./flags.ts";

/** Options of `runCli()`. */
export interface RunCliOptions {
  /** Process environment (read only here, never below the CLI layer). */
  env: Readonly<Record<string, string>>;
  /** Standard output; defaults to the process's. */
  stdout?: Write;
  /** Standard error; defaults to the process's. */
  stderr?: Write;
  /** Stops long-running commands; defaults to SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Reads a text file; defaults to `Deno.readTextFile`. */
  readTextFile?: (path: string) => Promise<string>;
  /** Subcommands; defaults to the built-in table. */
  commands?: readonly Command[];
}

/**
 * Runs the subcommand named in `args`; resolves to the exit code. A first
 * argument naming a replaced tool's program (`/linstor-affinity-controller`,
 * `/agent`, …; `DROP_IN_PROGRAMS`) runs the mode that replaces it, and a
 * first argument that is a flag (other than `--help`, `-h`, `--version`)
 * runs the first of `BARE_FLAGS_MODES` whose flags take them all, as the
 * images of linstor-scheduler-extender and Deckhouse's affinity controller
 * did; both with the replaced tool's defaults first (`DROP_IN_DEFAULT_ARGS`).
 */
export async function runCli(
  args: readonly string[],
  options: RunCliOptions,
): Promise<number> {
  const stdout = options.stdout ?? writerOf(Deno.stdout);
  const stderr = options.stderr ?? writerOf(Deno.stderr);
  const commands = options.commands ?? commandTable();
  const [name, ...rest] = dropIn(args, commands);
  if (name === undefined) {
    stderr(generalUsage(commands));
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    const topic = rest[0];
    const command = commands.find((c) => c.name === topic);
    if (topic !== undefined && !command) {
      stderr(`${PROGRAM_NAME}: unknown subcommand "${topic}"\n`);
      stderr(generalUsage(commands));
      return 2;
    }
    stdout(command ? commandUsage(command) : generalUsage(commands));
    return 0;
  }
  if (name === "--version") {
    stdout(`${PROGRAM_NAME} ${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    stderr(
      `${PROGRAM_NAME}: unknown subcommand "${name}"\n${
        generalUsage(commands)
      }`,
    );
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    stdout(commandUsage(command));
    return 0;
  }
  let parsed;
  try {
    parsed = parseFlags(rest, { flags: command.flags, env: options.env });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr(`${PROGRAM_NAME} ${command.name}: ${error.message}\n`);
    stderr(commandUsage(command));
    return 2;
  }
  const signals = options.signal ? undefined : trapSignals();
  const context: CommandContext = {
    flags: parsed.flags,
    positionals: parsed.positionals,
    env: options.env,
    stdout,
    stderr,
    signal: options.signal ?? signals!.signal,
    readTextFile: options.readTextFile ?? ((path) => Deno.readTextFile(path)),
  };
  try {
    return await command.run(context);
  } catch (error) {
    if (error instanceof UsageError) {
      stderr(`${PROGRAM_NAME} ${command.name}: ${error.message}\n`);
      stderr(commandUsage(command));
      return 2;
    }
    stderr(`${PROGRAM_NAME} ${command.name}: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    signals?.[Symbol.dispose]();
  }
}

/** The general usage text listing every subcommand. */
export function generalUsage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    `Usage: ${PROGRAM_NAME} <subcommand> [flags]`,
    "",
    "Subcommands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    `  ${"help".padEnd(width)}Show this text, or a subcommand's flags`,
    "",
    `Run "${PROGRAM_NAME} <subcommand> --help" for its flags.`,
    "",
  ].join("\n");
}

/** The usage text of one subcommand with every flag, env fallback and default. */
export function commandUsage(command: Command): string {
  return [
    `Usage: ${PROGRAM_NAME} ${command.name} [flags]${
      command.arguments ? ` ${command.arguments}` : ""
    }`,
    "",
    command.summary,
    ...(command.description ? ["", command.description] : []),
    "",
    "Flags:",
    ...command.flags.map(formatFlag),
    "",
  ].join("\n");
}

/** `args` with a replaced tool's invocation turned into its mode's. */
function dropIn(
  args: readonly string[],
  commands: readonly Command[],
): readonly string[] {
  const [given, ...rest] = args;
  if (given === undefined) return args;
  let mode: string;
  if (Object.hasOwn(DROP_IN_PROGRAMS, given)) {
    mode = DROP_IN_PROGRAMS[given]!;
  } else if (
    given.startsWith("-") && !["--help", "-h", "--version"].includes(given)
  ) {
    // Only the flag names decide: values are checked when the mode parses.
    mode = BARE_FLAGS_MODES.find((name) => {
      const command = commands.find((c) => c.name === name);
      return command !== undefined && takesFlagNames(command.flags, args);
    }) ?? BARE_FLAGS_MODES[0]!;
    rest.unshift(given);
  } else {
    return args;
  }
  return [mode, ...(DROP_IN_DEFAULT_ARGS[mode] ?? []), ...rest];
}

/** `true` when every flag in `args` is declared in `flags`. */
function takesFlagNames(
  flags: readonly FlagSpec[],
  args: readonly string[],
): boolean {
  const names = new Set<string>();
  for (const spec of flags) {
    names.add(spec.name);
    for (const alias of spec.aliases ?? []) names.add(alias);
    if (spec.short) names.add(spec.short);
  }
  for (const arg of args) {
    if (arg === "--") break;
    const name = /^--?([^=]+)/.exec(arg)?.[1];
    if (name !== undefined && !names.has(name)) return false;
  }
  return true;
}

function writerOf(stream: { writeSync(p: Uint8Array): number }): Write {
  const encoder = new TextEncoder();
  return (text) => {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  };
}

function trapSignals(): AbortController & Disposable {
  const controller = new AbortController();
  const handler = () => controller.abort(new Error("Received a stop signal"));
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, handler);
  return Object.assign(controller, {
    [Symbol.dispose]() {
      for (const s of signals) Deno.removeSignalListener(s, handler);
    },
  });
}
