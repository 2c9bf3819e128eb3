/**
 * Benchmark of the extender at its target size: 5,000 nodes, 100,000 LINSTOR
 * resources (33,334 volumes × 3 replicas), 50,000 PVs/PVCs. A pod with 3 PVCs
 * (2 bound, 1 unbound WaitForFirstConsumer) is filtered and prioritized over
 * HTTP on loopback with 500 and 5,000 candidate node names. Client and server
 * share this one process, so one core does both sides.
 *
 * Run: `tools/deno run --allow-all tests/bench/extender_bench.ts` (`--quick`
 * for a 10x smaller cluster). Results are recorded in docs/benchmarks.md.
 *
 * @module
 */
import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from "@kubernetes/client-node";
import { cpuUsage } from "node:process";
import { Registry } from "prom-client";
import type { LinstorData } from "../../src/state/mod.ts";
import { ClusterState } from "../../src/state/mod.ts";
import {
  createExtenderHandler,
  DEFAULT_EXTENDER_CONFIG,
  Reservations,
  startExtender,
} from "../../src/modes/extender/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/mod.ts";
import {
  kubeNode,
  linstorNode,
  pod,
  pv,
  pvc,
  resource,
  resourceDefinition,
  resourceGroup,
  storageClass,
  storagePool,
} from "../_builders/mod.ts";

/** Size of the generated cluster. */
export interface ExtenderBenchSize {
  nodes: number;
  volumes: number;
  replicas: number;
  claims: number;
}

function rdName(v: number): string {
  return `pvc-${v.toString(16).padStart(8, "0")}`;
}

function linstorData(size: ExtenderBenchSize): LinstorData {
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
  const storagePools = nodes.flatMap((node, i) => [
    storagePool(node.name!, "DfltDisklessStorPool", {
      providerKind: "DISKLESS",
      freeKib: null,
      totalKib: null,
    }),
    storagePool(node.name!, "pool1", {
      providerKind: i % 2 === 0 ? "LVM_THIN" : "LVM",
      freeKib: (50 + (i % 200)) * 1024 * 1024,
      totalKib: 400 * 1024 * 1024,
    }),
  ]);
  const resources = [];
  const resourceDefinitions = [];
  for (let v = 0; v < size.volumes; v++) {
    const name = rdName(v);
    resourceDefinitions.push(
      resourceDefinition(name, { resourceGroup: "rg-0" }),
    );
    for (let r = 0; r < size.replicas; r++) {
      const node = `node-${(v * 7 + r * 13) % size.nodes}`;
      resources.push(resource(name, node, {
        ...(r === size.replicas - 1
          ? {
            flags: ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"],
            diskState: "Diskless",
          }
          : {}),
        inUse: r === 0,
      }));
    }
  }
  return {
    nodes,
    storagePools,
    resources,
    resourceDefinitions,
    resourceGroups: [resourceGroup("rg-0")],
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ??
    NaN;
}

/** One measured row. */
export interface ExtenderBenchRow {
  name: string;
  runs: number;
  p50: number;
  p99: number;
  note: string;
}

/** Runs the benchmark; returns the rows and a summary. */
export async function runExtenderBench(
  size: ExtenderBenchSize,
): Promise<{ rows: ExtenderBenchRow[]; summary: string[] }> {
  const rows: ExtenderBenchRow[] = [];
  const summary: string[] = [];
  const state = new ClusterState({ clock: SYSTEM_CLOCK }, {
    kinds: [
      "nodes",
      "persistentVolumes",
      "persistentVolumeClaims",
      "storageClasses",
    ],
    wakeupDebounceMs: 0,
  });
  const scs: V1StorageClass[] = [
    storageClass("linstor-r3", {
      parameters: { storagePool: "pool1", placementCount: "2" },
    }),
    storageClass("linstor-local", {
      parameters: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
    }),
  ];
  const kubeNodes = Array.from(
    { length: size.nodes },
    (_, i) =>
      kubeNode(`node-${i}`, {
        labels: {
          "kubernetes.io/hostname": `node-${i}`,
          "topology.kubernetes.io/zone": `zone-${i % 3}`,
        },
      }),
  );
  const pvs: V1PersistentVolume[] = [];
  const pvcs: V1PersistentVolumeClaim[] = [];
  for (let v = 0; v < size.volumes; v++) {
    pvs.push({
      ...pv(rdName(v), { claim: `ns-${v % 50}/data-${v}` }),
      spec: { ...pv(rdName(v)).spec, storageClassName: "linstor-r3" },
    });
    pvcs.push(
      pvc(`ns-${v % 50}`, `data-${v}`, {
        volumeName: rdName(v),
        storageClassName: "linstor-r3",
      }),
    );
  }
  for (let c = size.volumes; c < size.claims; c++) {
    // Unbound WaitForFirstConsumer claims; 1% already have a selected node.
    const annotations: Record<string, string> = c % 100 === 0
      ? { "volume.kubernetes.io/selected-node": `node-${c % size.nodes}` }
      : {};
    pvcs.push(
      pvc(`ns-${c % 50}`, `data-${c}`, {
        storageClassName: "linstor-local",
        annotations,
      }),
    );
  }
  state.sink("nodes").replace(kubeNodes);
  state.sink("storageClasses").replace(scs);
  state.sink("persistentVolumes").replace(pvs);
  state.sink("persistentVolumeClaims").replace(pvcs);

  const resyncs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const data = linstorData(size);
    const start = performance.now();
    state.applyLinstorData(data, SYSTEM_CLOCK.now());
    state.snapshot();
    resyncs.push(performance.now() - start);
  }
  resyncs.sort((a, b) => a - b);
  rows.push({
    name: "full LINSTOR resync (apply + snapshot)",
    runs: 3,
    p50: percentile(resyncs, 0.5),
    p99: resyncs[resyncs.length - 1]!,
    note: `${
      size.volumes * size.replicas
    } resources, ${size.nodes} nodes; first run cold`,
  });

  const controller = new AbortController();
  const registry = new Registry();
  const { server } = startExtender({
    clock: SYSTEM_CLOCK,
    snapshot: () => state.snapshot(),
    registry,
  }, {
    config: DEFAULT_EXTENDER_CONFIG,
    listen: { hostname: "127.0.0.1", port: 0 },
    signal: controller.signal,
  });
  const base = `http://127.0.0.1:${server.address.port}`;
  // Pod: two bound volumes (3 replicas each, incl. a tie-breaker) + one unbound WFFC claim.
  const benchPod = pod("ns-1", "app", {
    claims: ["data-1", "data-51", `data-${size.volumes + 1}`],
  });
  try {
    for (const count of [500, size.nodes]) {
      const names = Array.from(
        { length: count },
        (_, i) => `node-${(i * 7919) % size.nodes}`,
      );
      const body = JSON.stringify({
        Pod: benchPod,
        Nodes: null,
        NodeNames: names,
      });
      const post = async (verb: string) => {
        const response = await fetch(`${base}/${verb}`, {
          method: "POST",
          body,
        });
        if (response.status !== 200) {
          throw new Error(`Cannot ${verb}: HTTP ${response.status}`);
        }
        return await response.json();
      };
      const first = performance.now();
      const check = await post("filter");
      const cold = performance.now() - first;
      if (!Array.isArray(check.NodeNames)) {
        throw new Error("Cannot bench: no NodeNames in the answer");
      }
      for (let i = 0; i < 50; i++) {
        await post("filter");
        await post("prioritize");
      }
      const runs = count > 1000 ? 400 : 2000;
      const filter: number[] = [];
      const prioritize: number[] = [];
      const started = performance.now();
      const cpuStart = cpuUsage();
      for (let i = 0; i < runs; i++) {
        let t = performance.now();
        await post("filter");
        filter.push(performance.now() - t);
        t = performance.now();
        await post("prioritize");
        prioritize.push(performance.now() - t);
      }
      const elapsed = (performance.now() - started) / 1000;
      const cpu = cpuUsage(cpuStart);
      const cpuPerPairMs = (cpu.user + cpu.system) / 1000 / runs;
      filter.sort((a, b) => a - b);
      prioritize.sort((a, b) => a - b);
      rows.push({
        name: `filter, ${count} names`,
        runs,
        p50: percentile(filter, 0.5),
        p99: percentile(filter, 0.99),
        note:
          `${check.NodeNames.length} pass; first request on a new snapshot ${
            cold.toFixed(1)
          } ms`,
      });
      rows.push({
        name: `prioritize, ${count} names`,
        runs,
        p50: percentile(prioritize, 0.5),
        p99: percentile(prioritize, 0.99),
        note: "",
      });
      summary.push(
        `${count} names: ${
          (runs / elapsed).toFixed(0)
        } filter+prioritize pairs/s wall clock; ${
          cpuPerPairMs.toFixed(2)
        } ms CPU per pair (process total, client + server + GC) → ${
          (1000 / cpuPerPairMs).toFixed(0)
        } pairs/s per core`,
      );
    }
  } finally {
    controller.abort();
    await server.finished;
  }
  // The server's own cost: the handler called in-process, no socket, no client.
  const handler = createExtenderHandler({
    snapshot: () => state.snapshot(),
    clock: SYSTEM_CLOCK,
    config: { ...DEFAULT_EXTENDER_CONFIG, maxStalenessMs: 3_600_000 },
    reservations: new Reservations({ clock: SYSTEM_CLOCK, ttlMs: 60_000 }),
  });
  for (const count of [500, size.nodes]) {
    const names = Array.from(
      { length: count },
      (_, i) => `node-${(i * 7919) % size.nodes}`,
    );
    const body = JSON.stringify({
      Pod: benchPod,
      Nodes: null,
      NodeNames: names,
    });
    const call = async (verb: string) => {
      const response = await handler(
        new Request(`http://bench/${verb}`, { method: "POST", body }),
      );
      if (response.status !== 200) {
        throw new Error(`Cannot ${verb}: HTTP ${response.status}`);
      }
      return await response.text();
    };
    for (let i = 0; i < 50; i++) {
      await call("filter");
      await call("prioritize");
    }
    const runs = count > 1000 ? 400 : 2000;
    const pairs: number[] = [];
    const cpuStart = cpuUsage();
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await call("filter");
      await call("prioritize");
      pairs.push(performance.now() - t);
    }
    const cpu = cpuUsage(cpuStart);
    const cpuPerPairMs = (cpu.user + cpu.system) / 1000 / runs;
    pairs.sort((a, b) => a - b);
    rows.push({
      name: `handler only (no socket), filter + prioritize, ${count} names`,
      runs,
      p50: percentile(pairs, 0.5),
      p99: percentile(pairs, 0.99),
      note: `${cpuPerPairMs.toFixed(2)} ms CPU per pair → ${
        (1000 / cpuPerPairMs).toFixed(0)
      } pairs/s per core`,
    });
  }
  summary.push(
    `RSS after the run: ${
      (Deno.memoryUsage().rss / 1024 / 1024).toFixed(0)
    } MiB`,
  );
  return { rows, summary };
}

function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const size: ExtenderBenchSize = quick
    ? { nodes: 500, volumes: 3_334, replicas: 3, claims: 5_000 }
    : { nodes: 5_000, volumes: 33_334, replicas: 3, claims: 50_000 };
  const { rows, summary } = await runExtenderBench(size);
  const lines = [
    "| measurement | runs | p50 ms | p99 ms | note |",
    "|---|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.runs} | ${formatMs(r.p50)} | ${
        formatMs(r.p99)
      } | ${r.note} |`,
    );
  }
  await Deno.stdout.write(
    new TextEncoder().encode(
      `${lines.join("\n")}\n\n${summary.map((s) => `- ${s}`).join("\n")}\n`,
    ),
  );
}
