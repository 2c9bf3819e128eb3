import assert from "node:assert/strict";
import { runTimeline } from "../../src/sim/mod.ts";
import { codeOf, entries, fixture, simFrom } from "./_harness.ts";

const SCENARIO = fixture("two_zones.yaml");

async function nodeStatus(
  api: ReturnType<typeof simFrom>["api"],
  node: string,
): Promise<string> {
  return ((await api.call("GET", `/v1/nodes/${node}`)).body as {
    connection_status: string;
  }).connection_status;
}

async function placement(
  api: ReturnType<typeof simFrom>["api"],
  rd: string,
): Promise<string[]> {
  const view = (await api.call("GET", `/v1/view/resources?resources=${rd}`))
    .body as { node_name: string }[];
  return view.map((r) => r.node_name);
}

Deno.test("timeline entries apply when the fake clock reaches their offset", async () => {
  const { api, clock, sim } = simFrom(SCENARIO);
  assert.equal(sim.nextEventAt(), clock.now() + 5000);
  await clock.advance(4999);
  assert.equal(await nodeStatus(api, "b1"), "ONLINE");
  await clock.advance(1);
  assert.equal(await nodeStatus(api, "b1"), "OFFLINE");
  assert.deepEqual(await placement(api, "pvc-2"), ["a1", "b1", "b2"]);
  await clock.advance(5000);
  const applied = sim.advance();
  assert.deepEqual(
    applied.map((t) => t.atMs),
    [10_000],
    "advance() returns what it applied",
  );
  // the replica moved from b2 to b1: b1 had a diskless replica already, so the move fails and is recorded
  const failed = sim.timeline().find((t) => t.atMs === 10_000);
  assert.equal(failed?.applied, true);
  assert.match(failed?.error ?? "", /already exists on node 'b1'/);
  await clock.advance(5000);
  const pvc1 =
    (await api.call("GET", "/v1/view/resources?resources=pvc-1&nodes=a1"))
      .body as {
        volumes: { state: { disk_state: string } }[];
      }[];
  assert.equal(pvc1[0]?.volumes[0]?.state.disk_state, "Outdated");
  await clock.advance(5000);
  const pool = (await api.call("GET", "/v1/nodes/a1/storage-pools/fat"))
    .body as { total_capacity: number };
  assert.equal(pool.total_capacity, 30 * 1024 * 1024, "the pool shrank");
  assert.equal(sim.nextEventAt(), undefined);
  assert.ok(sim.timeline().every((t) => t.applied));
});

Deno.test("a replica moves (created on X, deleted on Y) at its offset", async () => {
  const yaml = SCENARIO.replace(
    "- { node: b1, kind: diskless }",
    "- { node: a2, kind: diskless }",
  );
  const { api, clock } = simFrom(yaml);
  assert.deepEqual(await placement(api, "pvc-2"), ["a1", "a2", "b2"]);
  await clock.advance(10_000);
  assert.deepEqual(await placement(api, "pvc-2"), ["a1", "a2", "b1"]);
  const moved =
    ((await api.call("GET", "/v1/view/resources?resources=pvc-2&nodes=b1"))
      .body as {
        volumes: { storage_pool_name: string }[];
      }[])[0];
  assert.equal(moved?.volumes[0]?.storage_pool_name, "fat");
});

Deno.test("`runTimeline()` applies entries without requests and stops on abort", async () => {
  const { clock, sim } = simFrom(SCENARIO);
  const controller = new AbortController();
  const running = runTimeline(sim, { clock, signal: controller.signal });
  await clock.advance(5000);
  assert.equal(
    sim.state().nodes.find((n) => n.name === "b1")?.connection_status,
    "OFFLINE",
  );
  await clock.advance(15_000);
  assert.equal(sim.timeline().filter((t) => t.applied).length, 4);
  controller.abort();
  await running;
  assert.equal(clock.pending, 0, "no sleeper left behind");
});

Deno.test("`/sim/v1/timeline` shows and advances the timeline", async () => {
  const { api } = simFrom(SCENARIO);
  const before = (await api.call("GET", "/sim/v1/timeline")).body as {
    elapsed_ms: number;
    events: { at_ms: number; applied: boolean; action: string }[];
  };
  assert.equal(before.elapsed_ms, 0);
  assert.deepEqual(before.events.map((e) => [e.at_ms, e.action, e.applied]), [
    [5000, "set-node-status", false],
    [10000, "move-replica", false],
    [15000, "set-disk-state", false],
    [20000, "set-pool", false],
  ]);
  const after =
    (await api.call("POST", "/sim/v1/timeline/advance", { by: "15s" }))
      .body as {
        elapsed_ms: number;
        events: { applied: boolean }[];
      };
  assert.equal(after.elapsed_ms, 15_000);
  assert.deepEqual(after.events.map((e) => e.applied), [
    true,
    true,
    true,
    false,
  ]);
  assert.equal(await nodeStatus(api, "b1"), "OFFLINE");
  const bad = await api.call("POST", "/sim/v1/timeline/advance", {
    by: "soon",
  });
  assert.equal(bad.status, 400);
});

Deno.test("`/sim/v1/actions` applies validated actions and reports misfits", async (t) => {
  const { api } = simFrom(SCENARIO);
  await t.step("set disk state, in use, pool free capacity", async () => {
    const res = await api.call("POST", "/sim/v1/actions", [
      {
        action: "set-disk-state",
        resource: "pvc-1",
        node: "b1",
        disk_state: "Inconsistent",
      },
      { action: "set-in-use", resource: "pvc-1", node: "a1", in_use: false },
      { action: "set-pool", node: "a1", pool: "thin", free: "5GiB" },
    ]);
    assert.equal(res.status, 200, res.text);
    const b1 =
      ((await api.call("GET", "/v1/view/resources?resources=pvc-1&nodes=b1"))
        .body as {
          volumes: { state: { disk_state: string } }[];
        }[])[0];
    assert.equal(b1?.volumes[0]?.state.disk_state, "Inconsistent");
    const pool = (await api.call("GET", "/v1/nodes/a1/storage-pools/thin"))
      .body as { free_capacity: number };
    assert.equal(pool.free_capacity, 5 * 1024 * 1024);
  });
  await t.step("add and remove replicas", async () => {
    assert.equal(
      (await api.call("POST", "/sim/v1/actions", {
        action: "add-replica",
        resource: "pvc-1",
        node: "b2",
        kind: "diskless",
      })).status,
      200,
    );
    assert.deepEqual(await placement(api, "pvc-1"), ["a1", "a2", "b1", "b2"]);
    assert.equal(
      (await api.call("POST", "/sim/v1/actions", {
        action: "remove-replica",
        resource: "pvc-1",
        node: "a2",
      })).status,
      200,
    );
    assert.deepEqual(await placement(api, "pvc-1"), ["a1", "b1", "b2"]);
  });
  await t.step("invalid action → 400 with issue paths", async () => {
    const res = await api.call("POST", "/sim/v1/actions", {
      action: "set-node-status",
      node: "a1",
      status: "SAD",
    });
    assert.equal(res.status, 400);
    assert.deepEqual(
      (res.body as { issues: { path: string }[] }).issues.map((i) => i.path),
      ["status"],
    );
  });
  await t.step(
    "action on a missing object → 404 with FAIL_NOT_FOUND",
    async () => {
      const res = await api.call("POST", "/sim/v1/actions", {
        action: "set-node-status",
        node: "zz",
        status: "OFFLINE",
      });
      assert.equal(res.status, 404);
      assert.equal(codeOf(entries(res.body)[0]?.ret_code), 300);
    },
  );
  await t.step(
    "free capacity above what is unallocated → error, state kept",
    async () => {
      const res = await api.call("POST", "/sim/v1/actions", {
        action: "set-pool",
        node: "a1",
        pool: "fat",
        free: "49GiB",
      });
      assert.equal(res.status, 500);
      const pool = (await api.call("GET", "/v1/nodes/a1/storage-pools/fat"))
        .body as { free_capacity: number };
      assert.equal(pool.free_capacity, 48 * 1024 * 1024);
    },
  );
});

Deno.test("`PUT /sim/v1/scenario` replaces the state and restarts the timeline", async () => {
  const { api, clock } = simFrom(SCENARIO);
  await clock.advance(7000);
  const res = await api.call("PUT", "/sim/v1/scenario", undefined, {
    text:
      "nodes: [{ name: solo }]\ntimeline: [{ at: 1s, action: set-node-status, node: solo, status: OFFLINE }]",
    headers: { "content-type": "application/yaml" },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    nodes: 1,
    resource_groups: 0,
    volumes: 0,
    timeline: 1,
  });
  assert.deepEqual(
    ((await api.call("GET", "/v1/nodes")).body as { name: string }[]).map((n) =>
      n.name
    ),
    ["solo"],
  );
  assert.equal(await nodeStatus(api, "solo"), "ONLINE");
  await clock.advance(1000);
  assert.equal(await nodeStatus(api, "solo"), "OFFLINE");
  const bad = await api.call("PUT", "/sim/v1/scenario", undefined, {
    text: "nodes: [{ nam: x }]",
  });
  assert.equal(bad.status, 400);
  assert.deepEqual(
    (bad.body as { issues: { path: string }[] }).issues.map((i) => i.path),
    [
      "nodes[0].nam",
      "nodes[0].name",
    ],
  );
  assert.deepEqual(
    ((await api.call("GET", "/v1/nodes")).body as { name: string }[]).map((n) =>
      n.name
    ),
    ["solo"],
  );
});
