import assert from "node:assert/strict";
import {
  DEFAULT_EXTENDER_CONFIG,
  Reservations,
  scoreNodes,
  SnapshotIndex,
} from "../../../src/modes/extender/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { buildSnapshot, makePod, T0, type World } from "./_snapshot.ts";

const ZONE = "topology.kubernetes.io/zone";
const ZONES: Record<string, string> = { n1: "a", n2: "a", n3: "b" };

function scoreOf(replicas: NonNullable<World["replicas"]>): number[] {
  const snapshot = buildSnapshot({
    linstorNodes: Object.keys(ZONES).map((name) => ({ name })),
    kubeNodes: Object.entries(ZONES).map(([name, zone]) => ({
      name,
      labels: { [ZONE]: zone },
    })),
    storageClasses: [{ name: "r2", params: { storagePool: "pool1" } }],
    pvcs: [{ name: "data", sc: "r2", volumeName: "pv-data" }],
    pvs: [{ name: "pv-data", resource: "pvc-data", sc: "r2" }],
    replicas,
  });
  const outcome = scoreNodes(new SnapshotIndex(snapshot), {
    pod: makePod("p", { claims: ["data"] }),
    names: Object.keys(ZONES),
  }, {
    config: DEFAULT_EXTENDER_CONFIG,
    now: T0,
    reservations: new Reservations({ clock: new FakeClock(T0), ttlMs: 1 })
      .view(),
  });
  return [...outcome.scores];
}

Deno.test("`scoreNodes()` gives a diskful replica without usable data no near-local score", async (t) => {
  // n1 holds a current replica, so n2 (same zone) scores 4; n3 holds the replica under test.
  const cases: { diskState: string; n3: number }[] = [
    { diskState: "UpToDate", n3: 10 },
    { diskState: "SyncTarget(12.5%)", n3: 6 },
    { diskState: "Inconsistent", n3: 6 },
    { diskState: "Diskless", n3: 0 },
    { diskState: "Failed", n3: 0 },
    { diskState: "Outdated", n3: 0 },
    { diskState: "DUnknown", n3: 0 },
  ];
  for (const c of cases) {
    await t.step(`${c.diskState} on n3 scores ${c.n3}`, () => {
      assert.deepEqual(
        scoreOf([
          { resource: "pvc-data", node: "n1" },
          { resource: "pvc-data", node: "n3", diskState: c.diskState },
        ]),
        [10, 4, c.n3],
      );
    });
  }
});
