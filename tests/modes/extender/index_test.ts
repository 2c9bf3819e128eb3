import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import {
  DEFAULT_EXTENDER_CONFIG,
  filterNodes,
  IndexCache,
  Reservations,
  scoreNodes,
  SnapshotIndex,
} from "../../../src/modes/extender/mod.ts";
import type { Snapshot } from "../../../src/state/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { buildSnapshot, makePod, T0, type World } from "./_snapshot.ts";
import { NodeIdMap } from "../../../src/modes/extender/_node_id_map.ts";

const ZONE = "topology.kubernetes.io/zone";
const NAMES = ["n1", "n2", "n3"];

/** n1, n2 in zone a, n3 in zone b; a bound volume with its replica on n1; an unbound local-only claim. */
function world(): World {
  return {
    linstorNodes: NAMES.map((name) => ({ name })),
    kubeNodes: NAMES.map((name, i) => ({
      name,
      labels: { [ZONE]: i < 2 ? "a" : "b" },
    })),
    pools: NAMES.map((node, i) => ({
      node,
      name: "pool1",
      freeGiB: 10 * (i + 1),
    })),
    replicas: [{ resource: "pvc-bound", node: "n1" }],
    storageClasses: [{
      name: "local",
      params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
    }, { name: "r2", params: { storagePool: "pool1" } }],
    pvcs: [
      { name: "bound", sc: "r2", volumeName: "pv-bound" },
      { name: "new", sc: "local", size: "5Gi" },
    ],
    pvs: [{ name: "pv-bound", resource: "pvc-bound", sc: "r2" }],
  };
}

/** A later snapshot over the same LINSTOR view with `nodes` replacing the Node objects of those names. */
function withNodes(snapshot: Snapshot, nodes: readonly V1Node[]): Snapshot {
  const all = new Map(snapshot.kube.nodes);
  for (const node of nodes) all.set(node.metadata!.name!, node);
  return {
    ...snapshot,
    version: snapshot.version + 1,
    kube: { ...snapshot.kube, nodes: all },
  };
}

function answers(index: SnapshotIndex) {
  const pod = makePod("p", { claims: ["bound", "new"] });
  const options = {
    config: DEFAULT_EXTENDER_CONFIG,
    now: T0,
    reservations: new Reservations({ clock: new FakeClock(T0), ttlMs: 1 })
      .view(),
  };
  const filtered = filterNodes(index, { pod, names: NAMES }, options);
  const scored = scoreNodes(index, { pod, names: NAMES }, options);
  return { passed: filtered.passed, scores: scored.scores };
}

Deno.test("`SnapshotIndex.candidate()` reuses a record across snapshots of one LINSTOR view only for the same Node object", () => {
  const cache = new IndexCache("auto");
  const first = buildSnapshot(world());
  const a = cache.of(first);
  const before = NAMES.map((name) => a.candidate(name));
  // Warm the records' locality ids.
  assert.deepEqual(answers(a), {
    passed: ["n1", "n2", "n3"],
    scores: [7, 4, 2],
  });
  // n2 moves to zone b: a new Node object; n1 and n3 are unchanged.
  const moved: V1Node = {
    ...first.kube.nodes.get("n2")!,
    metadata: {
      ...first.kube.nodes.get("n2")!.metadata,
      labels: { [ZONE]: "b" },
    },
  };
  const second = withNodes(first, [moved]);
  const b = cache.of(second);
  assert.notEqual(b, a);
  assert.equal(b.candidate("n1"), before[0]);
  assert.equal(b.candidate("n3"), before[2]);
  assert.notEqual(b.candidate("n2"), before[1]);
  assert.equal(b.candidate("n2").kubeNode, moved);
  // The answers are those of an index that shares nothing with the first.
  const fresh = answers(new SnapshotIndex(second));
  assert.deepEqual(fresh, { passed: ["n1", "n2", "n3"], scores: [7, 2, 2] });
  assert.deepEqual(answers(b), fresh);
  // A name of no node is not kept for later snapshots.
  assert.notEqual(
    cache.of(withNodes(second, [])).candidate("nowhere"),
    b.candidate("nowhere"),
  );
});

Deno.test("`SnapshotIndex.choiceTables` serve later snapshots of one LINSTOR view only while the claims held against the nodes are the same", () => {
  const cache = new IndexCache("auto");
  // "other" has a class of its own, with the same parameters as "local".
  const withOther = (annotations: Record<string, string>): World => ({
    ...world(),
    storageClasses: [...world().storageClasses!, {
      name: "other",
      params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
    }],
    pvcs: [
      ...world().pvcs!,
      { name: "other", sc: "other", size: "8Gi", annotations },
    ],
  });
  const first = buildSnapshot(withOther({}));
  const a = cache.of(first);
  assert.deepEqual(answers(a).passed, ["n1", "n2", "n3"]);
  assert.equal(a.choiceTables.size, 1);
  // "other" gets a selected node: 8 of n1's 10 GiB are held for it, the
  // pod's 5 GiB no longer fit there. Same LINSTOR view, new claims.
  const placed = buildSnapshot(
    withOther({ "volume.kubernetes.io/selected-node": "n1" }),
  );
  const second: Snapshot = {
    ...placed,
    version: first.version + 1,
    linstor: first.linstor,
  };
  const b = cache.of(second);
  const fresh = answers(new SnapshotIndex(second));
  assert.deepEqual(fresh.passed, ["n2", "n3"]);
  assert.deepEqual(answers(b), fresh);
  assert.equal(b.choiceTables.size, 2);
  // A Node event that changes none of it reuses the table.
  const c = cache.of(withNodes(second, []));
  assert.deepEqual(answers(c), fresh);
  assert.equal(c.choiceTables.size, 2);
  // "other" moves to n2 (12 of 20 GiB left: the pod fits everywhere), back
  // to n1, then (the same claim objects) its class allows no pool of any
  // node, so nothing is held for it: each step answers what a fresh index
  // does, whatever was worked out before.
  const moved = (node: string) =>
    buildSnapshot(withOther({ "volume.kubernetes.io/selected-node": node }));
  const toN2 = moved("n2").kube;
  const toN1 = moved("n1").kube;
  const noPool = buildSnapshot({
    ...world(),
    storageClasses: [...world().storageClasses!, {
      name: "other",
      params: { storagePool: "pool9", allowRemoteVolumeAccess: "false" },
    }],
  }).kube.storageClasses;
  const kubes = [
    { claims: toN2, classes: second.kube.storageClasses },
    { claims: toN1, classes: second.kube.storageClasses },
    { claims: toN1, classes: noPool },
  ];
  const passed = [];
  for (const [i, { claims, classes }] of kubes.entries()) {
    // Only the claims or the classes change: the other maps stay the
    // objects they were, as the state model hands them out.
    const next: Snapshot = {
      ...second,
      version: first.version + 2 + i,
      kube: {
        ...second.kube,
        persistentVolumeClaims: claims.persistentVolumeClaims,
        claimsWithSelectedNode: claims.claimsWithSelectedNode,
        storageClasses: classes,
      },
    };
    const expected = answers(new SnapshotIndex(next));
    assert.deepEqual(answers(cache.of(next)), expected, `step ${i + 1}`);
    passed.push(expected.passed);
  }
  // The steps differ where the claim is held (they test something).
  assert.deepEqual(passed, [["n1", "n2", "n3"], ["n2", "n3"], [
    "n1",
    "n2",
    "n3",
  ]]);
});

Deno.test("`IndexCache.of()` keeps the LINSTOR-derived caches across a poll that changed nothing, not across one that did", () => {
  const cache = new IndexCache("auto");
  const first = buildSnapshot(world());
  const a = cache.of(first);
  const record = a.candidate("n1");
  assert.equal(answers(a).passed.length, 3);
  // An unchanged poll: a new view of the same maps, with a later time.
  const renewed: Snapshot = {
    ...first,
    version: first.version + 1,
    linstor: { ...first.linstor, observedAt: T0 + 10_000 },
  };
  const b = cache.of(renewed);
  assert.notEqual(b, a);
  assert.equal(b.candidate("n1"), record);
  assert.equal(b.choiceTables, a.choiceTables);
  // A poll that changed something (n1's pool is nearly full): nothing kept.
  const fuller = buildSnapshot({
    ...world(),
    pools: NAMES.map((node, i) => ({
      node,
      name: "pool1",
      freeGiB: i === 0 ? 1 : 10 * (i + 1),
    })),
  });
  const changed: Snapshot = {
    ...renewed,
    version: renewed.version + 1,
    linstor: fuller.linstor,
  };
  const c = cache.of(changed);
  assert.notEqual(c.candidate("n1"), record);
  assert.notEqual(c.choiceTables, a.choiceTables);
  const fresh = answers(new SnapshotIndex(changed));
  assert.deepEqual(fresh.passed, ["n2", "n3"]);
  assert.deepEqual(answers(c), fresh);
});

Deno.test("`SnapshotIndex.byNodeId()` reads a map by node id, built on its own ids or not", () => {
  const a = new SnapshotIndex(buildSnapshot(world()));
  const b = new SnapshotIndex(buildSnapshot(world()));
  const plain = new Map([["n3", "pool1"], ["n1", "pool2"]]);
  const own = new NodeIdMap(a.ids);
  for (const [name, pool] of plain) own.add(name, a.intern(name), pool);
  for (const map of [plain, own]) {
    for (const index of [a, b]) {
      const byId = index.byNodeId(map);
      for (const name of NAMES) {
        assert.equal(byId[index.intern(name)], plain.get(name), name);
      }
    }
  }
  // Built on `a`'s ids, `own` hands `a` its own array.
  assert.equal(a.byNodeId(own), own.byId(a.ids));
});
