/**
 * Subcommands whose mode has not landed yet.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { COMMON_FLAGS } from "./common.ts";

/** A subcommand that says it is not implemented yet and exits 2. */
export function notImplementedCommand(
  name: string,
  summary: string,
): Command {
  return {
    name,
    summary: `${summary} (not implemented yet)`,
    flags: COMMON_FLAGS,
    run(context) {
      context.stderr(`linstor-suite ${name}: not implemented yet\n`);
      return Promise.resolve(2);
    },
  };
}
