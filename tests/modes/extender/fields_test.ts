import assert from "node:assert/strict";
import type { KubeFields } from "../../../src/kube/mod.ts";
import {
  DEFAULT_EXTENDER_CONFIG,
  EXTENDER_FIELDS,
  filterNodes,
  Reservations,
  SnapshotIndex,
} from "../../../src/modes/extender/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { DroppedFieldRead } from "../../_builders/mod.ts";
import { buildSnapshot, makePod, T0, type World } from "./_snapshot.ts";

/** n1 (ssd) and n2 (hdd) with pool1; a bound local-only claim on n1, a pending one with a node selector. */
const WORLD: World = {
  linstorNodes: [{ name: "n1" }, { name: "n2" }],
  kubeNodes: [
    { name: "n1", labels: { "kubernetes.io/hostname": "n1", disk: "ssd" } },
    { name: "n2", labels: { "kubernetes.io/hostname": "n2", disk: "hdd" } },
  ],
  pools: [
    { node: "n1", name: "pool1", freeGiB: 10 },
    { node: "n2", name: "pool1", freeGiB: 10 },
  ],
  storageClasses: [{
    name: "r1",
    params: { "linstor.csi.linbit.com/storagePool": "pool1" },
  }],
  replicas: [{ resource: "pvc-data", node: "n1" }],
  pvcs: [
    { name: "data", sc: "r1", volumeName: "pv-data" },
    {
      name: "new",
      sc: "r1",
      annotations: { "linstor-suite.io/node-selector": "disk=ssd" },
    },
  ],
  pvs: [{
    name: "pv-data",
    resource: "pvc-data",
    sc: "r1",
    annotations: { "override.piraeus.io/allow-remote-access": "false" },
  }],
};

function passed(
  fields: KubeFields,
  claims: string[] = ["data", "new"],
): string[] {
  const snapshot = buildSnapshot(WORLD, { fields });
  const outcome = filterNodes(new SnapshotIndex(snapshot), {
    pod: makePod("p", { claims }),
    names: ["n1", "n2"],
  }, {
    config: DEFAULT_EXTENDER_CONFIG,
    now: T0,
    reservations: new Reservations({ clock: new FakeClock(T0), ttlMs: 60_000 })
      .view(),
  });
  return [...outcome.passed];
}

Deno.test("`filterNodes()` answers through EXTENDER_FIELDS what it answers on whole objects", () => {
  // `{}`: every kind left to `stripObject()`, which keeps spec and metadata whole.
  assert.deepEqual(passed({}), ["n1"]);
  assert.deepEqual(passed(EXTENDER_FIELDS), ["n1"]);
  assert.deepEqual(passed({}, ["data"]), ["n1"]);
  assert.deepEqual(passed(EXTENDER_FIELDS, ["data"]), ["n1"]);
});

Deno.test("`filterNodes()` fails when the extender's projection lacks a field it reads", async (t) => {
  const cases: { name: string; fields: KubeFields; path: string }[] = [
    {
      name: "node labels",
      fields: { ...EXTENDER_FIELDS, nodes: { metadata: {} } },
      path: "metadata.labels",
    },
    {
      name: "a claim's node selector annotation",
      fields: {
        ...EXTENDER_FIELDS,
        persistentVolumeClaims: {
          ...EXTENDER_FIELDS.persistentVolumeClaims,
          metadata: { annotations: {} },
        },
      },
      path: 'metadata.annotations["linstor-suite.io/node-selector"]',
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(
        () => passed(c.fields),
        (error: unknown) =>
          error instanceof DroppedFieldRead && error.path === c.path,
      );
    });
  }
});

Deno.test("`filterNodes()` answers otherwise when the extender's projection lacks a field it enumerates", () => {
  // The override annotations are found by prefix over the keys, which the
  // guard cannot see: the answer changes instead (local-only → anywhere).
  const fields: KubeFields = {
    ...EXTENDER_FIELDS,
    persistentVolumes: {
      ...EXTENDER_FIELDS.persistentVolumes,
      metadata: { annotations: {} },
    },
  };
  assert.deepEqual(passed(fields, ["data"]), ["n1", "n2"]);
});
