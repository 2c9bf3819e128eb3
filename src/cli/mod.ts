/**
 * The CLI layer: subcommand dispatch, usage, flags, env and signals. The
 * only layer that reads the environment.
 *
 * @module
 */
import { DROP_IN_PROGRAMS, PROGRAM_NAME, VERSION } from "../constants.ts";
import { errorMessage } from "../reconcile/mod.ts";
import type { Command, CommandContext, Write } from "./command.ts";
import { formatFlag, parseFlags, UsageError } from "./flags.ts";
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
 * `/agent`, …; `DROP_IN_PROGRAMS`) runs the mode that replaces it.
 */
export async function runCli(
  args: readonly string[],
  options: RunCliOptions,
): Promise<number> {
  const stdout = options.stdout ?? writerOf(Deno.stdout);
  const stderr = options.stderr ?? writerOf(Deno.stderr);
  const commands = options.commands ?? commandTable();
  const [given, ...rest] = args;
  const name = given !== undefined && Object.hasOwn(DROP_IN_PROGRAMS, given)
    ? DROP_IN_PROGRAMS[given]
    : given;
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
