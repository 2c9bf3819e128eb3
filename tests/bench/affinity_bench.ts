/**
 * Benchmark of the affinity mode: one pass over 10,000 LINSTOR PVs without
 * drift (target ≤ 200 ms, 0 API writes): planning time, heap growth, and the
 * writes a full pass makes against `FakeKube` and a counting LINSTOR port.
 * Results are recorded in docs/benchmarks.md.
 *
 * With `--real` it also starts the real control plane and the LINSTOR
 * simulator, migrates 100 bound PVs at once and times the affinity pass
 * that converges them (target: one pass, ≤ 10 s).
 *
 * Run: `tools/deno run --allow-all tests/bench/affinity_bench.ts`
 * (`--quick` for 1,000 PVs, `--real` for the apiserver part).
 *
 * @module
 */
import type { V1PersistentVolume } from "@kubernetes/client-node";
import type { PropsModify } from "../../src/linstor/mod.ts";
import {
  type AffinityLinstor,
  affinityLinstorFrom,
  createAffinityMode,
  planAffinity,
} from "../../src/modes/affinity/mod.ts";
import type { Snapshot } from "../../src/state/mod.ts";
import {
  buildSnapshot,
  linstorNode,
  pv,
  pvc,
  resource,
  resourceDefinition,
  storageClass,
} from "../_builders/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";
import { startControlPlane } from "../_harness/control_plane.ts";
import { fullPv, scenarioYaml } from "../modes/affinity/_world.ts";
import { createKubeApi, loadKubeConfig } from "../../src/kube/client/mod.ts";
import { LinstorClient } from "../../src/linstor/mod.ts";
import {
  createSimulator,
  parseScenario,
  serveSimulator,
} from "../../src/sim/mod.ts";
import { createLinstorReader, startClusterState } from "../../src/state/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/mod.ts";

/** One measured row. */
export interface AffinityBenchRow {
  name: string;
  runs: number;
  /** Median in ms. */
  p50: number;
  /** Slowest run in ms. */
  max: number;
  note: string;
}

const NOW = Date.UTC(2026, 0, 1, 12);

function inSyncPv(name: string, node: string): V1PersistentVolume {
  const made = pv(name, { claim: `ns/c-${name}`, affinityNodes: [node] });
  made.metadata!.creationTimestamp = new Date(NOW - 3_600_000);
  made.spec!.storageClassName = "linstor";
  made.spec!.claimRef!.uid = `uid-c-${name}`;
  return made;
}

function cluster(pvCount: number) {
  const nodeCount = 100;
  const nodes = Array.from(
    { length: nodeCount },
    (_, i) =>
      linstorNode(`node-${i}`, {
        props: {
          "Aux/topology/kubernetes.io/hostname": `node-${i}`,
          "Aux/topology/topology.kubernetes.io/zone": `zone-${i % 3}`,
        },
      }),
  );
  const names = Array.from(
    { length: pvCount },
    (_, i) => `pvc-${i.toString(16).padStart(8, "0")}`,
  );
  const resources = names.flatMap((name, i) => [
    resource(name, `node-${i % nodeCount}`),
    resource(name, `node-${(i + 1) % nodeCount}`),
    resource(name, `node-${(i + 2) % nodeCount}`, {
      flags: ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"],
      diskState: "Diskless",
    }),
  ]);
  const pvs = names.map((name, i) => {
    const made = inSyncPv(name, `node-${i % nodeCount}`);
    made.spec!.nodeAffinity!.required!.nodeSelectorTerms.push({
      matchExpressions: [{
        key: "linbit.com/hostname",
        operator: "In",
        values: [`node-${(i + 1) % nodeCount}`],
      }],
    });
    return made;
  });
  const pvcs = names.map((name) =>
    pvc("ns", `c-${name}`, { uid: `uid-c-${name}`, volumeName: name })
  );
  const storageClasses = [
    storageClass("linstor", {
      parameters: { allowRemoteVolumeAccess: "false" },
    }),
  ];
  return {
    nodes,
    resources,
    resourceDefinitions: names.map((name) => resourceDefinition(name)),
    pvs,
    pvcs,
    storageClasses,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs the benchmark and returns its rows. */
export async function runAffinityBench(
  options: { pvs?: number; runs?: number } = {},
): Promise<AffinityBenchRow[]> {
  const count = options.pvs ?? 10_000;
  const runs = options.runs ?? 20;
  const c = cluster(count);
  const snapshot: Snapshot = buildSnapshot({
    takenAt: NOW,
    linstor: {
      nodes: c.nodes,
      resources: c.resources,
      resourceDefinitions: c.resourceDefinitions,
      observedAt: NOW,
    },
    kube: {
      persistentVolumes: c.pvs,
      persistentVolumeClaims: c.pvcs,
      storageClasses: c.storageClasses,
    },
  });
  const context = {
    now: NOW,
    clusterIdentity: "bench",
    inPlaceSupported: false,
    options: {
      propertyNamespace: "Aux/topology",
      gracePeriodMs: 60_000,
      maxLinstorAgeMs: 60_000,
      maxReplacementsPerPass: 20,
    },
  };
  const rows: AffinityBenchRow[] = [];

  // Planning only.
  const times: number[] = [];
  let planned = planAffinity(snapshot, context);
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    planned = planAffinity(snapshot, context);
    times.push(performance.now() - started);
  }
  if (planned.actions.length !== 0 || planned.examined !== count) {
    throw new Error(
      `Cannot benchmark affinity: expected ${count} PVs in sync, got ${planned.actions.length} actions over ${planned.examined} PVs`,
    );
  }
  // Allocation per plan: heap growth across one plan right after a full GC
  // (needs --v8-flags=--expose-gc,--max-semi-space-size=256 so no scavenge
  // runs in between; otherwise reported as unknown).
  const gc = (globalThis as { gc?: () => void }).gc;
  let allocated =
    "unknown (run with --v8-flags=--expose-gc,--max-semi-space-size=256)";
  if (gc !== undefined) {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      gc();
      const before = Deno.memoryUsage().heapUsed;
      planned = planAffinity(snapshot, context);
      samples.push(Deno.memoryUsage().heapUsed - before);
    }
    allocated = `${
      (median(samples) / 1024 / 1024).toFixed(1)
    } MiB allocated per plan`;
  }
  rows.push({
    name: `planAffinity() over ${count} in-sync PVs`,
    runs,
    p50: median(times),
    max: Math.max(...times),
    note: allocated,
  });

  // A full pass (plan + execute + events) against FakeKube: count writes.
  const clock = new FakeClock(NOW);
  const kube = new FakeKube({ clock });
  let linstorWrites = 0;
  const linstor: AffinityLinstor = {
    modifyVolumeDefinition(
      _resource: string,
      _volume: number,
      _body: PropsModify,
    ): Promise<void> {
      linstorWrites++;
      return Promise.resolve();
    },
  };
  const mode = createAffinityMode({
    kube,
    linstor,
    clock,
    clusterIdentity: "bench",
    state: { snapshot: () => snapshot },
  }, { inPlace: false });
  const passTimes: number[] = [];
  const writesBefore = kube.actions().length;
  for (let i = 0; i < Math.max(3, Math.floor(runs / 4)); i++) {
    const started = performance.now();
    await mode.pass(new AbortController().signal);
    passTimes.push(performance.now() - started);
  }
  const writes = kube.actions().length - writesBefore + linstorWrites;
  rows.push({
    name: `affinity pass over ${count} in-sync PVs`,
    runs: passTimes.length,
    p50: median(passTimes),
    max: Math.max(...passTimes),
    note: `${writes} API writes (Kubernetes + LINSTOR)`,
  });
  await kube.close();
  return rows;
}

/** Formats rows as a Markdown table. */
export function formatAffinityBench(rows: readonly AffinityBenchRow[]): string {
  const lines = [
    "| benchmark | runs | p50 ms | max ms | note |",
    "| --- | ---: | ---: | ---: | --- |",
    ...rows.map((r) =>
      `| ${r.name} | ${r.runs} | ${r.p50.toFixed(1)} | ${
        r.max.toFixed(1)
      } | ${r.note} |`
    ),
  ];
  return lines.join("\n") + "\n";
}

/**
 * 100 drifted PVs against the real apiserver: one in-process pass of the
 * affinity mode (real `KubeApi`, real `LinstorClient` over HTTP to the
 * simulator) after the state model synced.
 */
export async function runAffinityRealBench(
  options: { pvs?: number; workers?: number } = {},
): Promise<AffinityBenchRow[]> {
  const count = options.pvs ?? 100;
  const names = Array.from({ length: count }, (_, i) => `pvc-bench-${i}`);
  const stop = new AbortController();
  await using cp = await startControlPlane();
  const sim = createSimulator({
    clock: SYSTEM_CLOCK,
    scenario: parseScenario(scenarioYaml(names), "bench"),
  });
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
  });
  const kube = createKubeApi(
    loadKubeConfig({ path: cp.adminKubeconfig, env: {} }),
  );
  const linstor = new LinstorClient({ controllers: [server.url] });
  try {
    await cp.createNamespace("ns");
    await cp.request("POST", "/apis/storage.k8s.io/v1/storageclasses", {
      body: {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "linstor" },
        provisioner: "linstor.csi.linbit.com",
        parameters: { allowRemoteVolumeAccess: "false" },
      },
    });
    for (const name of names) {
      const claim = await cp.request<{ metadata: { uid: string } }>(
        "POST",
        "/api/v1/namespaces/ns/persistentvolumeclaims",
        {
          body: {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { name: `claim-${name}`, namespace: "ns" },
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: "linstor",
              volumeName: name,
              resources: { requests: { storage: "1Gi" } },
            },
          },
        },
      );
      const body = fullPv(name, "a");
      body.spec!.claimRef!.uid = claim.metadata.uid;
      delete body.spec!.volumeAttributesClassName;
      await cp.request("POST", "/api/v1/persistentvolumes", { body });
    }
    const running = startClusterState({
      clock: SYSTEM_CLOCK,
      linstor: createLinstorReader(linstor),
      kube,
    }, {
      kinds: ["persistentVolumes", "persistentVolumeClaims", "storageClasses"],
      signal: stop.signal,
      pollIntervalMs: 200,
    });
    const bound = () => {
      const pvs = [...running.state.snapshot().kube.persistentVolumes.values()];
      return pvs.filter((pv) => pv.status?.phase === "Bound").length;
    };
    await waitFor(() => running.state.isSynced() && bound() === count);
    for (const name of names) {
      sim.apply({ action: "move-replica", resource: name, from: "a", to: "b" });
    }
    await waitFor(() =>
      running.state.snapshot().linstor.replicasByResource.get(names[0]!)
        ?.[0]?.node === "b"
    );
    const mode = createAffinityMode({
      kube,
      linstor: affinityLinstorFrom(linstor),
      state: running.state,
      clock: SYSTEM_CLOCK,
      clusterIdentity: "bench",
    }, {
      inPlace: false,
      gracePeriodMs: 0,
      settleMs: 0,
      maxReplacementsPerPass: count,
      workers: options.workers ?? 10,
    });
    const started = performance.now();
    const report = await mode.pass(stop.signal);
    const passMs = performance.now() - started;
    const done = report.execution.executed.length;
    const live = await Promise.all(
      names.map((name) => kube.get({ kind: "persistentVolumes", name })),
    );
    const moved = live.filter((pv) =>
      JSON.stringify(pv.spec?.nodeAffinity ?? {}).includes('"b"')
    ).length;
    const firstError = report.execution.failed[0]?.error;
    return [{
      name: `one pass over ${count} drifted PVs (real apiserver, replace)`,
      runs: 1,
      p50: passMs,
      max: passMs,
      note:
        `${done} replaced, ${report.execution.failed.length} failed, ${moved}/${count} on the new node after the pass, ${
          options.workers ?? 10
        } workers${
          firstError === undefined
            ? ""
            : `; first failure: ${(firstError as Error).message}`
        }`,
    }];
  } finally {
    stop.abort();
    linstor.close();
    await kube.close();
    await server.finished.catch(() => {});
    sim.close();
  }
}

async function waitFor(ready: () => boolean, timeoutMs = 120_000) {
  const deadline = performance.now() + timeoutMs;
  while (!ready()) {
    if (performance.now() > deadline) {
      throw new Error(`Cannot prepare the affinity benchmark: timed out`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const rows = await runAffinityBench(quick ? { pvs: 1_000, runs: 5 } : {});
  if (Deno.args.includes("--real")) {
    const workers = Number(
      Deno.args.find((a) => a.startsWith("--workers="))?.slice(10) ?? 10,
    );
    rows.push(...await runAffinityRealBench({ workers }));
  }
  await Deno.stdout.write(new TextEncoder().encode(formatAffinityBench(rows)));
}
