import assert from "node:assert/strict";
import {
  codeOf,
  ContractClient,
  entries,
  fixture,
  simFrom,
  u64,
} from "./_harness.ts";

// Deep reads of nested wire objects in assertions.
// deno-lint-ignore no-explicit-any
type Any = any;

const SCENARIO = fixture("two_zones.yaml");
const ERROR = 0xC000000000000000n;

function isError(retCode: bigint): boolean {
  return (u64(retCode) & ERROR) === ERROR;
}

Deno.test("`handler()` answers the version probe and /health without a body", async () => {
  const { api } = simFrom();
  const version = await api.call("GET", "/v1/controller/version");
  assert.equal(version.status, 200);
  assert.deepEqual(Object.keys(version.body as object).sort(), [
    "build_time",
    "git_hash",
    "rest_api_version",
    "version",
  ]);
  assert.match(
    (version.body as { rest_api_version: string }).rest_api_version,
    /^1\.\d+\.\d+$/,
  );
  const health = await api.call("GET", "/health");
  assert.equal(health.status, 200);
  assert.equal(health.text, "");
});

Deno.test("`handler()` lists nodes with upper-case enums, props and net interfaces", async () => {
  const { api } = simFrom(SCENARIO);
  const res = await api.call("GET", "/v1/nodes");
  assert.equal(res.status, 200);
  const nodes = res.body as Record<string, unknown>[];
  assert.deepEqual(nodes.map((n) => n.name), ["a1", "a2", "b1", "b2"]);
  const a1 = nodes[0] as Record<string, unknown>;
  assert.equal(a1.type, "SATELLITE");
  assert.equal(a1.connection_status, "ONLINE");
  assert.equal(
    (a1.props as Record<string, string>)[
      "Aux/topology/topology.kubernetes.io/zone"
    ],
    "a",
  );
  assert.equal(
    (a1.net_interfaces as { satellite_port: number }[])[0]?.satellite_port,
    3366,
  );
  assert.equal("flags" in a1, false, "empty flags are omitted (NON_EMPTY)");
});

Deno.test("`handler()` filters lists by name, props and pages them", async (t) => {
  const { api } = simFrom(SCENARIO);
  const cases: { name: string; path: string; expect: string[] }[] = [
    {
      name: "nodes= repeated",
      path: "/v1/nodes?nodes=a1&nodes=B2",
      expect: ["a1", "b2"],
    },
    {
      name: "props key=value",
      path: "/v1/nodes?props=Aux/rack%3Dr1",
      expect: ["a1", "b1"],
    },
    {
      name: "props all must match",
      path:
        "/v1/nodes?props=Aux/rack%3Dr1&props=Aux/topology/topology.kubernetes.io/zone%3Db",
      expect: ["b1"],
    },
    {
      name: "props key only",
      path: "/v1/nodes?props=Aux/rack",
      expect: ["a1", "a2", "b1", "b2"],
    },
    { name: "props missing key", path: "/v1/nodes?props=Aux/none", expect: [] },
    {
      name: "limit/offset",
      path: "/v1/nodes?limit=2&offset=1",
      expect: ["a2", "b1"],
    },
    {
      name: "limit 0 means all",
      path: "/v1/nodes?limit=0&offset=3",
      expect: ["a1", "a2", "b1", "b2"],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const res = await api.call("GET", c.path);
      assert.equal(res.status, 200);
      assert.deepEqual(
        (res.body as { name: string }[]).map((n) => n.name),
        c.expect,
      );
    });
  }
  await t.step("storage pool view by nodes and storage_pools", async () => {
    const res = await api.call(
      "GET",
      "/v1/view/storage-pools?nodes=a1&storage_pools=thin&cached=true",
    );
    const pools = res.body as {
      node_name: string;
      storage_pool_name: string;
    }[];
    assert.deepEqual(
      pools.map((p) => `${p.node_name}/${p.storage_pool_name}`),
      ["a1/thin"],
    );
  });
  await t.step(
    "resource view by resources, nodes, storage_pools and props",
    async () => {
      const byRd = await api.call("GET", "/v1/view/resources?resources=pvc-2");
      assert.deepEqual(
        (byRd.body as { node_name: string }[]).map((r) => r.node_name),
        ["a1", "b1", "b2"],
      );
      const byPool = await api.call(
        "GET",
        "/v1/view/resources?storage_pools=fat&nodes=b2",
      );
      assert.deepEqual((byPool.body as { name: string }[]).map((r) => r.name), [
        "pvc-2",
      ]);
    },
  );
  await t.step("bad limit is a 400", async () => {
    const res = await api.call("GET", "/v1/nodes?limit=-1");
    assert.equal(res.status, 400);
  });
});

Deno.test("`handler()` returns 404 with FAIL_NOT_FOUND codes for missing objects", async (t) => {
  const { api } = simFrom(SCENARIO);
  const cases: {
    path: string;
    method?: string;
    body?: unknown;
    code: number;
    object: bigint;
  }[] = [
    { path: "/v1/nodes/nope", code: 300, object: 0n },
    { path: "/v1/resource-definitions/nope", code: 301, object: 0n },
    {
      path: "/v1/resource-definitions/pvc-1/resources/b2",
      code: 302,
      object: 0n,
    },
    { path: "/v1/nodes/a1/storage-pools/nope", code: 310, object: 0n },
    { path: "/v1/resource-groups/nope", code: 317, object: 0n },
    {
      path: "/v1/resource-definitions/pvc-1/volume-definitions/7",
      code: 303,
      object: 0n,
    },
    {
      path: "/v1/nodes/nope",
      method: "PUT",
      body: { override_props: { "Aux/x": "y" } },
      code: 300,
      object: 0x3C0000n,
    },
    {
      path: "/v1/resource-definitions/nope/resources/a1",
      method: "DELETE",
      code: 301,
      object: 0x380000n,
    },
  ];
  for (const c of cases) {
    await t.step(`${c.method ?? "GET"} ${c.path}`, async () => {
      const res = await api.call(c.method ?? "GET", c.path, c.body);
      assert.equal(res.status, 404);
      const [entry] = entries(res.body);
      assert.ok(entry && isError(entry.ret_code));
      assert.equal(codeOf(entry.ret_code), c.code);
      assert.equal(u64(entry.ret_code) & 0x7C0000n, c.object);
      if (c.method === undefined) {
        // A GET answers the bare FAIL_NOT_FOUND_* code (no object or
        // operation bits), as the controller's REST layer does.
        assert.equal(entry.ret_code, BigInt.asIntN(64, ERROR | BigInt(c.code)));
      }
    });
  }
  await t.step("unknown path", async () => {
    const res = await api.call("GET", "/v1/nope");
    assert.equal(res.status, 404);
    assert.ok(Array.isArray(res.body));
  });
});

Deno.test("`handler()` writes int64 ret_code exactly in the JSON text", async (t) => {
  const { api } = simFrom(SCENARIO);
  await t.step("GET: the bare FAIL_NOT_FOUND_RSC_DFN", async () => {
    const res = await api.call("GET", "/v1/resource-definitions/missing");
    // FAIL_NOT_FOUND_RSC_DFN = MASK_ERROR | 301, as a signed int64.
    const expected = BigInt.asIntN(64, ERROR | 301n);
    assert.equal(expected, -4611686018427387603n);
    assert.match(res.text, new RegExp(`"ret_code":${expected}[,}]`));
  });
  await t.step(
    "DELETE: with the resource definition's object bits",
    async () => {
      const res = await api.call("DELETE", "/v1/resource-definitions/missing");
      const expected = BigInt.asIntN(64, ERROR | 0x380000n | 301n);
      assert.equal(expected, -4611686018423717587n);
      assert.match(res.text, new RegExp(`"ret_code":${expected}[,}]`));
    },
  );
});

Deno.test("`handler()` creates, modifies and deletes nodes like the controller", async () => {
  const { api } = simFrom();
  const created = await api.call("POST", "/v1/nodes", {
    name: "n1",
    type: "Satellite",
    net_interfaces: [{ name: "default", address: "10.0.0.1" }],
    props: { "Aux/zone": "z1" },
  });
  assert.equal(created.status, 201);
  const [entry] = entries(created.body);
  assert.ok(entry);
  assert.equal(u64(entry.ret_code), 0x3C0000n | 0x01000000n | 1n);
  const node = (await api.call("GET", "/v1/nodes/N1")).body as Record<
    string,
    unknown
  >;
  assert.equal(node.name, "n1", "names are case-insensitive, spelling kept");
  assert.equal(node.type, "SATELLITE");
  assert.equal(
    node.connection_status,
    "ONLINE",
    "API-created nodes behave as connected",
  );
  const pools = (await api.call("GET", "/v1/nodes/n1/storage-pools")).body as {
    storage_pool_name: string;
  }[];
  assert.deepEqual(pools.map((p) => p.storage_pool_name), [
    "DfltDisklessStorPool",
  ]);

  const dup = await api.call("POST", "/v1/nodes", {
    name: "n1",
    type: "SATELLITE",
    net_interfaces: [],
  });
  assert.equal(dup.status, 500);
  assert.equal(codeOf(entries(dup.body)[0]?.ret_code), 500);

  const mod = await api.call("PUT", "/v1/nodes/n1", {
    override_props: { "Aux/a": "1", "Aux/b/c": "2" },
    delete_props: ["Aux/zone"],
  });
  assert.equal(mod.status, 200);
  await api.call("PUT", "/v1/nodes/n1", { delete_namespaces: ["Aux/b"] });
  const props = ((await api.call("GET", "/v1/nodes/n1")).body as {
    props: Record<string, string>;
  }).props;
  assert.equal(props["Aux/a"], "1");
  assert.equal(props["Aux/zone"], undefined);
  assert.equal(props["Aux/b/c"], undefined);

  const del = await api.call("DELETE", "/v1/nodes/n1");
  assert.equal(del.status, 200);
  assert.equal((await api.call("GET", "/v1/nodes/n1")).status, 404);
});

Deno.test("`handler()` rejects bad node input with a clear error and keeps state", async (t) => {
  const { api, sim } = simFrom();
  await t.step("unparsable JSON → 400", async () => {
    const res = await api.call("POST", "/v1/nodes", undefined, {
      text: "{nope",
    });
    assert.equal(res.status, 400);
    assert.match(entries(res.body)[0]?.message ?? "", /not JSON/);
  });
  await t.step("wrong field type → 400", async () => {
    const res = await api.call("POST", "/v1/nodes", {
      name: "x1",
      type: "SATELLITE",
      props: { a: 1 },
    }, {
      unchecked: true,
    });
    assert.equal(res.status, 400);
    assert.match(entries(res.body)[0]?.message ?? "", /props/);
  });
  await t.step("invalid name → FAIL_INVLD_NODE_NAME", async () => {
    const res = await api.call("POST", "/v1/nodes", {
      name: "bad name",
      type: "SATELLITE",
    });
    assert.equal(res.status, 500);
    assert.equal(codeOf(entries(res.body)[0]?.ret_code), 200);
  });
  await t.step("invalid type → FAIL_INVLD_NODE_TYPE", async () => {
    const res = await api.call("POST", "/v1/nodes", {
      name: "x1",
      type: "Toaster",
    }, { unchecked: true });
    assert.equal(codeOf(entries(res.body)[0]?.ret_code), 201);
  });
  assert.deepEqual(sim.state().nodes, []);
});

Deno.test("`handler()` manages storage pools with capacities in KiB", async () => {
  const { api } = simFrom(SCENARIO);
  await api.call("POST", "/v1/nodes", {
    name: "n9",
    type: "SATELLITE",
    net_interfaces: [],
  });
  const created = await api.call("POST", "/v1/nodes/n9/storage-pools", {
    storage_pool_name: "thin",
    provider_kind: "LVM_THIN",
    props: { "StorDriver/LvmVg": "vg", "StorDriver/ThinPool": "tp" },
  });
  assert.equal(created.status, 201);
  const pool = (await api.call("GET", "/v1/nodes/n9/storage-pools/thin"))
    .body as Record<string, unknown>;
  assert.equal(
    pool.total_capacity,
    100 * 1024 * 1024,
    "documented default of 100 GiB",
  );
  assert.equal(pool.free_capacity, 100 * 1024 * 1024);
  assert.deepEqual(pool.static_traits, {
    Provisioning: "Thin",
    SupportsSnapshots: "true",
  });
  const dup = await api.call("POST", "/v1/nodes/n9/storage-pools", {
    storage_pool_name: "thin",
    provider_kind: "LVM",
  });
  assert.equal(dup.status, 500);
  assert.equal(codeOf(entries(dup.body)[0]?.ret_code), 510);
  const badKind = await api.call("POST", "/v1/nodes/n9/storage-pools", {
    storage_pool_name: "x",
    provider_kind: "FLOPPY",
  }, { unchecked: true });
  assert.equal(codeOf(entries(badKind.body)[0]?.ret_code), 227);
  const onMissingNode = await api.call("POST", "/v1/nodes/zz/storage-pools", {
    storage_pool_name: "x",
    provider_kind: "LVM",
  });
  assert.equal(onMissingNode.status, 404);
  // a pool with volumes cannot be deleted
  const busy = await api.call("DELETE", "/v1/nodes/a1/storage-pools/fat");
  assert.equal(busy.status, 500);
  assert.equal(codeOf(entries(busy.body)[0]?.ret_code), 997);
  assert.equal(
    (await api.call("DELETE", "/v1/nodes/n9/storage-pools/thin")).status,
    200,
  );
  assert.equal(
    (await api.call("GET", "/v1/nodes/n9/storage-pools/thin")).status,
    404,
  );
});

Deno.test("`handler()` accounts volumes in pool free capacity (thick full, thin 10 %)", async () => {
  const { api } = simFrom(SCENARIO);
  const pools = (await api.call("GET", "/v1/view/storage-pools")).body as {
    node_name: string;
    storage_pool_name: string;
    free_capacity?: number;
    total_capacity?: number;
  }[];
  const get = (n: string, p: string) =>
    pools.find((x) => x.node_name === n && x.storage_pool_name === p);
  const gib = 1024 * 1024;
  // a1/fat holds pvc-2 (2 GiB thick); a1/thin holds pvc-1 (1 GiB thin → 10 % allocated).
  assert.equal(get("a1", "fat")?.free_capacity, 50 * gib - 2 * gib);
  assert.equal(
    get("a1", "thin")?.free_capacity,
    100 * gib - Math.ceil(gib / 10),
  );
  // scenario `free:` is the free space after the seeded volumes.
  assert.equal(get("b2", "fat")?.free_capacity, 10 * gib);
  assert.equal(get("b1", "thin")?.free_capacity, 90 * gib);
  const diskless = get("a1", "DfltDisklessStorPool");
  assert.equal(diskless?.free_capacity, undefined);
});

Deno.test("`handler()` serves resource groups, volume groups and definitions", async () => {
  const { api } = simFrom(SCENARIO);
  const rgs = (await api.call("GET", "/v1/resource-groups")).body as {
    name: string;
  }[];
  assert.deepEqual(rgs.map((g) => g.name), ["DfltRscGrp", "rg-fat", "rg-thin"]);
  assert.equal(
    (await api.call("POST", "/v1/resource-groups", {
      name: "rg-new",
      select_filter: { place_count: 3 },
    })).status,
    201,
  );
  const dup = await api.call("POST", "/v1/resource-groups", { name: "rg-new" });
  assert.equal(codeOf(entries(dup.body)[0]?.ret_code), 522);
  await api.call("PUT", "/v1/resource-groups/rg-new", {
    description: "d",
    override_props: { "Aux/x": "1" },
    select_filter: { storage_pool: "thin" },
  });
  const rg = (await api.call("GET", "/v1/resource-groups/rg-new"))
    .body as Record<string, unknown>;
  assert.deepEqual(rg.select_filter, { place_count: 3, storage_pool: "thin" });
  assert.equal(rg.description, "d");
  assert.equal(
    (await api.call("POST", "/v1/resource-groups/rg-new/volume-groups", {}))
      .status,
    201,
  );
  const vgs =
    (await api.call("GET", "/v1/resource-groups/rg-new/volume-groups"))
      .body as { volume_number: number }[];
  assert.deepEqual(vgs.map((v) => v.volume_number), [0]);
  assert.equal(
    (await api.call("DELETE", "/v1/resource-groups/rg-new/volume-groups/0"))
      .status,
    200,
  );
  const inUse = await api.call("DELETE", "/v1/resource-groups/rg-thin");
  assert.equal(inUse.status, 500);
  assert.equal(
    (await api.call("DELETE", "/v1/resource-groups/rg-new")).status,
    200,
  );

  const rds = (await api.call("GET", "/v1/resource-definitions"))
    .body as Record<string, unknown>[];
  assert.deepEqual(rds.map((d) => d.name), ["pvc-1", "pvc-2"]);
  assert.equal("volume_definitions" in (rds[0] ?? {}), false);
  const withVds = (await api.call(
    "GET",
    "/v1/resource-definitions?with_volume_definitions=true&resource_definitions=pvc-1",
  ))
    .body as {
      resource_group_name: string;
      volume_definitions: { size_kib: number }[];
    }[];
  assert.equal(withVds.length, 1);
  assert.equal(withVds[0]?.resource_group_name, "rg-thin");
  assert.equal(withVds[0]?.volume_definitions[0]?.size_kib, 1024 * 1024);
  const byProp = (await api.call(
    "GET",
    "/v1/resource-definitions?props=Aux/csi.storage.k8s.io/pvc/name%3Ddata",
  )).body as { name: string }[];
  assert.deepEqual(byProp.map((d) => d.name), ["pvc-1"]);
});

Deno.test("`handler()` creates definitions, volume definitions and modifies their props", async () => {
  const { api } = simFrom(SCENARIO);
  const created = await api.call("POST", "/v1/resource-definitions", {
    resource_definition: {
      name: "vol-a",
      resource_group_name: "rg-thin",
      props: { "Aux/k": "v" },
    },
  });
  assert.equal(created.status, 201);
  const dup = await api.call("POST", "/v1/resource-definitions", {
    resource_definition: { name: "VOL-A" },
  });
  assert.equal(dup.status, 500);
  assert.equal(codeOf(entries(dup.body)[0]?.ret_code), 501);
  const missingRg = await api.call("POST", "/v1/resource-definitions", {
    resource_definition: { name: "vol-b", resource_group_name: "nope" },
  });
  assert.equal(missingRg.status, 404);
  assert.equal(
    (await api.call(
      "POST",
      "/v1/resource-definitions/vol-a/volume-definitions",
      {
        volume_definition: { size_kib: 4096 },
      },
    )).status,
    201,
  );
  const badSize = await api.call(
    "POST",
    "/v1/resource-definitions/vol-a/volume-definitions",
    {
      volume_definition: { size_kib: 0 },
    },
  );
  assert.equal(codeOf(entries(badSize.body)[0]?.ret_code), 206);
  assert.equal(
    (await api.call(
      "PUT",
      "/v1/resource-definitions/vol-a/volume-definitions/0",
      {
        override_props: { "Aux/linstor-suite.io/x": "1" },
      },
    )).status,
    200,
  );
  const vd = (await api.call(
    "GET",
    "/v1/resource-definitions/vol-a/volume-definitions/0",
  )).body as Record<string, unknown>;
  assert.deepEqual(vd.props, { "Aux/linstor-suite.io/x": "1" });
  assert.equal(
    (await api.call("PUT", "/v1/resource-definitions/vol-a", {
      override_props: { "Aux/affinity-updater-skip": "yes" },
      delete_props: ["Aux/k"],
    })).status,
    200,
  );
  const rd = (await api.call("GET", "/v1/resource-definitions/vol-a"))
    .body as Record<string, unknown>;
  assert.deepEqual(rd.props, { "Aux/affinity-updater-skip": "yes" });
  const vds =
    (await api.call("GET", "/v1/resource-definitions/vol-a/volume-definitions"))
      .body as unknown[];
  assert.equal(vds.length, 1);
  assert.equal(
    (await api.call(
      "DELETE",
      "/v1/resource-definitions/vol-a/volume-definitions/0",
    )).status,
    200,
  );
  assert.equal(
    (await api.call("DELETE", "/v1/resource-definitions/vol-a")).status,
    200,
  );
  const inUse = await api.call("DELETE", "/v1/resource-definitions/pvc-1");
  assert.equal(inUse.status, 500);
  assert.equal(codeOf(entries(inUse.body)[0]?.ret_code), 997);
});

Deno.test("`handler()` renders resources with cumulative flags, states and layers", async () => {
  const { api } = simFrom(SCENARIO);
  const list = (await api.call("GET", "/v1/view/resources?resources=pvc-1"))
    .body as Record<string, unknown>[];
  const byNode = new Map(list.map((r) => [r.node_name as string, r]));
  const a1 = byNode.get("a1") as Record<string, Any>;
  const a2 = byNode.get("a2") as Record<string, Any>;
  assert.equal(a1.flags, undefined);
  assert.deepEqual(a2.flags, ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"]);
  assert.deepEqual(a1.state, { in_use: true });
  assert.equal(a1.volumes[0].state.disk_state, "UpToDate");
  assert.equal(a1.volumes[0].storage_pool_name, "thin");
  assert.equal(a1.volumes[0].provider_kind, "LVM_THIN");
  assert.equal(a2.volumes[0].state.disk_state, "Diskless");
  assert.equal(a2.volumes[0].storage_pool_name, "DfltDisklessStorPool");
  assert.equal(a1.layer_object.type, "DRBD");
  assert.equal(a1.layer_object.children[0].type, "STORAGE");
  assert.equal(
    a1.layer_object.drbd.may_promote,
    false,
    "in use elsewhere/here → no promotion",
  );
  const pvc2 = (await api.call("GET", "/v1/view/resources?resources=pvc-2"))
    .body as Record<string, Any>[];
  const b1 = pvc2.find((r) => r.node_name === "b1");
  const b2 = pvc2.find((r) => r.node_name === "b2");
  assert.deepEqual(b1?.flags, ["DISKLESS", "DRBD_DISKLESS"]);
  assert.equal(b2?.volumes[0].state.disk_state, "Outdated");
  assert.equal(
    b1?.layer_object.drbd.may_promote,
    true,
    "diskless reaches UpToDate data on a1",
  );
  const plain =
    (await api.call("GET", "/v1/resource-definitions/pvc-2/resources"))
      .body as Record<string, unknown>[];
  assert.equal(plain.length, 3);
  assert.equal(
    "volumes" in (plain[0] ?? {}),
    false,
    "per-RD list has no volumes",
  );
});

Deno.test("`handler()` creates and deletes resources with the controller's checks", async (t) => {
  const { api } = simFrom(SCENARIO);
  await api.call("POST", "/v1/resource-definitions", {
    resource_definition: { name: "r1", resource_group_name: "rg-fat" },
  });
  await api.call("POST", "/v1/resource-definitions/r1/volume-definitions", {
    volume_definition: { size_kib: 1048576 },
  });
  await t.step("diskful in the group's pool", async () => {
    const res = await api.call(
      "POST",
      "/v1/resource-definitions/r1/resources",
      [{ resource: { node_name: "a1" } }],
    );
    assert.equal(res.status, 201);
    const view = (await api.call("GET", "/v1/view/resources?resources=r1"))
      .body as Record<string, Any>[];
    assert.equal(view[0]?.volumes[0].storage_pool_name, "fat");
  });
  await t.step("diskless via flags adds DRBD_DISKLESS", async () => {
    const res = await api.call(
      "POST",
      "/v1/resource-definitions/r1/resources/a2",
      {
        resource: { flags: ["DISKLESS"] },
      },
    );
    assert.equal(res.status, 201);
    const r =
      (await api.call("GET", "/v1/resource-definitions/r1/resources/a2"))
        .body as Record<string, unknown>;
    assert.deepEqual(r.flags, ["DISKLESS", "DRBD_DISKLESS"]);
  });
  await t.step("existing → 500 FAIL_EXISTS_RSC", async () => {
    const res = await api.call(
      "POST",
      "/v1/resource-definitions/r1/resources",
      [{ resource: { node_name: "a1" } }],
    );
    assert.equal(res.status, 500);
    assert.equal(codeOf(entries(res.body)[0]?.ret_code), 502);
  });
  await t.step(
    "node without the pool → 404 FAIL_NOT_FOUND_STOR_POOL",
    async () => {
      const res = await api.call(
        "POST",
        "/v1/resource-definitions/r1/resources",
        [{ resource: { node_name: "a2", props: { StorPoolName: "fat" } } }],
      );
      assert.equal(res.status, 500, "a2 already has a resource");
      const res2 = await api.call(
        "POST",
        "/v1/resource-definitions/pvc-1/resources",
        [{ resource: { node_name: "b2", props: { StorPoolName: "thin" } } }],
      );
      assert.equal(res2.status, 404);
      assert.equal(codeOf(entries(res2.body)[0]?.ret_code), 310);
    },
  );
  await t.step("not enough space → FAIL_NOT_ENOUGH_FREE_SPACE", async () => {
    await api.call("POST", "/v1/resource-definitions", {
      resource_definition: { name: "big", resource_group_name: "rg-fat" },
    });
    await api.call("POST", "/v1/resource-definitions/big/volume-definitions", {
      volume_definition: { size_kib: 20 * 1048576 },
    });
    const res = await api.call(
      "POST",
      "/v1/resource-definitions/big/resources",
      [{ resource: { node_name: "b2" } }],
    );
    assert.equal(res.status, 500);
    assert.equal(codeOf(entries(res.body)[0]?.ret_code), 980);
    assert.equal(
      (await api.call("GET", "/v1/resource-definitions/big/resources"))
        .body instanceof Array,
      true,
    );
  });
  await t.step("in-use resource cannot be deleted", async () => {
    const res = await api.call(
      "DELETE",
      "/v1/resource-definitions/pvc-1/resources/a1",
    );
    assert.equal(res.status, 500);
    assert.equal(codeOf(entries(res.body)[0]?.ret_code), 997);
  });
  await t.step("delete frees the space", async () => {
    assert.equal(
      (await api.call("DELETE", "/v1/resource-definitions/r1/resources/a1"))
        .status,
      200,
    );
    const pool = (await api.call("GET", "/v1/nodes/a1/storage-pools/fat"))
      .body as { free_capacity: number };
    assert.equal(pool.free_capacity, 48 * 1048576);
  });
  await t.step("resource props modify", async () => {
    assert.equal(
      (await api.call("PUT", "/v1/resource-definitions/pvc-1/resources/b1", {
        override_props: { "Aux/x": "1" },
      })).status,
      200,
    );
    const res = (await api.call("GET", "/v1/view/resources?props=Aux/x"))
      .body as { name: string; node_name: string }[];
    assert.deepEqual(res.map((r) => `${r.name}@${r.node_name}`), ["pvc-1@b1"]);
  });
});

Deno.test("`handler()` hides satellite-reported state of OFFLINE nodes", async () => {
  const { api, sim } = simFrom(SCENARIO);
  sim.apply({ action: "set-node-status", node: "b1", status: "OFFLINE" });
  const node = (await api.call("GET", "/v1/nodes/b1")).body as Record<
    string,
    unknown
  >;
  assert.equal(node.connection_status, "OFFLINE");
  const r =
    ((await api.call("GET", "/v1/view/resources?nodes=b1&resources=pvc-1"))
      .body as Record<string, Any>[])[0];
  assert.equal(r?.state, undefined);
  assert.equal(r?.volumes[0].state, undefined);
  const live = (await api.call("GET", "/v1/nodes/b1/storage-pools/thin"))
    .body as Record<string, unknown>;
  assert.equal(live.free_capacity, undefined, "unknown without cached=true");
  const cached =
    (await api.call("GET", "/v1/nodes/b1/storage-pools/thin?cached=true"))
      .body as Record<string, unknown>;
  assert.equal(
    cached.free_capacity,
    90 * 1048576,
    "last known value with cached=true",
  );
});

Deno.test("`handler()` requires basic auth when configured", async (t) => {
  const { sim } = simFrom(undefined, { username: "admin", password: "s3cret" });
  const call = (headers: Record<string, string>, path = "/v1/nodes") =>
    new ContractClient(sim.handler, headers).call("GET", path);
  // As the controller with LDAP on: RequestHelper + ApiCallRcRestUtils.
  const denied =
    (want: { status: number; code: number; message: RegExp }) =>
    async (headers: Record<string, string>) => {
      const res = await call(headers);
      assert.equal(res.status, want.status);
      assert.equal(
        res.headers.get("www-authenticate"),
        want.status === 401 ? 'Basic realm="Linstor"' : null,
      );
      const [entry, ...rest] = entries(res.body);
      assert.equal(rest.length, 0);
      assert.equal(
        entry?.ret_code,
        BigInt.asIntN(64, ERROR | BigInt(want.code)),
        "a bare code without object or operation bits",
      );
      assert.match(entry?.message ?? "", want.message);
      assert.match(res.text, /"ret_code":-\d+/);
    };
  const signInFailed = denied({
    status: 403,
    code: 10000,
    message: /^Sign-in failed$/,
  });
  await t.step(
    "missing → 401, code 10001",
    () =>
      denied({
        status: 401,
        code: 10001,
        message: /no 'Authorization' header/,
      })(
        {},
      ),
  );
  await t.step("wrong password → 403, code 10000", async () => {
    await signInFailed({ authorization: `Basic ${btoa("admin:nope")}` });
    const res = await call({ authorization: `Basic ${btoa("admin:nope")}` });
    const [entry] = entries(res.body) as Record<string, unknown>[];
    assert.match(
      String(entry?.cause),
      /credentials for the sign-in are not valid/,
    );
    assert.match(
      String(entry?.correction),
      /valid identity and a matching password/,
    );
  });
  await t.step(
    "wrong user → 403",
    () => signInFailed({ authorization: `Basic ${btoa("root:s3cret")}` }),
  );
  await t.step(
    "token without a colon → 403",
    () => signInFailed({ authorization: `Basic ${btoa("admins3cret")}` }),
  );
  await t.step(
    "garbage → 403",
    () => signInFailed({ authorization: "Basic !!!" }),
  );
  await t.step(
    "bearer → 500, code 217",
    () =>
      denied({ status: 500, code: 217, message: /only 'Basic' supported/ })({
        authorization: "Bearer abc",
      }),
  );
  await t.step(
    "Basic without a token → 500, code 217",
    () =>
      denied({ status: 500, code: 217, message: /doesn't contain credential/ })(
        { authorization: "Basic" },
      ),
  );
  await t.step("right → 200", async () => {
    const res = await call({ authorization: `Basic ${btoa("admin:s3cret")}` });
    assert.equal(res.status, 200);
  });
  await t.step("/health needs none", async () => {
    assert.equal((await call({}, "/health")).status, 200);
  });
  assert.throws(
    () => simFrom(undefined, { username: "admin" }),
    (e: unknown) =>
      e instanceof TypeError && /username and password/.test(e.message),
  );
});

Deno.test("`handler()` answers 405 for a known path with a wrong method", async () => {
  const { api } = simFrom();
  const res = await api.call("DELETE", "/v1/controller/version");
  assert.equal(res.status, 405);
  assert.match(
    entries(res.body)[0]?.message ?? "",
    /Method DELETE not allowed/,
  );
});

Deno.test("`POST /v1/resource-groups/{rg}/spawn` copies volume-group props to volume definitions", async () => {
  const { api } = simFrom(SCENARIO);
  await api.call("POST", "/v1/resource-groups", { name: "rg-vg" });
  await api.call("POST", "/v1/resource-groups/rg-vg/volume-groups", {
    volume_number: 0,
    props: { "Aux/a": "1" },
  });
  await api.call("PUT", "/v1/resource-groups/rg-vg/volume-groups/0", {
    override_props: { "Aux/b": "2" },
  });
  const spawn = await api.call("POST", "/v1/resource-groups/rg-vg/spawn", {
    resource_definition_name: "vol-vg",
    volume_sizes: [1024],
    definitions_only: true,
  });
  assert.equal(spawn.status, 201);
  const vd = (await api.call(
    "GET",
    "/v1/resource-definitions/vol-vg/volume-definitions/0",
  )).body as {
    props: Record<string, string>;
  };
  assert.deepEqual(vd.props, { "Aux/a": "1", "Aux/b": "2" });
});

Deno.test("`handler()` keeps the quorum tie-breaker in line when replicas change", async (t) => {
  const { api } = simFrom(SCENARIO);
  const kinds = async (rd: string) =>
    ((await api.call("GET", `/v1/view/resources?resources=${rd}`)).body as {
      node_name: string;
      flags?: string[];
    }[]).map((r) =>
      `${r.node_name}:${
        r.flags?.includes("TIE_BREAKER")
          ? "tb"
          : r.flags?.includes("DISKLESS")
          ? "diskless"
          : "diskful"
      }`
    );
  await api.call("POST", "/v1/resource-groups/rg-thin/spawn", {
    resource_definition_name: "vol-tb",
    volume_sizes: [1024],
    select_filter: { place_count: 3 },
  });
  assert.deepEqual(await kinds("vol-tb"), [
    "a1:diskful",
    "a2:diskful",
    "b1:diskful",
  ]);
  await t.step("3 → 2 diskful adds a tie-breaker (INFO 10003)", async () => {
    const res = await api.call(
      "DELETE",
      "/v1/resource-definitions/vol-tb/resources/a2",
    );
    assert.equal(res.status, 200);
    assert.deepEqual(entries(res.body).map((e) => codeOf(e.ret_code)), [
      2,
      10003,
    ]);
    assert.deepEqual(await kinds("vol-tb"), [
      "a1:diskful",
      "a2:tb",
      "b1:diskful",
    ]);
  });
  await t.step(
    "a diskless replica makes the tie-breaker unneeded (INFO 10004)",
    async () => {
      const res = await api.call(
        "POST",
        "/v1/resource-definitions/vol-tb/resources/b2",
        {
          resource: { flags: ["DISKLESS"] },
        },
      );
      assert.equal(res.status, 201);
      assert.deepEqual(entries(res.body).map((e) => codeOf(e.ret_code)), [
        1,
        10004,
      ]);
      assert.deepEqual(await kinds("vol-tb"), [
        "a1:diskful",
        "b1:diskful",
        "b2:diskless",
      ]);
    },
  );
  await t.step("2 → 1 diskful leaves no tie-breaker", async () => {
    await api.call("DELETE", "/v1/resource-definitions/vol-tb/resources/b2");
    assert.deepEqual(await kinds("vol-tb"), [
      "a1:diskful",
      "a2:tb",
      "b1:diskful",
    ]);
    const res = await api.call(
      "DELETE",
      "/v1/resource-definitions/vol-tb/resources/b1",
    );
    assert.deepEqual(entries(res.body).map((e) => codeOf(e.ret_code)), [
      2,
      10004,
    ]);
    assert.deepEqual(await kinds("vol-tb"), ["a1:diskful"]);
  });
});

Deno.test("`createSimulator()` rejects a bad default pool capacity", () => {
  assert.throws(
    () => simFrom(undefined, { defaultPoolCapacityKib: -1 }),
    (e: unknown) =>
      e instanceof RangeError && /defaultPoolCapacityKib/.test(e.message),
  );
});

Deno.test("`createSimulator()` gives API-created pools `defaultPoolCapacityKib`", async () => {
  const { api } = simFrom(undefined, { defaultPoolCapacityKib: 4096 });
  await api.call("POST", "/v1/nodes", { name: "n1", type: "SATELLITE" });
  await api.call("POST", "/v1/nodes/n1/storage-pools", {
    storage_pool_name: "p1",
    provider_kind: "LVM",
  });
  const pool = (await api.call("GET", "/v1/nodes/n1/storage-pools/p1"))
    .body as { total_capacity: number };
  assert.equal(pool.total_capacity, 4096);
});
