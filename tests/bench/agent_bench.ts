/**
 * Benchmark of the node agent's idle cost. Not a timed test.
 *
 * 1. In process: `NodeAgent.pass()` over a fake `lvm` and the LINSTOR
 *    simulator (the real client over an injected fetch), with three tagged
 *    pools already registered: CPU per idle pass, lvm calls and LINSTOR
 *    writes per pass.
 * 2. Real lvm2 (root only): wall time and child CPU (`cutime`+`cstime` of
 *    `/proc/self/stat`) of one scan (`vgs` + `lvs`) on this machine.
 * 3. The process: `main.ts agent` with a fake `lvm` executable against the
 *    simulator over HTTP and a loopback Kubernetes API server: time from tag
 *    to pool, LINSTOR and Kubernetes writes while idle, and `VmRSS`.
 *
 * Run: `tools/deno run --allow-all tests/bench/agent_bench.ts`. Results in
 * docs/benchmarks.md.
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { LinstorClient } from "../../src/linstor/mod.ts";
import {
  NodeAgent,
  nodeEventsFrom,
  scanLvm,
} from "../../src/modes/agent/mod.ts";
import {
  createSimulator,
  parseScenario,
  serveSimulator,
} from "../../src/sim/mod.ts";
import { createCommandRunner, SYSTEM_CLOCK } from "../../src/system/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";
import { startFakeApiServer } from "../_support/fake_apiserver.ts";
import { lvsJson, vgRow, vgsJson } from "../modes/agent/_fixtures.ts";
import { FakeLvm } from "../modes/agent/_world.ts";

const print = (line: string) =>
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));

async function inProcess(): Promise<void> {
  const clock = new FakeClock();
  const sim = createSimulator({
    clock,
    scenario: parseScenario("nodes:\n  - name: n1\n", "bench"),
  });
  let writes = 0;
  const client = new LinstorClient({
    controllers: ["http://sim.invalid:3370"],
    fetch: (request) => {
      if (request.method !== "GET") writes++;
      return sim.handler(request);
    },
    clock,
  });
  const lvm = new FakeLvm();
  lvm.vgs = [
    vgRow("vg1", "linstor-data"),
    vgRow("vg2", "linstor-fast"),
    vgRow("vg3", "linstor-bulk"),
    vgRow("vg4", ""),
  ];
  const kube = new FakeKube({ clock });
  const agent = new NodeAgent({
    runner: lvm,
    linstor: client,
    events: nodeEventsFrom(kube),
    clock,
  }, { node: "n1", removalGraceMs: 60_000 });
  await agent.pass(AbortSignal.timeout(10_000));
  const passes = 500;
  writes = 0;
  const kubeWrites = kube.actions().length;
  const calls = lvm.calls.length;
  for (let i = 0; i < 20; i++) await agent.pass(AbortSignal.timeout(10_000));
  const before = cpuUsage();
  const started = performance.now();
  for (let i = 0; i < passes; i++) {
    await clock.advance(15_000);
    await agent.pass(AbortSignal.timeout(10_000));
  }
  const cpu = cpuUsage(before);
  print(
    `in process: ${passes} idle passes, CPU ${
      ((cpu.user + cpu.system) / 1000 / passes).toFixed(2)
    } ms/pass (wall ${
      ((performance.now() - started) / passes).toFixed(2)
    } ms), lvm calls ${
      (lvm.calls.length - calls) / (passes + 20)
    }/pass, LINSTOR writes ${writes}, Kubernetes writes ${
      kube.actions().length - kubeWrites
    }`,
  );
  client.close();
}

function childCpuMs(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 16 and 17 (1-based, from the pid) are cutime and cstime in ticks.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

async function realLvm(): Promise<void> {
  if (Deno.uid() !== 0) {
    print("real lvm: skipped (not root)");
    return;
  }
  const runner = createCommandRunner();
  const scans = 20;
  const cpuBefore = childCpuMs();
  const started = performance.now();
  let calls = 0;
  for (let i = 0; i < scans; i++) {
    const scan = await scanLvm(runner, { onCall: () => calls++ });
    if (!scan.ok) {
      print(`real lvm: skipped (${scan.error})`);
      return;
    }
  }
  print(
    `real lvm: ${scans} scans, wall ${
      ((performance.now() - started) / scans).toFixed(1)
    } ms/scan, lvm CPU ${
      ((childCpuMs() - cpuBefore) / scans).toFixed(1)
    } ms/scan (10 ms ticks), ${calls / scans} lvm calls/scan`,
  );
}

async function process(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "agent-bench-" });
  const stop = new AbortController();
  const sim = createSimulator({
    clock: SYSTEM_CLOCK,
    scenario: parseScenario("nodes:\n  - name: n1\n", "bench"),
  });
  let linstorWrites = 0;
  const server = await serveSimulator({
    ...sim,
    handler(request: Request) {
      if (request.method !== "GET") linstorWrites++;
      return sim.handler(request);
    },
  }, { hostname: "127.0.0.1", port: 0, signal: stop.signal });
  const apiserver = startFakeApiServer({ clock: SYSTEM_CLOCK });
  const kubeconfig = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${apiserver.url}" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`,
  );
  await Deno.writeTextFile(
    `${dir}/lvm`,
    `#!/bin/sh\ncase "$1" in vgs) cat "${dir}/vgs.json" ;; *) cat "${dir}/lvs.json" ;; esac\n`,
  );
  await Deno.chmod(`${dir}/lvm`, 0o755);
  await Deno.writeTextFile(`${dir}/lvs.json`, lvsJson([]));
  await Deno.writeTextFile(`${dir}/vgs.json`, vgsJson([vgRow("vg1", "")]));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("../../main.ts", import.meta.url).pathname,
      "agent",
      `--kubeconfig=${kubeconfig}`,
      "--node-name=n1",
      `--lvm-path=${dir}/lvm`,
      "--scan-interval=15s",
      "--leader-election=false",
      "--health-address=127.0.0.1:0",
    ],
    env: { LS_CONTROLLERS: server.url, NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const rss = () =>
    Number(
      /VmRSS:\s+(\d+)/.exec(
        Deno.readTextFileSync(`/proc/${child.pid}/status`),
      )?.[1] ?? 0,
    ) / 1024;
  const waitFor = async (what: string, done: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`Cannot wait for ${what}`);
      await SYSTEM_CLOCK.sleep(50);
    }
  };
  try {
    await SYSTEM_CLOCK.sleep(8_000); // started and scanned at least once
    const tagged = Date.now();
    await Deno.writeTextFile(
      `${dir}/vgs.json`,
      vgsJson([vgRow("vg1", "linstor-data")]),
    );
    const hasPool = () =>
      sim.state().storagePools.some((p) => p.storage_pool_name === "data");
    await waitFor("the pool", hasPool, 30_000);
    const latency = Date.now() - tagged;
    await waitFor(
      "the StorageClass",
      () =>
        apiserver.kube.get("storageClasses", "linstor-data-r1") !== undefined,
      40_000,
    );
    const classLatency = Date.now() - tagged;
    await SYSTEM_CLOCK.sleep(2_000);
    const linstorBefore = linstorWrites;
    const kubeBefore = apiserver.requests.filter((r) => r.method !== "GET")
      .length;
    await SYSTEM_CLOCK.sleep(Deno.args.includes("--quick") ? 20_000 : 60_000);
    print(
      `process: tag → pool ${latency} ms, → StorageClass ${classLatency} ms (scan interval 15 s), then idle: LINSTOR writes ${
        linstorWrites - linstorBefore
      }, Kubernetes writes ${
        apiserver.requests.filter((r) => r.method !== "GET").length -
        kubeBefore
      }, VmRSS ${rss().toFixed(0)} MiB`,
    );
    print(
      `  Kubernetes writes: ${
        apiserver.requests.filter((r) => r.method !== "GET").map((r) =>
          `${r.method} ${r.url}`
        ).join(", ")
      }`,
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
    stop.abort();
    await server.finished;
    await apiserver.close();
    await Deno.remove(dir, { recursive: true });
  }
}

await inProcess();
await realLvm();
if (!Deno.args.includes("--no-process")) await process();
