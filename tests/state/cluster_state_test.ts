import assert from "node:assert/strict";
import { Registry } from "../../src/observability/mod.ts";
import type {
  Node,
  ResourceDefinition,
  ResourceGroup,
  ResourceWithVolumes,
  StoragePool,
} from "../../src/linstor/mod.ts";
import {
  ClusterState,
  type LinstorReader,
  replicasOf,
  startClusterState,
} from "../../src/state/mod.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";
import {
  kubeNode,
  linstorNode,
  pod,
  pv,
  resource,
  storagePool,
} from "../_builders/mod.ts";

/**
 * An in-memory `LinstorReader`: answers from `data`, or fails / hangs on
 * demand (a hanging call ignores its signal, like a stuck controller).
 */
class FakeLinstorReader implements LinstorReader {
  nodes: Node[] = [linstorNode("n1"), linstorNode("n2")];
  pools: StoragePool[] = [storagePool("n1", "pool1")];
  resources: ResourceWithVolumes[] = [
    resource("r1", "n1"),
    resource("r1", "n2", {
      flags: ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"],
    }),
  ];
  definitions: ResourceDefinition[] = [];
  groups: ResourceGroup[] = [];
  /** Error the resources view throws while set. */
  failure: Error | undefined;
  /** The resources view never answers while set. */
  hang = false;
  polls = 0;
  signals: AbortSignal[] = [];

  #answer<T>(value: T[], signal: AbortSignal): Promise<T[]> {
    this.signals.push(signal);
    return Promise.resolve(structuredClone(value));
  }
  listNodes(signal: AbortSignal): Promise<Node[]> {
    this.polls++;
    return this.#answer(this.nodes, signal);
  }
  viewStoragePools(signal: AbortSignal): Promise<StoragePool[]> {
    return this.#answer(this.pools, signal);
  }
  viewResources(signal: AbortSignal): Promise<ResourceWithVolumes[]> {
    if (this.hang) return new Promise(() => {});
    if (this.failure) return Promise.reject(this.failure);
    return this.#answer(this.resources, signal);
  }
  listResourceDefinitions(signal: AbortSignal): Promise<ResourceDefinition[]> {
    return this.#answer(this.definitions, signal);
  }
  listResourceGroups(signal: AbortSignal): Promise<ResourceGroup[]> {
    return this.#answer(this.groups, signal);
  }
}

async function withState(
  options: {
    pollIntervalMs?: number;
    pollTimeoutMs?: number;
    metrics?: Registry;
  },
  body: (
    ctx: {
      clock: FakeClock;
      reader: FakeLinstorReader;
      state: ClusterState;
    },
  ) => Promise<void>,
): Promise<void> {
  const clock = new FakeClock();
  const reader = new FakeLinstorReader();
  const controller = new AbortController();
  const running = startClusterState({ clock, linstor: reader }, {
    kinds: [],
    signal: controller.signal,
    pollIntervalMs: options.pollIntervalMs ?? 10_000,
    pollTimeoutMs: options.pollTimeoutMs ?? 5_000,
    wakeupDebounceMs: 100,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  try {
    await flushMicrotasks();
    await body({ clock, reader, state: running.state });
  } finally {
    controller.abort();
    await running.stopped;
  }
}

Deno.test("startClusterState() polls LINSTOR once per interval and becomes synced", async () => {
  await withState({}, async ({ clock, reader, state }) => {
    assert.equal(reader.polls, 1);
    assert.equal(state.isSynced(), true);
    const snapshot = state.snapshot();
    assert.equal(snapshot.linstor.observedAt, clock.now());
    assert.deepEqual(
      replicasOf(snapshot, "r1").map((r) => `${r.node}:${r.role}`),
      ["n1:diskful", "n2:tie-breaker"],
    );
    await clock.advance(9_999);
    assert.equal(reader.polls, 1);
    await clock.advance(1);
    assert.equal(reader.polls, 2);
    assert.equal(state.snapshot().linstor.observedAt, clock.now());
  });
});

Deno.test("startClusterState() keeps the last good data when a poll fails and recovers", async () => {
  await withState({}, async ({ clock, reader, state }) => {
    const good = state.snapshot();
    const goodAt = good.linstor.observedAt;
    reader.failure = new Error("connection refused");
    await clock.advance(10_000);
    const failed = state.snapshot();
    assert.equal(
      failed.linstor.lastError,
      "Cannot list LINSTOR resources: connection refused",
    );
    assert.equal(failed.linstor.observedAt, goodAt);
    assert.equal(
      failed.linstor.replicasByResource,
      good.linstor.replicasByResource,
    );
    assert.equal(failed.linstor.nodes.size, 2);
    assert.ok(failed.version > good.version);
    assert.equal(state.isSynced(), true);

    await clock.advance(10_000); // still failing
    assert.equal(state.snapshot().linstor.observedAt, goodAt);

    reader.failure = undefined;
    reader.resources = [resource("r1", "n1", { diskState: "Outdated" })];
    await clock.advance(10_000);
    const recovered = state.snapshot();
    assert.equal(recovered.linstor.lastError, undefined);
    assert.equal(recovered.linstor.observedAt, clock.now());
    assert.equal(
      replicasOf(recovered, "r1")[0]?.volumes[0]?.diskState,
      "Outdated",
    );
    assert.equal(replicasOf(recovered, "r1").length, 1);
  });
});

Deno.test("startClusterState() aborts a poll that takes longer than its timeout", async () => {
  await withState(
    { pollTimeoutMs: 3_000 },
    async ({ clock, reader, state }) => {
      reader.hang = true;
      reader.signals = [];
      await clock.advance(10_000); // next poll starts and hangs
      assert.equal(state.snapshot().linstor.lastError, undefined);
      await clock.advance(2_999);
      assert.equal(state.snapshot().linstor.lastError, undefined);
      await clock.advance(1);
      assert.equal(
        state.snapshot().linstor.lastError,
        "Cannot poll LINSTOR: no complete answer within 3000 ms",
      );
      assert.ok(reader.signals.length > 0);
      assert.ok(reader.signals.every((signal) => signal.aborted));
      // The next poll starts one interval after the failed one ended.
      reader.hang = false;
      const polls = reader.polls;
      await clock.advance(10_000);
      assert.equal(reader.polls, polls + 1);
      assert.equal(state.snapshot().linstor.lastError, undefined);
    },
  );
});

Deno.test("startClusterState() is not synced before the first successful poll", async () => {
  const clock = new FakeClock();
  const reader = new FakeLinstorReader();
  reader.failure = new Error("HTTP 500");
  const controller = new AbortController();
  const running = startClusterState({ clock, linstor: reader }, {
    kinds: [],
    signal: controller.signal,
    pollIntervalMs: 1_000,
  });
  await flushMicrotasks();
  try {
    assert.equal(running.state.isSynced(), false);
    const snapshot = running.state.snapshot();
    assert.equal(snapshot.linstor.observedAt, undefined);
    assert.match(snapshot.linstor.lastError!, /HTTP 500/);
    reader.failure = undefined;
    await clock.advance(1_000);
    assert.equal(running.state.isSynced(), true);
  } finally {
    controller.abort();
    await running.stopped;
  }
});

Deno.test("startClusterState() reports poll metrics to the given registry", async () => {
  const registry = new Registry();
  await withState({ metrics: registry }, async ({ clock, reader }) => {
    reader.failure = new Error("boom");
    await clock.advance(10_000);
    await clock.advance(5_000);
    const text = await registry.metrics();
    assert.match(
      text,
      /linstor_suite_state_linstor_poll_total\{result="success"\} 1/,
    );
    assert.match(
      text,
      /linstor_suite_state_linstor_poll_total\{result="error"\} 1/,
    );
    assert.match(
      text,
      /linstor_suite_state_linstor_poll_duration_seconds_count 2/,
    );
    assert.match(text, /linstor_suite_state_linstor_data_age_seconds 15\n/);
  });
});

Deno.test("startClusterState() rejects bad options", async (t) => {
  const clock = new FakeClock();
  const signal = AbortSignal.abort();
  await t.step("zero poll interval", () => {
    assert.throws(
      () =>
        startClusterState({ clock }, { kinds: [], signal, pollIntervalMs: 0 }),
      {
        name: "RangeError",
        message:
          'Cannot start cluster state with poll interval "0": must be a positive number of ms',
      },
    );
  });
  await t.step("negative timeout", () => {
    assert.throws(
      () =>
        startClusterState({ clock }, { kinds: [], signal, pollTimeoutMs: -1 }),
      { name: "RangeError", message: /poll timeout "-1"/ },
    );
  });
  await t.step("kinds without a Kubernetes API", () => {
    assert.throws(
      () => startClusterState({ clock }, { kinds: ["pods"], signal }),
      {
        name: "TypeError",
        message:
          'Cannot watch Kubernetes kinds "pods": no Kubernetes API given',
      },
    );
  });
});

Deno.test("ClusterState snapshot() is the same object until something changes", () => {
  const clock = new FakeClock();
  const state = new ClusterState({ clock }, { kinds: ["pods"] });
  const first = state.snapshot();
  assert.equal(state.snapshot(), first);
  assert.ok(Object.isFrozen(first));
  const sink = state.sink("pods");
  sink.replace([pod("ns", "a", { nodeName: "n1" })]);
  const second = state.snapshot();
  assert.ok(second.version > first.version);
  assert.equal(state.snapshot(), second);
  // Older snapshots never change.
  assert.equal(first.kube.pods.size, 0);
  sink.upsert(pod("ns", "b", { nodeName: "n1" }));
  sink.remove(pod("ns", "a"));
  const third = state.snapshot();
  assert.deepEqual([...third.kube.pods.keys()], ["ns/b"]);
  assert.deepEqual(
    second.kube.podsByNode.get("n1")?.map((p) => p.metadata?.name),
    ["a"],
  );
  // A resync of an unchanged object is not a change.
  sink.upsert(pod("ns", "b", { nodeName: "n1" }));
  assert.equal(state.snapshot(), third);
});

Deno.test("ClusterState wake-ups are debounced and only follow data changes", async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  const state = new ClusterState({ clock }, {
    kinds: ["pods", "nodes"],
    wakeupDebounceMs: 100,
    signal: controller.signal,
  });
  let fired = 0;
  const unsubscribe = state.wakeups.subscribe(() => fired++);
  try {
    const next = state.wakeups.next(controller.signal);
    state.sink("nodes").replace([kubeNode("n1")]);
    for (let i = 0; i < 50; i++) {
      state.sink("pods").upsert(pod("ns", `p${i}`));
    }
    await clock.advance(99);
    assert.equal(fired, 0);
    await clock.advance(1);
    assert.equal(fired, 1);
    await next;
    // No data change, no wake-up.
    state.sink("nodes").replace([kubeNode("n1")]);
    await clock.advance(1_000);
    assert.equal(fired, 1);
    // LINSTOR: the first poll wakes, an identical one does not.
    const data = {
      nodes: [linstorNode("n1")],
      storagePools: [],
      resources: [resource("r1", "n1")],
      resourceDefinitions: [],
      resourceGroups: [],
    };
    state.applyLinstorData(structuredClone(data), clock.now());
    await clock.advance(100);
    assert.equal(fired, 2);
    state.applyLinstorData(structuredClone(data), clock.now());
    await clock.advance(100);
    assert.equal(fired, 2);
    state.applyLinstorError(new Error("down"));
    await clock.advance(100);
    assert.equal(fired, 2);
  } finally {
    unsubscribe();
    controller.abort();
  }
});

Deno.test("startClusterState() feeds subscribed kinds from informers", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  kube.seed("nodes", kubeNode("n1"));
  kube.seed("persistentVolumes", pv("pvc-1", { claim: "ns/data" }));
  const controller = new AbortController();
  const registry = new Registry();
  const running = startClusterState({ clock, kube }, {
    kinds: ["nodes", "persistentVolumes", "pods"],
    signal: controller.signal,
    wakeupDebounceMs: 0,
    metrics: registry,
  });
  try {
    const state = running.state;
    for (let i = 0; i < 20 && !state.isSynced(); i++) await flushMicrotasks();
    assert.equal(state.isSynced(), true);
    let snapshot = state.snapshot();
    assert.deepEqual([...snapshot.kube.nodes.keys()], ["n1"]);
    assert.equal(snapshot.kube.pvsByResource.get("pvc-1")?.length, 1);
    assert.equal(snapshot.kube.pods.size, 0);
    assert.deepEqual(
      [...snapshot.kube.subscribed].sort(),
      ["nodes", "persistentVolumes", "pods"],
    );

    kube.seed("pods", pod("ns", "web-0", { nodeName: "n1", claims: ["data"] }));
    for (let i = 0; i < 20 && state.snapshot().kube.pods.size === 0; i++) {
      await flushMicrotasks();
    }
    snapshot = state.snapshot();
    assert.deepEqual(
      snapshot.kube.podsByClaim.get("ns/data")?.map((p) => p.metadata?.name),
      ["web-0"],
    );
    // kube's default informer transform keeps what the indexes read.
    assert.equal(snapshot.kube.pods.get("ns/web-0")?.spec?.nodeName, "n1");
    const text = await registry.metrics();
    assert.match(text, /linstor_suite_state_kube_objects\{kind="pods"\} 1\n/);
    assert.match(text, /linstor_suite_state_kube_objects\{kind="nodes"\} 1\n/);
    assert.doesNotMatch(text, /kind="storageClasses"/);
    // No LINSTOR reader: the data age is infinite, readiness does not wait.
    assert.match(text, /linstor_suite_state_linstor_data_age_seconds \+Inf\n/);
  } finally {
    controller.abort();
    await running.stopped;
    await kube.close();
  }
});

Deno.test("startClusterState() gives the event loop turns during a rebuild when asked", async () => {
  const clock = new FakeClock();
  const reader = new FakeLinstorReader();
  reader.resources = Array.from(
    { length: 12_000 },
    (_, i) => resource(`r${i}`, `n${i % 3}`),
  );
  let turns = 0;
  const controller = new AbortController();
  const running = startClusterState({
    clock,
    linstor: reader,
    yieldControl: () => {
      turns++;
      return Promise.resolve();
    },
  }, { kinds: [], signal: controller.signal, wakeupDebounceMs: 0 });
  try {
    await running.state.wakeups.next(controller.signal);
    assert.ok(turns >= 4, `only ${turns} turns`);
    assert.equal(
      running.state.snapshot().linstor.replicasByResource.size,
      12_000,
    );
    assert.equal(running.state.isSynced(), true);
  } finally {
    controller.abort();
    await running.stopped;
  }
});

Deno.test("ClusterState polls notifies after every poll attempt, changed or not", () => {
  const clock = new FakeClock();
  const state = new ClusterState({ clock }, { kinds: [] });
  const seen: (string | undefined)[] = [];
  const unsubscribe = state.polls.subscribe(() =>
    seen.push(state.snapshot().linstor.lastError ?? "ok")
  );
  const data = {
    nodes: [linstorNode("n1")],
    storagePools: [],
    resources: [],
    resourceDefinitions: [],
    resourceGroups: [],
  };
  state.applyLinstorData(structuredClone(data), clock.now());
  state.applyLinstorData(structuredClone(data), clock.now());
  state.applyLinstorError(new Error("down"));
  unsubscribe();
  state.applyLinstorData(structuredClone(data), clock.now());
  assert.deepEqual(seen, ["ok", "ok", "down"]);
  assert.equal(state.polls.fired, 4);
});

Deno.test("ClusterState sinks skip objects without a name instead of throwing", () => {
  const state = new ClusterState({ clock: new FakeClock() }, {
    kinds: ["pods"],
  });
  const sink = state.sink("pods");
  sink.replace([pod("ns", "a"), { metadata: { namespace: "ns" } }]);
  sink.upsert({ metadata: {} });
  sink.remove({});
  const snapshot = state.snapshot();
  assert.deepEqual([...snapshot.kube.pods.keys()], ["ns/a"]);
  assert.equal(state.isSynced(), false); // LINSTOR still missing
  assert.deepEqual([...snapshot.kube.synced], ["pods"]);
});

Deno.test("requestLinstorPoll() cuts the interval short but keeps polls a gap apart", async () => {
  await withState(
    { pollIntervalMs: 60_000 },
    async ({ clock, reader, state }) => {
      assert.equal(reader.polls, 1);
      await clock.advance(100);
      for (let i = 0; i < 5; i++) state.requestLinstorPoll(); // a burst
      await clock.advance(899);
      assert.equal(reader.polls, 1);
      await clock.advance(1); // 1 s after the first poll ended
      assert.equal(reader.polls, 2);
      // No request: back to the normal interval.
      await clock.advance(59_999);
      assert.equal(reader.polls, 2);
      await clock.advance(1);
      assert.equal(reader.polls, 3);
      // A request long after the last poll polls at once.
      await clock.advance(5_000);
      state.requestLinstorPoll();
      await flushMicrotasks();
      assert.equal(reader.polls, 4);
    },
  );
});

Deno.test("requestLinstorPoll() during a running poll asks for exactly one more", async () => {
  await withState(
    { pollIntervalMs: 60_000 },
    async ({ clock, reader, state }) => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const original = reader.viewResources.bind(reader);
      reader.viewResources = async (signal) => {
        await gate;
        return original(signal);
      };
      state.requestLinstorPoll();
      await flushMicrotasks();
      await clock.advance(1_000);
      assert.equal(reader.polls, 2); // running, blocked on the gate
      state.requestLinstorPoll();
      state.requestLinstorPoll();
      await clock.advance(500);
      release();
      await flushMicrotasks();
      await clock.advance(999);
      assert.equal(reader.polls, 2);
      await clock.advance(1);
      assert.equal(reader.polls, 3);
      await clock.advance(30_000);
      assert.equal(reader.polls, 3);
    },
  );
});

Deno.test("ClusterState.applyLinstorData() keeps the view and takes the new time when every list is the identical array", async () => {
  const clock = new FakeClock();
  const state = new ClusterState({ clock }, { kinds: [] });
  let reads = 0;
  const nodes = new Proxy(Object.freeze([linstorNode("n1")]), {
    get(target, key, receiver) {
      if (key === Symbol.iterator) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  const data = Object.freeze({
    nodes,
    storagePools: Object.freeze([]),
    resources: Object.freeze([]),
    resourceDefinitions: Object.freeze([]),
    resourceGroups: Object.freeze([]),
  }) as unknown as Parameters<ClusterState["applyLinstorData"]>[0];
  state.applyLinstorData(data, clock.now());
  const first = state.snapshot().linstor;
  const readsAfterBuild = reads;
  assert.ok(readsAfterBuild > 0);
  state.applyLinstorError(new Error("down"));
  await clock.advance(5_000);
  state.applyLinstorData(data, clock.now());
  const second = state.snapshot().linstor;
  assert.equal(reads, readsAfterBuild, "the lists were not read again");
  assert.equal(second.nodes, first.nodes);
  assert.equal(second.replicasByResource, first.replicasByResource);
  assert.equal(second.observedAt, first.observedAt! + 5_000);
  assert.equal(second.lastError, undefined, "the error is cleared");
  // A new array with other content is built again.
  state.applyLinstorData(
    { ...data, nodes: [linstorNode("n1"), linstorNode("n2")] },
    clock.now(),
  );
  assert.deepEqual([...state.snapshot().linstor.nodes.keys()], ["n1", "n2"]);
});
