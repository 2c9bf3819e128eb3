/**
 * Benchmark of one LINSTOR poll as a serving process lives it: the real
 * `LinstorClient` over loopback HTTP and the state model's poller apply the
 * five lists, while a ticker measures how long the event loop is blocked
 * (what a scheduler request arriving then would wait). The LINSTOR answers
 * come from a child process (this script with `--serve`), so serving costs
 * nothing here. The polling process itself is a second child (`--probe`)
 * run with V8's `--trace-gc`: its GC pauses are attributed to the phases
 * (first poll, unchanged polls, changed polls) by their timestamps.
 *
 * Run: `tools/deno run --allow-all tests/bench/poll_bench.ts`
 * (`--nodes=500 --volumes=5000 --replicas=3 --polls=8`; `--quick` for
 * 100 nodes / 1,000 volumes; `--probe-v8-flags=--single-threaded-gc` adds
 * V8 flags to the polling process). Prints one table; results in
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
import { linstorBodies, linstorData as stateBenchData } from "./state_bench.ts";

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
  const bodies = new Map<number, Map<string, Uint8Array<ArrayBuffer>>>();
  const bodiesOf = (variant: number) => {
    let found = bodies.get(variant);
    if (found === undefined) {
      found = linstorBodies(linstorData(size, variant));
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
  /** GC pauses of the polling process in this phase (from `--trace-gc`). */
  gc?: GcSummary;
  cpuPerPollMs: number;
  longestStallMs: number;
  p99StallMs: number;
  /** CPU time the process spent between two ticks: the block without other processes' share. */
  longestStallCpuMs: number;
  /**
   * The longest gap counted in the polling thread's own CPU time (from
   * `/proc/thread-self/schedstat`): the block a request would see on a core
   * of its own, without waits for a core or GC helper threads.
   */
  longestStallThreadMs: number;
  /** Longest work between two turns of the parser or the view builder. */
  longestSegmentMs: number;
  /** The same in this thread's CPU time. */
  longestSegmentThreadMs: number;
}

/** GC pauses of one phase. */
interface GcSummary {
  count: number;
  /** Sum of the main-thread pauses, ms. */
  totalMs: number;
  /** Longest main-thread pause (a whole scavenge, a mark-compact's atomic pause or its biggest incremental step), ms. */
  longestMs: number;
  /** What the longest pause was (`Scavenge`, `Mark-Compact`, …). */
  longestKind: string;
}

/** One pause parsed from a `--trace-gc` line. */
interface GcPause {
  /** ms since the isolate started (≈ `performance.now()` of the process). */
  at: number;
  kind: string;
  pauseMs: number;
}

const GC_LINE =
  /^\[\d+:0x[0-9a-f]+\]\s+([\d.]+) ms: (.+?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms(?: \(\+ [\d.]+ ms in \d+ steps since start of marking, biggest step ([\d.]+) ms)?/;

/** The GC pauses in V8's `--trace-gc` output. */
function parseGcTrace(output: string): GcPause[] {
  const pauses: GcPause[] = [];
  for (const line of output.split("\n")) {
    const match = line.match(GC_LINE);
    if (!match) continue;
    const atomic = Number(match[3]);
    const step = match[4] === undefined ? 0 : Number(match[4]);
    pauses.push({
      at: Number(match[1]),
      kind: step > atomic ? `${match[2]} (incremental step)` : match[2]!,
      pauseMs: Math.max(atomic, step),
    });
  }
  return pauses;
}

function summarizeGc(
  pauses: GcPause[],
  window: { start: number; end: number },
): GcSummary {
  const inside = pauses.filter((p) =>
    p.at >= window.start && p.at <= window.end
  );
  let longest: GcPause | undefined;
  for (const p of inside) {
    if (longest === undefined || p.pauseMs > longest.pauseMs) longest = p;
  }
  return {
    count: inside.length,
    totalMs: inside.reduce((sum, p) => sum + p.pauseMs, 0),
    longestMs: longest?.pauseMs ?? 0,
    longestKind: longest?.kind ?? "",
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ??
    0;
}

const OPTIONS = {
  serve: { type: "boolean", default: false },
  probe: { type: "boolean", default: false },
  "probe-v8-flags": { type: "string", default: "" },
  "one-piece": { type: "boolean", default: false },
  quick: { type: "boolean", default: false },
  nodes: { type: "string" },
  volumes: { type: "string" },
  replicas: { type: "string", default: "3" },
  polls: { type: "string", default: "8" },
  json: { type: "boolean", default: false },
} as const;

/** What the probe reports to the driver (one JSON line). */
interface ProbeResult {
  nodes: number;
  resources: number;
  bytes: number;
  coldCpuMs: number;
  unchanged: PhaseResult;
  changed: PhaseResult;
  rssMiB: number;
  heapMiB: number;
  /** `performance.now()` windows of the phases, for GC attribution. */
  windows: Record<"cold" | "unchanged" | "changed", {
    start: number;
    end: number;
  }>;
  cold?: { gc: GcSummary };
}

/** The driver: runs the probe under `--trace-gc` and prints its results. */
async function main(): Promise<void> {
  const { values } = parseArgs({ args: Deno.args, options: OPTIONS });
  if (values.serve) return await serve(sizeOf(values));
  if (values.probe) return await probe();
  const v8Flags = ["--trace-gc", values["probe-v8-flags"]].filter((f) => f)
    .join(",");
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `--v8-flags=${v8Flags}`,
      import.meta.filename!,
      "--probe",
      ...Deno.args.filter((arg) => !arg.startsWith("--probe-v8-flags")),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  // V8 writes its trace through a buffer of its own: a GC line may share
  // a line with the result.
  const at = text.indexOf('{"probe":');
  const line = at < 0 ? undefined : text.slice(at).split("\n")[0]!;
  if (!output.success || line === undefined) {
    throw new Error(`the polling probe failed (exit code ${output.code})`);
  }
  const result = (JSON.parse(line) as { probe: ProbeResult }).probe;
  const pauses = parseGcTrace(text);
  result.cold = { gc: summarizeGc(pauses, result.windows.cold) };
  result.unchanged.gc = summarizeGc(pauses, result.windows.unchanged);
  result.changed.gc = summarizeGc(pauses, result.windows.changed);
  if (values.json) {
    print(JSON.stringify({ ...result, v8Flags }));
    return;
  }
  report(result, v8Flags);
}

function sizeOf(
  values: {
    quick?: boolean;
    nodes?: string;
    volumes?: string;
    replicas?: string;
  },
): Size {
  return {
    nodes: Number(values.nodes ?? (values.quick ? 100 : 500)),
    volumes: Number(values.volumes ?? (values.quick ? 1000 : 5000)),
    replicas: Number(values.replicas ?? 3),
  };
}

/** The polling process: polls, measures, prints one `{"probe": …}` line. */
async function probe(): Promise<void> {
  const { values } = parseArgs({ args: Deno.args, options: OPTIONS });
  const size = sizeOf(values);

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

  // On-CPU time of this (the main) thread in ns; 0 where /proc is missing.
  const schedstat = (() => {
    try {
      return Deno.openSync("/proc/thread-self/schedstat");
    } catch {
      return undefined;
    }
  })();
  const schedBuffer = new Uint8Array(128);
  const threadCpuNs = (): number => {
    if (schedstat === undefined) return 0;
    schedstat.seekSync(0, Deno.SeekMode.Start);
    const n = schedstat.readSync(schedBuffer) ?? 0;
    let value = 0;
    for (let i = 0; i < n; i++) {
      const digit = schedBuffer[i]! - 0x30;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    return value;
  };

  // The longest run of work between two turns given by the parser or the
  // view builder: their own blocks, without anything else in the process.
  // A segment starts at the end of the last turn or the ticker's last run,
  // whichever is later (the event loop was free then).
  let lastTurnEnd: number | undefined;
  let lastTickAt = 0;
  let longestSegmentMs = 0;
  // The same segment in this thread's CPU time.
  let segmentStartNs = 0;
  let longestSegmentThreadMs = 0;
  const turn = async () => {
    const now = performance.now();
    if (lastTurnEnd !== undefined) {
      const start = Math.max(lastTurnEnd, lastTickAt);
      longestSegmentMs = Math.max(longestSegmentMs, now - start);
      longestSegmentThreadMs = Math.max(
        longestSegmentThreadMs,
        (threadCpuNs() - segmentStartNs) / 1e6,
      );
    }
    await SYSTEM_CLOCK.sleep(0);
    lastTurnEnd = performance.now();
    segmentStartNs = threadCpuNs();
  };
  const client = new LinstorClient({
    controllers: [base],
    timeoutMs: 60_000,
    ...(Deno.args.includes("--one-piece") ? {} : { yieldControl: turn }),
  });
  const stop = new AbortController();
  const coldStart = performance.now();
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
  const coldEnd = performance.now();
  const coldCpuMs = (cold.user + cold.system) / 1000;

  async function phase(variants: (i: number) => number, polls: number) {
    const stalls: number[] = [];
    let longestStallCpuMs = 0;
    let longestStallThreadMs = 0;
    let ticking = true;
    const ticker = (async () => {
      while (ticking) {
        const start = performance.now();
        const cpu = cpuUsage();
        const threadStart = threadCpuNs();
        await SYSTEM_CLOCK.sleep(1);
        lastTickAt = performance.now();
        segmentStartNs = threadCpuNs();
        const used = cpuUsage(cpu);
        longestStallThreadMs = Math.max(
          longestStallThreadMs,
          (threadCpuNs() - threadStart) / 1e6,
        );
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
    longestStallThreadMs = 0;
    longestSegmentMs = 0;
    longestSegmentThreadMs = 0;
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
      longestStallThreadMs,
      longestSegmentMs,
      longestSegmentThreadMs,
      window: { start: startedAt, end: startedAt + elapsedMs },
    };
  }

  const polls = Number(values.polls);
  const unchanged = await phase(() => 0, polls);
  const changed = await phase((i) => i + 1, polls);
  const rss = memoryUsage().rss / 2 ** 20;
  const heap = memoryUsage().heapUsed / 2 ** 20;
  stop.abort();
  await cluster.stopped;
  client.close();
  schedstat?.close();
  child.kill("SIGTERM");
  await child.status;

  const { window: unchangedWindow, ...unchangedResult } = unchanged;
  const { window: changedWindow, ...changedResult } = changed;
  const result: ProbeResult = {
    nodes: size.nodes,
    resources: size.volumes * size.replicas,
    bytes,
    coldCpuMs,
    unchanged: unchangedResult,
    changed: changedResult,
    rssMiB: rss,
    heapMiB: heap,
    windows: {
      cold: { start: coldStart, end: coldEnd },
      unchanged: unchangedWindow,
      changed: changedWindow,
    },
  };
  print(JSON.stringify({ probe: result }));
}

function report(result: ProbeResult, v8Flags: string): void {
  const { unchanged, changed, coldCpuMs } = result;
  const rows: [string, PhaseResult][] = [
    ["poll, nothing changed", unchanged],
    ["poll, 1% of disk states changed", changed],
  ];
  print(
    `LINSTOR poll at ${result.nodes} nodes, ${result.resources} resources (${
      (result.bytes / 2 ** 20).toFixed(1)
    } MiB of JSON per poll), Deno ${Deno.version.deno}, V8 flags ${v8Flags}`,
  );
  print(
    "| poll                            | polls | CPU ms/poll | longest stall ms | p99 stall ms | longest stall, CPU ms | longest stall, thread CPU ms | longest slice | longest slice, thread CPU | GC pauses ms/poll | longest GC pause ms |",
  );
  print(
    "| ------------------------------- | ----: | ----------: | ---------------: | -----------: | --------------------: | ---------------------------: | ------------: | ------------------------: | ----------------: | ------------------: |",
  );
  for (const [name, r] of rows) {
    print(
      `| ${name.padEnd(31)} | ${String(r.polls).padStart(5)} | ${
        r.cpuPerPollMs.toFixed(1).padStart(11)
      } | ${r.longestStallMs.toFixed(1).padStart(16)} | ${
        r.p99StallMs.toFixed(1).padStart(12)
      } | ${r.longestStallCpuMs.toFixed(1).padStart(21)} | ${
        r.longestStallThreadMs.toFixed(1).padStart(28)
      } | ${r.longestSegmentMs.toFixed(1).padStart(13)} | ${
        r.longestSegmentThreadMs.toFixed(1).padStart(25)
      } | ${((r.gc?.totalMs ?? 0) / r.polls).toFixed(1).padStart(17)} | ${
        `${(r.gc?.longestMs ?? 0).toFixed(1)} ${r.gc?.longestKind ?? ""}`
          .padStart(19)
      } |`,
    );
  }
  print(
    `first (full) poll: ${coldCpuMs.toFixed(0)} ms CPU, GC pauses ${
      (result.cold?.gc.totalMs ?? 0).toFixed(0)
    } ms, longest ${(result.cold?.gc.longestMs ?? 0).toFixed(1)} ms ${
      result.cold?.gc.longestKind ?? ""
    }`,
  );
  print(
    `RSS ${result.rssMiB.toFixed(0)} MiB, V8 heap used ${
      result.heapMiB.toFixed(0)
    } MiB`,
  );
}

if (import.meta.main) await main();
