/**
 * The state model against the real simulator over HTTP on 127.0.0.1, through
 * the real `LinstorClient`: what a process sees in production, minus the
 * Java controller.
 *
 * @module
 */
import assert from "node:assert/strict";
import { LinstorClient } from "../../src/linstor/mod.ts";
import {
  createSimulator,
  parseScenario,
  serveSimulator,
} from "../../src/sim/mod.ts";
import {
  buildLinstorView,
  createLinstorReader,
  describeSnapshot,
  linstorNodeFor,
  replicasOf,
  type Snapshot,
  startClusterState,
} from "../../src/state/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";

const SCENARIO = Deno.readTextFileSync(
  new URL("../_fixtures/scenarios/two_zones.yaml", import.meta.url),
);

function replicaSummary(snapshot: Snapshot, resource: string): string[] {
  return replicasOf(snapshot, resource).map((r) =>
    `${r.node}:${r.role}:${r.volumes.map((v) => v.diskState).join(",")}${
      r.inUse ? ":in-use" : ""
    }`
  );
}

Deno.test("startClusterState() polls the simulator over HTTP through LinstorClient", async () => {
  const clock = new FakeClock();
  const sim = createSimulator({
    clock,
    scenario: parseScenario(SCENARIO, "two_zones.yaml"),
  });
  const controller = new AbortController();
  const stopServer = new AbortController();
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: AbortSignal.any([controller.signal, stopServer.signal]),
  });
  const client = new LinstorClient({ controllers: [server.url], clock });
  const running = startClusterState(
    { clock, linstor: createLinstorReader(client) },
    {
      kinds: [],
      signal: controller.signal,
      pollIntervalMs: 10_000,
      wakeupDebounceMs: 0,
    },
  );
  const state = running.state;
  try {
    await state.wakeups.next(controller.signal); // first poll landed
    assert.equal(state.isSynced(), true);
    let snapshot = state.snapshot();
    assert.equal(snapshot.linstor.lastError, undefined);
    assert.deepEqual([...snapshot.linstor.nodes.keys()].sort(), [
      "a1",
      "a2",
      "b1",
      "b2",
    ]);
    assert.deepEqual(replicaSummary(snapshot, "pvc-1"), [
      "a1:diskful:UpToDate:in-use",
      "a2:tie-breaker:Diskless",
      "b1:diskful:UpToDate",
    ]);
    assert.deepEqual(replicaSummary(snapshot, "pvc-2"), [
      "a1:diskful:UpToDate",
      "b1:diskless:Diskless",
      "b2:diskful:Outdated",
    ]);
    const a2Thin = snapshot.linstor.poolsByNode.get("a2")?.get("thin");
    assert.equal(a2Thin?.freeKib, 40 * 1024 * 1024);
    assert.equal(a2Thin?.totalKib, 100 * 1024 * 1024);
    assert.equal(a2Thin?.thin, true);
    assert.equal(
      snapshot.linstor.resourceDefinitions.get("pvc-1")?.resourceGroup,
      "rg-thin",
    );
    assert.equal(
      snapshot.linstor.resourceGroups.get("rg-fat")?.selectFilter.storage_pool,
      "fat",
    );
    assert.equal(linstorNodeFor(snapshot, "b2")?.name, "b2");
    assert.match(
      describeSnapshot(snapshot, { now: clock.now() }),
      /\nb2 +ONLINE +b\n/,
    );

    // Changes in LINSTOR show up at the next poll, and only then.
    sim.apply({ action: "set-node-status", node: "b1", status: "OFFLINE" });
    sim.apply({
      action: "set-disk-state",
      resource: "pvc-1",
      node: "a1",
      disk_state: "Outdated",
    });
    assert.equal(state.snapshot(), snapshot);
    const changed = state.wakeups.next(controller.signal);
    await clock.advance(10_000);
    await changed;
    snapshot = state.snapshot();
    assert.equal(snapshot.linstor.nodes.get("b1")?.online, false);
    assert.equal(snapshot.linstor.observedAt, clock.now());
    assert.equal(
      replicaSummary(snapshot, "pvc-1")[0],
      "a1:diskful:Outdated:in-use",
    );

    // The controller goes away: the next poll fails, the data stays.
    stopServer.abort();
    await server.finished;
    const failed = state.polls.next(controller.signal);
    await clock.advance(10_000);
    await failed;
    const kept = state.snapshot();
    assert.match(kept.linstor.lastError ?? "", /^Cannot list LINSTOR /);
    assert.equal(kept.linstor.observedAt, snapshot.linstor.observedAt);
    assert.equal(
      kept.linstor.replicasByResource,
      snapshot.linstor.replicasByResource,
    );
    assert.equal(state.isSynced(), true);
  } finally {
    controller.abort();
    await running.stopped;
    client.close();
    await server.finished;
    sim.close();
  }
});

Deno.test("startClusterState() keeps the last view when a list read piece by piece is truncated, not JSON or not an array", async (t) => {
  const clock = new FakeClock();
  const sim = createSimulator({
    clock,
    scenario: parseScenario(SCENARIO, "two_zones.yaml"),
  });
  // The simulator behind a proxy that can spoil the resource view's body.
  let spoil: ((body: string) => string) | undefined;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const response = await sim.handler(request);
      if (!spoil || new URL(request.url).pathname !== "/v1/view/resources") {
        return response;
      }
      return new Response(spoil(await response.text()), {
        status: response.status,
        headers: response.headers,
      });
    },
  );
  const client = new LinstorClient({
    controllers: [`http://127.0.0.1:${server.addr.port}`],
    clock,
    yieldControl: () => Promise.resolve(),
  });
  const controller = new AbortController();
  const running = startClusterState(
    {
      clock,
      linstor: createLinstorReader(client),
      yieldControl: () => Promise.resolve(),
    },
    {
      kinds: [],
      signal: controller.signal,
      pollIntervalMs: 10_000,
      wakeupDebounceMs: 0,
    },
  );
  const state = running.state;
  try {
    await state.wakeups.next(controller.signal);
    const good = state.snapshot();
    assert.deepEqual(replicaSummary(good, "pvc-1"), [
      "a1:diskful:UpToDate:in-use",
      "a2:tie-breaker:Diskless",
      "b1:diskful:UpToDate",
    ]);
    sim.apply({
      action: "set-disk-state",
      resource: "pvc-1",
      node: "a1",
      disk_state: "Outdated",
    });
    const cases: [string, (body: string) => string, RegExp][] = [
      ["truncated", (body) => body.slice(0, -20), /is not valid JSON/],
      ["not JSON", () => "<html>proxy error</html>", /is not valid JSON/],
      ["an object", () => '{"resources":[]}', /expected a JSON array/],
    ];
    for (const [name, change, message] of cases) {
      await t.step(name, async () => {
        spoil = change;
        const failed = state.polls.next(controller.signal);
        await clock.advance(10_000);
        await failed;
        const kept = state.snapshot();
        assert.match(
          kept.linstor.lastError ?? "",
          /^Cannot list LINSTOR resources: /,
        );
        assert.match(kept.linstor.lastError ?? "", message);
        assert.equal(
          kept.linstor.replicasByResource,
          good.linstor.replicasByResource,
        );
        assert.equal(kept.linstor.observedAt, good.linstor.observedAt);
      });
    }
    spoil = undefined;
    const recovered = state.wakeups.next(controller.signal);
    await clock.advance(10_000);
    await recovered;
    const now = state.snapshot();
    assert.equal(now.linstor.lastError, undefined);
    assert.equal(replicaSummary(now, "pvc-1")[0], "a1:diskful:Outdated:in-use");
    // The same view as one built from the lists read in one piece.
    using plain = new LinstorClient({
      controllers: [`http://127.0.0.1:${server.addr.port}`],
      clock,
    });
    const reader = createLinstorReader(plain);
    const signal = controller.signal;
    const expected = buildLinstorView({
      nodes: await reader.listNodes(signal),
      storagePools: await reader.viewStoragePools(signal),
      resources: await reader.viewResources(signal),
      resourceDefinitions: await reader.listResourceDefinitions(signal),
      resourceGroups: await reader.listResourceGroups(signal),
    }, { observedAt: now.linstor.observedAt });
    assert.deepEqual(now.linstor, expected);
  } finally {
    controller.abort();
    await running.stopped;
    client.close();
    await server.shutdown();
    sim.close();
  }
});
