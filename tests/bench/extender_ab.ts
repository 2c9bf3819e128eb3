/**
 * Two versions of the extender head to head in one process, on a loaded
 * machine: the handler of this checkout (B) and of another checkout of the
 * project (A, `--base`) over one state model of the benchmark's cluster
 * (`extender_bench.ts`: 5,000 nodes, 100,002 resources, 50,000 claims),
 * called in-process with the benchmark's body. Separate benchmark processes
 * on a shared machine spread more than a 20 % change; blocks of pairs that
 * alternate within one process see the same load, so their paired ratio
 * separates the two.
 *
 * Run: `nice -n -20 tools/deno run --allow-all tests/bench/extender_ab.ts --base=<checkout>`
 * - `--names=N` candidate names (default 5000);
 * - `--objects=N`: instead, a cluster of N nodes (as the `nodes` phase of
 *   `extender_bench.ts` builds) whose full Node objects each request carries
 *   (`nodeCacheCapable: false`), with its declared length as kube-scheduler
 *   sends it;
 * - `--rounds=N` rounds of one block each, alternating which goes first
 *   (default 30), `--block=N` pairs per block (default 20);
 * - `--first=N`: instead, N new snapshots (a bound claim changes before each)
 *   and the CPU time of each version's first pair on it, alternating first;
 * - `--select`: with `--first`, an unbound claim gets a selected node instead;
 * - `--new-pods=N`: instead, N rounds of one new pod per version (alternating
 *   first), each with a pending claim nothing holds yet, as when a
 *   StatefulSet scales up: its filter makes a new reservation and sees the
 *   reservations of the pods before it (the last `--held=N`, default 4, stay
 *   held, as if binding took that long), so no shared pool choice applies.
 *
 * Both versions must answer the same bytes first (checked after warm-up).
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import * as mine from "../../src/modes/extender/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/mod.ts";
import {
  benchPodOf,
  buildCluster,
  type ExtenderBenchSize,
  fullNode,
  linstorData,
} from "./extender_bench.ts";

type ExtenderModule = typeof mine;
type Handler = (request: Request) => Promise<Response>;

function print(text: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
}

function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ??
    NaN;
}

function cpuMs(since: ReturnType<typeof cpuUsage>): number {
  const used = cpuUsage(since);
  return (used.user + used.system) / 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      base: { type: "string" },
      names: { type: "string", default: "5000" },
      objects: { type: "string", default: "0" },
      rounds: { type: "string", default: "30" },
      block: { type: "string", default: "20" },
      first: { type: "string", default: "0" },
      select: { type: "boolean", default: false },
      "new-pods": { type: "string", default: "0" },
      held: { type: "string", default: "4" },
    },
  });
  if (values.base === undefined) {
    throw new RangeError('Cannot compare: "--base=<checkout>" is missing');
  }
  const baseUrl = new URL(
    "src/modes/extender/mod.ts",
    `file://${values.base.replace(/\/*$/, "/")}`,
  );
  const base = await import(baseUrl.href) as ExtenderModule;
  const objects = Number(values.objects);
  const size: ExtenderBenchSize = objects > 0
    ? {
      nodes: objects,
      volumes: objects * 10,
      replicas: 3,
      claims: objects * 15,
    }
    : { nodes: 5_000, volumes: 33_334, replicas: 3, claims: 50_000 };
  const { state, kubeNodes } = buildCluster(size);
  state.applyLinstorData(linstorData(size), SYSTEM_CLOCK.now());
  function handlerOf(
    module: ExtenderModule,
    reservations: InstanceType<ExtenderModule["Reservations"]>,
  ): Handler {
    return module.createExtenderHandler({
      snapshot: () => state.snapshot(),
      clock: SYSTEM_CLOCK,
      config: { ...module.DEFAULT_EXTENDER_CONFIG, maxStalenessMs: 3_600_000 },
      reservations,
    });
  }
  const reservations = {
    A: new base.Reservations({ clock: SYSTEM_CLOCK, ttlMs: 3_600_000 }),
    B: new mine.Reservations({ clock: SYSTEM_CLOCK, ttlMs: 3_600_000 }),
  };
  const handlers: Record<"A" | "B", Handler> = {
    A: handlerOf(base, reservations.A),
    B: handlerOf(mine, reservations.B),
  };
  const count = objects > 0 ? objects : Number(values.names);
  const body = objects > 0
    ? JSON.stringify({
      Pod: benchPodOf(size),
      Nodes: { metadata: {}, items: kubeNodes.map(fullNode) },
      NodeNames: null,
    })
    : JSON.stringify({
      Pod: benchPodOf(size),
      Nodes: null,
      NodeNames: Array.from(
        { length: count },
        (_, i) => `node-${(i * 7919) % size.nodes}`,
      ),
    });
  // Encoded once: `Request` copies it, as the server hands out a new buffer.
  const bodyBytes = new TextEncoder().encode(body);
  async function pair(handler: Handler, text = body): Promise<string> {
    let answer = "";
    for (const verb of ["filter", "prioritize"]) {
      const bytes = text === body ? bodyBytes : new TextEncoder().encode(text);
      const response = await handler(
        new Request(`http://bench/${verb}`, {
          method: "POST",
          headers: { "content-length": String(bytes.byteLength) },
          body: bytes,
        }),
      );
      if (response.status !== 200) {
        throw new Error(`Cannot ${verb}: HTTP ${response.status}`);
      }
      answer += await response.text();
    }
    return answer;
  }
  for (let i = 0; i < 60; i++) {
    await pair(handlers.A);
    await pair(handlers.B);
  }
  if (await pair(handlers.A) !== await pair(handlers.B)) {
    throw new Error("Cannot compare: the two versions answer differently");
  }
  const load = () =>
    Deno.readTextFileSync("/proc/loadavg").split(" ")[0] ?? "?";
  const loadBefore = load();
  const newPods = Number(values["new-pods"]);
  if (newPods > 0) {
    // Pending claims of the benchmark pod's namespace nothing holds: the
    // cluster's unbound claims `c` with `c % 50 === 1` and no selected node.
    const claims: string[] = [];
    for (let c = size.volumes; c < size.claims; c++) {
      if (c % 50 === 1 && c % 100 !== 0) claims.push(`data-${c}`);
    }
    if (claims.length < newPods) {
      throw new RangeError(
        `Cannot run "--new-pods=${newPods}": the cluster has ${claims.length} such claims`,
      );
    }
    const held = Number(values.held);
    const times: Record<"A" | "B", number[]> = { A: [], B: [] };
    const pod = benchPodOf(size);
    for (let k = 0; k < newPods; k++) {
      const text = JSON.stringify({
        Pod: {
          ...pod,
          metadata: { ...pod.metadata, name: `app-${k}`, uid: `uid-app-${k}` },
          spec: {
            ...pod.spec,
            volumes: ["data-1", "data-51", claims[k]!].map((claimName) => ({
              name: claimName,
              persistentVolumeClaim: { claimName },
            })),
          },
        },
        Nodes: null,
        NodeNames: JSON.parse(body).NodeNames,
      });
      for (const key of (k % 2 ? ["B", "A"] : ["A", "B"]) as ("A" | "B")[]) {
        if (k >= held) reservations[key].release(`ns-1/${claims[k - held]}`);
        const started = cpuUsage();
        await pair(handlers[key], text);
        times[key].push(cpuMs(started));
      }
    }
    for (const key of ["A", "B"] as const) {
      print(
        `${key}: pair of a new pod (${held} held before it), CPU ms median ${
          quantile(times[key], 0.5).toFixed(2)
        } (p10 ${quantile(times[key], 0.1).toFixed(2)}, p90 ${
          quantile(times[key], 0.9).toFixed(2)
        }) over ${newPods}`,
      );
    }
    print(`load ${loadBefore} → ${load()}`);
    return;
  }
  const first = Number(values.first);
  if (first > 0) {
    const times: Record<"A" | "B", number[]> = { A: [], B: [] };
    for (let k = 0; k < first; k++) {
      const claims = state.snapshot().kube.persistentVolumeClaims;
      const sink = state.sink("persistentVolumeClaims");
      if (values.select) {
        const c = size.volumes + 3 + k;
        const claim = claims.get(`ns-${c % 50}/data-${c}`)!;
        sink.upsert({
          ...claim,
          metadata: {
            ...claim.metadata,
            resourceVersion: `ab-${k}`,
            annotations: {
              "volume.kubernetes.io/selected-node": `node-${
                (k * 37) %
                size.nodes
              }`,
            },
          },
        });
      } else {
        const claim = claims.get("ns-0/data-0")!;
        sink.upsert({
          ...claim,
          metadata: { ...claim.metadata, resourceVersion: `ab-${k}` },
        });
      }
      for (const key of (k % 2 ? ["B", "A"] : ["A", "B"]) as ("A" | "B")[]) {
        const started = cpuUsage();
        await pair(handlers[key]);
        times[key].push(cpuMs(started));
      }
    }
    for (const key of ["A", "B"] as const) {
      print(
        `${key}: first pair on a new snapshot, CPU ms median ${
          quantile(times[key], 0.5).toFixed(1)
        } (${Math.min(...times[key]).toFixed(1)}–${
          Math.max(...times[key]).toFixed(1)
        }) over ${first}`,
      );
    }
    print(`load ${loadBefore} → ${load()}`);
    return;
  }
  const rounds = Number(values.rounds);
  const block = Number(values.block);
  const blocks: Record<"A" | "B", number[]> = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) {
    for (const key of (r % 2 ? ["B", "A"] : ["A", "B"]) as ("A" | "B")[]) {
      const started = cpuUsage();
      for (let i = 0; i < block; i++) await pair(handlers[key]);
      blocks[key].push(cpuMs(started) / block);
    }
  }
  const ratios = blocks.A.map((a, i) => blocks.B[i]! / a);
  for (const key of ["A", "B"] as const) {
    print(
      `${key}: CPU ms per filter + prioritize pair at ${count} ${
        objects > 0 ? "Node objects" : "names"
      }, block median ${quantile(blocks[key], 0.5).toFixed(2)} (p10 ${
        quantile(blocks[key], 0.1).toFixed(2)
      })`,
    );
  }
  print(
    `B ÷ A per round: median ${quantile(ratios, 0.5).toFixed(3)} (p25 ${
      quantile(ratios, 0.25).toFixed(3)
    }, p75 ${
      quantile(ratios, 0.75).toFixed(3)
    }); load ${loadBefore} → ${load()}`,
  );
}

if (import.meta.main) await main();
