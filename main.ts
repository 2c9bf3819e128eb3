/**
 * Entry point of linstor-suite: hands argv and env to the CLI layer and maps
 * its result to the process exit code. Nothing else lives here.
 *
 * @module
 */
import process from "node:process";
import { runCli } from "./src/cli/mod.ts";

if (import.meta.main) {
  // argv[0] as invoked (a symlink's own name): the kubectl plugin name and
  // replaced tools' names select a subcommand (DROP_IN_PROGRAMS).
  const code = await runCli(Deno.args, {
    env: Deno.env.toObject(),
    program: process.argv0,
  });
  Deno.exit(code);
}
