import assert from "node:assert/strict";
import { Registry } from "../../../src/observability/mod.ts";
import {
  createExtenderHandler,
  createExtenderMetrics,
  DEFAULT_EXTENDER_CONFIG,
  Reservations,
} from "../../../src/modes/extender/mod.ts";
import type { Snapshot } from "../../../src/state/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { buildSnapshot, makePod, T0, type World } from "./_snapshot.ts";

const NAMES = ["n1", "n2", "n3", "n4"];

/**
 * n1..n3 have a 10, 20 and 40 GiB pool, n4 has no LINSTOR satellite; a
 * bound volume has its replica on n2 (zone b); claims `small` (1 GiB),
 * `local` (2 GiB, local-only) and `huge` (100 GiB, fits nowhere) are unbound.
 */
function world(freeGiB = [10, 20, 40]): World {
  return {
    linstorNodes: NAMES.slice(0, 3).map((name) => ({ name })),
    kubeNodes: NAMES.map((name, i) => ({
      name,
      labels: { "topology.kubernetes.io/zone": i === 1 ? "b" : "a" },
    })),
    pools: NAMES.slice(0, 3).map((node, i) => ({
      node,
      name: "pool1",
      freeGiB: freeGiB[i]!,
    })),
    storageClasses: [
      { name: "r2", params: { storagePool: "pool1" } },
      {
        name: "local",
        params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
      },
    ],
    replicas: [{ resource: "pvc-data", node: "n2" }],
    pvcs: [
      { name: "data", sc: "r2", volumeName: "pv-data" },
      { name: "small", sc: "r2", size: "1Gi" },
      { name: "local", sc: "local", size: "2Gi" },
      { name: "huge", sc: "r2", size: "100Gi" },
    ],
    pvs: [{ name: "pv-data", resource: "pvc-data", sc: "r2" }],
  };
}

function setup(snapshot: () => Snapshot) {
  const clock = new FakeClock(T0);
  const registry = new Registry();
  const reservations = new Reservations({ clock, ttlMs: 60_000 });
  const handler = createExtenderHandler({
    snapshot,
    clock,
    config: DEFAULT_EXTENDER_CONFIG,
    reservations,
    metrics: createExtenderMetrics(registry, { reservations }),
    registry,
  });
  const call = async (verb: string, body: unknown) => {
    const response = await handler(
      new Request(`http://127.0.0.1/${verb}`, {
        method: "POST",
        body: JSON.stringify(body),
      }),
    );
    assert.equal(response.status, 200);
    return await response.text();
  };
  const reuse = async (result: "hit" | "miss") => {
    const text = await registry.metrics();
    const match = new RegExp(
      `linstor_suite_extender_prioritize_reuse_total\\{result="${result}"\\} (\\d+)`,
    ).exec(text);
    return Number(match?.[1] ?? 0);
  };
  return { call, reuse, reservations };
}

/** The prioritize answer of a handler that saw no filter: the reference. */
async function fresh(snapshot: Snapshot, body: unknown): Promise<string> {
  const { call, reuse } = setup(() => snapshot);
  const answer = await call("prioritize", body);
  assert.equal(await reuse("miss"), 1);
  return answer;
}

function names(filterAnswer: string): string[] {
  return JSON.parse(filterAnswer).NodeNames;
}

const victim = makePod("app", {
  uid: "uid-app",
  claims: ["data", "small", "local"],
});

Deno.test("`createExtenderHandler()` prioritize after filter answers exactly what a fresh prioritize answers", async (t) => {
  const snapshot = buildSnapshot(world());
  await t.step("the same body, every node passing", async () => {
    const body = { Pod: victim, Nodes: null, NodeNames: ["n1", "n2", "n3"] };
    const { call, reuse } = setup(() => snapshot);
    await call("filter", body);
    const answer = await call("prioritize", body);
    assert.equal(await reuse("hit"), 1);
    assert.equal(answer, await fresh(snapshot, body));
    // Scores differ per node, so equal answers compare real scores.
    assert.equal(
      new Set(JSON.parse(answer).map((h: { Score: number }) => h.Score)).size >
        1,
      true,
    );
  });
  await t.step(
    "the reservations a hit leaves are those a miss leaves",
    async () => {
      const held = async (order: string[]) => {
        const { call, reuse, reservations } = setup(() => snapshot);
        await call("filter", { Pod: victim, NodeNames: ["n1", "n2", "n3"] });
        // A second filter refreshes the reservations instead of making them.
        await call("filter", { Pod: victim, NodeNames: ["n1", "n2", "n3"] });
        await call("prioritize", { Pod: victim, NodeNames: order });
        return {
          hits: await reuse("hit"),
          held: ["default/small", "default/local"].map((claim) =>
            [...(reservations.get(claim)?.nodes ?? [])].sort()
          ),
        };
      };
      const hit = await held(["n1", "n2", "n3"]);
      const miss = await held(["n3", "n2", "n1"]);
      assert.equal(hit.hits, 1);
      assert.equal(miss.hits, 0);
      assert.deepEqual(hit.held, miss.held);
      assert.equal(hit.held[0]!.length, 3);
    },
  );
  await t.step("the names that passed after some were rejected", async () => {
    const { call, reuse } = setup(() => snapshot);
    const passed = names(
      await call("filter", { Pod: victim, NodeNames: NAMES }),
    );
    assert.deepEqual(passed, ["n1", "n2", "n3"]);
    const body = { Pod: victim, NodeNames: passed };
    const answer = await call("prioritize", body);
    assert.equal(await reuse("hit"), 1);
    assert.equal(answer, await fresh(snapshot, body));
  });
  await t.step("Node objects with the same labels", async () => {
    const { call, reuse } = setup(() => snapshot);
    const items = [...snapshot.kube.nodes.values()];
    await call("filter", { Pod: victim, Nodes: { items } });
    const body = {
      Pod: victim,
      Nodes: { items: copyJson(items.slice(0, 3)) },
    };
    const answer = await call("prioritize", body);
    assert.equal(await reuse("hit"), 1);
    assert.equal(answer, await fresh(snapshot, body));
  });
});

Deno.test("`createExtenderHandler()` prioritize reuses no filter of another pod, snapshot, name set or labels", async (t) => {
  const body = { Pod: victim, NodeNames: ["n1", "n2", "n3"] };
  await t.step(
    "a pod with the same UID but other claims filtered last",
    async () => {
      const snapshot = buildSnapshot(world());
      const { call, reuse } = setup(() => snapshot);
      await call("filter", body);
      // Same UID and names; its only claim fits nowhere but is not hard, so
      // every node passes and no reservation changes.
      const impostor = makePod("app", { uid: "uid-app", claims: ["huge"] });
      await call("filter", { Pod: impostor, NodeNames: body.NodeNames });
      const answer = await call("prioritize", body);
      assert.equal(answer, await fresh(snapshot, body));
      // The victim's own filter entry is still there and is the one used.
      assert.equal(await reuse("hit"), 1);
    },
  );
  await t.step("an impostor filtered alone is never reused", async () => {
    const snapshot = buildSnapshot(world());
    const { call, reuse } = setup(() => snapshot);
    const impostor = {
      ...victim,
      spec: makePod("x", { claims: ["huge"] }).spec,
    };
    await call("filter", { Pod: impostor, NodeNames: body.NodeNames });
    const answer = await call("prioritize", body);
    assert.equal(await reuse("hit"), 0);
    assert.equal(answer, await fresh(snapshot, body));
  });
  await t.step("a new snapshot between filter and prioritize", async () => {
    let snapshot = buildSnapshot(world());
    const { call, reuse } = setup(() => snapshot);
    await call("filter", body);
    snapshot = buildSnapshot(world([40, 20, 10]));
    const answer = await call("prioritize", body);
    assert.equal(await reuse("hit"), 0);
    assert.equal(answer, await fresh(snapshot, body));
  });
  await t.step("other names, or the same in another order", async () => {
    const snapshot = buildSnapshot(world());
    for (const other of [["n3", "n2", "n1"], ["n1", "n3"]]) {
      const { call, reuse } = setup(() => snapshot);
      await call("filter", body);
      const asked = { Pod: victim, NodeNames: other };
      const answer = await call("prioritize", asked);
      assert.equal(await reuse("hit"), 0);
      assert.equal(answer, await fresh(snapshot, asked));
    }
  });
  await t.step("Node objects with other labels", async () => {
    const snapshot = buildSnapshot(world());
    const { call, reuse } = setup(() => snapshot);
    const items = [...snapshot.kube.nodes.values()].slice(0, 3);
    await call("filter", { Pod: victim, Nodes: { items } });
    const moved = copyJson(items);
    moved[0]!.metadata!.labels = { "topology.kubernetes.io/zone": "b" };
    const asked = { Pod: victim, Nodes: { items: moved } };
    const answer = await call("prioritize", asked);
    assert.equal(await reuse("hit"), 0);
    assert.equal(answer, await fresh(snapshot, asked));
    assert.notEqual(
      answer,
      await fresh(snapshot, { Pod: victim, Nodes: { items } }),
    );
  });
  await t.step("a second prioritize of the same pod", async () => {
    const snapshot = buildSnapshot(world());
    const { call, reuse } = setup(() => snapshot);
    await call("filter", body);
    await call("prioritize", body);
    const answer = await call("prioritize", body);
    assert.equal(await reuse("hit"), 1);
    assert.equal(await reuse("miss"), 1);
    assert.equal(answer, await fresh(snapshot, body));
  });
});

/** A deep copy of JSON data (the snapshot's objects are guarded proxies, which `structuredClone` refuses). */
function copyJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}
