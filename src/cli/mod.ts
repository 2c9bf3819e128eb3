/**
 * The CLI layer: subcommand dispatch, flags, env, wiring of adapters.
 *
 * @module
 */

/** Options of `runCli()`. */
export interface RunCliOptions {
  /** Process environment (read only here, never below the CLI layer). */
  env: Record<string, string>;
}

/** Runs the subcommand named in `args`; resolves to the exit code. */
export function runCli(
  _args: string[],
  _options: RunCliOptions,
): Promise<number> {
  return Promise.resolve(2);
}
