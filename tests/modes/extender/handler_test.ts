import assert from "node:assert/strict";
import { Registry } from "../../../src/observability/mod.ts";
import {
  createExtenderHandler,
  createExtenderMetrics,
  DEFAULT_EXTENDER_CONFIG,
  type ExtenderConfig,
  Reservations,
} from "../../../src/modes/extender/mod.ts";
import type { Snapshot } from "../../../src/state/mod.ts";
import type { Clock } from "../../../src/system/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { buildSnapshot, GIB, makePod, T0, type World } from "./_snapshot.ts";

const NAMES = ["n1", "n2", "n3"];

/** n1 holds a local-only volume's replica; n2 a tie-breaker; n3 nothing; each has a 10 GiB pool. */
function world(extra: Partial<World> = {}): World {
  return {
    linstorNodes: NAMES.map((name) => ({ name })),
    kubeNodes: NAMES.map((name) => ({ name })),
    pools: NAMES.map((node) => ({ node, name: "pool1", freeGiB: 10 })),
    storageClasses: [{
      name: "local",
      params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
    }],
    replicas: [{ resource: "pvc-data", node: "n1" }, {
      resource: "pvc-data",
      node: "n2",
      role: "tie-breaker",
    }],
    pvcs: [{ name: "data", sc: "local", volumeName: "pv-data" }],
    pvs: [{ name: "pv-data", resource: "pvc-data", sc: "local" }],
    ...extra,
  };
}

function setup(
  options: {
    snapshot?: () => Snapshot;
    config?: ExtenderConfig;
    maxBodyBytes?: number;
  } = {},
) {
  const clock = new FakeClock(T0);
  const registry = new Registry();
  const reservations = new Reservations({ clock, ttlMs: 60_000 });
  const metrics = createExtenderMetrics(registry, { reservations });
  const snapshot = buildSnapshot(world());
  const handler = createExtenderHandler({
    snapshot: options.snapshot ?? (() => snapshot),
    clock,
    config: options.config ?? DEFAULT_EXTENDER_CONFIG,
    reservations,
    metrics,
    registry,
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
  });
  return { clock, registry, reservations, handler };
}

function post(path: string, body: unknown): Request {
  return new Request(`http://127.0.0.1${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const pod = makePod("p", { claims: ["data"] });

Deno.test("`createExtenderHandler()` accepts ExtenderArgs as kube-scheduler sends them", async (t) => {
  await t.step(
    "PascalCase with NodeNames answers NodeNames and per-node reasons",
    async () => {
      const { handler } = setup();
      const response = await handler(
        post("/filter", { Pod: pod, Nodes: null, NodeNames: NAMES }),
      );
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/json");
      const body = await response.json();
      assert.deepEqual(body.NodeNames, ["n1"]);
      assert.equal(body.Nodes, null);
      assert.equal(body.Error, "");
      assert.deepEqual(Object.keys(body.FailedAndUnresolvableNodes).sort(), [
        "n2",
        "n3",
      ]);
      assert.match(
        body.FailedAndUnresolvableNodes.n2,
        /^access: claim default\/data: volume pvc-data allows access/,
      );
    },
  );
  await t.step(
    "lowercase keys with full Node objects answer the objects verbatim",
    async () => {
      const { handler } = setup();
      const items = NAMES.map((name) => ({
        metadata: { name, labels: { x: name } },
        status: { extra: [1, 2] },
      }));
      const response = await handler(
        post("/filter", { pod, nodes: { metadata: {}, items } }),
      );
      assert.equal(response.status, 200);
      const body = await response.json();
      assert.equal(body.NodeNames, null);
      assert.deepEqual(body.Nodes.items, [items[0]]);
    },
  );
  await t.step(
    "Node objects in kube-scheduler's layout answer the passing objects as sent, call after call",
    async () => {
      const { handler, registry } = setup();
      const items = NAMES.map((name) => ({
        metadata: { name, labels: { x: name, "é": "\uFFFD" } },
        status: { images: [{ names: ["a<b>"], sizeBytes: 1.5 }] },
      }));
      const compact = JSON.stringify({
        Pod: pod,
        Nodes: { metadata: {}, items },
        NodeNames: null,
      });
      const pretty = JSON.stringify(JSON.parse(compact), null, 2);
      const answers: string[] = [];
      for (const body of [compact, compact, pretty, compact]) {
        for (const verb of ["/filter", "/prioritize"]) {
          const response = await handler(post(verb, body));
          assert.equal(response.status, 200);
          answers.push(`${verb} ${await response.text()}`);
        }
      }
      assert.deepEqual(answers.slice(2), [
        ...answers.slice(0, 2),
        ...answers.slice(0, 2),
        ...answers.slice(0, 2),
      ]);
      const filter = JSON.parse(answers[0]!.slice("/filter ".length));
      assert.deepEqual(filter.Nodes.items, [items[0]]);
      // Parsed once, then known; the pretty-printed body decoded in full;
      // each prioritize reuses its filter's body.
      const metrics = await registry.metrics();
      for (
        const [decode, count] of [["parsed", 3], ["known", 6], ["full", 3]]
      ) {
        assert.match(
          metrics,
          new RegExp(`node_objects_total\\{decode="${decode}"\\} ${count}\n`),
        );
      }
    },
  );
  await t.step(
    "prioritize answers HostPriority in 0..10 for every node",
    async () => {
      const { handler } = setup();
      const response = await handler(
        post("/prioritize", { Pod: pod, NodeNames: NAMES }),
      );
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), [
        { Host: "n1", Score: 10 },
        { Host: "n2", Score: 0 },
        { Host: "n3", Score: 0 },
      ]);
    },
  );
  await t.step(
    "a pod without LINSTOR volumes passes untouched with no opinion",
    async () => {
      const { handler } = setup();
      const filter = await (await handler(
        post("/filter", { Pod: makePod("x"), NodeNames: NAMES }),
      )).json();
      assert.deepEqual(filter.NodeNames, NAMES);
      assert.deepEqual(filter.FailedNodes, {});
      const scores = await (await handler(
        post("/prioritize", { Pod: makePod("x"), NodeNames: NAMES }),
      )).json();
      assert.deepEqual(scores.map((s: { Score: number }) => s.Score), [
        0,
        0,
        0,
      ]);
    },
  );
  await t.step(
    "neither Nodes nor NodeNames is an empty candidate list",
    async () => {
      const { handler } = setup();
      const body = await (await handler(post("/filter", { Pod: pod }))).json();
      assert.deepEqual(body.NodeNames, []);
    },
  );
  await t.step(
    "a configured prefix and verbs route; the defaults then 404",
    async () => {
      const config = {
        ...DEFAULT_EXTENDER_CONFIG,
        prefix: "/scheduler",
        filterVerb: "predicate",
      };
      const { handler } = setup({ config });
      assert.equal(
        (await handler(
          post("/scheduler/predicate", { Pod: pod, NodeNames: NAMES }),
        )).status,
        200,
      );
      const response = await handler(
        post("/filter", { Pod: pod, NodeNames: NAMES }),
      );
      assert.equal(response.status, 404);
      await response.body?.cancel();
    },
  );
});

Deno.test("`createExtenderHandler()` rejects bad requests with a one-line reason", async (t) => {
  const cases: {
    name: string;
    request: () => Request;
    status: number;
    pattern: RegExp;
  }[] = [
    {
      name: "malformed JSON",
      request: () => post("/filter", "{not json"),
      status: 400,
      pattern: /^Cannot parse/,
    },
    {
      name: "not an object",
      request: () => post("/filter", "[1]"),
      status: 400,
      pattern: /expected a JSON object/,
    },
    {
      name: "missing Pod",
      request: () => post("/filter", { NodeNames: [] }),
      status: 400,
      pattern: /"Pod"/,
    },
    {
      name: "NodeNames of wrong type",
      request: () => post("/filter", { Pod: pod, NodeNames: "n1" }),
      status: 400,
      pattern: /"NodeNames": expected an array/,
    },
    {
      name: "a Node without a name",
      request: () =>
        post("/prioritize", { Pod: pod, Nodes: { items: [{ metadata: {} }] } }),
      status: 400,
      pattern: /"Nodes.items\[0\]"/,
    },
    {
      name: "a body that is not UTF-8",
      request: () =>
        new Request("http://127.0.0.1/filter", {
          method: "POST",
          body: new Uint8Array([
            ...new TextEncoder().encode('{"Pod":{"metadata":{"name":"'),
            0xff,
            0xfe,
            ...new TextEncoder().encode('"}},"NodeNames":[]}'),
          ]),
        }),
      status: 400,
      pattern: /"body": not valid UTF-8/,
    },
    {
      name: "a Go-layout body with a bad item",
      request: () =>
        post(
          "/filter",
          `{"Pod":${
            JSON.stringify(pod)
          },"Nodes":{"metadata":{},"items":[{"metadata":{"name":"n1"}},` +
            `{"metadata":{"name":"n2"},"x":tru}]},"NodeNames":null}`,
        ),
      status: 400,
      pattern: /^Cannot parse extender arguments "body": Unexpected token/,
    },
    {
      name: "unknown verb",
      request: () => post("/bind", { Pod: pod }),
      status: 404,
      pattern: /unknown verb/,
    },
    {
      name: "GET on a verb",
      request: () => new Request("http://127.0.0.1/filter"),
      status: 405,
      pattern: /use POST/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const { handler } = setup();
      const response = await handler(c.request());
      assert.equal(response.status, c.status);
      const text = await response.text();
      assert.match(text, c.pattern);
      assert.equal(text.trimEnd().split("\n").length, 1);
    });
  }
  await t.step(
    "a declared body over the limit is refused without reading it",
    async () => {
      const { handler } = setup({ maxBodyBytes: 1024 });
      let pulled = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(512));
        },
      });
      const request = new Request("http://127.0.0.1/filter", {
        method: "POST",
        headers: { "content-length": String(20 * 1024 * 1024) },
        body,
      });
      const response = await handler(request);
      assert.equal(response.status, 413);
      await response.body?.cancel();
      assert.ok(pulled <= 1, `pulled ${pulled} chunks`);
    },
  );
  await t.step(
    "the configured maxRequestBodyBytes (--max-request-body) is the limit",
    async () => {
      const declared = (bytes: number) =>
        new Request("http://127.0.0.1/filter", {
          method: "POST",
          headers: { "content-length": String(bytes) },
          body: new ReadableStream<Uint8Array>({
            pull(controller) {
              controller.close();
            },
          }),
        });
      const big = 12 * 1024 * 1024;
      const byDefault = await setup().handler(declared(big));
      assert.equal(byDefault.status, 413);
      await byDefault.body?.cancel();
      const raised = setup({
        config: { ...DEFAULT_EXTENDER_CONFIG, maxRequestBodyBytes: 16 << 20 },
      });
      const response = await raised.handler(declared(big));
      // Read (and found short and empty), not refused by size.
      assert.notEqual(response.status, 413);
      await response.body?.cancel();
    },
  );
  await t.step("an undeclared endless body is cut at the limit", async () => {
    const { handler } = setup({ maxBodyBytes: 4096 });
    let pulled = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const response = await handler(
      new Request("http://127.0.0.1/filter", { method: "POST", body }),
    );
    assert.equal(response.status, 413);
    await response.body?.cancel();
    assert.ok(cancelled);
    assert.ok(pulled <= 7, `pulled ${pulled} chunks`);
  });
});

Deno.test("`createExtenderHandler()` fails open on stale or unsynced data", async (t) => {
  const cases: { name: string; world: Partial<World>; kind: string }[] = [
    {
      name: "LINSTOR not polled yet",
      world: { observedAt: undefined },
      kind: "unsynced",
    },
    {
      name: "LINSTOR data older than max staleness",
      world: { observedAt: T0 - 61_000 },
      kind: "stale",
    },
    {
      name: "claims informer not synced",
      world: { synced: ["nodes", "persistentVolumes", "storageClasses"] },
      kind: "unsynced",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const snapshot = buildSnapshot(world(c.world));
      const { handler, registry } = setup({ snapshot: () => snapshot });
      const body =
        await (await handler(post("/filter", { Pod: pod, NodeNames: NAMES })))
          .json();
      assert.deepEqual(body.NodeNames, NAMES);
      assert.deepEqual(body.FailedAndUnresolvableNodes, {});
      const scores = await (await handler(
        post("/prioritize", { Pod: pod, NodeNames: NAMES }),
      )).json();
      assert.deepEqual(scores.map((s: { Score: number }) => s.Score), [
        0,
        0,
        0,
      ]);
      const metrics = await registry.metrics();
      assert.match(
        metrics,
        new RegExp(
          `linstor_suite_extender_fail_open_total\\{reason="${c.kind}"\\} 2`,
        ),
      );
      const ready = await handler(new Request("http://127.0.0.1/readyz"));
      assert.equal(ready.status, 503);
      assert.match(await ready.text(), /not ready/);
    });
  }
  await t.step("an internal error answers every node, counted", async () => {
    const { handler, registry } = setup({
      snapshot: () => {
        throw new Error("boom");
      },
    });
    const response = await handler(
      post("/filter", { Pod: pod, NodeNames: NAMES }),
    );
    assert.equal(response.status, 200);
    assert.deepEqual((await response.json()).NodeNames, NAMES);
    assert.match(
      await registry.metrics(),
      /fail_open_total\{reason="internal_error"\} 1/,
    );
  });
  await t.step(
    "a body not received within the deadline answers 200 with Error",
    async () => {
      const { handler, clock } = setup();
      let cancelled = false;
      const body = new ReadableStream<Uint8Array>({
        cancel() {
          cancelled = true;
        },
      });
      const pending = handler(
        new Request("http://127.0.0.1/filter", { method: "POST", body }),
      );
      await clock.advance(DEFAULT_EXTENDER_CONFIG.deadlineMs);
      const response = await pending;
      assert.equal(response.status, 200);
      assert.match((await response.json()).Error, /not received within 4000ms/);
      assert.ok(cancelled);
    },
  );
  await t.step(
    "a body of declared length not received within the deadline answers 200 with Error",
    async () => {
      const { handler, clock } = setup();
      let close: () => void = () => undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"Pod":'));
          close = () => controller.close();
        },
      });
      const pending = handler(
        new Request("http://127.0.0.1/filter", {
          method: "POST",
          body,
          headers: { "content-length": "1000" },
        }),
      );
      await clock.advance(DEFAULT_EXTENDER_CONFIG.deadlineMs);
      const response = await pending;
      assert.equal(response.status, 200);
      assert.match((await response.json()).Error, /not received within 4000ms/);
      close();
    },
  );
});

Deno.test("`createExtenderHandler()` deadline covers the evaluation too", async () => {
  const fake = new FakeClock(T0);
  // Evaluation "takes" the whole deadline: reading the snapshot moves the clock.
  let spent = 0;
  const clock: Clock = {
    now: () => fake.now() + spent,
    sleep: (ms, signal) => fake.sleep(ms, signal),
  };
  const snapshot = buildSnapshot(world());
  const registry = new Registry();
  const reservations = new Reservations({ clock, ttlMs: 60_000 });
  const handler = createExtenderHandler({
    snapshot: () => {
      spent += DEFAULT_EXTENDER_CONFIG.deadlineMs;
      return snapshot;
    },
    clock,
    config: DEFAULT_EXTENDER_CONFIG,
    reservations,
    metrics: createExtenderMetrics(registry, { reservations }),
    registry,
  });
  const filter = await handler(
    post("/filter", { Pod: pod, NodeNames: NAMES }),
  );
  assert.equal(filter.status, 200);
  assert.match(
    (await filter.json()).Error,
    /^Cannot filter: the answer deadline passed/,
  );
  const scores = await handler(
    post("/prioritize", { Pod: pod, NodeNames: NAMES }),
  );
  assert.deepEqual(await scores.json(), []);
  const metrics = await registry.metrics();
  assert.match(
    metrics,
    /linstor_suite_extender_requests_total\{verb="filter",outcome="deadline"\} 1/,
  );
  assert.match(
    metrics,
    /linstor_suite_extender_fail_open_total\{reason="deadline"\} 2/,
  );
});

Deno.test("`createExtenderHandler()` reserves capacity so concurrent pods never overcommit", async () => {
  // One node, one 10 GiB pool, local-only class; three pods each asking 4 GiB.
  const snapshot = buildSnapshot({
    linstorNodes: [{ name: "n1" }],
    kubeNodes: [{ name: "n1" }],
    pools: [{ node: "n1", name: "pool1", freeGiB: 10 }],
    storageClasses: [{
      name: "local",
      params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
    }],
    pvcs: ["a", "b", "c"].map((name) => ({ name, sc: "local", size: "4Gi" })),
  });
  const { handler, registry, clock } = setup({ snapshot: () => snapshot });
  const filter = async (claim: string) =>
    await (await handler(
      post("/filter", {
        Pod: makePod(`p-${claim}`, { claims: [claim] }),
        NodeNames: ["n1"],
      }),
    ))
      .json();
  assert.deepEqual((await filter("a")).NodeNames, ["n1"]);
  assert.deepEqual((await filter("b")).NodeNames, ["n1"]);
  const third = await filter("c");
  assert.deepEqual(third.NodeNames, []);
  // Resolvable: the space is only held by reservations.
  assert.match(
    third.FailedNodes.n1,
    /capacity: pool pool1: claim default\/c needs 4\.0GiB, 2\.0GiB free \(8\.0GiB reserved\)/,
  );
  // The same pod asking again does not count its own reservation.
  assert.deepEqual((await filter("a")).NodeNames, ["n1"]);
  const metrics = await registry.metrics();
  assert.match(metrics, /linstor_suite_extender_reservations 2/);
  assert.match(
    metrics,
    /linstor_suite_extender_reserved_bytes\{node="n1",pool="pool1"\} 8589934592/,
  );
  await clock.advance(60_000);
  assert.deepEqual((await filter("c")).NodeNames, ["n1"]);
});

Deno.test("`createExtenderHandler()` prioritize narrows the pod's reservations to the nodes it scores", async () => {
  const snapshot = buildSnapshot({
    linstorNodes: NAMES.map((name) => ({ name })),
    kubeNodes: NAMES.map((name) => ({ name })),
    pools: NAMES.map((node) => ({ node, name: "pool1", freeGiB: 10 })),
    storageClasses: [{ name: "r2", params: { storagePool: "pool1" } }],
    pvcs: [{ name: "a", sc: "r2", size: "4Gi" }],
  });
  const { handler, reservations } = setup({ snapshot: () => snapshot });
  const args = (names: string[]) => ({
    Pod: makePod("p-a", { claims: ["a"] }),
    NodeNames: names,
  });
  const held = () => [...(reservations.get("default/a")?.nodes.keys() ?? [])];
  await (await handler(post("/filter", args(NAMES)))).body?.cancel();
  assert.deepEqual(held(), NAMES);
  // Same names right after filter: nothing to narrow.
  await (await handler(post("/prioritize", args(NAMES)))).body?.cancel();
  assert.deepEqual(held(), NAMES);
  await (await handler(post("/prioritize", args(["n3", "n2"])))).body
    ?.cancel();
  assert.deepEqual(held(), ["n2", "n3"]);
  assert.equal(reservations.view().reservedKib("n1", "pool1"), 0);
});

Deno.test("`createExtenderHandler()` keeps a reservation until the thick pool reports the new volume", async () => {
  const cluster = (extra: Partial<World>) =>
    buildSnapshot({
      linstorNodes: [{ name: "n1" }],
      kubeNodes: [{ name: "n1" }],
      pools: [{ node: "n1", name: "pool1", freeGiB: 10 }],
      storageClasses: [{
        name: "local",
        params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
      }],
      pvcs: ["a", "b"].map((name) => ({ name, sc: "local", size: "8Gi" })),
      ...extra,
    });
  let snapshot = cluster({});
  const { handler, reservations } = setup({ snapshot: () => snapshot });
  const filter = async (claim: string) =>
    (await (await handler(
      post("/filter", {
        Pod: makePod(`p-${claim}`, { claims: [claim] }),
        NodeNames: ["n1"],
      }),
    )).json()).NodeNames;
  assert.deepEqual(await filter("a"), ["n1"]);
  // LINSTOR lists the volume, but the pool still reports the old free space.
  snapshot = cluster({
    replicas: [{ resource: "pvc-uid-a", node: "n1", sizeGiB: 8 }],
  });
  assert.deepEqual(await filter("b"), []);
  assert.equal(reservations.view().reservedKib("n1", "pool1"), 8 * GIB);
  // The pool reports it: LINSTOR's numbers hold it now, the reservation goes.
  snapshot = cluster({
    replicas: [{ resource: "pvc-uid-a", node: "n1", sizeGiB: 8 }],
    pools: [{ node: "n1", name: "pool1", freeGiB: 2 }],
  });
  assert.deepEqual(await filter("b"), []);
  assert.equal(reservations.get("default/a"), undefined);
});

Deno.test("`createExtenderHandler()` explains a posted pod with the live reservations", async () => {
  const { handler, reservations } = setup();
  reservations.reserve("default/other", {
    pod: "default/q",
    uid: undefined,
    sizeKib: 3 * GIB,
    nodes: new Map([["n3", "pool1"]]),
  });
  const response = await handler(post("/explain", { pod }));
  assert.equal(response.status, 200);
  const explanation = await response.json();
  assert.equal(explanation.pod, "default/p");
  assert.deepEqual(
    explanation.rows.map((r: { node: string; verdict: string }) => [
      r.node,
      r.verdict,
    ]),
    [["n1", "pass"], ["n2", "unresolvable"], ["n3", "unresolvable"]],
  );
  assert.deepEqual(explanation.rows[2].reservations, [
    "default/other 3.0GiB@pool1",
  ]);
  const get = await handler(new Request("http://127.0.0.1/explain"));
  assert.equal(get.status, 405);
  await get.body?.cancel();
  const bad = await handler(post("/explain", { Pod: pod }));
  assert.equal(bad.status, 400);
  assert.match(
    await bad.text(),
    /expected \{"pod": <Pod with metadata.name>\}/,
  );
});

Deno.test("`createExtenderHandler()` serves health and metrics", async () => {
  const { handler } = setup();
  const health = await handler(new Request("http://127.0.0.1/healthz"));
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const ready = await handler(new Request("http://127.0.0.1/readyz"));
  assert.equal(ready.status, 200);
  await ready.body?.cancel();
  await (await handler(post("/filter", { Pod: pod, NodeNames: NAMES }))).body
    ?.cancel();
  const metrics = await (await handler(new Request("http://127.0.0.1/metrics")))
    .text();
  assert.match(
    metrics,
    /linstor_suite_extender_requests_total\{verb="filter",outcome="ok"\} 1/,
  );
  assert.match(
    metrics,
    /linstor_suite_extender_rejected_nodes_total\{predicate="access"\} 2/,
  );
  assert.match(
    metrics,
    /linstor_suite_extender_request_duration_seconds_count\{verb="filter"\} 1/,
  );
});

Deno.test("`createExtenderHandler()` prioritize sees reservations made since its pod's filter", async () => {
  const snapshot = buildSnapshot({
    linstorNodes: [{ name: "n1" }],
    kubeNodes: [{ name: "n1" }],
    pools: [{ node: "n1", name: "pool1", freeGiB: 10 }],
    storageClasses: [{ name: "r2", params: { storagePool: "pool1" } }],
    pvcs: ["a", "b"].map((name) => ({ name, sc: "r2", size: "4Gi" })),
  });
  const { handler } = setup({ snapshot: () => snapshot });
  const args = (claim: string) => ({
    Pod: makePod(`p-${claim}`, { claims: [claim] }),
    NodeNames: ["n1"],
  });
  const score = async () =>
    (await (await handler(post("/prioritize", args("a")))).json())[0].Score;
  await (await handler(post("/filter", args("a")))).body?.cancel();
  // Right after its own filter: 10 GiB free → log2(10) = 3.
  assert.equal(await score(), 3);
  await (await handler(post("/filter", args("a")))).body?.cancel();
  await (await handler(post("/filter", args("b")))).body?.cancel();
  // Pod b now holds 4 GiB on n1: 6 GiB → log2(6) = 2.
  assert.equal(await score(), 2);
});

/** A request whose declared-length body is `sent` itself, as `Deno.serve` hands out a fresh buffer per body. */
class SentBytes extends Request {
  readonly sent: Uint8Array<ArrayBuffer>;
  constructor(path: string, sent: Uint8Array<ArrayBuffer>) {
    super(`http://127.0.0.1${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": String(sent.byteLength),
      },
      body: sent.slice(),
    });
    this.sent = sent;
  }
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return Promise.resolve(this.sent);
  }
}

Deno.test("`createExtenderHandler()` frees each body's buffer once it is done with it", async (t) => {
  const encode = (args: unknown) =>
    new TextEncoder().encode(JSON.stringify(args));
  const args = { Pod: pod, Nodes: null, NodeNames: NAMES };
  const freed = (request: SentBytes) => request.sent.buffer.detached;
  const answer = async (
    handler: (request: Request) => Promise<Response>,
    request: Request,
  ) => {
    const response = await handler(request);
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return text;
  };
  await t.step(
    "filter's body is kept for its prioritize, then both are freed",
    async () => {
      const plain = setup().handler;
      const expected = [
        await answer(plain, post("/filter", args)),
        await answer(plain, post("/prioritize", args)),
      ];
      const { handler } = setup();
      const filter = new SentBytes("/filter", encode(args));
      assert.equal(await answer(handler, filter), expected[0]);
      assert.equal(freed(filter), false);
      const prioritize = new SentBytes("/prioritize", encode(args));
      assert.equal(await answer(handler, prioritize), expected[1]);
      assert.deepEqual([freed(filter), freed(prioritize)], [true, true]);
    },
  );
  await t.step("a filter's kept body is freed by the next filter", async () => {
    const { handler } = setup();
    const first = new SentBytes("/filter", encode(args));
    await answer(handler, first);
    const second = new SentBytes(
      "/filter",
      encode({ ...args, NodeNames: ["n1"] }),
    );
    await answer(handler, second);
    assert.deepEqual([freed(first), freed(second)], [true, false]);
  });
  await t.step(
    "a body that is not an answerable request is freed too",
    async () => {
      const { handler } = setup();
      const bad = new SentBytes(
        "/filter",
        new TextEncoder().encode("{not json"),
      );
      const response = await handler(bad);
      assert.equal(response.status, 400);
      await response.body?.cancel();
      assert.equal(freed(bad), true);
    },
  );
  await t.step(
    "a body sharing its buffer with other bytes is left alone",
    async () => {
      const { handler } = setup();
      const whole = new Uint8Array(new ArrayBuffer(4096));
      const bytes = encode(args);
      whole.set(bytes, 16);
      const view = whole.subarray(16, 16 + bytes.byteLength);
      await answer(handler, new SentBytes("/prioritize", view));
      assert.equal(whole.buffer.detached, false);
    },
  );
});
