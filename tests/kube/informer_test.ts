import assert from "node:assert/strict";
import type {
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
} from "@kubernetes/client-node";
import {
  type Informer,
  type InformerOptions,
  type InformerSink,
  isNodeReady,
  type KubeKind,
  type KubeObjectOf,
  startInformer,
  stripObject,
  type WatchEvent,
  type WatchOptions,
} from "../../src/kube/mod.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";

/** A sink that mirrors the informer into a map and counts calls. */
class MapSink<T extends { metadata?: { name?: string } }>
  implements InformerSink<T> {
  readonly items = new Map<string, T>();
  replaces = 0;
  replace(items: T[]): void {
    this.replaces++;
    this.items.clear();
    for (const item of items) this.items.set(item.metadata!.name!, item);
  }
  upsert(item: T): void {
    this.items.set(item.metadata!.name!, item);
  }
  remove(item: T): void {
    this.items.delete(item.metadata!.name!);
  }
  names(): string[] {
    return [...this.items.keys()].sort();
  }
}

/** Counts watch requests. */
class CountingKube extends FakeKube {
  watches = 0;
  override watch<K extends KubeKind>(
    kind: K,
    options: WatchOptions,
  ): AsyncIterable<WatchEvent<KubeObjectOf<K>>> {
    this.watches++;
    return super.watch(kind, options);
  }
}

function pv(name: string): V1PersistentVolume {
  return { metadata: { name }, spec: { capacity: { storage: "1Gi" } } };
}

function node(name: string): V1Node {
  return { metadata: { name }, spec: {} };
}

/**
 * Starts an informer of `kind` into a new {@linkcode MapSink}; `stop()` aborts
 * it and waits until it has stopped.
 */
function run<K extends KubeKind>(
  kube: FakeKube,
  kind: K,
  options: Omit<InformerOptions<K>, "sink" | "signal">,
): {
  sink: MapSink<KubeObjectOf<K>>;
  informer: Informer;
  stop(): Promise<void>;
} {
  const sink = new MapSink<KubeObjectOf<K>>();
  const controller = new AbortController();
  const informer = startInformer(kube, kind, {
    ...options,
    sink,
    signal: controller.signal,
  });
  const stop = async () => {
    controller.abort();
    await informer.stopped;
  };
  return { sink, informer, stop };
}

async function settle(): Promise<void> {
  await flushMicrotasks(50);
}

Deno.test("startInformer() lists, then applies watch events to the sink", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  kube.seed("nodes", node("a"));
  const { sink, informer, stop } = run(kube, "nodes", { clock });
  await informer.synced;
  assert.equal(informer.isSynced(), true);
  assert.deepEqual(sink.names(), ["a"]);
  kube.seed("nodes", node("b"));
  await kube.patch({ kind: "nodes", name: "a" }, {
    type: "merge",
    body: { metadata: { labels: { x: "1" } } },
  });
  await settle();
  assert.deepEqual(sink.names(), ["a", "b"]);
  assert.deepEqual(sink.items.get("a")!.metadata!.labels, { x: "1" });
  kube.bookmark();
  await settle();
  assert.equal(informer.resourceVersion(), kube.resourceVersion);
  await stop();
  assert.equal(kube.openWatches, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("startInformer() relists after 410 Gone and drops objects deleted meanwhile", async () => {
  const clock = new FakeClock();
  const kube = new CountingKube({ clock });
  await kube.create("persistentVolumes", pv("a"));
  await kube.create("persistentVolumes", pv("b"));
  const { sink, informer, stop } = run(kube, "persistentVolumes", { clock });
  await informer.synced;
  await settle();
  // The stream ends; while the informer is away, b is deleted and the
  // history compacted, so resuming from its resourceVersion gets 410.
  kube.closeWatches();
  await settle();
  await kube.delete({ kind: "persistentVolumes", name: "b" });
  kube.compact();
  await clock.advance(1_000);
  await settle();
  assert.equal(sink.replaces, 2, "relisted");
  assert.deepEqual(sink.names(), ["a"]);
  assert.equal(
    clock.pending,
    1,
    "watching again (deadline timer only), no backoff after 410",
  );
  assert.equal(kube.openWatches, 1);
  await stop();
  assert.equal(kube.openWatches, 0);
});

Deno.test("startInformer() backs off exponentially on errors and resumes from the last resourceVersion", async () => {
  const clock = new FakeClock();
  const kube = new CountingKube({ clock });
  kube.seed("nodes", node("a"));
  const { sink, informer, stop } = run(kube, "nodes", { clock });
  await informer.synced;
  await settle();
  // Make the next four watches fail.
  kube.failNext("watch", new Error("connection refused"), { times: 4 });
  const attempts = kube.watches;
  kube.closeWatches();
  await settle();
  // The closed stream delivered no events: 1 s backoff; then each failure
  // doubles it: 2 s, 4 s, 8 s; the fifth attempt (after 16 s) succeeds.
  const waits = [1_000, 2_000, 4_000, 8_000, 16_000];
  for (const [i, wait] of waits.entries()) {
    await clock.advance(wait - 1);
    await settle();
    assert.equal(kube.watches, attempts + i, `no attempt before ${wait} ms`);
    await clock.advance(1);
    await settle();
    assert.equal(kube.watches, attempts + i + 1, `attempt after ${wait} ms`);
  }
  assert.equal(clock.pending, 1, "connected (deadline timer only)");
  // Changes made while disconnected arrive through the resumed watch.
  kube.seed("nodes", node("c"));
  await settle();
  assert.deepEqual(sink.names(), ["a", "c"]);
  assert.equal(sink.replaces, 1, "resumed, not relisted");
  await stop();
  assert.equal(clock.pending, 0);
});

Deno.test("startInformer() abandons a watch the server never ends and resumes", async () => {
  const clock = new FakeClock();
  const kube = new CountingKube({ clock });
  kube.seed("nodes", node("a"));
  const { sink, informer, stop } = run(kube, "nodes", {
    clock,
    watchTimeoutSeconds: 60,
  });
  await informer.synced;
  await settle();
  assert.equal(kube.watches, 1);
  // The fake never ends the stream on its own: a dead connection.
  await clock.advance(60_000 + 30_000 - 1);
  await settle();
  assert.equal(kube.openWatches, 1, "not before timeout + grace");
  await clock.advance(1);
  await settle();
  // It delivered nothing: the informer backs off 1 s, then watches again
  // from the same resourceVersion (no relist).
  await clock.advance(1_000);
  await settle();
  assert.equal(kube.watches, 2);
  assert.equal(kube.openWatches, 1);
  assert.equal(sink.replaces, 1);
  kube.seed("nodes", node("b"));
  await settle();
  assert.deepEqual(sink.names(), ["a", "b"]);
  await stop();
  assert.equal(clock.pending, 0);
});

Deno.test("startInformer() retries a failed first list and rejects synced when stopped first", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  kube.failNext("list", new Error("unauthorized"), { times: 2 });
  const { informer, stop } = run(kube, "nodes", { clock });
  await settle();
  assert.equal(informer.isSynced(), false);
  await clock.advance(1_000);
  await settle();
  assert.equal(informer.isSynced(), false);
  await clock.advance(2_000);
  await informer.synced;

  kube.failNext("list", new Error("down"), { times: 100 });
  const never = run(kube, "pods", { clock });
  await settle();
  await never.stop();
  await assert.rejects(never.informer.synced, /Cannot sync informer "pods"/);
  await stop();
});

Deno.test("startInformer() applies the transform (stripObject by default)", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  kube.seed("nodes", {
    metadata: {
      name: "a",
      managedFields: [{ manager: "kubectl" }],
      annotations: {
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        keep: "me",
      },
    },
    status: { images: [{ names: ["big"] }], nodeInfo: undefined! },
  } as V1Node);
  const { sink, informer, stop } = run(kube, "nodes", { clock });
  await informer.synced;
  const stored = sink.items.get("a")!;
  assert.equal(stored.metadata!.managedFields, undefined);
  assert.deepEqual(stored.metadata!.annotations, { keep: "me" });
  assert.equal(stored.status!.images, undefined);
  await stop();

  const custom = run(kube, "nodes", {
    clock,
    transform: (n) => ({ metadata: { name: n.metadata!.name! + "!" } }),
  });
  await custom.informer.synced;
  assert.deepEqual(custom.sink.names(), ["a!"]);
  await custom.stop();
});

Deno.test("stripObject() keeps what the modes read of a pod", () => {
  const pod: V1Pod = {
    metadata: {
      name: "p",
      namespace: "ns",
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        name: "s",
        uid: "u",
      }],
      managedFields: [{}],
    },
    spec: {
      nodeName: "n1",
      containers: [{
        name: "c",
        image: "big/image",
        env: [{ name: "A", value: "1" }],
        volumeMounts: [{ name: "data", mountPath: "/d", readOnly: true }],
        resources: { requests: { cpu: "1" }, limits: { cpu: "2" } },
      }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: "d" } }],
    },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [{
        name: "c",
        image: "x",
        imageID: "y",
        ready: true,
        restartCount: 0,
      }],
    },
  };
  const before = structuredClone(pod);
  const out = stripObject("pods", pod);
  assert.deepEqual(pod, before, "input unchanged");
  assert.deepEqual(out.spec!.containers, [{
    name: "c",
    volumeMounts: [{ name: "data", mountPath: "/d", readOnly: true }],
    resources: { requests: { cpu: "1" } },
  }]);
  assert.deepEqual(out.spec!.volumes, pod.spec!.volumes);
  assert.equal(out.spec!.nodeName, "n1");
  assert.deepEqual(out.status, {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
  });
  assert.equal(out.metadata!.managedFields, undefined);
  assert.deepEqual(
    out.metadata!.ownerReferences,
    pod.metadata!.ownerReferences,
  );
});

Deno.test("stripObject() keeps of a node's status only its conditions, without timestamps", () => {
  const at = new Date("2026-11-20T10:00:00Z");
  const node: V1Node = {
    metadata: { name: "n1", labels: { zone: "a" } },
    spec: { taints: [{ key: "k", effect: "NoSchedule" }] },
    status: {
      conditions: [{
        type: "Ready",
        status: "True",
        reason: "KubeletReady",
        message: "kubelet is posting ready status",
        lastHeartbeatTime: at,
        lastTransitionTime: at,
      }, { type: "DiskPressure", status: "False" }],
      images: [{ names: ["big"] }],
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
      capacity: { cpu: "8" },
      allocatable: { cpu: "7" },
    },
  };
  const before = structuredClone(node);
  const out = stripObject("nodes", node);
  assert.deepEqual(node, before, "input unchanged");
  assert.deepEqual(out.status, {
    conditions: [{
      type: "Ready",
      status: "True",
      reason: "KubeletReady",
      message: "kubelet is posting ready status",
    }, { type: "DiskPressure", status: "False" }],
  });
  assert.deepEqual(out.spec, node.spec);
  assert.deepEqual(out.metadata, node.metadata);
  assert.equal(isNodeReady(out), true);
  assert.deepEqual(stripObject("nodes", { metadata: { name: "n2" } }), {
    metadata: { name: "n2" },
  });
  assert.deepEqual(
    stripObject("nodes", { metadata: { name: "n3" }, status: {} }).status,
    {},
  );
});

Deno.test("stripObject() keeps of a volume's status the phase and why, of a claim's the phase", () => {
  const volume: V1PersistentVolume = {
    metadata: { name: "pv1" },
    spec: {
      csi: { driver: "linstor.csi.linbit.com", volumeHandle: "pv1" },
      claimRef: { namespace: "ns", name: "c1", uid: "u1" },
    },
    status: {
      phase: "Released",
      message: "claim deleted",
      lastPhaseTransitionTime: new Date("2026-11-20T10:00:00Z"),
    },
  };
  const out = stripObject("persistentVolumes", volume);
  assert.deepEqual(out.status, { phase: "Released", message: "claim deleted" });
  assert.deepEqual(out.spec, volume.spec);
  assert.ok(volume.status!.lastPhaseTransitionTime, "input unchanged");

  const pvc: V1PersistentVolumeClaim = {
    metadata: { name: "c1", namespace: "ns" },
    spec: { volumeName: "pv1", resources: { requests: { storage: "1Gi" } } },
    status: {
      phase: "Bound",
      accessModes: ["ReadWriteOnce"],
      capacity: { storage: "1Gi" },
    },
  };
  const claim = stripObject("persistentVolumeClaims", pvc);
  assert.deepEqual(claim.status, { phase: "Bound" });
  assert.deepEqual(claim.spec, pvc.spec);
});
