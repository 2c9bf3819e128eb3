import assert from "node:assert/strict";
import {
  DrbdState,
  initialDump,
  peerBackLines,
  peerLostLines,
} from "../../../src/modes/fencing/mod.ts";
import { drbdState, feed, PEER_A, PEER_C, resourceOnB, T0 } from "./_world.ts";

function at(seconds: number): number {
  return T0 + seconds * 1000;
}

Deno.test("DrbdState.apply() merges resources, devices, connections and peer devices", () => {
  const state = feed(drbdState(), initialDump([resourceOnB()], { at: T0 }), T0);
  const view = state.view();
  assert.equal(view.synced, true);
  const resource = view.resources.get("pvc-1")!;
  assert.equal(resource.role, "Secondary");
  assert.equal(resource.quorumPolicy, "majority");
  assert.equal(resource.mayPromote, false);
  assert.deepEqual(resource.devices, [{
    volume: 0,
    minor: 1000,
    disk: "UpToDate",
    client: false,
    quorum: true,
  }]);
  assert.deepEqual(
    resource.connections.map((
      c,
    ) => [c.peer, c.state, c.peerRole, c.seenHealthy, c.downSince]),
    [["node-a", "Connected", "Primary", true, undefined], [
      "node-c",
      "Connected",
      "Secondary",
      true,
      undefined,
    ]],
  );
});

Deno.test("DrbdState.apply() tracks since when a connection is down", () => {
  const state = feed(drbdState(), initialDump([resourceOnB()], { at: T0 }), T0);
  feed(state, peerLostLines("pvc-1", PEER_A, { at: at(10) }), at(10));
  let a = state.view().resources.get("pvc-1")!.connections[0]!;
  assert.equal(a.state, "Connecting");
  assert.equal(
    a.downSince,
    at(10),
    "NetworkFailure → Connecting keeps the start",
  );
  feed(state, peerBackLines("pvc-1", PEER_A, { at: at(12) }), at(12));
  a = state.view().resources.get("pvc-1")!.connections[0]!;
  assert.equal(a.downSince, undefined);
  assert.equal(a.seenHealthy, true);
});

Deno.test("DrbdState.apply() clamps stamps from the future to the receive time", () => {
  const state = feed(drbdState(), initialDump([resourceOnB()], { at: T0 }), T0);
  feed(state, peerLostLines("pvc-1", PEER_A, { at: at(100) }), at(10));
  assert.equal(
    state.view().resources.get("pvc-1")!.connections[0]!.downSince,
    at(10),
  );
});

Deno.test("DrbdState.apply() skips garbage lines and counts them", () => {
  const state = drbdState();
  const lines = initialDump([resourceOnB()], { at: T0 });
  const noisy = lines.flatMap((line, i) => [
    line,
    ...(i % 2 === 0 ? ["garbage ☃", "change resource", ""] : []),
  ]);
  feed(state, noisy, T0);
  const clean = feed(drbdState(), lines, T0);
  assert.deepEqual(state.view().resources, clean.view().resources);
  assert.equal(state.stats.garbage, 2 * Math.ceil(lines.length / 2));
  assert.equal(state.view().synced, true);
});

Deno.test("DrbdState.beginResync() keeps what a restart must not forget and sweeps the rest", () => {
  const state = feed(
    drbdState(),
    initialDump(
      [resourceOnB(), resourceOnB({ name: "pvc-gone", minor: 1001 })],
      { at: T0 },
    ),
    T0,
  );
  feed(state, peerLostLines("pvc-1", PEER_A, { at: at(10) }), at(10));
  // drbdsetup exits and is restarted: blind until the new dump ends.
  state.beginResync();
  assert.equal(state.view().synced, false);
  const down = { ...PEER_A, state: "Connecting" };
  const dump = initialDump([resourceOnB({ peers: [down, PEER_C] })], {
    at: at(13),
  });
  feed(state, dump.slice(0, -1), at(13));
  assert.equal(state.view().synced, false);
  assert.ok(
    state.view().resources.has("pvc-gone"),
    "not swept before exists -",
  );
  feed(state, dump.slice(-1), at(13));
  const view = state.view();
  assert.equal(view.synced, true);
  assert.deepEqual([...view.resources.keys()], ["pvc-1"]);
  const a = view.resources.get("pvc-1")!.connections[0]!;
  assert.equal(a.downSince, at(10), "the outage start survives the restart");
  assert.equal(
    a.seenHealthy,
    true,
    "the health seen before survives the restart",
  );
});

Deno.test("DrbdState.apply() handles destroy and rename", () => {
  const state = feed(drbdState(), initialDump([resourceOnB()], { at: T0 }), T0);
  state.apply({
    kind: "event",
    timestamp: at(1),
    verb: "destroy",
    object: "connection",
    fields: { name: "pvc-1", "peer-node-id": "2" },
  }, at(1));
  assert.deepEqual(
    state.view().resources.get("pvc-1")!.connections.map((c) => c.peer),
    ["node-a"],
  );
  state.apply({
    kind: "event",
    timestamp: at(2),
    verb: "rename",
    object: "resource",
    fields: { name: "pvc-1", new_name: "pvc-2" },
  }, at(2));
  assert.deepEqual([...state.view().resources.keys()], ["pvc-2"]);
  assert.deepEqual(state.resourcesWithoutPolicy(), ["pvc-2"]);
  state.apply({
    kind: "event",
    timestamp: at(3),
    verb: "destroy",
    object: "resource",
    fields: { name: "pvc-2" },
  }, at(3));
  assert.equal(state.view().resources.size, 0);
  const before = state.view().version;
  state.apply({
    kind: "event",
    timestamp: at(4),
    verb: "change",
    object: "device",
    fields: { name: "nope", volume: "0" },
  }, at(4));
  assert.equal(state.stats.orphans, 1);
  assert.equal(state.view().version, before);
  assert.ok(new DrbdState().view().synced === false);
});
