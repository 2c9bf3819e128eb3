import assert from "node:assert/strict";
import {
  type Command,
  type CommandContext,
  lazyCommand,
} from "../../src/cli/command.ts";
import { parseFlags } from "../../src/cli/flags.ts";

const MAIN = new URL("../../main.ts", import.meta.url);

function contextOf(positionals: string[]): CommandContext {
  return {
    flags: parseFlags([], { flags: [], env: {} }).flags,
    positionals,
    env: {},
    stdout: () => {},
    stderr: () => {},
    signal: new AbortController().signal,
    readTextFile: () => Promise.reject(new Error("no files")),
  };
}

Deno.test("lazyCommand() loads its command only when it runs, then runs it with the same context", async () => {
  const seen: (readonly string[])[] = [];
  let loads = 0;
  const command = lazyCommand({
    name: "late",
    summary: "Loaded on run",
    flags: [{ name: "word", type: "string", description: "A word" }],
  }, () => {
    loads++;
    const loaded: Command = {
      name: "late",
      summary: "Loaded on run",
      flags: [],
      run(context) {
        seen.push(context.positionals);
        return Promise.resolve(7);
      },
    };
    return Promise.resolve(loaded);
  });
  assert.equal(loads, 0);
  assert.deepEqual(command.flags.map((f) => f.name), ["word"]);
  assert.equal(command.summary, "Loaded on run");
  assert.equal(await command.run(contextOf(["a"])), 7);
  assert.equal(loads, 1);
  assert.deepEqual(seen, [["a"]]);
});

Deno.test("lazyCommand() rejects with the loader's error when the command cannot load", async () => {
  const command = lazyCommand(
    { name: "broken", summary: "Cannot load", flags: [] },
    () => Promise.reject(new Error("Cannot load module")),
  );
  await assert.rejects(command.run(contextOf([])), /Cannot load module/);
});

/**
 * The modules `entry` loads before any `import()` runs: its import graph
 * without dynamic and type-only edges, from `deno info --json`.
 */
async function staticGraph(
  entry: URL = MAIN,
): Promise<{ loaded: Set<string>; all: Set<string> }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry.pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(output.success, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: {
        code?: { specifier: string };
        isDynamic?: boolean;
      }[];
    }[];
  };
  const edges = new Map(info.modules.map((m) => [m.specifier, m]));
  const loaded = new Set<string>();
  const pending = [entry.href];
  while (pending.length > 0) {
    const specifier = pending.pop()!;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dependency of edges.get(specifier)?.dependencies ?? []) {
      if (!dependency.isDynamic && dependency.code) {
        pending.push(dependency.code.specifier);
      }
    }
  }
  return { loaded, all: new Set(edges.keys()) };
}

Deno.test("main.ts loads no mode, state model, Kubernetes client, doctor or simulator before a subcommand runs", async () => {
  const { loaded, all } = await staticGraph();
  const root = new URL("../../", import.meta.url).href;
  const local = [...loaded].filter((s) => s.startsWith(root)).map((s) =>
    s.slice(root.length)
  );
  for (
    const folder of [
      "src/modes/",
      "src/state/",
      "src/kube/client/",
      "src/doctor/",
      "src/sim/",
      "src/demo/",
    ]
  ) {
    assert.deepEqual(local.filter((path) => path.startsWith(folder)), []);
  }
  for (const runner of ["extender", "affinity", "agent", "fencing", "doctor"]) {
    const href = new URL(`src/cli/${runner}.ts`, root).href;
    assert.ok(all.has(href), `${runner}.ts is in the graph (compiled in)`);
    assert.ok(!loaded.has(href), `${runner}.ts loads when it runs`);
  }
});

Deno.test("a mode's process loads neither prom-client, the CommonJS `yaml`, client-node's authenticators nor Node's HTTPS and crypto modules", async (t) => {
  for (const mode of ["extender", "affinity", "agent", "fencing"]) {
    await t.step(mode, async () => {
      const { loaded } = await staticGraph(
        new URL(`../../src/cli/${mode}.ts`, import.meta.url),
      );
      assert.ok(
        [...loaded].some((s) => s.endsWith("/src/observability/_registry.ts")),
        "the metrics registry is loaded",
      );
      assert.deepEqual(
        [...loaded].filter((s) =>
          s.includes("prom-client") ||
          /^npm:\/?yaml@/.test(s) ||
          /\/dist\/(azure|gcp|exec|file|oidc)_auth\.js$/.test(s) ||
          ["node:https", "node:crypto", "node:zlib", "node:cluster"].includes(s)
        ),
        [],
      );
    });
  }
});
