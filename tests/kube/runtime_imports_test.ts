/**
 * The light Kubernetes port stays light: no module under `src/kube/mod.ts`,
 * `src/state`, `src/domain` or `src/modes` loads `@kubernetes/client-node`
 * at runtime (type imports are fine). Checked on the module graph
 * `deno info --json` reports, following only runtime ("code") edges.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

interface InfoDependency {
  readonly code?: { readonly specifier?: string };
}

interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly InfoDependency[];
}

/** Every `mod.ts` under `dir` (relative to the repository root). */
function doors(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(new URL(path, ROOT))];
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.isDirectory) walk(`${path}/${entry.name}`);
      else if (entry.name === "mod.ts") found.push(`${path}/mod.ts`);
    }
  };
  walk(dir);
  return found;
}

/** The npm packages `entry` loads at runtime, following only code imports. */
async function runtimeNpmImports(entry: string): Promise<Set<string>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(
    output.success,
    `deno info ${entry} failed: ${new TextDecoder().decode(output.stderr)}`,
  );
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const npm = new Set<string>();
  const seen = new Set<string>();
  const queue = [...info.roots];
  while (queue.length > 0) {
    const specifier = queue.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    if (specifier.startsWith("npm:")) {
      npm.add(specifier);
      continue;
    }
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target !== undefined) queue.push(target);
    }
  }
  return npm;
}

function clientNode(npm: Set<string>): string[] {
  return [...npm].filter((s) => s.includes("@kubernetes/client-node"));
}

Deno.test("the kube port, state model, domain rules and modes do not load @kubernetes/client-node at runtime", async (t) => {
  const entries = [
    "src/kube/mod.ts",
    ...doors("src/state"),
    ...doors("src/domain"),
    ...doors("src/modes"),
  ];
  assert.ok(entries.includes("src/state/mod.ts"), "no state door found");
  for (const entry of entries) {
    await t.step(entry, async () => {
      assert.deepEqual(clientNode(await runtimeNpmImports(entry)), []);
    });
  }
});

Deno.test("the kube client door loads client-node's deep modules, never its package index", async () => {
  const npm = await runtimeNpmImports("src/kube/client/mod.ts");
  const loaded = clientNode(npm);
  // The check above would pass vacuously if the walk missed npm imports.
  assert.ok(loaded.length > 0, "the adapter must load client-node");
  for (const specifier of loaded) {
    assert.match(specifier, /@kubernetes\/client-node@[^/]+\/dist\//);
  }
});
