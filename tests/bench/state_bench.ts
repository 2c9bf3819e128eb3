/**
 * Benchmark of the cluster state model at the extender's target size:
 * 5,000 nodes, 100,000 LINSTOR resources (50,000 resource definitions with
 * two replicas each), 50,000 PVs, PVCs and pods. Prints one table; results
 * are recorded in docs/benchmarks.md.
 *
 * Run: `tools/deno run --allow-all tests/bench/state_bench.ts`
 * (`--quick` for a 10x smaller cluster).
 *
 * @module
 */
import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
} from "@kubernetes/client-node";
import { cpuUsage } from "node:process";
import type { LinstorData } from "../../src/state/mod.ts";
import {
  buildLinstorView,
  buildLinstorViewCooperatively,
  ClusterState,
  linstorNodeFor,
  replicasOf,
} from "../../src/state/mod.ts";
import {
  kubeNode,
  linstorNode,
  pod,
  pv,
  pvc,
  resource,
  resourceDefinition,
  resourceGroup,
  storagePool,
} from "../_builders/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";

/** Size of the generated cluster. */
export interface BenchSize {
  nodes: number;
  volumes: number;
  replicasPerVolume: number;
}

/** One measured row. */
export interface BenchRow {
  name: string;
  runs: number;
  /** Median in ms. */
  p50: number;
  /** 99th percentile (max for few runs) in ms. */
  p99: number;
  /** Mean CPU time (user + system) per run in ms. */
  cpu: number;
  note: string;
}

/** The LINSTOR bodies a poll reads, by path, as a controller would send them. */
export function linstorBodies(
  data: LinstorData,
): Map<string, Uint8Array<ArrayBuffer>> {
  const encoder = new TextEncoder();
  const body = (value: unknown) => encoder.encode(JSON.stringify(value));
  return new Map([
    ["/v1/nodes", body(data.nodes)],
    ["/v1/view/storage-pools", body(data.storagePools)],
    ["/v1/view/resources", body(data.resources)],
    ["/v1/resource-definitions", body(data.resourceDefinitions)],
    ["/v1/resource-groups", body(data.resourceGroups)],
  ]);
}

/** Generated LINSTOR lists; `variant` > 0 flips the disk state of 1 % of the replicas. */
export function linstorData(size: BenchSize, variant = 0): LinstorData {
  const nodes = Array.from(
    { length: size.nodes },
    (_, i) =>
      linstorNode(`node-${i}`, {
        props: {
          "Aux/topology/kubernetes.io/hostname": `node-${i}`,
          "Aux/topology/topology.kubernetes.io/zone": `zone-${i % 3}`,
        },
      }),
  );
  const storagePools = nodes.flatMap((node) => [
    storagePool(node.name!, "DfltDisklessStorPool", {
      providerKind: "DISKLESS",
      freeKib: null,
      totalKib: null,
    }),
    storagePool(node.name!, "pool1"),
  ]);
  const resources = [];
  const resourceDefinitions = [];
  for (let v = 0; v < size.volumes; v++) {
    const name = `pvc-${v.toString(16).padStart(8, "0")}`;
    resourceDefinitions.push(resourceDefinition(name));
    for (let r = 0; r < size.replicasPerVolume; r++) {
      const node = `node-${(v * 7 + r * 13) % size.nodes}`;
      // `variant` flips the disk state of 1% of the replicas.
      const changed = variant > 0 && (v + variant) % 100 === 0 && r === 0;
      resources.push(resource(name, node, {
        diskState: changed ? "Outdated" : "UpToDate",
        inUse: r === 0,
        createdAt: 1_700_000_000_000 + v,
        props: { "StorPoolName": "pool1" },
      }));
    }
  }
  const resourceGroups = Array.from(
    { length: 10 },
    (_, i) => resourceGroup(`rg-${i}`, { placeCount: 2 }),
  );
  return {
    nodes,
    storagePools,
    resources,
    resourceDefinitions,
    resourceGroups,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function measure(
  name: string,
  runs: number,
  body: (run: number) => void,
  note = "",
): BenchRow {
  const times: number[] = [];
  const cpuStart = cpuUsage();
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    body(i);
    times.push(performance.now() - start);
  }
  const cpuUsed = cpuUsage(cpuStart);
  times.sort((a, b) => a - b);
  return {
    name,
    runs,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    cpu: (cpuUsed.user + cpuUsed.system) / 1000 / runs,
    note,
  };
}

/** Times the slices of a cooperative rebuild (the event-loop stalls). */
async function measureSlices(
  name: string,
  data: LinstorData,
  previous: ReturnType<typeof buildLinstorView>,
): Promise<BenchRow> {
  const slices: number[] = [];
  let last = performance.now();
  await buildLinstorViewCooperatively(data, {
    observedAt: 3,
    previous,
    yieldControl: () => {
      const now = performance.now();
      slices.push(now - last);
      last = now;
      return Promise.resolve();
    },
  });
  slices.push(performance.now() - last);
  slices.sort((a, b) => a - b);
  return {
    name,
    runs: slices.length,
    p50: percentile(slices, 0.5),
    p99: slices[slices.length - 1]!,
    cpu: Number.NaN,
    note: "per slice of 5000 objects; p99 column = longest slice",
  };
}

/** Runs every measurement at `size`; returns the rows. */
export async function runStateBench(size: BenchSize): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const base = linstorData(size);
  const json = JSON.stringify(base.resources);
  rows.push(measure(
    "JSON.parse of /v1/view/resources",
    3,
    () => JSON.parse(json),
    `${(json.length / 1e6).toFixed(0)} MB (client side, for scale)`,
  ));
  const copies = [0, 1, 2, 3].map(() => structuredClone(base));
  rows.push(measure(
    "buildLinstorView cold",
    3,
    (i) => buildLinstorView(copies[i]!, { observedAt: 0 }),
    `${base.resources.length} resources`,
  ));
  const previous = buildLinstorView(copies[3]!, { observedAt: 0 });
  const same = [0, 1, 2].map(() => structuredClone(base));
  rows.push(measure(
    "buildLinstorView resync, unchanged",
    3,
    (i) => buildLinstorView(same[i]!, { observedAt: 1, previous }),
    "every object reused",
  ));
  const changed = [1, 2, 3].map((variant) => linstorData(size, variant));
  rows.push(measure(
    "buildLinstorView resync, 1% changed",
    3,
    (i) => buildLinstorView(changed[i]!, { observedAt: 2, previous }),
    "disk state of 1% of the volumes",
  ));

  rows.push(
    await measureSlices(
      "cooperative resync, 1% changed (event-loop stalls)",
      linstorData(size, 4),
      previous,
    ),
  );

  const clock = new FakeClock();
  const state = new ClusterState({ clock }, {
    kinds: ["nodes", "pods", "persistentVolumes", "persistentVolumeClaims"],
    wakeupDebounceMs: 0,
  });
  const polls = [0, 1, 2].map(() => structuredClone(base));
  rows.push(measure(
    "ClusterState poll apply + snapshot()",
    3,
    (i) => {
      state.applyLinstorData(polls[i]!, clock.now());
      state.snapshot();
    },
    "what the poller does per poll",
  ));

  const kubeNodes = Array.from(
    { length: size.nodes },
    (_, i) => kubeNode(`node-${i}`),
  );
  const pvs: V1PersistentVolume[] = [];
  const pvcs: V1PersistentVolumeClaim[] = [];
  const pods: V1Pod[] = [];
  for (let v = 0; v < size.volumes; v++) {
    const name = `pvc-${v.toString(16).padStart(8, "0")}`;
    pvs.push(pv(name, { claim: `ns-${v % 50}/data-${v}` }));
    pvcs.push(pvc(`ns-${v % 50}`, `data-${v}`, { volumeName: name }));
    pods.push(pod(`ns-${v % 50}`, `app-${v}`, {
      nodeName: `node-${(v * 7) % size.nodes}`,
      claims: [`data-${v}`],
    }));
  }
  rows.push(measure("kube initial lists (all kinds) + snapshot()", 1, () => {
    state.sink("nodes").replace(kubeNodes);
    state.sink("persistentVolumes").replace(pvs);
    state.sink("persistentVolumeClaims").replace(pvcs);
    state.sink("pods").replace(pods);
    state.snapshot();
  }, `${size.nodes} nodes, ${size.volumes} PVs/PVCs/pods`));

  const updates = 5_000;
  const updated = Array.from({ length: updates }, (_, i) => {
    const v = (i * 9973) % size.volumes;
    return pod(`ns-${v % 50}`, `app-${v}`, {
      nodeName: `node-${(v * 11) % size.nodes}`,
      claims: [`data-${v}`],
      resourceVersion: `${2 + i}`,
    });
  });
  rows.push(measure(
    "pod event + snapshot() (event-by-event)",
    updates,
    (i) => {
      state.sink("pods").upsert(updated[i]!);
      state.snapshot();
    },
    "worst case: a read after every event",
  ));
  const pvUpdates = Array.from({ length: updates }, (_, i) => {
    const v = (i * 7919) % size.volumes;
    const name = `pvc-${v.toString(16).padStart(8, "0")}`;
    return pv(name, {
      claim: `ns-${v % 50}/data-${v}`,
      resourceVersion: `${2 + i}`,
    });
  });
  rows.push(measure(
    "PV event + snapshot() (event-by-event)",
    updates,
    (i) => {
      state.sink("persistentVolumes").upsert(pvUpdates[i]!);
      state.snapshot();
    },
  ));
  rows.push(measure(
    "snapshot() unchanged",
    100_000,
    () => state.snapshot(),
    "O(1)",
  ));
  const snapshot = state.snapshot();
  rows.push(measure(
    "query: replicasOf + linstorNodeFor + podsByClaim",
    100_000,
    (i) => {
      const v = (i * 31) % size.volumes;
      replicasOf(snapshot, `pvc-${v.toString(16).padStart(8, "0")}`);
      linstorNodeFor(snapshot, `node-${i % size.nodes}`);
      snapshot.kube.podsByClaim.get(`ns-${v % 50}/data-${v}`);
    },
    "per lookup triple",
  ));
  return rows;
}

function formatMs(ms: number): string {
  if (Number.isNaN(ms)) return "-";
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 1) return ms.toFixed(1);
  if (ms >= 0.001) return ms.toFixed(4);
  return ms.toExponential(1);
}

/** Renders `rows` as a Markdown table. */
export function formatBenchTable(rows: readonly BenchRow[]): string {
  const lines = [
    "| measurement | runs | p50 ms | p99 ms | CPU ms/run | note |",
    "|---|---:|---:|---:|---:|---|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${row.runs} | ${formatMs(row.p50)} | ${
        formatMs(row.p99)
      } | ${formatMs(row.cpu)} | ${row.note} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const size: BenchSize = quick
    ? { nodes: 500, volumes: 5_000, replicasPerVolume: 2 }
    : { nodes: 5_000, volumes: 50_000, replicasPerVolume: 2 };
  const rows = await runStateBench(size);
  const heapMb = Deno.memoryUsage().heapUsed / 1024 / 1024;
  const out = `${formatBenchTable(rows)}\n\nheap used after the run: ${
    heapMb.toFixed(0)
  } MiB\n`;
  await Deno.stdout.write(new TextEncoder().encode(out));
}
