/**
 * Benchmark of the extender at its target size: 5,000 nodes, 100,000 LINSTOR
 * resources (33,334 volumes × 3 replicas), 50,000 PVs/PVCs. A pod with 3 PVCs
 * (2 bound, 1 unbound WaitForFirstConsumer) is filtered and prioritized over
 * HTTP on loopback with 500 and 5,000 candidate node names, and by the
 * handler alone (no socket). Client and server share this one process, so
 * one core does both sides. The `nodes` phase compares full Node objects
 * (`nodeCacheCapable: false`) with names only at 100 and 500 nodes; its
 * client runs in a child process (it sends 2 × 1.6 MiB per pair at 500
 * nodes), so the CPU it reports is the serving process's alone. That client
 * is `scheduler_client/` (Go's net/http, as kube-scheduler's extender client
 * uses), built with the `go` on the PATH; without Go, or with
 * `--scheduler-client=deno`, it is this file's own `fetch` client, whose
 * collections of the megabyte bodies add to the latencies it measures.
 * It also measures the transport floor: a trivial `Deno.serve` handler that
 * reads each body, frees it, and answers the extender's own answers (the
 * same strings) over the same bodies (what moving the bytes costs with no
 * extender work).
 *
 * Run: `tools/deno run --allow-all tests/bench/extender_bench.ts`
 * - `--quick`: a 10x smaller cluster;
 * - `--phases=resync,http,handler,nodes` (default: all);
 * - `--repeat=N`: N runs, each in its own process; medians and ranges;
 * - `--json`: one line of results (what `--repeat` reads);
 * - `--record`: add (or update) this commit's row in the per-commit table of
 *   `docs/benchmarks.md`, so a regression on the hot path shows.
 * - `--scheduler-client=go|deno`: the `nodes` phase's client (default go,
 *   deno when Go is missing);
 * - `--client=<url> --body=<file> --runs=N`: the `nodes` phase's Deno
 *   client (internal): posts the body's pairs, prints its latencies as JSON.
 *
 * @module
 */
import type {
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from "@kubernetes/client-node";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { Registry } from "../../src/observability/mod.ts";
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
import { provenance } from "./_provenance.ts";
import { runChild } from "./_run_child.ts";
import { cacheRoot } from "../_harness/control_plane.ts";

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

export function linstorData(
  size: ExtenderBenchSize,
  options: {
    /** Node `i`'s name. */
    nodeName?: (i: number) => string;
    /** Volume `v`'s resource name. */
    rdName?: (v: number) => string;
    /** What a real cluster adds: every topology key, pool props, creation times. */
    realistic?: boolean;
  } = {},
): LinstorData {
  const nodeName = options.nodeName ?? ((i: number) => `node-${i}`);
  const volumeName = options.rdName ?? rdName;
  const realistic = options.realistic ?? false;
  const nodes = Array.from(
    { length: size.nodes },
    (_, i) =>
      linstorNode(nodeName(i), {
        props: {
          "Aux/topology/kubernetes.io/hostname": nodeName(i),
          "Aux/topology/topology.kubernetes.io/zone": `zone-${i % 3}`,
          ...(realistic
            ? {
              "Aux/topology/linbit.com/hostname": nodeName(i),
              "Aux/topology/topology.linstor.csi.linbit.com/node": nodeName(i),
            }
            : {}),
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
    const name = volumeName(v);
    resourceDefinitions.push(
      resourceDefinition(name, { resourceGroup: "rg-0" }),
    );
    for (let r = 0; r < size.replicas; r++) {
      const node = nodeName((v * 7 + r * 13) % size.nodes);
      resources.push(resource(name, node, {
        ...(r === size.replicas - 1
          ? {
            flags: ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"],
            diskState: "Diskless",
          }
          : realistic
          ? { props: { StorPoolName: "pool1" } }
          : {}),
        inUse: r === 0,
        ...(realistic ? { createdAt: 1_700_000_000_000 + v } : {}),
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

/** The benchmark's phases (`--phases`). */
export type ExtenderBenchPhase = "resync" | "http" | "handler" | "nodes";

/** All phases, in the order they run. */
export const EXTENDER_BENCH_PHASES: readonly ExtenderBenchPhase[] = Object
  .freeze(["resync", "http", "handler", "nodes"]);

/** The figures one run produces (what `--json` prints and `--record` keeps). */
export interface ExtenderBenchFigures {
  /** Candidate names of the large requests (the cluster's node count). */
  names: number;
  /** Handler CPU per filter + prioritize pair at `names` names (ms). */
  handlerCpuMsPerPair?: number;
  /**
   * 10th percentile of the handler CPU of single pairs (ms): steadier than
   * the mean on a loaded machine, where other processes inflate the mean.
   */
  handlerCpuP10?: number;
  handlerCpuP10At500?: number;
  /** Handler CPU per pair at 500 names (ms). */
  handlerCpuMsPerPair500?: number;
  /** Filter + prioritize over HTTP at `names` names, wall clock per pair (ms). */
  httpPairP50?: number;
  httpPairP99?: number;
  /** The same, each verb alone (ms). */
  httpFilterP99?: number;
  httpPrioritizeP99?: number;
  /** The `nodes` phase's client: kube-scheduler's language (go) or `fetch` (deno). */
  objectsClient?: SchedulerClient["kind"];
  /** Full Node objects at concurrency 1 over HTTP, per verb (ms), by cluster size. */
  objects?: Record<string, {
    namesP50: number;
    namesP99: number;
    objectsP50: number;
    objectsP99: number;
    /** CPU of the serving process per filter + prioritize pair (ms), client excluded. */
    namesCpuMsPerPair: number;
    objectsCpuMsPerPair: number;
    /** CPU of the client process per pair (ms), for comparison. */
    namesClientCpuMsPerPair?: number;
    objectsClientCpuMsPerPair?: number;
    /**
     * The transport floor with full Node objects: a trivial `Deno.serve`
     * handler reading the same bodies and sending the same answers, CPU of
     * the serving process per pair (ms) and latency per verb (ms).
     */
    floorCpuMsPerPair?: number;
    floorP50?: number;
    floorP99?: number;
    bodyBytes: number;
  }>;
  rssMiB: number;
  /** 1-minute load average when the run started (Linux), for the record. */
  loadAtStart?: number;
}

/** A generated cluster loaded into a state model. */
interface BenchCluster {
  state: ClusterState;
  kubeNodes: V1Node[];
}

export function buildCluster(size: ExtenderBenchSize): BenchCluster {
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
  return { state, kubeNodes };
}

/**
 * A Node object as kubelet reports it and kube-scheduler sends it with
 * `nodeCacheCapable: false` (labels, annotations, taints, conditions,
 * addresses, capacity, node info and a few images; about 3.5 KB of JSON).
 */
export function fullNode(node: V1Node, i: number): Record<string, unknown> {
  const name = node.metadata!.name!;
  const time = "2026-11-20T10:00:00Z";
  const condition = (type: string, status: string, reason: string) => ({
    type,
    status,
    lastHeartbeatTime: time,
    lastTransitionTime: time,
    reason,
    message: `kubelet reports ${reason}`,
  });
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      ...node.metadata,
      labels: {
        ...node.metadata!.labels,
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "m5.2xlarge",
        "topology.kubernetes.io/region": "region-1",
      },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        "csi.volume.kubernetes.io/nodeid":
          `{"linstor.csi.linbit.com":"${name}"}`,
        "kubeadm.alpha.kubernetes.io/cri-socket":
          "unix:///run/containerd/containerd.sock",
      },
      creationTimestamp: time,
    },
    spec: {
      podCIDR: `10.${(i >> 8) & 255}.${i & 255}.0/24`,
      podCIDRs: [`10.${(i >> 8) & 255}.${i & 255}.0/24`],
      providerID: `aws:///region-1a/i-${i.toString(16).padStart(17, "0")}`,
    },
    status: {
      capacity: {
        cpu: "8",
        "ephemeral-storage": "203056560Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        memory: "32552340Ki",
        pods: "110",
      },
      allocatable: {
        cpu: "8",
        "ephemeral-storage": "187136925387",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        memory: "32449940Ki",
        pods: "110",
      },
      conditions: [
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID"),
        condition("Ready", "True", "KubeletReady"),
      ],
      addresses: [
        { type: "InternalIP", address: `10.0.${(i >> 8) & 255}.${i & 255}` },
        { type: "Hostname", address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: `${i.toString(16).padStart(32, "0")}`,
        systemUUID: `ec2${i.toString(16).padStart(29, "0")}`,
        bootID: `b${i.toString(16).padStart(31, "0")}`,
        kernelVersion: "6.8.0-1019-aws",
        osImage: "Ubuntu 24.04.1 LTS",
        containerRuntimeVersion: "containerd://1.7.22",
        kubeletVersion: "v1.35.8",
        kubeProxyVersion: "v1.35.8",
        operatingSystem: "linux",
        architecture: "amd64",
      },
      images: [
        "quay.io/piraeusdatastore/drbd9-noble:v9.2.12",
        "quay.io/piraeusdatastore/piraeus-server:v1.29.2",
        "registry.k8s.io/kube-proxy:v1.35.8",
        "registry.k8s.io/pause:3.10",
        "docker.io/library/postgres:17",
      ].map((image, n) => ({
        names: [
          `${image.split(":")[0]}@sha256:${
            (n * 7919 + 17).toString(16).padStart(64, "a")
          }`,
          image,
        ],
        sizeBytes: 30_000_000 + n * 12_345_678,
      })),
    },
  };
}

interface HttpSeries {
  filter: number[];
  prioritize: number[];
  pairs: number[];
  cpuMsPerPair: number;
  elapsedS: number;
  passed: number;
}

/** Posts filter then prioritize `runs` times (after 50 warm-up pairs); sorted latencies. */
async function httpPairs(
  base: string,
  body: string,
  runs: number,
  warm?: () => Promise<void>,
): Promise<HttpSeries> {
  // The answer is read as text: decoding it is kube-scheduler's cost, not ours.
  const post = async (verb: string) => {
    const response = await fetch(`${base}/${verb}`, { method: "POST", body });
    if (response.status !== 200) {
      throw new Error(`Cannot ${verb}: HTTP ${response.status}`);
    }
    return await response.text();
  };
  const check = JSON.parse(await post("filter"));
  const passed = Array.isArray(check.NodeNames)
    ? check.NodeNames.length
    : Array.isArray(check.Nodes?.items)
    ? check.Nodes.items.length
    : -1;
  if (passed < 0) throw new Error("Cannot bench: no nodes in the answer");
  for (let i = 0; i < 50; i++) {
    await post("filter");
    await post("prioritize");
  }
  await warm?.();
  const filter: number[] = [];
  const prioritize: number[] = [];
  const pairs: number[] = [];
  const started = performance.now();
  const cpuStart = cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await post("filter");
    const t1 = performance.now();
    await post("prioritize");
    const t2 = performance.now();
    filter.push(t1 - t0);
    prioritize.push(t2 - t1);
    pairs.push(t2 - t0);
  }
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = cpuUsage(cpuStart);
  for (const list of [filter, prioritize, pairs]) list.sort((a, b) => a - b);
  return {
    filter,
    prioritize,
    pairs,
    cpuMsPerPair: (cpu.user + cpu.system) / 1000 / runs,
    elapsedS,
    passed,
  };
}

/**
 * Runs `httpPairs()` in a child process (this file with `--client`) against
 * `base`; the returned CPU per pair is this (serving) process's over the
 * measured pairs, the client's own is `clientCpuMsPerPair`.
 */
async function childHttpPairs(
  client: SchedulerClient,
  base: string,
  options: { body: string; runs: number },
): Promise<HttpSeries & { clientCpuMsPerPair: number }> {
  const { body, runs } = options;
  const file = await Deno.makeTempFile({ prefix: "extender-bench-body-" });
  try {
    await Deno.writeTextFile(file, body);
    const child = new Deno.Command(client.command, {
      args: client.kind === "go"
        ? [`-base=${base}`, `-body=${file}`, `-runs=${runs}`]
        : [
          "run",
          "--allow-all",
          new URL(import.meta.url).pathname,
          `--client=${base}`,
          `--body=${file}`,
          `--runs=${runs}`,
        ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    const writer = child.stdin.getWriter();
    let buffered = "";
    const nextLine = async (): Promise<string> => {
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return line;
        }
        const { done, value } = await lines.read();
        if (done) throw new Error("Cannot bench: the client ended early");
        buffered += value;
      }
    };
    if (await nextLine() !== "warm") {
      throw new Error("Cannot bench: the client did not warm up");
    }
    const cpuStart = cpuUsage();
    await writer.write(new TextEncoder().encode("go\n"));
    const result = JSON.parse(await nextLine()) as
      & HttpSeries
      & { clientCpuMsPerPair: number };
    const cpu = cpuUsage(cpuStart);
    await writer.close();
    await lines.cancel();
    const status = await child.status;
    if (!status.success) throw new Error("Cannot bench: the client failed");
    return {
      ...result,
      clientCpuMsPerPair: result.cpuMsPerPair,
      cpuMsPerPair: (cpu.user + cpu.system) / 1000 / runs,
    };
  } finally {
    await Deno.remove(file);
  }
}

/** The child side of `childHttpPairs()`: warm up, wait for "go", measure, print. */
async function runClient(base: string, bodyFile: string, runs: number) {
  const body = await Deno.readTextFile(bodyFile);
  const input = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
    .getReader();
  const series = await httpPairs(base, body, runs, async () => {
    print("warm");
    let got = "";
    while (!got.includes("\n")) {
      const { done, value } = await input.read();
      if (done) throw new Error("Cannot bench: no go from the server side");
      got += value;
    }
  });
  input.releaseLock();
  print(JSON.stringify(series));
}

/**
 * The transport floor of `body`: the extender at `base` answers filter and
 * prioritize once, then a trivial `Deno.serve` handler in this process reads
 * each body in one piece, frees it and sends those answers (the same
 * strings) to the same child client as `childHttpPairs()`.
 */
async function floorPairs(
  client: SchedulerClient,
  base: string,
  options: { body: string; runs: number },
): Promise<HttpSeries & { clientCpuMsPerPair: number }> {
  const { body } = options;
  // Strings, as the extender answers: Deno encodes a string answer outside
  // V8's heap, while a bytes answer is copied into a new `ArrayBuffer` per
  // response, whose megabytes then start collections the extender does not
  // pay for.
  const answers = new Map<string, string>();
  for (const verb of ["filter", "prioritize"]) {
    const response = await fetch(`${base}/${verb}`, { method: "POST", body });
    answers.set(`/${verb}`, await response.text());
  }
  const server = answeringServer(
    new Map([...answers].map(([path, body]) => [path, { body }])),
    // Freed at once, as the extender frees each body it is done with.
    async (request) => (await request.bytes()).buffer.transfer(0),
  );
  try {
    return await childHttpPairs(client, server.base, options);
  } finally {
    await server.stop();
  }
}

/**
 * A loopback server that reads each request with `read` and answers the
 * text kept for its path (`/filter`: status 200 unless given), 404 else.
 */
export function answeringServer(
  answers: ReadonlyMap<string, { body: string; status?: number }>,
  read: (request: Request) => Promise<unknown>,
): { base: string; stop: () => Promise<void> } {
  const headers = { "content-type": "application/json" };
  const controller = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen: () => {},
  }, async (request) => {
    await read(request);
    const answer = answers.get(new URL(request.url).pathname);
    return answer === undefined
      ? new Response("not found", { status: 404 })
      : new Response(answer.body, { status: answer.status ?? 200, headers });
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    stop: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

function startBenchServer(
  state: ClusterState,
  signal: AbortSignal,
): { base: string; finished: Promise<void> } {
  const { server } = startExtender({
    clock: SYSTEM_CLOCK,
    snapshot: () => state.snapshot(),
    registry: new Registry(),
  }, {
    config: DEFAULT_EXTENDER_CONFIG,
    listen: { hostname: "127.0.0.1", port: 0 },
    signal,
  });
  return {
    base: `http://127.0.0.1:${server.address.port}`,
    finished: server.finished,
  };
}

/**
 * The pod: two bound volumes (3 replicas each, incl. a tie-breaker) and one
 * unbound WaitForFirstConsumer local-only claim of its namespace `ns-1`
 * (capacity, reservations). Before 2026-12-03 the unbound claim named here
 * was in another namespace, so it was "not in the cache" and capacity and
 * reservations were never exercised.
 */
export function benchPodOf(size: ExtenderBenchSize): V1Pod {
  let unbound = size.volumes;
  while (unbound % 50 !== 1 || unbound % 100 === 0) unbound++;
  return pod("ns-1", "app", {
    claims: ["data-1", "data-51", `data-${unbound}`],
  });
}

function candidateNames(count: number, nodes: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `node-${(i * 7919) % nodes}`,
  );
}

/** Pairs per series of the `nodes` phase. */
const NODES_PHASE_RUNS = 1000;

type ObjectsFigures = NonNullable<ExtenderBenchFigures["objects"]>;

/**
 * The `nodes` phase in this process: names only, full Node objects and the
 * transport floor at 100 and 500 nodes, with `client` in a child process.
 */
async function nodesPhase(client: SchedulerClient): Promise<ObjectsFigures> {
  const result: ObjectsFigures = {};
  for (const nodes of [100, 500]) {
    const small: ExtenderBenchSize = {
      nodes,
      volumes: nodes * 10,
      replicas: 3,
      claims: nodes * 15,
    };
    const { state, kubeNodes } = buildCluster(small);
    state.applyLinstorData(linstorData(small), SYSTEM_CLOCK.now());
    const smallPod = benchPodOf(small);
    const namesBody = JSON.stringify({
      Pod: smallPod,
      Nodes: null,
      NodeNames: kubeNodes.map((n) => n.metadata!.name!),
    });
    const objectsBody = JSON.stringify({
      Pod: smallPod,
      Nodes: { metadata: {}, items: kubeNodes.map(fullNode) },
      NodeNames: null,
    });
    const controller = new AbortController();
    const { base, finished } = startBenchServer(state, controller.signal);
    try {
      const runs = 1000;
      const names = await childHttpPairs(client, base, {
        body: namesBody,
        runs,
      });
      const objects = await childHttpPairs(client, base, {
        body: objectsBody,
        runs,
      });
      if (objects.passed !== names.passed) {
        throw new Error(
          `Cannot bench: ${objects.passed} Node objects pass but ${names.passed} names`,
        );
      }
      const floor = await floorPairs(client, base, {
        body: objectsBody,
        runs,
      });
      const all = (s: HttpSeries) =>
        [...s.filter, ...s.prioritize].sort((a, b) => a - b);
      const n = all(names);
      const o = all(objects);
      const f = all(floor);
      result[String(nodes)] = {
        namesP50: percentile(n, 0.5),
        namesP99: percentile(n, 0.99),
        objectsP50: percentile(o, 0.5),
        objectsP99: percentile(o, 0.99),
        namesCpuMsPerPair: names.cpuMsPerPair,
        objectsCpuMsPerPair: objects.cpuMsPerPair,
        namesClientCpuMsPerPair: names.clientCpuMsPerPair,
        objectsClientCpuMsPerPair: objects.clientCpuMsPerPair,
        floorCpuMsPerPair: floor.cpuMsPerPair,
        floorP50: percentile(f, 0.5),
        floorP99: percentile(f, 0.99),
        bodyBytes: new TextEncoder().encode(objectsBody).length,
      };
    } finally {
      controller.abort();
      await finished;
    }
  }
  return result;
}

/**
 * The `nodes` phase in a process of its own (this file with
 * `--phases=nodes`): an extender at 100 or 500 nodes has a heap of that
 * size, and the 5,000-node cluster of the other phases would put its
 * collections in these latencies (or, run first, leave the heap grown for
 * the others).
 */
async function nodesPhaseApart(
  client: SchedulerClient,
): Promise<ObjectsFigures> {
  const figures = await runChild("./extender_bench.ts", [
    "--phases=nodes",
    `--scheduler-client=${client.kind}`,
    "--json",
  ]) as ExtenderBenchFigures;
  if (figures.objects === undefined) {
    throw new Error("Cannot bench: the nodes phase's process gave no figures");
  }
  return figures.objects;
}

/** The `nodes` phase's rows, from its figures. */
function nodeRowsOf(objects: ObjectsFigures): ExtenderBenchRow[] {
  const runs = NODES_PHASE_RUNS * 2;
  return Object.entries(objects).flatMap(([nodes, o]) => [{
    name: `${nodes} nodes, names only, filter or prioritize`,
    runs,
    p50: o.namesP50,
    p99: o.namesP99,
    note: `${o.namesCpuMsPerPair.toFixed(2)} ms server CPU per pair (client ${
      o.namesClientCpuMsPerPair?.toFixed(2)
    } ms, another process)`,
  }, {
    name: `${nodes} nodes, full Node objects, filter or prioritize`,
    runs,
    p50: o.objectsP50,
    p99: o.objectsP99,
    note: `${o.objectsCpuMsPerPair.toFixed(2)} ms server CPU per pair (${
      (o.objectsCpuMsPerPair / o.namesCpuMsPerPair).toFixed(1)
    }× names; client ${
      o.objectsClientCpuMsPerPair?.toFixed(2)
    } ms, another process); body ${(o.bodyBytes / 1024).toFixed(0)} KiB`,
  }, {
    name: `${nodes} nodes, full Node objects, transport floor (trivial server)`,
    runs,
    p50: o.floorP50 ?? NaN,
    p99: o.floorP99 ?? NaN,
    note: `${o.floorCpuMsPerPair?.toFixed(2)} ms server CPU per pair (${
      ((o.floorCpuMsPerPair ?? NaN) / o.namesCpuMsPerPair).toFixed(1)
    }× names): reading the same bodies, sending the same answers`,
  }]);
}

/** Runs the chosen phases; returns the rows, a summary and the figures. */
export async function runExtenderBench(
  size: ExtenderBenchSize,
  options: {
    phases?: ReadonlySet<ExtenderBenchPhase>;
    /** The `nodes` phase's client (default: the Deno client). */
    client?: SchedulerClient;
  } = {},
): Promise<
  {
    rows: ExtenderBenchRow[];
    summary: string[];
    figures: ExtenderBenchFigures;
  }
> {
  const phases = options.phases ?? new Set(EXTENDER_BENCH_PHASES);
  const rows: ExtenderBenchRow[] = [];
  const summary: string[] = [];
  const figures: ExtenderBenchFigures = { names: size.nodes, rssMiB: 0 };
  try {
    figures.loadAtStart = Number(
      (await Deno.readTextFile("/proc/loadavg")).split(" ")[0],
    );
  } catch {
    // Not Linux: no load figure.
  }
  const client = options.client ?? denoClient();
  if (phases.has("nodes")) {
    figures.objectsClient = client.kind;
    figures.objects = phases.size === 1
      ? await nodesPhase(client)
      : await nodesPhaseApart(client);
  }
  const benchPod = benchPodOf(size);
  if (phases.has("resync") || phases.has("http") || phases.has("handler")) {
    const { state } = buildCluster(size);
    const resyncs: number[] = [];
    for (let i = 0; i < (phases.has("resync") ? 3 : 1); i++) {
      const data = linstorData(size);
      const start = performance.now();
      state.applyLinstorData(data, SYSTEM_CLOCK.now());
      state.snapshot();
      resyncs.push(performance.now() - start);
    }
    if (phases.has("resync")) {
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
    }
    if (phases.has("http")) {
      const controller = new AbortController();
      const { base, finished } = startBenchServer(state, controller.signal);
      try {
        for (const count of [500, size.nodes]) {
          const body = JSON.stringify({
            Pod: benchPod,
            Nodes: null,
            NodeNames: candidateNames(count, size.nodes),
          });
          const runs = count > 1000 ? 400 : 2000;
          const s = await httpPairs(base, body, runs);
          rows.push({
            name: `filter, ${count} names`,
            runs,
            p50: percentile(s.filter, 0.5),
            p99: percentile(s.filter, 0.99),
            note: `${s.passed} pass`,
          });
          rows.push({
            name: `prioritize, ${count} names`,
            runs,
            p50: percentile(s.prioritize, 0.5),
            p99: percentile(s.prioritize, 0.99),
            note: "",
          });
          rows.push({
            name: `filter + prioritize, ${count} names`,
            runs,
            p50: percentile(s.pairs, 0.5),
            p99: percentile(s.pairs, 0.99),
            note: `${
              s.cpuMsPerPair.toFixed(2)
            } ms process CPU per pair (client + server + GC)`,
          });
          summary.push(
            `${count} names over HTTP: ${
              (runs / s.elapsedS).toFixed(0)
            } pairs/s wall clock; ${
              s.cpuMsPerPair.toFixed(2)
            } ms CPU per pair (process total) → ${
              (1000 / s.cpuMsPerPair).toFixed(0)
            } pairs/s per core`,
          );
          if (count === size.nodes) {
            figures.httpPairP50 = percentile(s.pairs, 0.5);
            figures.httpPairP99 = percentile(s.pairs, 0.99);
            figures.httpFilterP99 = percentile(s.filter, 0.99);
            figures.httpPrioritizeP99 = percentile(s.prioritize, 0.99);
          }
        }
      } finally {
        controller.abort();
        await finished;
      }
    }
    if (phases.has("handler")) {
      // The server's own cost: the handler called in-process, no socket, no client.
      const handler = createExtenderHandler({
        snapshot: () => state.snapshot(),
        clock: SYSTEM_CLOCK,
        config: { ...DEFAULT_EXTENDER_CONFIG, maxStalenessMs: 3_600_000 },
        reservations: new Reservations({ clock: SYSTEM_CLOCK, ttlMs: 60_000 }),
      });
      for (const count of [500, size.nodes]) {
        const body = JSON.stringify({
          Pod: benchPod,
          Nodes: null,
          NodeNames: candidateNames(count, size.nodes),
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
        const pairCpu: number[] = [];
        const cpuStart = cpuUsage();
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          const c = cpuUsage();
          await call("filter");
          await call("prioritize");
          const used = cpuUsage(c);
          pairs.push(performance.now() - t);
          pairCpu.push((used.user + used.system) / 1000);
        }
        const cpu = cpuUsage(cpuStart);
        pairCpu.sort((a, b) => a - b);
        const cpuPerPairMs = (cpu.user + cpu.system) / 1000 / runs;
        pairs.sort((a, b) => a - b);
        rows.push({
          name: `handler only (no socket), filter + prioritize, ${count} names`,
          runs,
          p50: percentile(pairs, 0.5),
          p99: percentile(pairs, 0.99),
          note: `${cpuPerPairMs.toFixed(2)} ms CPU per pair → ${
            (1000 / cpuPerPairMs).toFixed(0)
          } pairs/s per core; per-pair CPU p10 ${
            percentile(pairCpu, 0.1).toFixed(2)
          } ms`,
        });
        if (count === size.nodes) {
          figures.handlerCpuMsPerPair = cpuPerPairMs;
          figures.handlerCpuP10 = percentile(pairCpu, 0.1);
        } else {
          figures.handlerCpuMsPerPair500 = cpuPerPairMs;
          figures.handlerCpuP10At500 = percentile(pairCpu, 0.1);
        }
      }
    }
  }
  if (figures.objects !== undefined) {
    rows.push(...nodeRowsOf(figures.objects));
    summary.push(
      `Node-objects client: ${client.description}${
        phases.size === 1 ? "" : "; in a process of its own"
      }`,
    );
  }
  figures.rssMiB = Deno.memoryUsage().rss / 1024 / 1024;
  summary.push(`RSS after the run: ${figures.rssMiB.toFixed(0)} MiB`);
  return { rows, summary, figures };
}

function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** `median (min–max)` of the runs' values, or the one value. */
function spread(values: (number | undefined)[], digits = 2): string {
  const known = values.filter((v): v is number => v !== undefined);
  if (known.length === 0) return "—";
  const m = median(known).toFixed(digits);
  if (known.length === 1) return m;
  return `${m} (${Math.min(...known).toFixed(digits)}–${
    Math.max(...known).toFixed(digits)
  })`;
}

const RECORD_START = "<!-- extender-bench-record:start -->";
const RECORD_END = "<!-- extender-bench-record:end -->";
const RECORD_HEADER = [
  "| commit | date (UTC) | machine | runs | handler CPU ms/pair, 5000 names | handler CPU ms/pair, 500 names | HTTP pair p50 / p99 ms, 5000 names | Node objects p99 ms, 100 / 500 nodes | objects ÷ names CPU, 500 nodes | RSS MiB |",
  "| ------ | ---------- | ------- | ---: | ------------------------------: | -----------------------------: | ---------------------------------: | -----------------------------------: | ----------------------------: | ------: |",
];

/** The record row of these runs. */
function recordRow(
  where: { commit: string; date: string; machine: string },
  runs: ExtenderBenchFigures[],
): string {
  const objects = (
    size: string,
    pick: (o: NonNullable<ExtenderBenchFigures["objects"]>[string]) => number,
  ) => runs.map((r) => r.objects?.[size] ? pick(r.objects[size]) : undefined);
  const cells = [
    `\`${where.commit}\``,
    where.date,
    where.machine,
    String(runs.length),
    spread(runs.map((r) => r.handlerCpuMsPerPair)),
    spread(runs.map((r) => r.handlerCpuMsPerPair500)),
    `${spread(runs.map((r) => r.httpPairP50))} / ${
      spread(runs.map((r) => r.httpPairP99))
    }`,
    `${spread(objects("100", (o) => o.objectsP99))} / ${
      spread(objects("500", (o) => o.objectsP99))
    }${
      // Rows before the Go client measured with Deno's fetch.
      runs.some((r) => r.objectsClient === "go") ? " (Go client)" : ""}`,
    spread(
      objects("500", (o) => o.objectsCpuMsPerPair / o.namesCpuMsPerPair),
      1,
    ),
    spread(runs.map((r) => r.rssMiB), 0),
  ];
  return `| ${cells.join(" | ")} |`;
}

/**
 * Adds `row` to the per-commit table of `docs/benchmarks.md` (replacing a
 * row of the same commit), creating the table after the extender section's
 * heading when missing.
 */
async function record(row: string, commit: string): Promise<string> {
  const path = new URL("../../docs/benchmarks.md", import.meta.url).pathname;
  const doc = await Deno.readTextFile(path);
  const start = doc.indexOf(RECORD_START);
  const end = doc.indexOf(RECORD_END);
  if (start < 0 || end < start) {
    throw new Error(
      `Cannot record "${path}": no ${RECORD_START} … ${RECORD_END} block`,
    );
  }
  const body = doc.slice(start + RECORD_START.length, end).split("\n")
    .filter((line) => /^\|\s*`[^`]+`\s*\|/.test(line))
    // `deno fmt` pads the cells: compare the commit cell, not the text.
    .filter((line) => /^\|\s*`([^`]+)`/.exec(line)?.[1] !== commit);
  body.push(row);
  // Blank lines around the table, as `deno fmt` leaves them.
  const table = [RECORD_START, "", ...RECORD_HEADER, ...body, "", RECORD_END]
    .join("\n");
  await Deno.writeTextFile(
    path,
    doc.slice(0, start) + table + doc.slice(end + RECORD_END.length),
  );
  return path;
}

/** The process the `nodes` phase runs as its client. */
export interface SchedulerClient {
  kind: "go" | "deno";
  command: string;
  description: string;
}

function denoClient(why?: string): SchedulerClient {
  return {
    kind: "deno",
    command: Deno.execPath(),
    description: `this file's fetch client, in a child process${
      why === undefined ? "" : ` (${why})`
    }`,
  };
}

/**
 * Builds `scheduler_client/` with the `go` on the PATH into the cache
 * (`go build` reuses its own cache: a second build takes a moment), or says
 * why it cannot.
 */
export async function buildSchedulerClient(): Promise<
  SchedulerClient | string
> {
  const source = new URL("./scheduler_client/", import.meta.url).pathname;
  const output = `${cacheRoot()}/bench/scheduler_client`;
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("go", {
      args: ["build", "-o", output, "."],
      cwd: source,
      env: { GOTOOLCHAIN: "local", CGO_ENABLED: "0" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "no go on the PATH";
    throw error;
  }
  if (!result.success) {
    return `go build failed: ${
      new TextDecoder().decode(result.stderr).trim().split("\n")[0]
    }`;
  }
  return {
    kind: "go",
    command: output,
    description:
      "Go's net/http (kube-scheduler's extender transport), in a child process",
  };
}

function print(text: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      phases: { type: "string", default: EXTENDER_BENCH_PHASES.join(",") },
      repeat: { type: "string", default: "1" },
      json: { type: "boolean", default: false },
      record: { type: "boolean", default: false },
      client: { type: "string" },
      "scheduler-client": { type: "string", default: "go" },
      body: { type: "string" },
      runs: { type: "string", default: "1000" },
    },
  });
  if (values.client !== undefined) {
    if (values.body === undefined) {
      throw new RangeError('Cannot run the client: "--body" is missing');
    }
    await runClient(values.client, values.body, Number(values.runs));
    return;
  }
  const size: ExtenderBenchSize = values.quick
    ? { nodes: 500, volumes: 3_334, replicas: 3, claims: 5_000 }
    : { nodes: 5_000, volumes: 33_334, replicas: 3, claims: 50_000 };
  const phases = new Set(
    values.phases.split(",").filter((p) => p !== "") as ExtenderBenchPhase[],
  );
  for (const phase of phases) {
    if (!EXTENDER_BENCH_PHASES.includes(phase)) {
      throw new RangeError(
        `Cannot run phase "${phase}": expected one of ${
          EXTENDER_BENCH_PHASES.join(", ")
        }`,
      );
    }
  }
  if (values.record && values.quick) {
    throw new RangeError(
      'Cannot record "--quick" runs: the table holds the full-size benchmark',
    );
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new RangeError(
      `Cannot repeat "${values.repeat}" times: expected a positive integer`,
    );
  }
  const kind = values["scheduler-client"];
  if (kind !== "go" && kind !== "deno") {
    throw new RangeError(
      `Cannot use scheduler client "${kind}": expected go or deno`,
    );
  }
  const runs: ExtenderBenchFigures[] = [];
  if (repeat === 1) {
    let client: SchedulerClient | undefined;
    if (phases.has("nodes")) {
      const go = kind === "go"
        ? await buildSchedulerClient()
        : "--scheduler-client=deno";
      client = typeof go === "string" ? denoClient(go) : go;
    }
    const { rows, summary, figures } = await runExtenderBench(size, {
      phases,
      ...(client ? { client } : {}),
    });
    runs.push(figures);
    if (values.json) {
      print(JSON.stringify(figures));
      return;
    }
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
    print(`${lines.join("\n")}\n\n${summary.map((s) => `- ${s}`).join("\n")}`);
  } else {
    for (let i = 0; i < repeat; i++) {
      runs.push(
        await runChild("./extender_bench.ts", [
          `--phases=${[...phases].join(",")}`,
          `--scheduler-client=${kind}`,
          "--json",
          ...(values.quick ? ["--quick"] : []),
        ]) as ExtenderBenchFigures,
      );
    }
    if (values.json) {
      for (const r of runs) print(JSON.stringify(r));
      return;
    }
  }
  // The load while the runs ran, not only when they ended.
  const loads = runs.map((r) => r.loadAtStart).filter((l): l is number =>
    l !== undefined
  );
  const where = await provenance({
    paths: ["src"],
    loads: loads.map(String),
  });

  const row = recordRow(where, runs);
  print(`\n${RECORD_HEADER.join("\n")}\n${row}`);
  if (values.record) print(`recorded in ${await record(row, where.commit)}`);
}

if (import.meta.main) await main();
