/**
 * Entry point of linstor-suite: hands argv and env to the CLI layer and maps
 * its result to the process exit code. Nothing else lives here.
 *
 * @module
 */
import { runCli } from "./src/cli/mod.ts";

if (import.meta.main) {
  const code = await runCli(Deno.args, { env: Deno.env.toObject() });
  Deno.exit(code);
}
