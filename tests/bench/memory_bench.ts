/**
 * Memory of the modes as processes: starts `main.ts extender` (through
 * `_memory_child.ts`, which is `main.ts` plus a heap-snapshot signal) against
 * generated data at 100 nodes / 1,000 volumes, 500 / 5,000 and 5,000 nodes /
 * 100,000 LINSTOR resources, sends filter + prioritize pairs over HTTP and
 * reads the child's resident memory (`VmRSS`, peak `VmHWM` of
 * `/proc/<pid>/status`) and V8 heap (`nodejs_heap_size_*` from
 * `/metrics`); then `main.ts affinity` idle at 100 nodes.
 *
 * The LINSTOR lists (the five the poller reads) and the Kubernetes API (list
 * and watch of the modes' kinds) are served by this process from generated,
 * pre-encoded JSON, so serving costs the child nothing and the harness's own
 * memory is not measured. Kubernetes objects are shaped like a real cluster's
 * (Nodes with images, conditions, node info and managed fields; CSI PVs and
 * bound claims with managed fields), because informer caches hold what the
 * apiserver sends.
 *
 * The processes run with the settings the image ships: the V8 flags of the
 * Dockerfile's runtime-stage `DENO_V8_FLAGS` (given to `deno run` as
 * `--v8-flags`) and its `MALLOC_*` environment (`--shipped-flags=false` runs
 * them bare; `--v8-flags=A,B` adds V8 flags after the shipped ones, e.g. to
 * compare heap-growth settings).
 *
 * Run: `tools/deno run --allow-all tests/bench/memory_bench.ts`
 * (`--sizes=100,500,5000`, `--pairs=3000`, `--names=N` to cap the names per
 * request, `--affinity=false`, `--snapshot=DIR` to write a heap snapshot of
 * each extender after its pairs and print its breakdown by kind
 * (`heap_breakdown.ts`), `--json` for one line per result; `--per-node=20`
 * for 20 LINSTOR resources per node at every size, `--request=objects` for
 * full Node objects instead of names, `--budget-seconds=S` to stop sending
 * pairs after S seconds, `--extender-idle-seconds=S` to measure the
 * extender's CPU while idle for S seconds before the pairs; `scale_bench.ts`
 * uses these; `--child-stdout` lets the processes write to this one's stdout,
 * e.g. V8's `--v8-flags=--trace-gc`). Each result also
 * carries the client's wall-clock p50/p99 per pair after a warm-up of 10 %
 * of the pairs (at most 50). Results in docs/benchmarks.md.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { V1StorageClass } from "@kubernetes/client-node";
import type { LinstorData } from "../../src/state/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/mod.ts";
import { pod, storageClass } from "../_builders/mod.ts";
import { linstorData } from "./extender_bench.ts";
import { linstorBodies } from "./state_bench.ts";
import {
  breakdownText,
  readHeapSnapshot,
  summarizeHeapSnapshot,
} from "./heap_breakdown.ts";

const CHILD = new URL("./_memory_child.ts", import.meta.url).pathname;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const BOUND_MS = 300_000;

/** Extra environment of the measured processes (`--child-env=K=V,K=V`). */
const CHILD_ENV: Record<string, string> = {};

/**
 * Whether the measured processes write to this process's stdout
 * (`--child-stdout`): V8's `--trace-gc` (through `--v8-flags`) prints there.
 */
const CHILD_STDOUT = { inherit: false };

/** `deno run` flags of the measured processes (the shipped V8 flags, unless `--shipped-flags=false`). */
const CHILD_RUN_FLAGS: string[] = [];

/** The V8 flags (`DENO_V8_FLAGS`) and the `MALLOC_*` environment the Dockerfile's image sets. */
export async function shippedSettings(): Promise<
  { v8Flags: string | undefined; env: Record<string, string> }
> {
  const dockerfile = await Deno.readTextFile(
    new URL("../../Dockerfile", import.meta.url),
  );
  const env: Record<string, string> = {};
  let v8Flags: string | undefined;
  for (const line of dockerfile.split("\n")) {
    if (!/^ENV\s/.test(line)) continue;
    for (const [, key, value] of line.matchAll(/(MALLOC_\w+)=(\S+)/g)) {
      env[key!] = value!;
    }
    v8Flags = /DENO_V8_FLAGS=(\S+)/.exec(line)?.[1] ?? v8Flags;
  }
  return { v8Flags, env };
}

/** Size of a generated cluster. */
export interface MemoryBenchSize {
  nodes: number;
  volumes: number;
  replicas: number;
  /** Claims in all; those beyond `volumes` are unbound WaitForFirstConsumer claims. */
  claims: number;
}

/** The benchmark's sizes by node count. */
export function memoryBenchSize(
  nodes: number,
  options: {
    /**
     * LINSTOR resources per node (volumes of 3 replicas); by default 30
     * below 5,000 nodes and 20 from there on.
     */
    resourcesPerNode?: number;
  } = {},
): MemoryBenchSize {
  // 5,000 nodes: 33,334 volumes × 3 replicas = 100,002 LINSTOR resources.
  const perNode = options.resourcesPerNode ?? (nodes >= 5_000 ? 20 : 30);
  const volumes = Math.ceil(nodes * perNode / 3);
  return { nodes, volumes, replicas: 3, claims: Math.floor(volumes * 1.5) };
}

function print(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}

function rdName(v: number): string {
  return `pvc-${v.toString(16).padStart(8, "0")}-5d3c-4b8e-9f11-0c2a7e${
    (v % 1_000_000).toString().padStart(6, "0")
  }`;
}

function nodeName(i: number): string {
  return `worker-${i.toString().padStart(5, "0")}.cluster.example.com`;
}

/** The LINSTOR lists of a cluster of `size`. */
export function memoryBenchLinstor(size: MemoryBenchSize): LinstorData {
  return linstorData(size, { nodeName, rdName, realistic: true });
}

const TIME = "2026-11-20T10:00:00Z";

function managedField(manager: string, fields: Record<string, unknown>) {
  return {
    manager,
    operation: "Update",
    apiVersion: "v1",
    time: TIME,
    fieldsType: "FieldsV1",
    fieldsV1: fields,
  };
}

/** Wire JSON of a Kubernetes object (timestamps as text, unlike client-node's types). */
type WireObject = Record<string, unknown>;

/** A Node as a kubelet registers it (about 6 KB of JSON). */
function realNode(i: number): WireObject {
  const name = nodeName(i);
  const images = Array.from({ length: 24 }, (_, k) => ({
    names: [
      `registry.example.com/team-${k % 7}/image-${k}@sha256:${
        (k * 7919 + 13).toString(16).padStart(64, "0")
      }`,
      `registry.example.com/team-${k % 7}/image-${k}:v1.${k}.0`,
    ],
    sizeBytes: 10_000_000 + k * 1_234_567,
  }));
  const conditions = [
    ["MemoryPressure", "False", "KubeletHasSufficientMemory"],
    ["DiskPressure", "False", "KubeletHasNoDiskPressure"],
    ["PIDPressure", "False", "KubeletHasSufficientPID"],
    ["Ready", "True", "KubeletReady"],
  ].map(([type, status, reason]) => ({
    type: type!,
    status: status!,
    reason: reason!,
    message: `kubelet reports ${reason}`,
    lastHeartbeatTime: TIME,
    lastTransitionTime: TIME,
  }));
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: `5b0c6b4e-0000-4000-8000-${i.toString().padStart(12, "0")}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: TIME,
      labels: {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "m6i.2xlarge",
        "topology.kubernetes.io/region": "region-1",
        "topology.kubernetes.io/zone": `zone-${i % 3}`,
        "linbit.com/hostname": name,
        "topology.linstor.csi.linbit.com/node": name,
      },
      annotations: {
        "csi.volume.kubernetes.io/nodeid":
          `{"linstor.csi.linbit.com":"${name}"}`,
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
      },
      managedFields: [
        managedField("kubelet", {
          "f:metadata": {
            "f:annotations": {
              ".": {},
              "f:volumes.kubernetes.io/controller-managed-attach-detach": {},
            },
            "f:labels": {
              ".": {},
              "f:beta.kubernetes.io/arch": {},
              "f:kubernetes.io/hostname": {},
            },
          },
        }),
        managedField("kube-controller-manager", {
          "f:metadata": {
            "f:annotations": { "f:node.alpha.kubernetes.io/ttl": {} },
          },
          "f:spec": {
            "f:podCIDR": {},
            "f:podCIDRs": { ".": {}, 'v:"10.244.1.0/24"': {} },
          },
        }),
      ],
    },
    spec: {
      podCIDR: `10.${(i >> 8) & 255}.${i & 255}.0/24`,
      podCIDRs: [`10.${(i >> 8) & 255}.${i & 255}.0/24`],
    },
    status: {
      capacity: {
        cpu: "8",
        "ephemeral-storage": "102687672Ki",
        "hugepages-2Mi": "0",
        memory: "32827152Ki",
        pods: "110",
      },
      allocatable: {
        cpu: "7910m",
        "ephemeral-storage": "94636958229",
        "hugepages-2Mi": "0",
        memory: "31676176Ki",
        pods: "110",
      },
      conditions,
      addresses: [
        { type: "InternalIP", address: `10.0.${(i >> 8) & 255}.${i & 255}` },
        { type: "Hostname", address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: `ec2${i.toString(16).padStart(29, "0")}`,
        systemUUID: `ec2${i.toString(16).padStart(29, "1")}`,
        bootID: `${
          i.toString(16).padStart(8, "0")
        }-1111-2222-3333-444455556666`,
        kernelVersion: "6.8.0-1015-aws",
        osImage: "Ubuntu 24.04.1 LTS",
        containerRuntimeVersion: "containerd://1.7.22",
        kubeletVersion: "v1.35.8",
        kubeProxyVersion: "v1.35.8",
        operatingSystem: "linux",
        architecture: "amd64",
      },
      images,
    },
  };
}

function realPv(v: number, claim: string): WireObject {
  const name = rdName(v);
  const [namespace, claimName] = claim.split("/");
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name,
      uid: `a1b2c3d4-0000-4000-8000-${v.toString().padStart(12, "0")}`,
      resourceVersion: String(100_000 + v),
      creationTimestamp: TIME,
      annotations: {
        "pv.kubernetes.io/provisioned-by": "linstor.csi.linbit.com",
        "volume.kubernetes.io/provisioner-deletion-secret-name": "",
        "volume.kubernetes.io/provisioner-deletion-secret-namespace": "",
      },
      finalizers: [
        "external-provisioner.volume.kubernetes.io/finalizer",
        "kubernetes.io/pv-protection",
      ],
      managedFields: [
        managedField("csi-provisioner", {
          "f:metadata": {
            "f:annotations": {
              ".": {},
              "f:pv.kubernetes.io/provisioned-by": {},
            },
            "f:finalizers": { ".": {} },
          },
          "f:spec": {
            "f:accessModes": {},
            "f:capacity": { ".": {}, "f:storage": {} },
            "f:claimRef": {},
            "f:csi": { ".": {}, "f:driver": {}, "f:volumeHandle": {} },
            "f:nodeAffinity": { ".": {}, "f:required": {} },
          },
        }),
        managedField("kube-controller-manager", {
          "f:status": { "f:phase": {} },
        }),
      ],
    },
    spec: {
      capacity: { storage: "10Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: "linstor-r2",
      volumeMode: "Filesystem",
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: namespace!,
        name: claimName!,
        uid: `c1c2c3c4-0000-4000-8000-${v.toString().padStart(12, "0")}`,
        resourceVersion: String(200_000 + v),
      },
      csi: {
        driver: "linstor.csi.linbit.com",
        volumeHandle: name,
        fsType: "ext4",
        volumeAttributes: {
          "linstor.csi.linbit.com/mount-options": "",
          "linstor.csi.linbit.com/post-mount-xfs-opts": "",
          "linstor.csi.linbit.com/remote-access-policy": "true",
          "linstor.csi.linbit.com/uses-volume-context": "true",
          "storage.kubernetes.io/csiProvisionerIdentity":
            "1700000000000-8081-linstor.csi.linbit.com",
        },
      },
      // No nodeAffinity: the class allows remote access, so the affinity
      // mode expects none (an idle affinity process has nothing to do).
    },
    status: { phase: "Bound", lastPhaseTransitionTime: TIME },
  };
}

function realPvc(
  c: number,
  options: { volume?: string; storageClass: string; selectedNode?: string },
): WireObject {
  const annotations: Record<string, string> = {
    "volume.beta.kubernetes.io/storage-provisioner": "linstor.csi.linbit.com",
    "volume.kubernetes.io/storage-provisioner": "linstor.csi.linbit.com",
  };
  if (options.volume) {
    annotations["pv.kubernetes.io/bind-completed"] = "yes";
    annotations["pv.kubernetes.io/bound-by-controller"] = "yes";
  }
  if (options.selectedNode) {
    annotations["volume.kubernetes.io/selected-node"] = options.selectedNode;
  }
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: `data-app-${c}`,
      namespace: `team-${c % 50}`,
      uid: `c1c2c3c4-0000-4000-8000-${c.toString().padStart(12, "0")}`,
      resourceVersion: String(200_000 + c),
      creationTimestamp: TIME,
      labels: { "app.kubernetes.io/name": `app-${c % 200}` },
      annotations,
      finalizers: ["kubernetes.io/pvc-protection"],
      managedFields: [
        managedField("kubectl-client-side-apply", {
          "f:metadata": {
            "f:labels": { ".": {}, "f:app.kubernetes.io/name": {} },
          },
          "f:spec": {
            "f:accessModes": {},
            "f:resources": { "f:requests": { ".": {}, "f:storage": {} } },
            "f:storageClassName": {},
            "f:volumeMode": {},
          },
        }),
        managedField("kube-controller-manager", {
          "f:metadata": { "f:annotations": { ".": {} } },
          "f:spec": { "f:volumeName": {} },
          "f:status": { "f:accessModes": {}, "f:capacity": {}, "f:phase": {} },
        }),
      ],
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "10Gi" } },
      storageClassName: options.storageClass,
      volumeMode: "Filesystem",
      ...(options.volume ? { volumeName: options.volume } : {}),
    },
    status: options.volume
      ? {
        phase: "Bound",
        accessModes: ["ReadWriteOnce"],
        capacity: { storage: "10Gi" },
      }
      : { phase: "Pending" },
  };
}

/** The Kubernetes objects of a cluster of `size`, by list path. */
export function memoryBenchKube(
  size: MemoryBenchSize,
): Map<string, unknown[]> {
  const scs: V1StorageClass[] = [
    storageClass("linstor-r2", {
      parameters: { storagePool: "pool1", placementCount: "2" },
    }),
    storageClass("linstor-local", {
      parameters: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
    }),
  ];
  const pvs: WireObject[] = [];
  const pvcs: WireObject[] = [];
  for (let v = 0; v < size.volumes; v++) {
    pvs.push(realPv(v, `team-${v % 50}/data-app-${v}`));
    pvcs.push(realPvc(v, { volume: rdName(v), storageClass: "linstor-r2" }));
  }
  for (let c = size.volumes; c < size.claims; c++) {
    pvcs.push(realPvc(c, {
      storageClass: "linstor-local",
      ...(c % 100 === 0 ? { selectedNode: nodeName(c % size.nodes) } : {}),
    }));
  }
  return new Map<string, unknown[]>([
    [
      "/api/v1/nodes",
      Array.from({ length: size.nodes }, (_, i) => realNode(i)),
    ],
    ["/api/v1/persistentvolumes", pvs],
    ["/api/v1/persistentvolumeclaims", pvcs],
    ["/apis/storage.k8s.io/v1/storageclasses", scs],
  ]);
}

/** Serves the LINSTOR lists and a list-and-watch Kubernetes API from pre-encoded JSON. */
/** Which generated data the harness serves (the other side's lists are empty). */
type DataSet = "all" | "kube" | "linstor";

function serveWorld(size: MemoryBenchSize, dataSet: DataSet = "all"): {
  linstorUrl: string;
  kubeUrl: string;
  close(): Promise<void>;
} {
  const data = dataSet === "kube"
    ? {
      nodes: [],
      storagePools: [],
      resources: [],
      resourceDefinitions: [],
      resourceGroups: [],
    }
    : memoryBenchLinstor(size);
  const linstor = linstorBodies(data);
  // Pages of 500 items, as the adapter asks for; item text encoded once.
  const kube = new Map<string, string[]>();
  for (const [path, items] of memoryBenchKube(size)) {
    if (dataSet === "linstor") kube.set(path, []);
    else kube.set(path, items.map((item) => JSON.stringify(item)));
  }
  const stop = new AbortController();
  const watches = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const linstorServer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, signal: stop.signal },
    (request) => {
      const body = linstor.get(new URL(request.url).pathname);
      if (body === undefined) return new Response("[]", { status: 404 });
      return new Response(body, {
        headers: { "content-type": "application/json" },
      });
    },
  );
  const kubeServer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, signal: stop.signal },
    (request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/v1/namespaces/kube-system") {
        // The affinity mode's cluster identity.
        return Response.json({
          apiVersion: "v1",
          kind: "Namespace",
          metadata: {
            name: "kube-system",
            uid: "0f1e2d3c-0000-4000-8000-000000000001",
            resourceVersion: "1",
          },
        });
      }
      const items = kube.get(url.pathname);
      if (request.method !== "GET" || items === undefined) {
        // Events, Leases and anything else: accepted and forgotten.
        if (request.method === "POST" || request.method === "PUT") {
          return request.text().then((text) =>
            new Response(text, {
              status: 201,
              headers: { "content-type": "application/json" },
            })
          );
        }
        return Response.json({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "NotFound",
          code: 404,
        }, { status: 404 });
      }
      if (url.searchParams.get("watch")) {
        let controller: ReadableStreamDefaultController<Uint8Array>;
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            controller = c;
            watches.add(c);
          },
          cancel() {
            watches.delete(controller);
          },
        });
        return new Response(body, {
          headers: { "content-type": "application/json" },
        });
      }
      const limit = Number(url.searchParams.get("limit") ?? 0) || items.length;
      const offset = Number(url.searchParams.get("continue") ?? 0);
      const page = items.slice(offset, offset + limit);
      const next = offset + limit < items.length
        ? `,"continue":"${offset + limit}"`
        : "";
      return new Response(
        `{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"5000000"${next}},"items":[${
          page.join(",")
        }]}`,
        { headers: { "content-type": "application/json" } },
      );
    },
  );
  return {
    linstorUrl: `http://127.0.0.1:${linstorServer.addr.port}`,
    kubeUrl: `http://127.0.0.1:${kubeServer.addr.port}`,
    async close() {
      for (const c of watches) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      stop.abort();
      await linstorServer.finished;
      await kubeServer.finished;
    },
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Resident memory of `pid` in MiB: current, peak, and anonymous vs file-backed. */
function residentMiB(
  pid: number,
): { rss: number; hwm: number; anon: number; file: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return {
    rss: kib("VmRSS") / 1024,
    hwm: kib("VmHWM") / 1024,
    anon: kib("RssAnon") / 1024,
    file: kib("RssFile") / 1024,
  };
}

/** V8 heap used and total in MiB, from the child's `/metrics`. */
async function heapMiB(
  healthUrl: string,
): Promise<{ used: number; total: number; external: number }> {
  const text = await (await fetch(`${healthUrl}/metrics`)).text();
  const value = (name: string) =>
    Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? NaN) / 2 ** 20;
  return {
    used: value("nodejs_heap_size_used_bytes"),
    total: value("nodejs_heap_size_total_bytes"),
    external: value("nodejs_external_memory_bytes"),
  };
}

interface Child {
  readonly pid: number;
  readonly healthUrl: string;
  stop(): Promise<void>;
}

async function startMode(
  mode: "extender" | "affinity",
  world: { linstorUrl: string; kubeconfig: string },
  options: { listen?: string; snapshot?: string; logs?: boolean },
): Promise<Child> {
  const healthPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...CHILD_RUN_FLAGS,
      options.snapshot ? CHILD : MAIN,
      mode,
      ...(options.listen ? [`--listen=${options.listen}`] : []),
      ...(mode === "affinity" ? ["--leader-election=false", "--dry-run"] : []),
      `--kubeconfig=${world.kubeconfig}`,
      `--health-address=127.0.0.1:${healthPort}`,
      "--log-format=json",
      `--verbosity=${options.logs ? 4 : 0}`,
    ],
    env: {
      ...CHILD_ENV,
      LS_CONTROLLERS: world.linstorUrl,
      NO_COLOR: "1",
      ...(options.snapshot ? { MEMORY_BENCH_SNAPSHOT: options.snapshot } : {}),
    },
    stdin: "null",
    stdout: CHILD_STDOUT.inherit ? "inherit" : "null",
    stderr: options.logs ? "inherit" : "null",
  }).spawn();
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  const deadline = Date.now() + BOUND_MS;
  let exited = false;
  const status = child.status.finally(() => exited = true);
  for (;;) {
    if (exited) {
      throw new Error(
        `Cannot start ${mode}: exited with ${
          (await status).code
        } (--logs shows why)`,
      );
    }
    try {
      const response = await fetch(`${healthUrl}/readyz`);
      await response.body?.cancel();
      if (response.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await status;
      throw new Error(`Cannot start ${mode}: not ready in ${BOUND_MS} ms`);
    }
    await SYSTEM_CLOCK.sleep(250);
  }
  return {
    pid: child.pid,
    healthUrl,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await status;
    },
  };
}

/** One measured process. */
export interface MemoryResult {
  mode: "extender" | "affinity";
  nodes: number;
  volumes: number;
  resources: number;
  claims: number;
  pairs: number;
  names: number;
  /** What kube-scheduler sends: node names (`nodeCacheCapable`) or full Node objects. */
  request: ExtenderRequest;
  /** Seconds from start until the process was ready (`/readyz`). */
  readySeconds: number;
  /** Size of one filter request's body. */
  requestKiB: number;
  /**
   * Wall-clock time of one filter + prioritize pair seen by the client, 50th
   * and 99th percentile, after the warm-up pairs (ms).
   */
  pairP50Ms: number;
  pairP99Ms: number;
  /** Pairs after the warm-up: what the percentiles and `cpuMsPerPair` cover. */
  measuredPairs: number;
  /** Their wall-clock seconds. */
  measuredSeconds: number;
  /** The process's CPU per second while idle before the pairs (`--extender-idle-seconds`). */
  idleCpuMsPerS: number;
  readyRssMiB: number;
  readyHeapTotalMiB: number;
  /** Anonymous and file-backed (the binary's pages) parts of `rssMiB`. */
  anonMiB: number;
  fileMiB: number;
  rssMiB: number;
  hwmMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  cpuMsPerPair: number;
}

function childCpuMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!
    .split(" ");
  // utime and stime are fields 14 and 15 (1-based) of the whole line.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** What the bench's requests carry. */
export type ExtenderRequest = "names" | "objects";

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ??
    NaN;
}

async function measureExtender(
  size: MemoryBenchSize,
  options: {
    pairs: number;
    names: number;
    request: ExtenderRequest;
    /** Stop sending pairs after this long (ms), to bound the largest sizes. */
    budgetMs: number;
    /** Idle time before the pairs in which the process's CPU is measured (ms). */
    idleMs: number;
    dataSet: DataSet;
    snapshotDir?: string | undefined;
    logs: boolean;
  },
): Promise<MemoryResult> {
  const world = serveWorld(size, options.dataSet);
  const kubeconfig = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  await Deno.writeTextFile(kubeconfig, kubeconfigText(world.kubeUrl));
  const port = freePort();
  const startedAt = performance.now();
  const snapshot = options.snapshotDir
    ? `${options.snapshotDir}/extender-${size.nodes}${
      options.dataSet === "all" ? "" : `-${options.dataSet}`
    }.heapsnapshot`
    : undefined;
  const child = await startMode(
    "extender",
    { linstorUrl: world.linstorUrl, kubeconfig },
    {
      listen: `127.0.0.1:${port}`,
      ...(snapshot ? { snapshot } : {}),
      logs: options.logs,
    },
  );
  try {
    // Ready means synced: wait until the LINSTOR view is in (a filter answers
    // with candidates) before counting.
    const readySeconds = (performance.now() - startedAt) / 1000;
    const ready = residentMiB(child.pid);
    const readyHeap = await heapMiB(child.healthUrl);
    const count = Math.min(options.names, size.nodes);
    const names = Array.from({ length: count }, (_, i) => nodeName(i));
    const benchPod = pod("team-1", "app", {
      claims: ["data-app-1", "data-app-51", `data-app-${size.volumes + 1}`],
    });
    // Full Node objects: what kube-scheduler sends without `nodeCacheCapable`,
    // the Nodes the harness's apiserver serves.
    const argsOf = (passed: unknown[]) =>
      options.request === "names"
        ? JSON.stringify({ Pod: benchPod, Nodes: null, NodeNames: passed })
        : JSON.stringify({
          Pod: benchPod,
          Nodes: { metadata: {}, items: passed },
          NodeNames: null,
        });
    const filterBody = argsOf(
      options.request === "names"
        ? names
        : Array.from({ length: count }, (_, i) => realNode(i)),
    );
    const base = `http://127.0.0.1:${port}`;
    const post = async (verb: string, body: string) => {
      const response = await fetch(`${base}/${verb}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      if (!response.ok) {
        throw new Error(`Cannot ${verb}: HTTP ${response.status}`);
      }
      return await response.text();
    };
    // The prioritize body is rebuilt only when the filter's answer changes:
    // decoding 20,000 names or Node objects per pair is the client's cost.
    let lastAnswer = "";
    let prioritizeBody = "";
    const warmUp = Math.min(50, Math.floor(options.pairs / 10));
    const latencies: number[] = [];
    // The process's CPU while idle (LINSTOR polls, watches, timers): what
    // its CPU per pair includes besides the pairs.
    let idleCpuMsPerS = NaN;
    if (options.idleMs > 0) {
      const idleCpu = childCpuMs(child.pid);
      const idleStart = performance.now();
      await SYSTEM_CLOCK.sleep(options.idleMs);
      idleCpuMsPerS = (childCpuMs(child.pid) - idleCpu) /
        ((performance.now() - idleStart) / 1000);
    }
    let cpuStart = childCpuMs(child.pid);
    const loopStart = performance.now();
    let measuredStart = loopStart;
    let done = 0;
    while (done < options.pairs) {
      if (done === warmUp) {
        cpuStart = childCpuMs(child.pid);
        measuredStart = performance.now();
      }
      const t0 = performance.now();
      const answer = await post("filter", filterBody);
      if (answer !== lastAnswer) {
        const filtered = JSON.parse(answer);
        const passed = options.request === "names"
          ? filtered.NodeNames ?? []
          : filtered.Nodes?.items ?? [];
        if (passed.length === 0) {
          throw new Error(
            `Cannot bench: no node passes the filter (${answer.slice(0, 500)})`,
          );
        }
        lastAnswer = answer;
        prioritizeBody = argsOf(passed);
      }
      await post("prioritize", prioritizeBody);
      if (done >= warmUp) latencies.push(performance.now() - t0);
      done++;
      if (
        performance.now() - loopStart > options.budgetMs &&
        latencies.length >= 20
      ) break;
    }
    const measuredSeconds = (performance.now() - measuredStart) / 1000;
    latencies.sort((a, b) => a - b);
    const cpuMs = childCpuMs(child.pid) - cpuStart;
    const after = residentMiB(child.pid);
    const heap = await heapMiB(child.healthUrl);
    if (snapshot) {
      Deno.kill(child.pid, "SIGUSR2");
      const deadline = Date.now() + BOUND_MS;
      while (!(await exists(snapshot))) {
        if (Date.now() > deadline) throw new Error("Cannot take a snapshot");
        await SYSTEM_CLOCK.sleep(500);
      }
    }
    return {
      mode: "extender",
      nodes: size.nodes,
      volumes: size.volumes,
      resources: size.volumes * size.replicas,
      claims: size.claims,
      pairs: done,
      names: names.length,
      request: options.request,
      readySeconds,
      requestKiB: new TextEncoder().encode(filterBody).length / 1024,
      pairP50Ms: percentile(latencies, 0.5),
      pairP99Ms: percentile(latencies, 0.99),
      measuredPairs: latencies.length,
      measuredSeconds,
      idleCpuMsPerS,
      readyRssMiB: ready.rss,
      readyHeapTotalMiB: readyHeap.total,
      rssMiB: after.rss,
      anonMiB: after.anon,
      fileMiB: after.file,
      hwmMiB: after.hwm,
      heapUsedMiB: heap.used,
      heapTotalMiB: heap.total,
      externalMiB: heap.external,
      cpuMsPerPair: latencies.length === 0 ? NaN : cpuMs / latencies.length,
    };
  } finally {
    await child.stop();
    await world.close();
    await Deno.remove(kubeconfig);
  }
}

async function measureAffinityIdle(
  size: MemoryBenchSize,
  options: { idleMs: number; snapshotDir?: string | undefined; logs: boolean },
): Promise<MemoryResult> {
  const world = serveWorld(size);
  const kubeconfig = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  await Deno.writeTextFile(kubeconfig, kubeconfigText(world.kubeUrl));
  const snapshot = options.snapshotDir
    ? `${options.snapshotDir}/affinity-${size.nodes}.heapsnapshot`
    : undefined;
  const child = await startMode(
    "affinity",
    { linstorUrl: world.linstorUrl, kubeconfig },
    { ...(snapshot ? { snapshot } : {}), logs: options.logs },
  );
  try {
    const ready = residentMiB(child.pid);
    const readyHeap = await heapMiB(child.healthUrl);
    await SYSTEM_CLOCK.sleep(options.idleMs);
    const after = residentMiB(child.pid);
    const heap = await heapMiB(child.healthUrl);
    if (snapshot) {
      Deno.kill(child.pid, "SIGUSR2");
      while (!(await exists(snapshot))) await SYSTEM_CLOCK.sleep(500);
    }
    return {
      mode: "affinity",
      nodes: size.nodes,
      volumes: size.volumes,
      resources: size.volumes * size.replicas,
      claims: size.claims,
      pairs: 0,
      names: 0,
      request: "names",
      readySeconds: NaN,
      requestKiB: 0,
      pairP50Ms: NaN,
      pairP99Ms: NaN,
      measuredPairs: 0,
      measuredSeconds: NaN,
      idleCpuMsPerS: NaN,
      readyRssMiB: ready.rss,
      readyHeapTotalMiB: readyHeap.total,
      rssMiB: after.rss,
      anonMiB: after.anon,
      fileMiB: after.file,
      hwmMiB: after.hwm,
      heapUsedMiB: heap.used,
      heapTotalMiB: heap.total,
      externalMiB: heap.external,
      cpuMsPerPair: NaN,
    };
  } finally {
    await child.stop();
    await world.close();
    await Deno.remove(kubeconfig);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function kubeconfigText(server: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "bench", cluster: { server } }],
    users: [{ name: "bench", user: { token: "bench" } }],
    contexts: [{
      name: "bench",
      context: { cluster: "bench", user: "bench", namespace: "default" },
    }],
    "current-context": "bench",
  });
}

const TARGETS: Record<string, number> = {
  "extender 100": 100,
  "extender 500": 160,
  "extender 5000": 400,
  "affinity 100": 100,
};

function row(r: MemoryResult): string {
  const target = TARGETS[`${r.mode} ${r.nodes}`];
  return `| ${r.mode} | ${r.nodes} | ${r.resources} | ${r.claims} | ${
    r.pairs || "idle"
  } | ${r.readyRssMiB.toFixed(0)} (${r.readyHeapTotalMiB.toFixed(0)}) | ${
    r.rssMiB.toFixed(0)
  } | ${r.hwmMiB.toFixed(0)} | ${r.heapUsedMiB.toFixed(1)} / ${
    r.heapTotalMiB.toFixed(1)
  } | ${Number.isNaN(r.cpuMsPerPair) ? "-" : r.cpuMsPerPair.toFixed(2)} | ${
    target === undefined ? "-" : `≤ ${target}`
  } |`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string", default: "100,500,5000" },
      pairs: { type: "string", default: "3000" },
      names: { type: "string", default: "5000" },
      "per-node": { type: "string" },
      request: { type: "string", default: "names" },
      "budget-seconds": { type: "string" },
      "extender-idle-seconds": { type: "string", default: "0" },
      affinity: { type: "string", default: "true" },
      "idle-seconds": { type: "string", default: "20" },
      snapshot: { type: "string" },
      json: { type: "boolean", default: false },
      logs: { type: "boolean", default: false },
      "child-stdout": { type: "boolean", default: false },
      "child-env": { type: "string", default: "" },
      data: { type: "string", default: "all" },
      "shipped-flags": { type: "string", default: "true" },
      "v8-flags": { type: "string", default: "" },
    },
  });
  for (const pair of values["child-env"].split(",").filter((p) => p)) {
    const [key, ...value] = pair.split("=");
    CHILD_ENV[key!] = value.join("=");
  }
  CHILD_STDOUT.inherit = values["child-stdout"];
  const v8Flags = values["v8-flags"] ? [values["v8-flags"]] : [];
  if (values["shipped-flags"] === "true") {
    const shipped = await shippedSettings();
    if (shipped.v8Flags) v8Flags.unshift(shipped.v8Flags);
    for (const [key, value] of Object.entries(shipped.env)) {
      CHILD_ENV[key] ??= value;
    }
  }
  if (v8Flags.length) CHILD_RUN_FLAGS.push(`--v8-flags=${v8Flags.join(",")}`);
  if (!values.json) {
    print(
      `Processes run with ${
        CHILD_RUN_FLAGS.length ? CHILD_RUN_FLAGS.join(" ") : "no V8 flags"
      } and ${
        JSON.stringify(CHILD_ENV)
      } (the image's settings unless --shipped-flags=false)`,
    );
  }
  const sizes = values.sizes.split(",").filter((s) => s !== "").map(Number);
  const pairs = Number(values.pairs);
  const names = Number(values.names);
  const request = values.request as ExtenderRequest;
  if (request !== "names" && request !== "objects") {
    throw new RangeError(
      `Cannot send "${values.request}": expected names or objects`,
    );
  }
  const perNode = values["per-node"] === undefined
    ? undefined
    : Number(values["per-node"]);
  const budgetMs = values["budget-seconds"] === undefined
    ? Infinity
    : Number(values["budget-seconds"]) * 1000;
  const snapshotDir = values.snapshot;
  if (snapshotDir) await Deno.mkdir(snapshotDir, { recursive: true });
  const results: MemoryResult[] = [];
  const report = async (r: MemoryResult) => {
    results.push(r);
    if (values.json) print(JSON.stringify(r));
    else print(row(r));
    const path = snapshotDir
      ? `${snapshotDir}/${r.mode}-${r.nodes}${
        r.mode === "extender" && values.data !== "all" ? `-${values.data}` : ""
      }.heapsnapshot`
      : undefined;
    if (path && await exists(path)) {
      const summary = summarizeHeapSnapshot(await readHeapSnapshot(path));
      print(breakdownText(summary, `${r.mode} at ${r.nodes} nodes`));
    }
  };
  if (!values.json) {
    print(
      "| mode | nodes | LINSTOR resources | claims | pairs | RSS (V8 heap total) ready MiB | RSS after MiB | peak (VmHWM) MiB | V8 heap used / total MiB | child CPU ms/pair | target MiB |",
    );
    print(
      "| ---- | ----: | ----------------: | -----: | ----: | ----------------------------: | ------------: | ---------------: | -----------------------: | ----------------: | ---------: |",
    );
  }
  for (const nodes of sizes) {
    await report(
      await measureExtender(
        memoryBenchSize(
          nodes,
          perNode === undefined ? {} : { resourcesPerNode: perNode },
        ),
        {
          pairs,
          names,
          request,
          budgetMs,
          idleMs: Number(values["extender-idle-seconds"]) * 1000,
          snapshotDir,
          logs: values.logs,
          dataSet: values.data as DataSet,
        },
      ),
    );
  }
  if (values.affinity === "true") {
    await report(
      await measureAffinityIdle(memoryBenchSize(100), {
        idleMs: Number(values["idle-seconds"]) * 1000,
        snapshotDir,
        logs: values.logs,
      }),
    );
  }
}

if (import.meta.main) await main();
