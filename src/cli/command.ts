/**
 * The shape of a subcommand and what it receives.
 *
 * @module
 */
import type { FlagSpec, ParsedFlags } from "./flags.ts";

/** Writes text to an output stream. */
export type Write = (text: string) => void;

/** What a subcommand's `run` receives. */
export interface CommandContext {
  /** Parsed flags of this subcommand (common flags included). */
  readonly flags: ParsedFlags;
  /** Positional arguments after the subcommand name. */
  readonly positionals: readonly string[];
  /** The process environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Standard output (results, tables). */
  readonly stdout: Write;
  /** Standard error (logs, diagnostics). */
  readonly stderr: Write;
  /** Aborts on SIGTERM or SIGINT: stop loops, finish in-flight work, return 0. */
  readonly signal: AbortSignal;
  /** Reads a text file (flags naming files). */
  readonly readTextFile: (path: string) => Promise<string>;
}

/** A subcommand. */
export interface Command {
  /** The word after `linstor-suite`. */
  readonly name: string;
  /** One line for the command table. */
  readonly summary: string;
  /** Positional arguments, for usage (e.g. `[POD]`). */
  readonly arguments?: string;
  /** A paragraph shown by `<command> --help`. */
  readonly description?: string;
  /** Declared flags, common ones included. */
  readonly flags: readonly FlagSpec[];
  /**
   * Nested subcommands: the next argument names one of them, which then
   * runs as a top-level subcommand would (`flags` and `run` are unused).
   */
  readonly subcommands?: readonly Command[];
  /** How usage texts name this command's program (e.g. `kubectl linstor-suite`). */
  readonly programName?: string;
  /** Runs the command; resolves to the exit code. */
  run(context: CommandContext): Promise<number>;
}

/** What usage texts and flag parsing need of a subcommand: everything but its code. */
export type CommandInfo = Omit<Command, "run">;

/**
 * A subcommand whose code `load()` imports when it runs: a process loads the
 * modules of the one subcommand it runs, not of every one (a mode's process
 * floor; docs/benchmarks.md, "The process floor"). Usage texts and flag
 * parsing read `info` alone.
 */
export function lazyCommand(
  info: CommandInfo,
  load: () => Promise<Command>,
): Command {
  return {
    ...info,
    async run(context) {
      return await (await load()).run(context);
    },
  };
}
