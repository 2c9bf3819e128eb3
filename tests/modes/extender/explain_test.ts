import assert from "node:assert/strict";
import {
  DEFAULT_EXTENDER_CONFIG,
  explainPod,
  formatExplanation,
  Reservations,
} from "../../../src/modes/extender/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { buildSnapshot, GIB, makePod, T0 } from "./_snapshot.ts";

function world(observedAt: number) {
  return buildSnapshot({
    observedAt,
    linstorNodes: [{ name: "n1" }, { name: "n2" }, {
      name: "n3",
      status: "OFFLINE",
    }],
    kubeNodes: [{ name: "n1" }, { name: "n2" }, { name: "n3" }, { name: "n4" }],
    pools: [
      { node: "n1", name: "pool1", freeGiB: 100 },
      { node: "n2", name: "pool1", freeGiB: 2 },
      { node: "n3", name: "pool1", freeGiB: 100 },
    ],
    storageClasses: [{
      name: "local",
      params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
    }],
    replicas: [{ resource: "pvc-data", node: "n1" }, {
      resource: "pvc-data",
      node: "n2",
    }],
    pvcs: [{ name: "data", sc: "local", volumeName: "pv-data" }, {
      name: "new",
      sc: "local",
      size: "5Gi",
    }],
    pvs: [{ name: "pv-data", resource: "pvc-data", sc: "local" }],
  });
}

Deno.test("`explainPod()` gives every node its verdict, score parts and reservations", () => {
  const clock = new FakeClock(T0);
  const reservations = new Reservations({ clock, ttlMs: 60_000 });
  reservations.reserve("default/other", {
    pod: "default/q",
    uid: undefined,
    sizeKib: 3 * GIB,
    nodes: new Map([["n1", "pool1"]]),
  });
  const explanation = explainPod(
    world(T0 - 2_500),
    makePod("p", { claims: ["data", "new"] }),
    {
      config: DEFAULT_EXTENDER_CONFIG,
      now: T0,
      reservations,
    },
  );
  assert.equal(explanation.pod, "default/p");
  assert.equal(explanation.linstorAgeMs, 2_500);
  assert.equal(explanation.failOpen, undefined);
  assert.deepEqual(explanation.bound, ["default/data → pvc-data"]);
  assert.deepEqual(explanation.pending, [
    "default/new 5.0GiB class local pools pool1 local-only",
  ]);
  const rows = Object.fromEntries(explanation.rows.map((r) => [r.node, r]));
  assert.equal(rows.n1?.verdict, "pass");
  // Locality 10 and capacity log2(97) = 6 → (10 + 6) / 2 = 8.
  assert.deepEqual([rows.n1?.score, rows.n1?.locality, rows.n1?.capacity], [
    8,
    10,
    6,
  ]);
  assert.deepEqual(rows.n1?.reservations, ["default/other 3.0GiB@pool1"]);
  assert.equal(rows.n2?.verdict, "unresolvable");
  assert.equal(rows.n2?.predicate, "capacity");
  assert.equal(rows.n3?.verdict, "fail");
  assert.match(rows.n3?.reason ?? "", /OFFLINE/);
  assert.equal(rows.n4?.predicate, "satellite");
  const text = formatExplanation(explanation);
  assert.match(text, /^Pod default\/p\nLINSTOR data age: 2\.5s\n/);
  assert.match(
    text,
    /\nNODE +LINSTOR +FILTER +SCORE +LOCALITY +CAPACITY +REASON \/ RESERVATIONS\n/,
  );
  assert.match(
    text,
    /\nn1 +n1 +pass +8 +10\.0 +6 +reserved default\/other 3\.0GiB@pool1\n/,
  );
  assert.match(
    text,
    /\nn4 +- +unresolvable +0 .*satellite: no LINSTOR satellite on this node\n/,
  );
});

Deno.test("`explainPod()` says when the extender would fail open", () => {
  const explanation = explainPod(
    world(T0 - 120_000),
    makePod("p", { claims: ["data"] }),
    {
      config: DEFAULT_EXTENDER_CONFIG,
      now: T0,
      reservations: new Reservations({
        clock: new FakeClock(T0),
        ttlMs: 60_000,
      }),
    },
  );
  assert.match(explanation.failOpen ?? "", /LINSTOR data is 120s old/);
  assert.match(
    formatExplanation(explanation),
    /FAIL OPEN: LINSTOR data is 120s old/,
  );
});
