/**
 * One process of the floor benchmark (`floor_bench.ts`): imports the
 * specifiers given as arguments (paths relative to the repository root, or
 * bare specifiers of `deno.json`), runs two full collections and prints its
 * resident memory and V8 heap as one JSON line. It imports nothing itself,
 * so an empty argument list measures a bare `deno run`.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);

if (import.meta.main) {
  for (const specifier of Deno.args) {
    await import(
      specifier.startsWith("./") ? new URL(specifier, ROOT).href : specifier
    );
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 300));
  gc?.();
  const status = Deno.readTextFileSync("/proc/self/status");
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  const memory = Deno.memoryUsage();
  const sample = {
    rss: kib("VmRSS") / 1024,
    anon: kib("RssAnon") / 1024,
    file: kib("RssFile") / 1024,
    heapUsed: memory.heapUsed / 2 ** 20,
    heapTotal: memory.heapTotal / 2 ** 20,
    external: memory.external / 2 ** 20,
  };
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(sample)));
}
