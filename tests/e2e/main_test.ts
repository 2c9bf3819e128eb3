/**
 * The real entry point, `deno run main.ts …`, as a user runs it (the
 * compiled binary runs the same `main.ts`).
 */
import assert from "node:assert/strict";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function deno(args: string[], options: { stdout?: "piped" | "null" } = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    stdout: options.stdout ?? "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

Deno.test("main.ts exits 0 and prints the version details for `version`, nothing on stderr", async () => {
  const { code, stdout, stderr } = await deno(["version"]).output();
  assert.equal(code, 0);
  assert.match(
    new TextDecoder().decode(stdout),
    /^linstor-suite \d+\.\d+\.\d+\ncommit: ([0-9a-f]{12}|unknown)\ndeno: \d+\.\d+\.\d+\nv8: \d+\.[^\n]+\ntypescript: [^\n]+\n$/,
  );
  // The command waits for git, so a third-party warning emitted at import
  // time (e.g. a DeprecationWarning) would reach stderr here.
  assert.equal(new TextDecoder().decode(stderr), "");
});

Deno.test("main.ts exits 2 with one line naming an unknown subcommand", async () => {
  const { code, stderr } = await deno(["frobnicate"]).output();
  assert.equal(code, 2);
  assert.equal(
    new TextDecoder().decode(stderr).split("\n")[0],
    'linstor-suite: unknown subcommand "frobnicate"',
  );
});

Deno.test("main.ts sim serves the demo scenario and exits 0 on SIGTERM", async () => {
  const child = deno(["sim", "--demo", "--listen=127.0.0.1:0"]).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const url = text.trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const nodes = await (await fetch(`${url}/v1/nodes`)).json();
    assert.deepEqual(
      nodes.map((n: { name: string }) => n.name).sort(),
      ["node-a1", "node-a2", "node-b1", "node-b2"],
    );
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
  }
  const status = await child.status;
  await child.stderr.cancel();
  assert.equal(status.code, 0);
});
