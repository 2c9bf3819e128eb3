import assert from "node:assert/strict";
import type { V1StorageClass } from "@kubernetes/client-node";
import type { StoragePool } from "../../../src/linstor/mod.ts";
import {
  type AgentMemory,
  type AgentSnapshot,
  desiredStorageClass,
  EMPTY_MEMORY,
  type LvmScan,
  planPools,
  planStorageClasses,
} from "../../../src/modes/agent/mod.ts";
import { report, reportOf, thinRow, vgRow } from "./_fixtures.ts";

const NOW = Date.UTC(2026, 0, 1);
const GRACE = 60_000;
const OPTIONS = { removalGraceMs: GRACE };

function scan(
  vgs: Record<string, string>[],
  lvs: Record<string, string>[] = [],
): LvmScan {
  return { ok: true, complete: true, warnings: [], report: reportOf(vgs, lvs) };
}

function pool(
  name: string,
  vg: string,
  extra: {
    free?: string;
    owned?: boolean;
    kind?: string;
    node?: string;
    uuid?: string;
    errors?: boolean;
  } = {},
): StoragePool {
  return {
    storage_pool_name: name,
    node_name: extra.node ?? "n1",
    provider_kind: extra.kind ?? "LVM",
    props: {
      "StorDriver/StorPoolName": vg,
      ...(extra.owned === false ? {} : {
        "Aux/linstor-suite.io/managed-by": "linstor-suite-agent",
        "Aux/linstor-suite.io/lvm-uuid": extra.uuid ?? `uuid-${vg}`,
        "Aux/linstor-suite.io/free-bytes": extra.free ?? "53687091200",
      }),
    },
    ...(extra.errors
      ? {
        reports: [{
          ret_code: -4611686018406153234n,
          message: "Volume group 'x' not found",
        }],
      }
      : {}),
  };
}

function snapshot(
  lvm: LvmScan,
  pools: StoragePool[],
  status: string | undefined = "ONLINE",
): AgentSnapshot {
  return {
    node: "n1",
    scan: lvm,
    linstor: { ok: true, connectionStatus: status, pools },
  };
}

function summary(
  plan: ReturnType<typeof planPools>,
): string[] {
  return plan.actions.map((a) => `${a.type} ${a.key}`);
}

Deno.test("planPools() creates, waits, conflicts and leaves foreign pools alone", async (t) => {
  const cases: {
    name: string;
    snapshot: AgentSnapshot;
    actions: string[];
    states: Record<string, string>;
  }[] = [
    {
      name: "a tagged VG without a pool is created",
      snapshot: snapshot(scan([vgRow("vg1", "linstor-data")]), []),
      actions: ["CreatePool pool/n1/data"],
      states: { data: "create" },
    },
    {
      name: "a tagged thin pool is created as LVM_THIN",
      snapshot: {
        ...snapshot({
          ok: true,
          complete: true,
          warnings: [],
          report: report("vgs_thin.json", "lvs_thin.json"),
        }, []),
      },
      actions: ["CreatePool pool/n1/thick", "CreatePool pool/n1/thindata"],
      states: { thick: "create", thindata: "create" },
    },
    {
      name: "nothing is created before the satellite is ONLINE",
      snapshot: snapshot(scan([vgRow("vg1", "linstor-data")]), [], "OFFLINE"),
      actions: [],
      states: { data: "waiting" },
    },
    {
      name: "nothing is created for an unregistered node",
      snapshot: {
        node: "n1",
        scan: scan([vgRow("vg1", "linstor-data")]),
        linstor: { ok: true, connectionStatus: undefined, pools: [] },
      },
      actions: [],
      states: { data: "waiting" },
    },
    {
      name: "an existing matching pool of ours needs nothing",
      snapshot: snapshot(scan([vgRow("vg1", "linstor-data")]), [
        pool("data", "vg1"),
      ]),
      actions: [],
      states: { data: "ready" },
    },
    {
      name: "a matching foreign pool is left alone",
      snapshot: snapshot(scan([vgRow("vg1", "linstor-data")]), [
        pool("data", "vg1", { owned: false }),
      ]),
      actions: [],
      states: { data: "foreign" },
    },
    {
      name: "an existing pool on another VG is a conflict, not changed",
      snapshot: snapshot(scan([vgRow("vg2", "linstor-data")]), [
        pool("data", "vg1"),
      ]),
      actions: ["NodeEvent event/n1/conflict/data"],
      states: { data: "conflict" },
    },
    {
      name: "an existing pool of another type is a conflict",
      snapshot: snapshot(
        scan([vgRow("vg1", "")], [thinRow("vg1/t", "linstor-data")]),
        [pool("data", "vg1")],
      ),
      actions: ["NodeEvent event/n1/conflict/data"],
      states: { data: "conflict" },
    },
    {
      name: "a duplicate tag registers nothing and warns",
      snapshot: snapshot(
        scan([vgRow("vg1", "linstor-data"), vgRow("vg2", "linstor-data")]),
        [],
      ),
      actions: ["NodeEvent event/n1/conflict/data"],
      states: { data: "conflict" },
    },
    {
      name: "a duplicate tag keeps the existing pool untouched",
      snapshot: snapshot(
        scan([vgRow("vg1", "linstor-data"), vgRow("vg2", "linstor-data")]),
        [pool("data", "vg1")],
      ),
      actions: ["NodeEvent event/n1/conflict/data"],
      states: { data: "conflict" },
    },
    {
      name: "an invalid tag warns",
      snapshot: snapshot(scan([vgRow("vg1", "linstor-Bad_Name")]), []),
      actions: ['NodeEvent event/n1/invalid/VG "vg1"/linstor-Bad_Name'],
      states: {},
    },
    {
      name: "a VG with missing PVs is not registered",
      snapshot: snapshot(
        scan([vgRow("vg1", "linstor-data", { vg_attr: "wz-pn-" })]),
        [],
      ),
      actions: [],
      states: { data: "held" },
    },
    {
      name: "the diskless pool is ignored",
      snapshot: snapshot(scan([vgRow("vg1", "")]), [{
        storage_pool_name: "DfltDisklessStorPool",
        node_name: "n1",
        provider_kind: "DISKLESS",
      }]),
      actions: [],
      states: {},
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const plan = planPools(c.snapshot, {
        now: NOW,
        memory: EMPTY_MEMORY,
        options: OPTIONS,
      });
      assert.deepEqual(summary(plan), c.actions);
      assert.deepEqual(
        Object.fromEntries(plan.pools.map((p) => [p.pool, p.state])),
        c.states,
      );
    });
  }
});

Deno.test("planPools() publishes the free bytes of a ready pool only when they moved enough", async (t) => {
  // vgRow: 100 GiB VG, 50 GiB free; threshold max(1 GiB, 1 % of 100 GiB).
  const cases: [string, string | undefined, boolean][] = [
    ["missing", "", true],
    ["equal", "53687091200", false],
    ["off by 0.5 GiB", String(50.5 * 1024 ** 3), false],
    ["off by 2 GiB", String(48 * 1024 ** 3), true],
    ["garbage", "lots", true],
  ];
  for (const [name, published, expected] of cases) {
    await t.step(name, () => {
      const plan = planPools(
        snapshot(scan([vgRow("vg1", "linstor-data")]), [
          pool("data", "vg1", { free: published ?? "" }),
        ]),
        { now: NOW, memory: EMPTY_MEMORY, options: OPTIONS },
      );
      assert.deepEqual(
        summary(plan),
        expected ? ["PublishCapacity capacity/n1/data"] : [],
      );
      const action = plan.actions[0];
      if (action?.type === "PublishCapacity") {
        assert.equal(action.freeBytes, 50 * 1024 ** 3);
      }
    });
  }
});

Deno.test("planPools() carries the candidate into CreatePool", () => {
  const plan = planPools(
    snapshot(
      scan([vgRow("vg1", "")], [thinRow("vg1/t", "linstor-data")]),
      [],
    ),
    { now: NOW, memory: EMPTY_MEMORY, options: OPTIONS },
  );
  const action = plan.actions[0];
  assert.equal(action?.type, "CreatePool");
  if (action?.type !== "CreatePool") return;
  assert.equal(action.candidate.kind, "LVM_THIN");
  assert.equal(action.candidate.storPoolName, "vg1/t");
  assert.equal(action.candidate.lvmUuid, "uuid-vg1-t");
});

Deno.test("planPools() deletes an owned pool only after the grace period", () => {
  const lvm = scan([vgRow("vg1", "")]);
  const pools = [pool("data", "vg1")];
  const first = planPools(snapshot(lvm, pools), {
    now: NOW,
    memory: EMPTY_MEMORY,
    options: OPTIONS,
  });
  assert.deepEqual(summary(first), []);
  assert.equal(first.pools[0]?.state, "removal-pending");
  assert.deepEqual(first.memory.missingSince, { data: NOW });
  const before = planPools(snapshot(lvm, pools), {
    now: NOW + GRACE - 1,
    memory: first.memory,
    options: OPTIONS,
  });
  assert.deepEqual(summary(before), []);
  const after = planPools(snapshot(lvm, pools), {
    now: NOW + GRACE,
    memory: before.memory,
    options: OPTIONS,
  });
  assert.deepEqual(summary(after), ["DeletePool pool/n1/data"]);
  const action = after.actions[0];
  assert.equal(action?.type === "DeletePool" && action.lvmUuid, "uuid-vg1");
});

Deno.test("planPools() restarts the grace period when the tag comes back", () => {
  const gone = planPools(
    snapshot(scan([vgRow("vg1", "")]), [pool("data", "vg1")]),
    {
      now: NOW,
      memory: EMPTY_MEMORY,
      options: OPTIONS,
    },
  );
  const back = planPools(
    snapshot(scan([vgRow("vg1", "linstor-data")]), [pool("data", "vg1")]),
    { now: NOW + 1000, memory: gone.memory, options: OPTIONS },
  );
  assert.deepEqual(back.memory.missingSince, {});
  const goneAgain = planPools(
    snapshot(scan([vgRow("vg1", "")]), [pool("data", "vg1")]),
    { now: NOW + GRACE + 1, memory: back.memory, options: OPTIONS },
  );
  assert.deepEqual(summary(goneAgain), []);
});

Deno.test("planPools() never deletes on a failed, partial, empty or incomplete scan", async (t) => {
  const late: AgentMemory = {
    missingSince: { data: NOW - 10 * GRACE },
    reported: {},
  };
  const cases: {
    name: string;
    scan: LvmScan;
    pools?: StoragePool[];
    status?: string;
  }[] = [
    {
      name: "failed scan (lvm hangs)",
      scan: { ok: false, error: "timed out" },
    },
    { name: "empty scan", scan: scan([]) },
    {
      name: "incomplete scan (lvm exited non-zero)",
      scan: { ...scan([vgRow("other", "")]), complete: false } as LvmScan,
    },
    {
      name: "the pool's VG is missing PVs",
      scan: scan([vgRow("vg1", "", { vg_attr: "wz-pn-" })]),
    },
    {
      name: "a foreign pool",
      scan: scan([vgRow("other", "")]),
      pools: [pool("data", "vg1", { owned: false })],
    },
    {
      name: "the satellite is offline",
      scan: scan([vgRow("other", "")]),
      status: "OFFLINE",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const plan = planPools(
        snapshot(
          c.scan,
          c.pools ?? [pool("data", "vg1")],
          c.status ?? "ONLINE",
        ),
        { now: NOW, memory: late, options: OPTIONS },
      );
      assert.deepEqual(summary(plan), []);
    });
  }
});

Deno.test("planPools() keeps the grace clock through a failed scan", () => {
  const plan = planPools(
    snapshot({ ok: false, error: "timed out" }, [pool("data", "vg1")]),
    {
      now: NOW,
      memory: { missingSince: { data: NOW - 5000 }, reported: {} },
      options: OPTIONS,
    },
  );
  assert.deepEqual(plan.memory.missingSince, { data: NOW - 5000 });
  assert.equal(plan.pools[0]?.state, "held");
});

Deno.test("planPools() records a Warning Event once per unchanged issue", () => {
  const lvm = scan([
    vgRow("vg1", "linstor-data"),
    vgRow("vg2", "linstor-data"),
  ]);
  const first = planPools(snapshot(lvm, []), {
    now: NOW,
    memory: EMPTY_MEMORY,
    options: OPTIONS,
  });
  assert.equal(first.actions.length, 1);
  const action = first.actions[0];
  assert.equal(
    action?.type === "NodeEvent" && action.reason,
    "StoragePoolConflict",
  );
  const second = planPools(snapshot(lvm, []), {
    now: NOW + 15_000,
    memory: first.memory,
    options: OPTIONS,
  });
  assert.deepEqual(summary(second), []);
  const resolved = planPools(
    snapshot(scan([vgRow("vg1", "linstor-data")]), []),
    {
      now: NOW + 30_000,
      memory: second.memory,
      options: OPTIONS,
    },
  );
  assert.deepEqual(summary(resolved), ["CreatePool pool/n1/data"]);
  assert.deepEqual(resolved.memory.reported, {});
});

Deno.test("planPools() waits when LINSTOR cannot be read", () => {
  const plan = planPools(
    {
      node: "n1",
      scan: scan([vgRow("vg1", "linstor-data")]),
      linstor: { ok: false, error: "connection refused" },
    },
    { now: NOW, memory: EMPTY_MEMORY, options: OPTIONS },
  );
  assert.deepEqual(summary(plan), []);
  assert.equal(plan.pools[0]?.state, "waiting");
});

function sc(name: string, patch: Partial<V1StorageClass> = {}): V1StorageClass {
  const [, pool, r] = /^linstor-(.+)-r(\d)$/.exec(name)!;
  const base = desiredStorageClass(pool!, Number(r));
  return {
    ...base,
    ...patch,
    metadata: {
      ...base.metadata,
      uid: `uid-${name}`,
      resourceVersion: "7",
      ...patch.metadata,
    },
  };
}

Deno.test("planStorageClasses() offers r1..rN with N = min(3, nodes with a healthy pool)", async (t) => {
  const cases: {
    name: string;
    pools: StoragePool[];
    classes?: V1StorageClass[];
    prune?: boolean;
    actions: string[];
    replicas: Record<string, number>;
  }[] = [
    {
      name: "one node: r1",
      pools: [pool("data", "vg1")],
      actions: ["CreateStorageClass storageclass/linstor-data-r1"],
      replicas: { data: 1 },
    },
    {
      name: "a second node raises N to 2",
      pools: [pool("data", "vg1"), pool("data", "vg1", { node: "n2" })],
      classes: [sc("linstor-data-r1")],
      actions: ["CreateStorageClass storageclass/linstor-data-r2"],
      replicas: { data: 2 },
    },
    {
      name: "four nodes stop at r3",
      pools: ["n1", "n2", "n3", "n4"].map((node) =>
        pool("data", "vg1", { node })
      ),
      actions: [
        "CreateStorageClass storageclass/linstor-data-r1",
        "CreateStorageClass storageclass/linstor-data-r2",
        "CreateStorageClass storageclass/linstor-data-r3",
      ],
      replicas: { data: 3 },
    },
    {
      name: "foreign and broken pools do not count",
      pools: [
        pool("data", "vg1"),
        pool("data", "vg1", { node: "n2", owned: false }),
        pool("data", "vg1", { node: "n3", errors: true }),
      ],
      actions: ["CreateStorageClass storageclass/linstor-data-r1"],
      replicas: { data: 1 },
    },
    {
      name: "nothing when everything exists",
      pools: [pool("data", "vg1")],
      classes: [sc("linstor-data-r1")],
      actions: [],
      replicas: { data: 1 },
    },
    {
      name: "drift in a parameter re-creates",
      pools: [pool("data", "vg1")],
      classes: [sc("linstor-data-r1", { volumeBindingMode: "Immediate" })],
      actions: ["RecreateStorageClass storageclass/linstor-data-r1"],
      replicas: { data: 1 },
    },
    {
      name: "an unmanaged class of that name is left alone",
      pools: [pool("data", "vg1")],
      classes: [{ metadata: { name: "linstor-data-r1" }, provisioner: "x" }],
      actions: [],
      replicas: { data: 1 },
    },
    {
      name: "classes of a vanished pool are kept without prune",
      pools: [],
      classes: [sc("linstor-data-r1")],
      actions: [],
      replicas: {},
    },
    {
      name: "classes of a vanished pool and beyond N are deleted with prune",
      pools: [pool("data", "vg1")],
      classes: [
        sc("linstor-data-r1"),
        sc("linstor-data-r2"),
        sc("linstor-old-r1"),
      ],
      prune: true,
      actions: [
        "DeleteStorageClass storageclass/linstor-data-r2",
        "DeleteStorageClass storageclass/linstor-old-r1",
      ],
      replicas: { data: 1 },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const plan = planStorageClasses(
        { pools: c.pools, storageClasses: c.classes ?? [] },
        { prune: c.prune ?? false },
      );
      assert.deepEqual(
        plan.actions.map((a) => `${a.type} ${a.key}`),
        c.actions,
      );
      assert.deepEqual(Object.fromEntries(plan.replicas), c.replicas);
    });
  }
});

Deno.test("planStorageClasses() re-creates with user labels and annotations carried over", () => {
  const current = sc("linstor-data-r1", {
    reclaimPolicy: "Retain",
    metadata: {
      name: "linstor-data-r1",
      labels: {
        team: "db",
        "app.kubernetes.io/managed-by": "linstor-suite",
        "linstor-suite.io/storage-pool": "data",
      },
      annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
    },
  });
  const plan = planStorageClasses({
    pools: [pool("data", "vg1")],
    storageClasses: [current],
  });
  const action = plan.actions[0];
  assert.equal(action?.type, "RecreateStorageClass");
  if (action?.type !== "RecreateStorageClass") return;
  assert.match(action.drift, /reclaimPolicy "Retain" != "Delete"/);
  assert.equal(action.storageClass.reclaimPolicy, "Delete");
  assert.equal(action.storageClass.metadata?.labels?.team, "db");
  assert.equal(
    action.storageClass.metadata?.annotations
      ?.["storageclass.kubernetes.io/is-default-class"],
    "true",
  );
});

Deno.test("desiredStorageClass() sets pool, replicas, an explicit resource group and WaitForFirstConsumer", () => {
  const wanted = desiredStorageClass("data", 2);
  assert.equal(wanted.metadata?.name, "linstor-data-r2");
  assert.equal(wanted.provisioner, "linstor.csi.linbit.com");
  assert.deepEqual(wanted.parameters, {
    "linstor.csi.linbit.com/storagePool": "data",
    "linstor.csi.linbit.com/placementCount": "2",
    "linstor.csi.linbit.com/resourceGroup": "linstor-data-r2",
  });
  assert.equal(wanted.volumeBindingMode, "WaitForFirstConsumer");
  assert.equal(wanted.reclaimPolicy, "Delete");
  assert.equal(wanted.allowVolumeExpansion, true);
});
