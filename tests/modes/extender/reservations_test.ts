import assert from "node:assert/strict";
import {
  DEFAULT_EXTENDER_CONFIG,
  filterNodes,
  filterReservations,
  type Reservation,
  Reservations,
  reviewReservations,
  SnapshotIndex,
} from "../../../src/modes/extender/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { buildSnapshot, GIB, makePod, plainMaps, T0 } from "./_snapshot.ts";

function setup() {
  const clock = new FakeClock(T0);
  const reservations = new Reservations({ clock, ttlMs: 60_000 });
  reservations.reserve("default/a", {
    pod: "default/p",
    uid: "uid-a",
    sizeKib: 4 * GIB,
    nodes: new Map([["n1", "pool1"], ["n2", "pool1"]]),
  });
  return { clock, reservations };
}

const claimA = { name: "a", sc: "r2", size: "4Gi", uid: "uid-a" };

Deno.test("`Reservations` holds space per node and pool until the TTL", async (t) => {
  await t.step("counts the reservation on every candidate node", () => {
    const { reservations } = setup();
    const view = reservations.view();
    assert.equal(view.reservedKib("n1", "pool1"), 4 * GIB);
    assert.equal(view.reservedKib("n2", "pool1"), 4 * GIB);
    assert.equal(view.reservedKib("n2", "pool2"), 0);
    assert.equal(view.reservedKib("n1", "pool1", new Set(["default/a"])), 0);
  });
  await t.step("expires after the TTL", async () => {
    const { clock, reservations } = setup();
    await clock.advance(59_999);
    assert.equal(reservations.view().all().length, 1);
    await clock.advance(1);
    assert.equal(reservations.view().all().length, 0);
    reservations.prune(buildSnapshot({ pvcs: [claimA] }));
    assert.equal(reservations.size, 0);
  });
  await t.step("re-reserving the same claim replaces it", () => {
    const { reservations } = setup();
    reservations.reserve("default/a", {
      pod: "default/p",
      uid: "uid-a",
      sizeKib: GIB,
      nodes: new Map([["n3", "p"]]),
    });
    const view = reservations.view();
    assert.equal(view.reservedKib("n1", "pool1"), 0);
    assert.equal(view.reservedKib("n3", "p"), GIB);
  });
  await t.step("rejects a non-positive TTL", () => {
    assert.throws(
      () => new Reservations({ clock: new FakeClock(), ttlMs: 0 }),
      RangeError,
    );
  });
});

Deno.test("`Reservations.prune()` follows the claim and LINSTOR", async (t) => {
  await t.step("narrows to the selected node and keeps that narrowing", () => {
    const { reservations } = setup();
    reservations.prune(
      buildSnapshot({
        pvcs: [{
          ...claimA,
          annotations: { "volume.kubernetes.io/selected-node": "k-n2" },
        }],
      }),
      { linstorNodeOf: (n) => n.slice(2) },
    );
    assert.deepEqual([...reservations.view().all()[0]!.nodes.keys()], ["n2"]);
    reservations.reserve("default/a", {
      pod: "default/p",
      uid: "uid-a",
      sizeKib: 4 * GIB,
      nodes: new Map([["n1", "pool1"]]),
    });
    assert.deepEqual([...reservations.view().all()[0]!.nodes.keys()], ["n2"]);
  });
  await t.step("drops it when LINSTOR shows the resource pvc-<uid>", () => {
    const { reservations } = setup();
    reservations.prune(
      buildSnapshot({
        pvcs: [claimA],
        replicas: [{ resource: "pvc-uid-a", node: "n1" }],
      }),
    );
    assert.equal(reservations.size, 0);
  });
  await t.step(
    "keeps it on the replicas' thick pools until they report the volume",
    () => {
      const clock = new FakeClock(T0);
      const reservations = new Reservations({ clock, ttlMs: 60_000 });
      const pools = (free: number, kind = "LVM") => [
        { node: "n1", name: "pool1", freeGiB: free, kind },
        { node: "n2", name: "pool1", freeGiB: 10, kind },
      ];
      reservations.reserve("default/a", {
        pod: "default/p",
        uid: "uid-a",
        sizeKib: 4 * GIB,
        nodes: new Map([["n1", "pool1"], ["n2", "pool1"]]),
        poolsBefore: buildSnapshot({ pools: pools(10) }).linstor.poolsByNode,
      });
      const listed = (free: number, kind?: string) =>
        buildSnapshot({
          pvcs: [claimA],
          pools: pools(free, kind),
          replicas: [{ resource: "pvc-uid-a", node: "n1", sizeGiB: 4 }],
        });
      reservations.prune(listed(10));
      assert.deepEqual([...reservations.get("default/a")!.nodes], [[
        "n1",
        "pool1",
      ]]);
      reservations.prune(listed(7));
      assert.equal(reservations.size, 1, "3 GiB less is not the 4 GiB volume");
      reservations.prune(listed(6));
      assert.equal(reservations.size, 0);
    },
  );
  await t.step(
    "drops it at once on a thin pool (virtual sizes count the volume)",
    () => {
      const clock = new FakeClock(T0);
      const reservations = new Reservations({ clock, ttlMs: 60_000 });
      const pools = [{
        node: "n1",
        name: "pool1",
        freeGiB: 10,
        kind: "LVM_THIN",
      }];
      reservations.reserve("default/a", {
        pod: "default/p",
        uid: "uid-a",
        sizeKib: 4 * GIB,
        nodes: new Map([["n1", "pool1"]]),
        poolsBefore: buildSnapshot({ pools }).linstor.poolsByNode,
      });
      reservations.prune(buildSnapshot({
        pvcs: [claimA],
        pools,
        replicas: [{ resource: "pvc-uid-a", node: "n1", sizeGiB: 4 }],
      }));
      assert.equal(reservations.size, 0);
    },
  );
  await t.step(
    "keeps it while the claim is bound but LINSTOR does not show the resource yet",
    () => {
      const { reservations } = setup();
      reservations.prune(buildSnapshot({
        pvcs: [{ ...claimA, volumeName: "pv-a" }],
        pvs: [{ name: "pv-a", resource: "vol-x", sc: "r2" }],
      }));
      assert.equal(reservations.size, 1);
    },
  );
  await t.step(
    "drops it when the bound PV's resource appears in LINSTOR",
    () => {
      const { reservations } = setup();
      reservations.prune(buildSnapshot({
        pvcs: [{ ...claimA, volumeName: "pv-a" }],
        pvs: [{ name: "pv-a", resource: "vol-x", sc: "r2" }],
        replicas: [{ resource: "vol-x", node: "n2" }],
      }));
      assert.equal(reservations.size, 0);
    },
  );
  await t.step("drops it when the claim was deleted", () => {
    const { reservations } = setup();
    reservations.prune(buildSnapshot({ pvcs: [] }));
    assert.equal(reservations.size, 0);
  });
  await t.step("keeps it while the claim informer is not synced", () => {
    const { reservations } = setup();
    reservations.prune(buildSnapshot({ synced: ["nodes"] }));
    assert.equal(reservations.size, 1);
  });
  await t.step("drops it when the claim was recreated with another UID", () => {
    const { reservations } = setup();
    reservations.prune(
      buildSnapshot({ pvcs: [{ ...claimA, uid: "uid-other" }] }),
    );
    assert.equal(reservations.size, 0);
  });
});

Deno.test("`reviewReservations()` plans the changes without applying them", () => {
  const { reservations } = setup();
  const held = [reservations.get("default/a")!];
  const snapshot = buildSnapshot({
    pvcs: [{
      ...claimA,
      annotations: { "volume.kubernetes.io/selected-node": "n2" },
    }],
  });
  const changes = reviewReservations(held, snapshot, { now: T0 });
  assert.deepEqual(changes, [
    {
      op: "observe",
      claim: "default/a",
      poolsBefore: snapshot.linstor.poolsByNode,
    },
    { op: "narrow", claim: "default/a", nodes: new Set(["n2"]), final: true },
  ]);
  assert.equal(reservations.get("default/a")!.nodes.size, 2);
  assert.deepEqual(
    reviewReservations(held, snapshot, { now: T0 + 60_000 }),
    [{ op: "release", claim: "default/a", reason: "expired" }],
  );
});

Deno.test("`filterReservations()` plans from the filter's pass what it plans visiting the nodes", async (t) => {
  // n1, n3: 10 GiB; n2: 3 GiB (the local-only 5 GiB claim does not fit);
  // n4: no satellite. Claims: `local` 5 GiB local-only, `remote` 1 GiB.
  const names = ["n1", "n2", "n3", "n4"];
  const snapshot = buildSnapshot({
    linstorNodes: ["n1", "n2", "n3"].map((name) => ({ name })),
    kubeNodes: names.map((name) => ({ name })),
    pools: [
      { node: "n1", name: "pool1", freeGiB: 10 },
      { node: "n2", name: "pool1", freeGiB: 3 },
      { node: "n3", name: "pool1", freeGiB: 10 },
    ],
    storageClasses: [
      {
        name: "local",
        params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
      },
      { name: "r2", params: { storagePool: "pool1" } },
    ],
    pvcs: [
      { name: "local", sc: "local", size: "5Gi" },
      { name: "remote", sc: "r2", size: "1Gi" },
    ],
  });
  const index = new SnapshotIndex(snapshot);
  const pod = makePod("p", { claims: ["local", "remote"] });
  const passing = new Map([["n1", "pool1"], ["n3", "pool1"]]);
  const held = (
    claim: string,
    nodes: ReadonlyMap<string, string>,
    options: { sizeKib?: number; narrowed?: boolean } = {},
  ): Reservation => ({
    claim,
    uid: `uid-${claim.split("/")[1]}`,
    pod: "default/p",
    sizeKib: options.sizeKib ?? (claim === "default/local" ? 5 : 1) * GIB,
    nodes,
    createdAt: T0,
    expiresAt: T0 + 60_000,
    narrowed: options.narrowed ?? false,
  });
  const cases: {
    name: string;
    held: Reservation[];
    ops: Record<string, string>;
  }[] = [
    {
      name: "nothing held",
      held: [],
      ops: { "default/local": "reserve", "default/remote": "reserve" },
    },
    {
      name: "held as this filter would hold them",
      held: [held("default/local", passing), held("default/remote", passing)],
      ops: { "default/local": "refresh", "default/remote": "refresh" },
    },
    {
      name: "held on other nodes",
      held: [
        held("default/local", new Map([["n1", "pool1"], ["n2", "pool1"]])),
      ],
      ops: { "default/local": "reserve", "default/remote": "reserve" },
    },
    {
      name: "held on one node more",
      held: [held("default/local", new Map([...passing, ["n2", "pool1"]]))],
      ops: { "default/local": "reserve", "default/remote": "reserve" },
    },
    {
      name: "held on one node less",
      held: [held("default/remote", new Map([["n1", "pool1"]]))],
      ops: { "default/local": "reserve", "default/remote": "reserve" },
    },
    {
      name: "held with another size",
      held: [held("default/local", passing, { sizeKib: 4 * GIB })],
      ops: { "default/local": "reserve", "default/remote": "reserve" },
    },
    {
      name: "held narrowed for good",
      held: [held("default/remote", passing, { narrowed: true })],
      ops: { "default/local": "reserve", "default/remote": "reserve" },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const byClaim = new Map(c.held.map((r) => [r.claim, r]));
      const lookup = (claim: string) => byClaim.get(claim);
      const outcome = filterNodes(index, { pod, names }, {
        config: DEFAULT_EXTENDER_CONFIG,
        now: T0,
        reservations: new Reservations({
          clock: new FakeClock(T0),
          ttlMs: 60_000,
        }).view(),
        held: lookup,
      });
      assert.deepEqual(outcome.passed, ["n1", "n3"]);
      assert.equal(outcome.holds?.length, 2);
      const options = {
        held: lookup,
        passed: new Set(outcome.passed),
        pools: snapshot.linstor.poolsByNode,
      };
      const fromPass = filterReservations(outcome, options);
      const visiting = filterReservations(
        { ...outcome, holds: undefined },
        options,
      );
      assert.deepEqual(plainMaps(fromPass), plainMaps(visiting));
      assert.deepEqual(
        Object.fromEntries(fromPass.map((change) => [change.claim, change.op])),
        c.ops,
      );
      for (const change of fromPass) {
        if (change.op === "reserve") {
          assert.deepEqual(plainMaps(change.nodes), passing);
        }
      }
    });
  }
});
