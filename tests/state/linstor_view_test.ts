import assert from "node:assert/strict";
import {
  buildLinstorView,
  buildLinstorViewCooperatively,
  createLinstorViewMemo,
  type LinstorData,
  linstorDataChanged,
  type LinstorView,
  type ReplicaRole,
} from "../../src/state/mod.ts";
import {
  linstorNode,
  resource,
  resourceDefinition,
  resourceGroup,
  storagePool,
} from "../_builders/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

/** Plain data of a view (maps as sorted entry lists), for deep comparisons. */
function plain(value: unknown): unknown {
  if (
    value instanceof Object &&
    typeof (value as Map<unknown, unknown>).entries === "function" &&
    !Array.isArray(value)
  ) {
    return [...(value as ReadonlyMap<string, unknown>).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, item]) => [key, plain(item)]);
  }
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, plain(item)]),
    );
  }
  return value;
}

function data(partial: Partial<LinstorData>): LinstorData {
  return {
    nodes: [],
    storagePools: [],
    resources: [],
    resourceDefinitions: [],
    resourceGroups: [],
    ...partial,
  };
}

Deno.test("buildLinstorView() derives replica fields from the wire", async (t) => {
  const cases: {
    name: string;
    wire: ReturnType<typeof resource>;
    expect: {
      role: ReplicaRole;
      deleting: boolean;
      inactive: boolean;
      upToDate: boolean;
      diskStates: (string | undefined)[];
      inUse: boolean | undefined;
    };
  }[] = [
    {
      name: "healthy diskful replica in use",
      wire: resource("r1", "n1", { inUse: true }),
      expect: {
        role: "diskful",
        deleting: false,
        inactive: false,
        upToDate: true,
        diskStates: ["UpToDate"],
        inUse: true,
      },
    },
    {
      name: "tie-breaker reports Diskless",
      wire: resource("r1", "n1", {
        flags: ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"],
        diskState: "Diskless",
        inUse: false,
      }),
      expect: {
        role: "tie-breaker",
        deleting: false,
        inactive: false,
        upToDate: false,
        diskStates: ["Diskless"],
        inUse: false,
      },
    },
    {
      name: "deleting replica (DRBD_DELETE only)",
      wire: resource("r1", "n1", { flags: ["DRBD_DELETE"] }),
      expect: {
        role: "diskful",
        deleting: true,
        inactive: false,
        upToDate: true,
        diskStates: ["UpToDate"],
        inUse: undefined,
      },
    },
    {
      name: "evicted replica is inactive",
      wire: resource("r1", "n1", {
        flags: ["EVICTED", "INACTIVE"],
        diskState: null,
      }),
      expect: {
        role: "diskful",
        deleting: false,
        inactive: true,
        upToDate: false,
        diskStates: [undefined],
        inUse: undefined,
      },
    },
    {
      name: "non-DRBD replica has no disk state",
      wire: resource("r1", "n1", { diskState: null }),
      expect: {
        role: "diskful",
        deleting: false,
        inactive: false,
        upToDate: false,
        diskStates: [undefined],
        inUse: undefined,
      },
    },
    {
      name: "empty disk state string counts as none",
      wire: resource("r1", "n1", { diskState: "" }),
      expect: {
        role: "diskful",
        deleting: false,
        inactive: false,
        upToDate: false,
        diskStates: [undefined],
        inUse: undefined,
      },
    },
    {
      name: "one outdated volume of two is not up to date",
      wire: resource("r1", "n1", {
        volumes: [
          { volume_number: 1, state: { disk_state: "Outdated" } },
          { volume_number: 0, state: { disk_state: "UpToDate" } },
        ],
      }),
      expect: {
        role: "diskful",
        deleting: false,
        inactive: false,
        upToDate: false,
        diskStates: ["UpToDate", "Outdated"],
        inUse: undefined,
      },
    },
    {
      name: "replica without volumes is not up to date",
      wire: resource("r1", "n1", { volumes: [] }),
      expect: {
        role: "diskful",
        deleting: false,
        inactive: false,
        upToDate: false,
        diskStates: [],
        inUse: undefined,
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const view = buildLinstorView(data({ resources: [c.wire] }), {
        observedAt: T0,
      });
      const replica = view.replicasByResource.get("r1")?.[0];
      assert.ok(replica);
      assert.deepEqual({
        role: replica.role,
        deleting: replica.deleting,
        inactive: replica.inactive,
        upToDate: replica.upToDate,
        diskStates: replica.volumes.map((v) => v.diskState),
        inUse: replica.inUse,
      }, c.expect);
      assert.equal(view.replicasByNode.get("n1")?.[0], replica);
    });
  }
});

Deno.test("buildLinstorView() indexes replicas sorted by node and by resource", () => {
  const view = buildLinstorView(
    data({
      resources: [
        resource("r2", "n2"),
        resource("r1", "n3"),
        resource("r1", "n1"),
        resource("r2", "n1", { flags: ["DISKLESS", "DRBD_DISKLESS"] }),
      ],
    }),
    { observedAt: T0 },
  );
  assert.deepEqual(
    view.replicasByResource.get("r1")?.map((r) => r.node),
    ["n1", "n3"],
  );
  assert.deepEqual(
    view.replicasByNode.get("n1")?.map((r) => `${r.resource}:${r.role}`),
    ["r1:diskful", "r2:diskless"],
  );
  assert.equal(view.replicasByResource.size, 2);
  assert.equal(view.replicasByNode.size, 3);
  assert.equal(view.observedAt, T0);
  assert.equal(view.lastError, undefined);
});

Deno.test("buildLinstorView() normalizes nodes, pools, definitions and groups", () => {
  const view = buildLinstorView(
    data({
      nodes: [
        linstorNode("n1", { connectionStatus: "Online", type: "Satellite" }),
        { name: "n2" },
        linstorNode("n3", {
          props: { "Aux/topology/kubernetes.io/hostname": "host-3" },
        }),
      ],
      storagePools: [
        storagePool("n1", "thin", { providerKind: "lvm_thin" }),
        storagePool("n1", "fat", {
          providerKind: "LVM",
          freeKib: null,
          totalKib: null,
        }),
        storagePool("n2", "zfs", {
          providerKind: "ZFS",
          staticTraits: { Provisioning: "Thin" },
        }),
      ],
      resourceDefinitions: [
        resourceDefinition("r1", { volumeSizesKib: [10, 20] }),
      ],
      resourceGroups: [resourceGroup("rg", { placeCount: 3 })],
    }),
    { observedAt: T0 },
  );
  const n1 = view.nodes.get("n1")!;
  assert.equal(n1.connectionStatus, "ONLINE");
  assert.equal(n1.online, true);
  assert.equal(n1.type, "SATELLITE");
  const n2 = view.nodes.get("n2")!;
  assert.equal(n2.connectionStatus, "UNKNOWN");
  assert.equal(n2.online, false);
  assert.equal(view.nodesByHostname.get("host-3")?.name, "n3");
  assert.equal(view.nodesByHostname.size, 1);
  const thin = view.poolsByNode.get("n1")!.get("thin")!;
  assert.equal(thin.providerKind, "LVM_THIN");
  assert.equal(thin.thin, true);
  assert.equal(thin.freeKib, 100 * 1024 * 1024);
  const fat = view.poolsByNode.get("n1")!.get("fat")!;
  assert.equal(fat.thin, false);
  assert.equal(fat.freeKib, undefined);
  assert.equal(fat.totalKib, undefined);
  assert.equal(view.poolsByNode.get("n2")!.get("zfs")!.thin, true);
  assert.deepEqual(
    view.resourceDefinitions.get("r1")!.volumeDefinitions.map((v) => v.sizeKib),
    [10, 20],
  );
  assert.equal(view.resourceDefinitions.get("r1")!.resourceGroup, "sc-rg");
  assert.equal(view.resourceGroups.get("rg")!.selectFilter.place_count, 3);
});

Deno.test("buildLinstorView() reports and skips objects without identity", () => {
  const messages: string[] = [];
  const view = buildLinstorView(
    data({
      nodes: [{ connection_status: "ONLINE" }, linstorNode("n1")],
      storagePools: [{ storage_pool_name: "p" }],
      resources: [{ name: "r1" }, resource("r1", "n1")],
      resourceDefinitions: [{}],
      resourceGroups: [{}],
    }),
    { observedAt: T0, onInvalid: (m) => messages.push(m) },
  );
  assert.equal(messages.length, 5);
  assert.match(messages[0]!, /^Cannot index LINSTOR node: it has no "name"$/);
  assert.equal(view.nodes.size, 1);
  assert.equal(view.replicasByResource.get("r1")?.length, 1);
  assert.equal(view.poolsByNode.size, 0);
});

Deno.test("buildLinstorView() keeps identities of unchanged objects", () => {
  const input = data({
    nodes: [linstorNode("n1"), linstorNode("n2")],
    storagePools: [storagePool("n1", "p")],
    resources: [resource("r1", "n1"), resource("r2", "n2")],
    resourceDefinitions: [resourceDefinition("r1")],
    resourceGroups: [resourceGroup("rg")],
  });
  const first = buildLinstorView(input, { observedAt: T0 });
  const same = buildLinstorView(structuredClone(input), {
    observedAt: T0 + 1000,
    previous: first,
  });
  assert.equal(linstorDataChanged(first, same), false);
  assert.equal(same.nodes, first.nodes);
  assert.equal(same.replicasByNode, first.replicasByNode);
  assert.equal(same.observedAt, T0 + 1000);

  const changedInput = structuredClone(input) as LinstorData;
  (changedInput.resources as ReturnType<typeof resource>[])[1] = resource(
    "r2",
    "n2",
    { diskState: "Outdated" },
  );
  const changed = buildLinstorView(changedInput, {
    observedAt: T0 + 2000,
    previous: same,
  });
  assert.equal(linstorDataChanged(same, changed), true);
  assert.notEqual(changed.replicasByResource, same.replicasByResource);
  assert.equal(
    changed.replicasByResource.get("r1"),
    same.replicasByResource.get("r1"),
  );
  assert.equal(
    changed.replicasByResource.get("r2")![0]!.volumes[0]!.diskState,
    "Outdated",
  );
  assert.equal(changed.nodes, same.nodes);
});

Deno.test("buildLinstorView() returns frozen objects and maps", () => {
  const view = buildLinstorView(
    data({ nodes: [linstorNode("n1")], resources: [resource("r1", "n1")] }),
    { observedAt: T0 },
  );
  const replica = view.replicasByResource.get("r1")![0]!;
  assert.ok(Object.isFrozen(view));
  assert.ok(Object.isFrozen(replica));
  assert.ok(Object.isFrozen(replica.volumes));
  assert.ok(Object.isFrozen(replica.props));
  assert.ok(Object.isFrozen(view.nodes.get("n1")));
  assert.equal("set" in view.nodes, false);
  assert.equal("delete" in view.replicasByResource, false);
});

Deno.test("buildLinstorView() notices every field change of a replica or definition", async (t) => {
  const baseResource = () =>
    resource("r1", "n1", {
      flags: ["DRBD_DELETE"],
      props: { a: "1" },
      inUse: true,
      createdAt: 5,
    });
  const baseDefinition = () =>
    resourceDefinition("r1", { props: { a: "1" }, volumeSizesKib: [10] });
  const first = buildLinstorView(
    data({
      resources: [baseResource()],
      resourceDefinitions: [baseDefinition()],
    }),
    { observedAt: T0 },
  );
  type R = ReturnType<typeof resource>;
  type D = ReturnType<typeof resourceDefinition>;
  const cases: {
    name: string;
    resource?: (r: R) => void;
    definition?: (d: D) => void;
    changed: boolean;
  }[] = [
    { name: "nothing", changed: false },
    {
      name: "same flags in lower case",
      resource: (r) => (r.flags = ["drbd_delete"]),
      changed: false,
    },
    {
      name: "flag added",
      resource: (r) => r.flags!.push("INACTIVE"),
      changed: true,
    },
    { name: "flags removed", resource: (r) => delete r.flags, changed: true },
    {
      name: "prop value",
      resource: (r) => (r.props = { a: "2" }),
      changed: true,
    },
    {
      name: "prop added",
      resource: (r) => (r.props!["b"] = "1"),
      changed: true,
    },
    { name: "props removed", resource: (r) => delete r.props, changed: true },
    {
      name: "in use",
      resource: (r) => (r.state = { in_use: false }),
      changed: true,
    },
    { name: "state unknown", resource: (r) => delete r.state, changed: true },
    {
      name: "create timestamp",
      resource: (r) => (r.create_timestamp = 6),
      changed: true,
    },
    {
      name: "disk state",
      resource: (r) => (r.volumes![0]!.state = { disk_state: "Outdated" }),
      changed: true,
    },
    {
      name: "allocated size",
      resource: (r) => (r.volumes![0]!.allocated_size_kib = 7),
      changed: true,
    },
    {
      name: "storage pool",
      resource: (r) => (r.volumes![0]!.storage_pool_name = "other"),
      changed: true,
    },
    {
      name: "volume added",
      resource: (r) => r.volumes!.push({ volume_number: 1 }),
      changed: true,
    },
    {
      name: "definition prop",
      definition: (d) => (d.props = { a: "3" }),
      changed: true,
    },
    {
      name: "definition group",
      definition: (d) => (d.resource_group_name = "other"),
      changed: true,
    },
    {
      name: "volume definition size",
      definition: (d) => (d.volume_definitions![0]!.size_kib = 11),
      changed: true,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const r = baseResource();
      const d = baseDefinition();
      c.resource?.(r);
      c.definition?.(d);
      const next = buildLinstorView(
        data({ resources: [r], resourceDefinitions: [d] }),
        { observedAt: T0 + 1, previous: first },
      );
      assert.equal(linstorDataChanged(first, next), c.changed);
      const fresh = buildLinstorView(
        data({ resources: [r], resourceDefinitions: [d] }),
        { observedAt: T0 + 1 },
      );
      // Reuse never hides a difference: the result equals a cold build.
      assert.deepEqual(
        next.replicasByResource.get("r1"),
        fresh.replicasByResource.get("r1"),
      );
      assert.deepEqual(
        next.resourceDefinitions.get("r1"),
        fresh.resourceDefinitions.get("r1"),
      );
    });
  }
});

Deno.test("buildLinstorViewCooperatively() yields every slice and builds the same view", async () => {
  const input = data({
    nodes: [linstorNode("n1"), linstorNode("n2")],
    resources: Array.from(
      { length: 100 },
      (_, i) => resource(`r${i}`, i % 2 ? "n1" : "n2"),
    ),
    resourceDefinitions: Array.from(
      { length: 50 },
      (_, i) => resourceDefinition(`r${i}`),
    ),
  });
  let yields = 0;
  const view = await buildLinstorViewCooperatively(structuredClone(input), {
    observedAt: T0,
    sliceSize: 10,
    yieldControl: () => {
      yields++;
      return Promise.resolve();
    },
  });
  // 50 definitions + 100 resources + 100 per-resource lists + 100 per-node
  // passes over lists, in slices of 10, plus one turn after nodes and pools.
  assert.ok(yields >= 30, `only ${yields} yields`);
  const expected = buildLinstorView(input, { observedAt: T0 });
  assert.deepEqual(plain(view), plain(expected));
  assert.equal(view.replicasByNode.get("n1")?.length, 50);
});

Deno.test("buildLinstorViewCooperatively() stops when its signal aborts", async () => {
  const controller = new AbortController();
  const input = data({
    resources: Array.from({ length: 100 }, (_, i) => resource(`r${i}`, "n1")),
  });
  await assert.rejects(
    buildLinstorViewCooperatively(input, {
      observedAt: T0,
      sliceSize: 10,
      signal: controller.signal,
      yieldControl: () => {
        controller.abort(new Error("shutdown"));
        return Promise.resolve();
      },
    }),
    { message: "shutdown" },
  );
  await assert.rejects(
    buildLinstorViewCooperatively(input, {
      observedAt: T0,
      sliceSize: 0,
      yieldControl: () => Promise.resolve(),
    }),
    {
      name: "RangeError",
      message:
        'Cannot build the LINSTOR view with slice size "0": must be a positive integer',
    },
  );
});

Deno.test("buildLinstorView() notices every field change of a node or pool", async (t) => {
  const baseNode = () =>
    linstorNode("n1", { flags: ["EVICTED"], props: { a: "1" } });
  const basePool = () =>
    storagePool("n1", "p", { providerKind: "LVM", props: { a: "1" } });
  const first = buildLinstorView(
    data({ nodes: [baseNode()], storagePools: [basePool()] }),
    { observedAt: T0 },
  );
  type N = ReturnType<typeof linstorNode>;
  type P = ReturnType<typeof storagePool>;
  const cases: {
    name: string;
    node?: (n: N) => void;
    pool?: (p: P) => void;
    changed: boolean;
  }[] = [
    { name: "nothing", changed: false },
    {
      name: "same status in mixed case",
      node: (n) => (n.connection_status = "Online"),
      changed: false,
    },
    {
      name: "connection status",
      node: (n) => (n.connection_status = "OFFLINE"),
      changed: true,
    },
    {
      name: "status unknown",
      node: (n) => delete n.connection_status,
      changed: true,
    },
    { name: "node type", node: (n) => (n.type = "COMBINED"), changed: true },
    { name: "node flags", node: (n) => (n.flags = []), changed: true },
    { name: "node prop", node: (n) => (n.props = { a: "2" }), changed: true },
    {
      name: "net interface only (not indexed)",
      node: (n) => (n.net_interfaces = []),
      changed: false,
    },
    {
      name: "free capacity",
      pool: (p) => (p.free_capacity = 1),
      changed: true,
    },
    {
      name: "free capacity unknown",
      pool: (p) => delete p.free_capacity,
      changed: true,
    },
    {
      name: "total capacity",
      pool: (p) => (p.total_capacity = 1),
      changed: true,
    },
    {
      name: "provider kind",
      pool: (p) => (p.provider_kind = "ZFS"),
      changed: true,
    },
    {
      name: "thin by static trait",
      pool: (p) => (p.static_traits = { Provisioning: "Thin" }),
      changed: true,
    },
    { name: "pool prop", pool: (p) => (p.props = {}), changed: true },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const n = baseNode();
      const p = basePool();
      c.node?.(n);
      c.pool?.(p);
      const input = data({ nodes: [n], storagePools: [p] });
      const next = buildLinstorView(input, {
        observedAt: T0 + 1,
        previous: first,
      });
      assert.equal(linstorDataChanged(first, next), c.changed);
      const fresh = buildLinstorView(input, { observedAt: T0 + 1 });
      assert.deepEqual(plain(next), plain(fresh));
    });
  }
});

Deno.test("buildLinstorView() with a memo builds what a full build builds when wire objects are kept, added, removed, changed or repeated", async (t) => {
  const base = Array.from(
    { length: 40 },
    (_, i) => resource(`r${i % 20}`, `n${i % 7 + (i >= 20 ? 7 : 0)}`),
  );
  type Wire = ReturnType<typeof resource>[];
  // Each step derives the next list from the last one, keeping objects.
  const steps: [string, (last: Wire) => Wire][] = [
    ["nothing new", (last) => [...last]],
    [
      "one changed",
      (last) =>
        last.map((r, i) =>
          i === 3
            ? resource(r.name!, r.node_name!, { diskState: "Outdated" })
            : r
        ),
    ],
    [
      "one inserted",
      (last) => [...last.slice(0, 5), resource("r5", "n99"), ...last.slice(5)],
    ],
    ["one removed", (last) => [...last.slice(0, 8), ...last.slice(9)]],
    [
      "a new resource",
      (last) => [...last, resource("new", "n1"), resource("new", "n2")],
    ],
    ["a resource gone", (last) => last.filter((r) => r.name !== "r7")],
    [
      "the same content in a new object",
      (last) => last.map((r, i) => i === 10 ? structuredClone(r) : r),
    ],
    ["reversed", (last) => [...last].reverse()],
    [
      "a duplicate",
      (
        last,
      ) => [
        ...last,
        resource(last[0]!.name!, last[0]!.node_name!, { diskState: "Failed" }),
      ],
    ],
    ["back to clean", (last) => last.slice(0, -1)],
    ["an invalid one", (last) => [...last, { node_name: "n1" }]],
    ["back to clean again", (last) => last.slice(0, -1)],
    ["the same object twice", (last) => [...last, last[0]!]],
    ["mostly new", (last) => last.map((r) => structuredClone(r))],
    ["emptied", () => []],
    ["refilled", () => base],
  ];
  const memo = createLinstorViewMemo();
  let wire: Wire = base;
  let full = buildLinstorView(data({ resources: wire }), { observedAt: T0 });
  let incremental = buildLinstorView(data({ resources: wire }), {
    observedAt: T0,
    memo,
  });
  for (const [name, step] of steps) {
    await t.step(name, () => {
      wire = step(wire);
      const input = data({ resources: wire });
      const fullNext = buildLinstorView(input, {
        observedAt: T0,
        previous: full,
      });
      const next = buildLinstorView(input, {
        observedAt: T0,
        previous: incremental,
        memo,
      });
      assert.deepEqual(plain(next), plain(fullNext));
      assert.equal(
        linstorDataChanged(incremental, next),
        linstorDataChanged(full, fullNext),
      );
      const kept = (a: LinstorView, b: LinstorView, key: string) =>
        a.replicasByResource.get(key) === b.replicasByResource.get(key) &&
        a.replicasByNode.get(key) === b.replicasByNode.get(key);
      for (
        const key of [
          ...fullNext.replicasByResource.keys(),
          ...fullNext.replicasByNode.keys(),
        ]
      ) {
        assert.equal(
          kept(incremental, next, key),
          kept(full, fullNext, key),
          key,
        );
      }
      full = fullNext;
      incremental = next;
    });
  }
});

Deno.test("buildLinstorView() with a memo reads only the wire resources that are new since the last build", () => {
  const read = new Set<string>();
  const counted = (r: ReturnType<typeof resource>) => {
    const { name, ...rest } = r;
    return Object.freeze(Object.defineProperty({ ...rest }, "name", {
      get: () => {
        read.add(`${name}@${rest.node_name}`);
        return name;
      },
      enumerable: true,
    }));
  };
  const wire = Array.from(
    { length: 100 },
    (_, i) => counted(resource(`r${i}`, `n${i % 5}`)),
  );
  const memo = createLinstorViewMemo();
  const first = buildLinstorView(data({ resources: wire }), {
    observedAt: T0,
    memo,
  });
  const next = [...wire];
  next[42] = counted(resource("r42", "n2", { diskState: "Outdated" }));
  read.clear();
  const second = buildLinstorView(data({ resources: next }), {
    observedAt: T0,
    previous: first,
    memo,
  });
  assert.deepEqual([...read], ["r42@n2"], "only the new object is read");
  assert.equal(
    second.replicasByResource.get("r42")![0]!.volumes[0]!.diskState,
    "Outdated",
  );
  assert.equal(
    second.replicasByResource.get("r41"),
    first.replicasByResource.get("r41"),
  );
  const plainFull = plain(
    buildLinstorView(data({ resources: next }), { observedAt: T0 }),
  );
  assert.deepEqual(plain(second), plainFull);
});

Deno.test("buildLinstorView() shares frozen wire props and flags and copies unfrozen ones", () => {
  const frozen = Object.freeze({
    ...resource("r1", "n1", { flags: ["DISKLESS"], props: { a: "b" } }),
  });
  Object.freeze(frozen.props);
  Object.freeze(frozen.flags);
  const loose = resource("r2", "n1", {
    flags: ["DISKLESS"],
    props: { a: "b" },
  });
  const view = buildLinstorView(data({ resources: [frozen, loose] }), {
    observedAt: T0,
  });
  const shared = view.replicasByResource.get("r1")![0]!;
  assert.equal(shared.props, frozen.props);
  assert.equal(shared.flags, frozen.flags);
  const copied = view.replicasByResource.get("r2")![0]!;
  assert.notEqual(copied.props, loose.props);
  assert.deepEqual(copied.props, { a: "b" });
  assert.ok(Object.isFrozen(copied.props) && Object.isFrozen(copied.flags));
});

Deno.test("buildLinstorView() with a memo matches a full build over 300 random steps", () => {
  // A small deterministic generator (mulberry32), so a failure reproduces.
  let seed = 0x5eed;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (n: number) => Math.floor(random() * n);
  const states = ["UpToDate", "Outdated", "Inconsistent"];
  type Wire = ReturnType<typeof resource>[];
  let wire: Wire = [];
  let counter = 0;
  // Mostly new resources; one in five joins an existing one (a duplicate
  // when it lands on the same node).
  const fresh = () =>
    resource(
      wire.length > 0 && random() < 0.2
        ? wire[pick(wire.length)]!.name ?? "r0"
        : `r${counter++}`,
      `n${pick(6)}`,
      { diskState: states[pick(states.length)]!, inUse: random() < 0.5 },
    );
  wire = Array.from({ length: 30 }, fresh);
  const memo = createLinstorViewMemo();
  let full = buildLinstorView(data({ resources: wire }), { observedAt: T0 });
  let incremental = buildLinstorView(data({ resources: wire }), {
    observedAt: T0,
    memo,
  });
  let incrementalSteps = 0;
  for (let step = 0; step < 300; step++) {
    if (memo.last?.replicas !== undefined) incrementalSteps++;
    const next = [...wire];
    for (let edits = pick(4); edits > 0; edits--) {
      const at = pick(next.length + 1);
      switch (pick(6)) {
        case 0:
          next.splice(at, 0, fresh());
          break;
        case 1:
          next.splice(at, 1);
          break;
        case 2:
          if (at < next.length) next[at] = structuredClone(next[at]!);
          break;
        case 3:
          if (at < next.length) next.push(next.splice(at, 1)[0]!);
          break;
        case 4:
          if (random() < 0.1) next.splice(at, 0, { node_name: "n1" });
          else {
            // Drop invalid ones and duplicates (keep the first of each).
            const seen = new Set<string>();
            const clean = next.filter((r) => {
              const key = `${r.name}@${r.node_name}`;
              if (!r.name || seen.has(key)) return false;
              seen.add(key);
              return true;
            });
            next.splice(0, next.length, ...clean);
          }
          break;
        default:
          if (at < next.length) next[at] = fresh();
      }
    }
    wire = next;
    const input = data({ resources: wire });
    const fullNext = buildLinstorView(input, {
      observedAt: T0,
      previous: full,
    });
    const nextView = buildLinstorView(input, {
      observedAt: T0,
      previous: incremental,
      memo,
    });
    assert.deepEqual(plain(nextView), plain(fullNext), `step ${step}`);
    assert.equal(
      linstorDataChanged(incremental, nextView),
      linstorDataChanged(full, fullNext),
      `step ${step}`,
    );
    for (const key of fullNext.replicasByResource.keys()) {
      assert.equal(
        nextView.replicasByResource.get(key) ===
          incremental.replicasByResource.get(key),
        fullNext.replicasByResource.get(key) ===
          full.replicasByResource.get(key),
        `step ${step}: ${key}`,
      );
    }
    full = fullNext;
    incremental = nextView;
  }
  // Most steps took the update path (the rest: duplicates, invalid ones).
  assert.ok(incrementalSteps > 150, `${incrementalSteps} incremental steps`);
});
