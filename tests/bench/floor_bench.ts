/**
 * The process floor: resident memory of a `deno run` that only imports one
 * module graph (a dependency, a `node:` module, one of our layers, a mode's
 * entry) and does nothing else, against one that imports nothing. Each piece
 * is measured in its own process (`_floor_child.ts`), with the settings the image
 * ships (the Dockerfile's `DENO_V8_FLAGS` and `MALLOC_*` environment, as the
 * memory benchmark runs its modes), after two full collections; the pieces
 * are run in rotated order `--repeat` times and reported as median and range.
 *
 * Run: `tools/deno run --allow-all tests/bench/floor_bench.ts`
 * (`--repeat=3`, `--only=NAME,NAME` to measure some pieces, `--json` for one
 * line per process). Results in docs/benchmarks.md ("The process floor").
 *
 * @module
 */
import { parseArgs } from "node:util";
import { shippedSettings } from "./memory_bench.ts";

const ROOT = new URL("../../", import.meta.url);
const CHILD = new URL("./_floor_child.ts", import.meta.url).pathname;

/** The pieces measured, each a list of specifiers imported together. */
export const PIECES: Readonly<Record<string, readonly string[]>> = {
  "nothing": [],
  "node:process": ["node:process"],
  "node:util": ["node:util"],
  "node:http": ["node:http"],
  "node:https": ["node:https"],
  "node:crypto": ["node:crypto"],
  "node:v8": ["node:v8"],
  "node:perf_hooks": ["node:perf_hooks"],
  "@logtape/logtape": ["@logtape/logtape"],
  "yaml": ["yaml"],
  "client-node config_types.js": [
    "@kubernetes/client-node/dist/config_types.js",
  ],
  "client-node authenticators": [
    "@kubernetes/client-node/dist/azure_auth.js",
    "@kubernetes/client-node/dist/exec_auth.js",
    "@kubernetes/client-node/dist/file_auth.js",
    "@kubernetes/client-node/dist/gcp_auth.js",
    "@kubernetes/client-node/dist/oidc_auth.js",
  ],
  "src/constants.ts": ["./src/constants.ts"],
  "src/domain": ["./src/domain/mod.ts"],
  "src/linstor": ["./src/linstor/mod.ts"],
  "src/kube": ["./src/kube/mod.ts"],
  "src/kube/client": ["./src/kube/client/mod.ts"],
  "src/state": ["./src/state/mod.ts"],
  "src/system": ["./src/system/mod.ts"],
  "src/observability": ["./src/observability/mod.ts"],
  "src/reconcile": ["./src/reconcile/mod.ts"],
  "src/csi": ["./src/csi/mod.ts"],
  "src/modes/extender": ["./src/modes/extender/mod.ts"],
  "src/modes/affinity": ["./src/modes/affinity/mod.ts"],
  "src/cli/flags.ts": ["./src/cli/flags.ts"],
  "src/cli/run_mode.ts": ["./src/cli/run_mode.ts"],
  "main.ts (nothing run)": ["./src/cli/mod.ts"],
  "main.ts extender": [
    "./src/cli/mod.ts",
    "./src/cli/extender.ts",
  ],
  "main.ts affinity": [
    "./src/cli/mod.ts",
    "./src/cli/affinity.ts",
  ],
  "main.ts agent": ["./src/cli/mod.ts", "./src/cli/agent.ts"],
  "main.ts fencing": ["./src/cli/mod.ts", "./src/cli/fencing.ts"],
};

/** What one process reports. */
export interface FloorSample {
  piece: string;
  /** `VmRSS`, MiB. */
  rss: number;
  /** `RssAnon` (heap, stacks, malloc), MiB. */
  anon: number;
  /** `RssFile` (the binary's and libraries' pages), MiB. */
  file: number;
  /** V8 heap used / total and external, MiB. */
  heapUsed: number;
  heapTotal: number;
  external: number;
}

async function measure(
  piece: string,
  settings: { v8Flags: string[]; env: Record<string, string> },
): Promise<FloorSample> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `--v8-flags=${["--expose-gc", ...settings.v8Flags].join(",")}`,
      CHILD,
      ...PIECES[piece]!,
    ],
    cwd: ROOT.pathname,
    env: settings.env,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`Cannot measure "${piece}"`);
  return { piece, ...JSON.parse(new TextDecoder().decode(output.stdout)) };
}

function print(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function cell(values: number[]): string {
  const min = Math.min(...values).toFixed(1);
  const max = Math.max(...values).toFixed(1);
  return `${median(values).toFixed(1)} (${min}–${max})`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      repeat: { type: "string", default: "3" },
      only: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  {
    const shipped = await shippedSettings();
    const settings = {
      v8Flags: shipped.v8Flags ? shipped.v8Flags.split(",") : [],
      env: shipped.env,
    };
    const pieces = values.only
      ? ["nothing", ...values.only.split(",").filter((p) => p !== "nothing")]
      : Object.keys(PIECES);
    for (const piece of pieces) {
      if (!PIECES[piece]) throw new RangeError(`Unknown piece "${piece}"`);
    }
    const samples = new Map<string, FloorSample[]>(pieces.map((p) => [p, []]));
    const repeat = Number(values.repeat);
    for (let round = 0; round < repeat; round++) {
      // Rotated order: no piece is always first (or last) on a busy machine.
      const order = pieces.map((_, i) => pieces[(i + round) % pieces.length]!);
      for (const piece of order) {
        const sample = await measure(piece, settings);
        samples.get(piece)!.push(sample);
        if (values.json) print(JSON.stringify(sample));
      }
    }
    if (!values.json) {
      print(
        `settings: ${settings.v8Flags.join(" ") || "no V8 flags"} ${
          Object.entries(settings.env).map(([k, v]) => `${k}=${v}`).join(" ")
        }; median (min–max) of ${repeat}, MiB`,
      );
      print("| piece | RSS | RssAnon | RssFile | V8 heap used | total |");
      print("| --- | ---: | ---: | ---: | ---: | ---: |");
      for (const [piece, list] of samples) {
        print(
          `| ${piece} | ${cell(list.map((s) => s.rss))} | ${
            cell(list.map((s) => s.anon))
          } | ${cell(list.map((s) => s.file))} | ${
            cell(list.map((s) => s.heapUsed))
          } | ${cell(list.map((s) => s.heapTotal))} |`,
        );
      }
    }
  }
}
