/**
 * `main.ts` for the memory benchmark: runs the CLI exactly as `main.ts` does
 * and, on SIGUSR2, writes a V8 heap snapshot to the path in the
 * `MEMORY_BENCH_SNAPSHOT` environment variable (written to `<path>.part`,
 * then renamed, so the harness sees a complete file). No `--inspect` needed.
 *
 * @module
 */
import { writeHeapSnapshot } from "node:v8";
import { runCli } from "../../src/cli/mod.ts";

if (import.meta.main) {
  const path = Deno.env.get("MEMORY_BENCH_SNAPSHOT");
  if (path) {
    Deno.addSignalListener("SIGUSR2", () => {
      writeHeapSnapshot(`${path}.part`);
      Deno.renameSync(`${path}.part`, path);
    });
  }
  const code = await runCli(Deno.args, { env: Deno.env.toObject() });
  Deno.exit(code);
}
