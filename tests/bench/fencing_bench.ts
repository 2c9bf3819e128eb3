/**
 * Fencing benchmark (results in docs/benchmarks.md):
 *
 * A. In process: parse + merge throughput of `drbdsetup events2` lines for
 *    1,000 resources × 3 peers (initial dump, then 30,000 change lines), and
 *    the time of one plan pass over that state with a Kubernetes snapshot of
 *    1,000 PVs, claims, pods and VolumeAttachments, with one peer lost on
 *    every resource (the worst case: 1,000 lost pairs).
 * B. `main.ts fencing` as a process fed the same stream by the drbdsetup
 *    test double (Kubernetes unreachable, so only the fencing agent's own
 *    footprint plus the runtime): CPU seconds and resident memory.
 *
 * Run: deno run --allow-all tests/bench/fencing_bench.ts
 */
import type { V1Pod } from "@kubernetes/client-node";
import {
  DrbdState,
  emptyFencingMemory,
  encodeLostPeers,
  type GenPeer,
  type GenResource,
  initialDump,
  parseEvents2Line,
  peerBackLines,
  peerLostLines,
  planFencing,
} from "../../src/modes/fencing/mod.ts";
import { LABEL_ON_STORAGE_LOST } from "../../src/constants.ts";
import { kubeNode, pod, pv, pvc, volumeAttachment } from "../_builders/kube.ts";
import { buildSnapshot } from "../_builders/snapshot.ts";

const RESOURCES = 1_000;
const PORT = 18_931;
const CHANGES = 30_000;
const T0 = Date.UTC(2026, 6, 1, 10, 0, 0);
const PEERS: GenPeer[] = [
  { peerNodeId: 0, name: "node-a", role: "Primary" },
  { peerNodeId: 2, name: "node-c" },
  { peerNodeId: 3, name: "node-d" },
];

function resources(): GenResource[] {
  return Array.from({ length: RESOURCES }, (_, i) => ({
    name: `pvc-${String(i).padStart(4, "0")}`,
    minor: 1000 + i,
    peers: PEERS,
  }));
}

function streamLines(): { dump: string[]; changes: string[] } {
  const list = resources();
  const dump = initialDump(list, { at: T0 });
  const changes: string[] = [];
  let i = 0;
  while (changes.length < CHANGES) {
    const r = list[i % RESOURCES]!;
    const peer = PEERS[1 + (i % 2)]!;
    const at = T0 + 1000 + i;
    changes.push(...peerLostLines(r.name, peer, { at }));
    changes.push(...peerBackLines(r.name, peer, { at: at + 1 }));
    i++;
  }
  return { dump, changes: changes.slice(0, CHANGES) };
}

function print(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function rssMiB(status: string): { rss: number; hwm: number } {
  const field = (name: string) =>
    Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0) /
    1024;
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed / 1024 / 1024;
}

function inProcess(): void {
  const { dump, changes } = streamLines();
  const heapBefore = heapMiB();
  const state = new DrbdState();
  state.beginResync();
  state.setQuorumPolicies(
    new Map(resources().map((r) => [r.name, "majority"])),
  );
  let started = performance.now();
  for (const line of dump) state.apply(parseEvents2Line(line), T0);
  const dumpMs = performance.now() - started;
  started = performance.now();
  for (const line of changes) state.apply(parseEvents2Line(line), T0 + 60_000);
  const changeMs = performance.now() - started;
  state.view();
  const retainedMiB = heapMiB() - heapBefore;
  // Worst case for the planner: node-a lost on every resource.
  const lostAt = T0 + 100_000;
  for (const r of resources()) {
    for (const line of peerLostLines(r.name, PEERS[0]!, { at: lostAt })) {
      state.apply(parseEvents2Line(line), lostAt);
    }
  }
  const pods: V1Pod[] = [];
  const pvs = [];
  const pvcs = [];
  const vas = [];
  for (const r of resources()) {
    const claim = `data-${r.name}`;
    pvs.push(pv(r.name, { claim: `apps/${claim}` }));
    pvcs.push(pvc("apps", claim, { volumeName: r.name }));
    const p = pod("apps", `web-${r.name}`, {
      nodeName: "node-a",
      claims: [claim],
      labels: { [LABEL_ON_STORAGE_LOST]: "remove" },
    });
    p.metadata!.ownerReferences = [{
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      name: "web",
      uid: "sts",
      controller: true,
    }];
    p.status = { phase: "Running" };
    pods.push(p);
    vas.push(
      volumeAttachment(`va-${r.name}`, { pvName: r.name, nodeName: "node-a" }),
    );
  }
  const nodes = ["node-a", "node-b", "node-c", "node-d"].map((n) => {
    const node = kubeNode(n);
    if (n !== "node-a" && n !== "node-b") {
      node.metadata!.annotations = {
        "fencing.linstor-suite.io/lost-peers": encodeLostPeers({
          at: lostAt,
          lost: ["node-a"],
        }),
      };
    }
    return node;
  });
  const snapshot = buildSnapshot({
    kube: {
      nodes,
      pods,
      persistentVolumes: pvs,
      persistentVolumeClaims: pvcs,
      volumeAttachments: vas,
    },
    takenAt: lostAt,
  });
  const viewTimes: number[] = [];
  const planTimes: number[] = [];
  let actions = 0;
  for (let i = 0; i < 20; i++) {
    state.setQuorumPolicies(
      new Map(resources().map((r) => [r.name, "majority"])),
    ); // invalidates the cached view
    let t = performance.now();
    const view = state.view();
    viewTimes.push(performance.now() - t);
    t = performance.now();
    const plan = planFencing({ drbd: view, snapshot }, {
      now: lostAt + 10_000,
      nodeName: "node-b",
      memory: emptyFencingMemory(),
    });
    planTimes.push(performance.now() - t);
    actions = plan.actions.length;
  }
  const lines = dump.length + changes.length;
  print(
    `A. ${RESOURCES} resources x ${PEERS.length} peers: dump ${dump.length} lines in ${
      dumpMs.toFixed(0)
    } ms, ${changes.length} change lines in ${changeMs.toFixed(0)} ms (${
      ((dump.length + changes.length) / ((dumpMs + changeMs) / 1000) / 1000)
        .toFixed(0)
    }k lines/s, ${(((dumpMs + changeMs) * 1000) / lines).toFixed(1)} us/line)`,
  );
  print(
    `   view() median ${
      median(viewTimes).toFixed(1)
    } ms; planFencing() median ${
      median(planTimes).toFixed(1)
    } ms with ${RESOURCES} lost pairs -> ${actions} actions; the merged state and its view retain ${
      retainedMiB.toFixed(1)
    } MiB of heap`,
  );
}

async function asProcess(
  options: { idle: boolean; v8Flags?: string },
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fencing-bench-" });
  try {
    const lines = streamLines();
    const dump = options.idle ? initialDump([], { at: T0 }) : lines.dump;
    const changes = options.idle ? [] : lines.changes;
    await Deno.copyFile(
      new URL("../_fixtures/drbdsetup/drbdsetup_double.sh", import.meta.url),
      `${dir}/drbdsetup`,
    );
    await Deno.chmod(`${dir}/drbdsetup`, 0o755);
    await Deno.writeTextFile(
      `${dir}/show.json`,
      JSON.stringify(
        resources().map((r) => ({
          resource: r.name,
          options: { quorum: "majority" },
        })),
      ),
    );
    await Deno.writeTextFile(
      `${dir}/events2.1`,
      [...dump, ...changes].join("\n") + "\n",
    );
    await Deno.writeTextFile(`${dir}/events2.1.end`, "hang");
    await Deno.writeTextFile(
      `${dir}/kubeconfig`,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "main.ts",
        "fencing",
        `--kubeconfig=${dir}/kubeconfig`,
        "--node-name=node-b",
        `--drbdsetup=${dir}/drbdsetup`,
        `--health-address=127.0.0.1:${PORT}`,
        "--log-format=json",
      ],
      cwd: new URL("../../", import.meta.url),
      env: options.v8Flags ? { DENO_V8_FLAGS: options.v8Flags } : {},
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const ticks = 100; // USER_HZ
    const cpu = async () => {
      const stat = await Deno.readTextFile(`/proc/${child.pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / ticks;
    };
    const start = performance.now();
    let last = -1;
    let stableSince = performance.now();
    // Wait until the stream is consumed: CPU time flat for 3 s.
    while (performance.now() - start < 120_000) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = await cpu();
      if (now !== last) {
        last = now;
        stableSince = performance.now();
      } else if (performance.now() - stableSince > 3_000) {
        break;
      }
    }
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
    const { rss, hwm } = rssMiB(status);
    const metrics = await (await fetch(`http://127.0.0.1:${PORT}/metrics`))
      .text();
    const applied = metrics.match(
      /^linstor_suite_fencing_events2_lines_total\{[^}]*kind="event"[^}]*\} (\d+)/m,
    )?.[1];
    print(
      `B. main.ts fencing fed ${dump.length + changes.length} lines (${
        applied ?? "?"
      } events applied): CPU ${last.toFixed(2)} s (start-up included), RSS ${
        rss.toFixed(0)
      } MiB (peak ${hwm.toFixed(0)} MiB)`,
    );
    child.kill("SIGTERM");
    await child.status;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  inProcess();
  await asProcess({ idle: true });
  await asProcess({ idle: false });
  await asProcess({ idle: true, v8Flags: "--max-semi-space-size=1" });
  await asProcess({ idle: false, v8Flags: "--max-semi-space-size=1" });
}
