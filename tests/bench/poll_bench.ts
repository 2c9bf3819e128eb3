/**
 * Benchmark of one LINSTOR poll as a serving process lives it: the real
 * `LinstorClient` over loopback HTTP and the state model's poller apply the
 * five lists, while a ticker measures how long the event loop is blocked
 * (what a scheduler request arriving then would wait). The LINSTOR answers
 * come from a child process (this script with `--serve`), so serving costs
 * nothing here.
 *
 * Run: `tools/deno run --allow-all tests/bench/poll_bench.ts`
 * (`--nodes=500 --volumes=5000 --replicas=3 --polls=8`; `--quick` for
 * 100 nodes / 1,000 volumes). Prints one table; results in
 * docs/benchmarks.md.
 *
 * @module
 */
import { cpuUsage, memoryUsage } from "node:process";
import { parseArgs } from "node:util";
import { LinstorClient } from "../../src/linstor/mod.ts";
import {
  createLinstorReader,
  type LinstorData,
  startClusterState,
} from "../../src/state/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/mod.ts";
import { linstorData as stateBenchData } from "./state_bench.ts";

interface Size {
  nodes: number;
  volumes: number;
  replicas: number;
}

/** The state benchmark's generated lists at `size`. */
function linstorData(size: Size, variant: number): LinstorData {
  return stateBenchData({
    nodes: size.nodes,
    volumes: size.volumes,
    replicasPerVolume: size.replicas,
  }, variant);
}

function print(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}

/** The child: serves the lists; `POST /bench/variant/N` switches the data. */
async function serve(size: Size): Promise<void> {
  const encoder = new TextEncoder();
  const bodies = new Map<number, Map<string, Uint8Array<ArrayBuffer>>>();
  const bodiesOf = (variant: number) => {
    let found = bodies.get(variant);
    if (found === undefined) {
      const data = linstorData(size, variant);
      found = new Map([
        ["/v1/nodes", encoder.encode(JSON.stringify(data.nodes))],
        [
          "/v1/view/storage-pools",
          encoder.encode(JSON.stringify(data.storagePools)),
        ],
        ["/v1/view/resources", encoder.encode(JSON.stringify(data.resources))],
        [
          "/v1/resource-definitions",
          encoder.encode(JSON.stringify(data.resourceDefinitions)),
        ],
        [
          "/v1/resource-groups",
          encoder.encode(JSON.stringify(data.resourceGroups)),
        ],
      ]);
      bodies.clear(); // keep one variant: large clusters are hundreds of MB
      bodies.set(variant, found);
    }
    return found;
  };
  let variant = 0;
  bodiesOf(0);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const url = new URL(request.url);
      const switchTo = url.pathname.match(/^\/bench\/variant\/(\d+)$/);
      if (switchTo) {
        variant = Number(switchTo[1]);
        bodiesOf(variant);
        return new Response("ok");
      }
      const body = bodiesOf(variant).get(url.pathname);
      if (body === undefined) return new Response("[]", { status: 404 });
      return new Response(body, {
        headers: { "content-type": "application/json" },
      });
    },
  );
  const bytes = [...bodiesOf(0).values()].reduce((n, b) => n + b.length, 0);
  print(JSON.stringify({ port: server.addr.port, bytes }));
  await server.finished;
}

interface PhaseResult {
  polls: number;
  cpuPerPollMs: number;
  longestStallMs: number;
  p99StallMs: number;
  /** CPU time the process spent between two ticks: the block without other processes' share. */
  longestStallCpuMs: number;
  /** Longest work between two turns of the parser or the view builder. */
  longestSegmentMs: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ??
    0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      serve: { type: "boolean", default: false },
      "one-piece": { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      nodes: { type: "string" },
      volumes: { type: "string" },
      replicas: { type: "string", default: "3" },
      polls: { type: "string", default: "8" },
      json: { type: "boolean", default: false },
    },
  });
  const size: Size = {
    nodes: Number(values.nodes ?? (values.quick ? 100 : 500)),
    volumes: Number(values.volumes ?? (values.quick ? 1000 : 5000)),
    replicas: Number(values.replicas),
  };
  if (values.serve) return await serve(size);

  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env",
      import.meta.filename!,
      "--serve",
      `--nodes=${size.nodes}`,
      `--volumes=${size.volumes}`,
      `--replicas=${size.replicas}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the serving child exited before listening");
    first += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const { port, bytes } = JSON.parse(first) as { port: number; bytes: number };
  const base = `http://127.0.0.1:${port}`;

  // The longest run of work between two turns given by the parser or the
  // view builder: their own blocks, without anything else in the process.
  // A segment starts at the end of the last turn or the ticker's last run,
  // whichever is later (the event loop was free then).
  let lastTurnEnd: number | undefined;
  let lastTickAt = 0;
  let longestSegmentMs = 0;
  const turn = async () => {
    const now = performance.now();
    if (lastTurnEnd !== undefined) {
      const start = Math.max(lastTurnEnd, lastTickAt);
      longestSegmentMs = Math.max(longestSegmentMs, now - start);
    }
    await SYSTEM_CLOCK.sleep(0);
    lastTurnEnd = performance.now();
  };
  const client = new LinstorClient({
    controllers: [base],
    timeoutMs: 60_000,
    ...(Deno.args.includes("--one-piece") ? {} : { yieldControl: turn }),
  });
  const stop = new AbortController();
  const coldCpu = cpuUsage();
  const pollIntervalMs = 1_000;
  const cluster = startClusterState({
    clock: SYSTEM_CLOCK,
    linstor: createLinstorReader(client),
    yieldControl: turn,
  }, {
    kinds: [],
    pollIntervalMs,
    pollTimeoutMs: 60_000,
    signal: stop.signal,
  });
  while (cluster.state.snapshot().linstor.observedAt === undefined) {
    await SYSTEM_CLOCK.sleep(5);
  }
  const cold = cpuUsage(coldCpu);
  const coldCpuMs = (cold.user + cold.system) / 1000;

  async function phase(variants: (i: number) => number, polls: number) {
    const stalls: number[] = [];
    let longestStallCpuMs = 0;
    let ticking = true;
    const ticker = (async () => {
      while (ticking) {
        const start = performance.now();
        const cpu = cpuUsage();
        await SYSTEM_CLOCK.sleep(1);
        lastTickAt = performance.now();
        const used = cpuUsage(cpu);
        stalls.push(performance.now() - start - 1);
        longestStallCpuMs = Math.max(
          longestStallCpuMs,
          (used.user + used.system) / 1000,
        );
      }
    })();
    // Idle CPU of the ticker alone over one interval, subtracted below.
    const idleStart = cpuUsage();
    await SYSTEM_CLOCK.sleep(pollIntervalMs);
    const idle = cpuUsage(idleStart);
    stalls.length = 0;
    longestStallCpuMs = 0;
    longestSegmentMs = 0;
    const cpuStart = cpuUsage();
    const startedAt = performance.now();
    let seen = cluster.state.snapshot().linstor.observedAt;
    for (let i = 0; i < polls; i++) {
      await fetch(`${base}/bench/variant/${variants(i)}`, { method: "POST" })
        .then((r) => r.text());
      // Wait for the next applied poll.
      while (cluster.state.snapshot().linstor.observedAt === seen) {
        await SYSTEM_CLOCK.sleep(20);
      }
      seen = cluster.state.snapshot().linstor.observedAt;
    }
    const elapsedMs = performance.now() - startedAt;
    const used = cpuUsage(cpuStart);
    ticking = false;
    await ticker;
    const idleMsPerMs = (idle.user + idle.system) / 1000 / pollIntervalMs;
    const cpuMs = (used.user + used.system) / 1000 - idleMsPerMs * elapsedMs;
    stalls.sort((a, b) => a - b);
    return {
      polls,
      cpuPerPollMs: Math.max(0, cpuMs / polls),
      longestStallMs: stalls.at(-1) ?? 0,
      p99StallMs: percentile(stalls, 0.99),
      longestStallCpuMs,
      longestSegmentMs,
    } satisfies PhaseResult;
  }

  const polls = Number(values.polls);
  const unchanged = await phase(() => 0, polls);
  const changed = await phase((i) => i + 1, polls);
  const rss = memoryUsage().rss / 2 ** 20;
  const heap = memoryUsage().heapUsed / 2 ** 20;
  stop.abort();
  await cluster.stopped;
  client.close();
  child.kill("SIGTERM");
  await child.status;

  if (values.json) {
    print(JSON.stringify({
      nodes: size.nodes,
      resources: size.volumes * size.replicas,
      bytes,
      coldCpuMs,
      unchanged,
      changed,
      rssMiB: rss,
      heapMiB: heap,
    }));
    return;
  }
  const rows: [string, PhaseResult][] = [
    ["poll, nothing changed", unchanged],
    ["poll, 1% of disk states changed", changed],
  ];
  print(
    `LINSTOR poll at ${size.nodes} nodes, ${
      size.volumes * size.replicas
    } resources ` +
      `(${
        (bytes / 2 ** 20).toFixed(1)
      } MiB of JSON per poll), Deno ${Deno.version.deno}`,
  );
  print(
    "| poll                            | polls | CPU ms/poll | longest stall ms | p99 stall ms | longest stall, CPU ms | longest slice |",
  );
  print(
    "| ------------------------------- | ----: | ----------: | ---------------: | -----------: | --------------------: | ------------: |",
  );
  for (const [name, r] of rows) {
    print(
      `| ${name.padEnd(31)} | ${String(r.polls).padStart(5)} | ${
        r.cpuPerPollMs.toFixed(1).padStart(11)
      } | ${r.longestStallMs.toFixed(1).padStart(16)} | ${
        r.p99StallMs.toFixed(1).padStart(12)
      } | ${r.longestStallCpuMs.toFixed(1).padStart(21)} | ${
        r.longestSegmentMs.toFixed(1).padStart(13)
      } |`,
    );
  }
  print(`first (full) poll: ${coldCpuMs.toFixed(0)} ms CPU`);
  print(`RSS ${rss.toFixed(0)} MiB, V8 heap used ${heap.toFixed(0)} MiB`);
}

if (import.meta.main) await main();
