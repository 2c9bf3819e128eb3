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
  PROGRAM_NAME as DEFAULT_PROGRAM_NAME,
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
  /**
   * The invoked program's path (argv[0]). A base name listed in
   * `DROP_IN_PROGRAMS` (`kubectl-linstor_suite`, `linstor-affinity-controller`,
   * …) selects the subcommand as that first argument would.
   */
  program?: string;
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
export function runCli(
  args: readonly string[],
  options: RunCliOptions,
): Promise<number> {
  const commands = options.commands ?? commandTable();
  const invoked = programBaseName(options.program);
  const given = args[0];
  const viaProgram = invoked !== undefined &&
    Object.hasOwn(DROP_IN_PROGRAMS, invoked) &&
    !(given !== undefined && Object.hasOwn(DROP_IN_PROGRAMS, given));
  return dispatch(dropIn(viaProgram ? [invoked, ...args] : args, commands), {
    ...options,
    commands,
    programName: DEFAULT_PROGRAM_NAME,
  });
}

/** The base name of `program` (`/usr/local/bin/kubectl-linstor_suite` → `kubectl-linstor_suite`). */
function programBaseName(program: string | undefined): string | undefined {
  if (!program) return undefined;
  return program.split(/[\\/]/).pop()?.replace(/\.exe$/i, "") || undefined;
}

async function dispatch(
  args: readonly string[],
  options: RunCliOptions & {
    commands: readonly Command[];
    programName: string;
  },
): Promise<number> {
  const stdout = options.stdout ?? writerOf(Deno.stdout);
  const stderr = options.stderr ?? writerOf(Deno.stderr);
  const commands = options.commands;
  const program = options.programName;
  const [name, ...rest] = args;
  if (name === undefined) {
    stderr(generalUsage(commands, { programName: program }));
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    const topic = rest[0];
    const command = commands.find((c) => c.name === topic);
    if (topic !== undefined && !command) {
      stderr(`${program}: unknown subcommand "${topic}"\n`);
      stderr(generalUsage(commands, { programName: program }));
      return 2;
    }
    stdout(
      command
        ? commandUsage(command, { programName: program })
        : generalUsage(commands, { programName: program }),
    );
    return 0;
  }
  if (name === "--version") {
    stdout(`${program} ${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    stderr(
      `${program}: unknown subcommand "${name}"\n${
        generalUsage(commands, { programName: program })
      }`,
    );
    return 2;
  }
  if (command.subcommands) {
    return await dispatch(rest, {
      ...options,
      commands: command.subcommands,
      programName: command.programName ?? `${program} ${command.name}`,
    });
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    stdout(commandUsage(command, { programName: program }));
    return 0;
  }
  let parsed;
  try {
    parsed = parseFlags(rest, { flags: command.flags, env: options.env });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr(`${program} ${command.name}: ${error.message}\n`);
    stderr(commandUsage(command, { programName: program }));
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
      stderr(`${program} ${command.name}: ${error.message}\n`);
      stderr(commandUsage(command, { programName: program }));
      return 2;
    }
    stderr(`${program} ${command.name}: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    signals?.[Symbol.dispose]();
  }
}

/** Options of the usage texts. */
export interface UsageOptions {
  /**
   * How the program is named.
   *
   * @default {PROGRAM_NAME}
   */
  programName?: string;
}

/** The general usage text listing every subcommand. */
export function generalUsage(
  commands: readonly Command[],
  options: UsageOptions = {},
): string {
  const program = options.programName ?? DEFAULT_PROGRAM_NAME;
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    `Usage: ${program} <subcommand> [flags]`,
    "",
    "Subcommands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    `  ${"help".padEnd(width)}Show this text, or a subcommand's flags`,
    "",
    `Run "${program} <subcommand> --help" for its flags.`,
    "",
  ].join("\n");
}

/** The usage text of one subcommand with every flag, env fallback and default. */
export function commandUsage(
  command: Command,
  options: UsageOptions = {},
): string {
  const program = options.programName ?? DEFAULT_PROGRAM_NAME;
  if (command.subcommands) {
    return generalUsage(command.subcommands, {
      programName: command.programName ?? `${program} ${command.name}`,
    });
  }
  return [
    `Usage: ${program} ${command.name} [flags]${
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
