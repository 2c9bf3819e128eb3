import assert from "node:assert/strict";
import {
  LinstorClient,
  type LinstorClient as Client,
} from "../../src/linstor/mod.ts";

interface Seen {
  method: string;
  path: string;
  body: unknown;
}

/** A client whose injected fetch records each request and answers `answer`. */
function recordingClient(): { client: Client; seen: Seen[] } {
  const seen: Seen[] = [];
  const client = new LinstorClient({
    controllers: ["http://ctrl"],
    fetch: async (request) => {
      const url = new URL(request.url);
      const text = await request.text();
      seen.push({
        method: request.method,
        path: url.pathname + url.search,
        body: text === "" ? undefined : JSON.parse(text),
      });
      const list = request.method !== "GET" ||
        !/\/(version|x|rg|n1|0)$/.test(url.pathname);
      return new Response(list ? "[]" : "{}", {
        status: request.method === "POST" ? 201 : 200,
      });
    },
  });
  return { client, seen };
}

Deno.test("`LinstorClient` typed methods use the LINSTOR paths, methods and bodies", async (t) => {
  const cases: [string, (c: Client) => Promise<unknown>, Seen][] = [
    ["controller.version", (c) => c.controller.version(), {
      method: "GET",
      path: "/v1/controller/version",
      body: undefined,
    }],
    ["nodes.list", (c) => c.nodes.list(), {
      method: "GET",
      path: "/v1/nodes",
      body: undefined,
    }],
    ["nodes.get escapes the name", (c) => c.nodes.get("n1"), {
      method: "GET",
      path: "/v1/nodes/n1",
      body: undefined,
    }],
    [
      "nodes.create",
      (c) =>
        c.nodes.create({
          name: "n1",
          type: "Satellite",
          net_interfaces: [{ name: "default", address: "10.0.0.1" }],
        }),
      {
        method: "POST",
        path: "/v1/nodes",
        body: {
          name: "n1",
          type: "Satellite",
          net_interfaces: [{ name: "default", address: "10.0.0.1" }],
        },
      },
    ],
    [
      "nodes.modify sets and deletes props",
      (c) =>
        c.nodes.modify("n 1", {
          override_props: { "Aux/a": "1" },
          delete_props: ["Aux/b"],
        }),
      {
        method: "PUT",
        path: "/v1/nodes/n%201",
        body: { override_props: { "Aux/a": "1" }, delete_props: ["Aux/b"] },
      },
    ],
    ["nodes.delete", (c) => c.nodes.delete("n1"), {
      method: "DELETE",
      path: "/v1/nodes/n1",
      body: undefined,
    }],
    ["storagePools.list", (c) => c.storagePools.list("n1", { cached: true }), {
      method: "GET",
      path: "/v1/nodes/n1/storage-pools?cached=true",
      body: undefined,
    }],
    ["storagePools.get", (c) => c.storagePools.get("n1", "0"), {
      method: "GET",
      path: "/v1/nodes/n1/storage-pools/0",
      body: undefined,
    }],
    ["storagePools.view", (c) => c.storagePools.view({ nodes: ["a", "b"] }), {
      method: "GET",
      path: "/v1/view/storage-pools?nodes=a&nodes=b",
      body: undefined,
    }],
    [
      "storagePools.create",
      (c) =>
        c.storagePools.create("n1", {
          storage_pool_name: "p",
          provider_kind: "LVM_THIN",
          props: { "StorDriver/StorPoolName": "vg/thin" },
        }),
      {
        method: "POST",
        path: "/v1/nodes/n1/storage-pools",
        body: {
          storage_pool_name: "p",
          provider_kind: "LVM_THIN",
          props: { "StorDriver/StorPoolName": "vg/thin" },
        },
      },
    ],
    [
      "storagePools.modify",
      (c) =>
        c.storagePools.modify("n1", "p", { override_props: { "Aux/x": "y" } }),
      {
        method: "PUT",
        path: "/v1/nodes/n1/storage-pools/p",
        body: { override_props: { "Aux/x": "y" } },
      },
    ],
    ["storagePools.delete", (c) => c.storagePools.delete("n1", "p"), {
      method: "DELETE",
      path: "/v1/nodes/n1/storage-pools/p",
      body: undefined,
    }],
    [
      "resourceGroups.list",
      (c) => c.resourceGroups.list({ resourceGroups: ["rg"] }),
      {
        method: "GET",
        path: "/v1/resource-groups?resource_groups=rg",
        body: undefined,
      },
    ],
    ["resourceGroups.get", (c) => c.resourceGroups.get("rg"), {
      method: "GET",
      path: "/v1/resource-groups/rg",
      body: undefined,
    }],
    [
      "resourceGroups.create",
      (c) =>
        c.resourceGroups.create({
          name: "rg",
          select_filter: { place_count: 2 },
        }),
      {
        method: "POST",
        path: "/v1/resource-groups",
        body: { name: "rg", select_filter: { place_count: 2 } },
      },
    ],
    [
      "resourceGroups.modify",
      (c) =>
        c.resourceGroups.modify("rg", { select_filter: { place_count: 3 } }),
      {
        method: "PUT",
        path: "/v1/resource-groups/rg",
        body: { select_filter: { place_count: 3 } },
      },
    ],
    ["resourceGroups.delete", (c) => c.resourceGroups.delete("rg"), {
      method: "DELETE",
      path: "/v1/resource-groups/rg",
      body: undefined,
    }],
    [
      "resourceGroups.spawn",
      (c) =>
        c.resourceGroups.spawn("rg", {
          resource_definition_name: "pvc-1",
          volume_sizes: [1048576],
        }),
      {
        method: "POST",
        path: "/v1/resource-groups/rg/spawn",
        body: { resource_definition_name: "pvc-1", volume_sizes: [1048576] },
      },
    ],
    [
      "resourceDefinitions.list",
      (c) =>
        c.resourceDefinitions.list({
          resourceDefinitions: ["a"],
          props: ["Aux/x=1"],
        }),
      {
        method: "GET",
        path:
          "/v1/resource-definitions?resource_definitions=a&props=Aux%2Fx%3D1",
        body: undefined,
      },
    ],
    ["resourceDefinitions.get", (c) => c.resourceDefinitions.get("x"), {
      method: "GET",
      path: "/v1/resource-definitions/x",
      body: undefined,
    }],
    [
      "resourceDefinitions.create",
      (c) =>
        c.resourceDefinitions.create({
          resource_definition: { name: "x", resource_group_name: "rg" },
        }),
      {
        method: "POST",
        path: "/v1/resource-definitions",
        body: { resource_definition: { name: "x", resource_group_name: "rg" } },
      },
    ],
    [
      "resourceDefinitions.modify",
      (c) =>
        c.resourceDefinitions.modify("x", { override_props: { "Aux/k": "v" } }),
      {
        method: "PUT",
        path: "/v1/resource-definitions/x",
        body: { override_props: { "Aux/k": "v" } },
      },
    ],
    ["resourceDefinitions.delete", (c) => c.resourceDefinitions.delete("x"), {
      method: "DELETE",
      path: "/v1/resource-definitions/x",
      body: undefined,
    }],
    [
      "resourceDefinitions.autoplace",
      (c) =>
        c.resourceDefinitions.autoplace("x", {
          select_filter: { place_count: 2 },
        }),
      {
        method: "POST",
        path: "/v1/resource-definitions/x/autoplace",
        body: { select_filter: { place_count: 2 } },
      },
    ],
    ["volumeDefinitions.list", (c) => c.volumeDefinitions.list("x"), {
      method: "GET",
      path: "/v1/resource-definitions/x/volume-definitions",
      body: undefined,
    }],
    ["volumeDefinitions.get", (c) => c.volumeDefinitions.get("x", 0), {
      method: "GET",
      path: "/v1/resource-definitions/x/volume-definitions/0",
      body: undefined,
    }],
    [
      "volumeDefinitions.create",
      (c) =>
        c.volumeDefinitions.create("x", {
          volume_definition: { size_kib: 1024 },
        }),
      {
        method: "POST",
        path: "/v1/resource-definitions/x/volume-definitions",
        body: { volume_definition: { size_kib: 1024 } },
      },
    ],
    [
      "volumeDefinitions.modify (props)",
      (c) =>
        c.volumeDefinitions.modify("x", 0, {
          override_props: { "Aux/a": "b" },
          delete_props: ["Aux/c"],
        }),
      {
        method: "PUT",
        path: "/v1/resource-definitions/x/volume-definitions/0",
        body: { override_props: { "Aux/a": "b" }, delete_props: ["Aux/c"] },
      },
    ],
    ["volumeDefinitions.delete", (c) => c.volumeDefinitions.delete("x", 1), {
      method: "DELETE",
      path: "/v1/resource-definitions/x/volume-definitions/1",
      body: undefined,
    }],
    [
      "resources.view",
      (c) =>
        c.resources.view({
          resources: ["x", "y"],
          nodes: ["n1"],
          storagePools: ["p"],
        }),
      {
        method: "GET",
        path:
          "/v1/view/resources?nodes=n1&resources=x&resources=y&storage_pools=p",
        body: undefined,
      },
    ],
    ["resources.list", (c) => c.resources.list("x"), {
      method: "GET",
      path: "/v1/resource-definitions/x/resources",
      body: undefined,
    }],
    [
      "resources.create",
      (c) =>
        c.resources.create("x", [{
          resource: { node_name: "n1", flags: ["DRBD_DISKLESS"] },
        }]),
      {
        method: "POST",
        path: "/v1/resource-definitions/x/resources",
        body: [{ resource: { node_name: "n1", flags: ["DRBD_DISKLESS"] } }],
      },
    ],
    [
      "resources.modify",
      (c) =>
        c.resources.modify("x", "n1", { override_props: { "Aux/a": "1" } }),
      {
        method: "PUT",
        path: "/v1/resource-definitions/x/resources/n1",
        body: { override_props: { "Aux/a": "1" } },
      },
    ],
    ["resources.delete", (c) => c.resources.delete("x", "n1"), {
      method: "DELETE",
      path: "/v1/resource-definitions/x/resources/n1",
      body: undefined,
    }],
  ];
  for (const [name, call, want] of cases) {
    await t.step(name, async () => {
      const { client, seen } = recordingClient();
      using _ = client;
      await call(client);
      assert.deepEqual(seen, [want]);
    });
  }
});

Deno.test("`LinstorClient` rejects bad volume numbers and paging values before sending", async (t) => {
  const cases: [string, (c: Client) => Promise<unknown>, RegExp][] = [
    [
      "negative volume number",
      (c) => c.volumeDefinitions.get("x", -1),
      /Cannot use volume number "-1"/,
    ],
    [
      "fractional volume number",
      (c) => c.volumeDefinitions.delete("x", 0.5),
      /Cannot use volume number "0.5"/,
    ],
    [
      "negative limit",
      (c) => c.nodes.list({ limit: -1 }),
      /Cannot use "limit"/,
    ],
  ];
  for (const [name, call, message] of cases) {
    await t.step(name, async () => {
      const { client, seen } = recordingClient();
      using _ = client;
      await assert.rejects(call(client), (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, message);
        return true;
      });
      assert.equal(seen.length, 0);
    });
  }
});

Deno.test("`LinstorClient` rejects empty names with a TypeError before sending", async (t) => {
  const cases: [string, (c: Client) => Promise<unknown>][] = [
    ["nodes.get", (c) => c.nodes.get("")],
    ["storagePools.delete", (c) => c.storagePools.delete("n1", " ")],
    ["resources.delete", (c) => c.resources.delete("", "n1")],
    ["volumeDefinitions.modify", (c) => c.volumeDefinitions.modify("", 0, {})],
  ];
  for (const [name, call] of cases) {
    await t.step(name, async () => {
      const { client, seen } = recordingClient();
      using _ = client;
      await assert.rejects(call(client), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /^Cannot use name ".*": a LINSTOR name/);
        return true;
      });
      assert.equal(seen.length, 0);
    });
  }
});

Deno.test("`LinstorClient` strips the signal and timeout of modify options out of the body", async () => {
  const { client, seen } = recordingClient();
  using _ = client;
  const controller = new AbortController();
  await client.volumeDefinitions.modify("x", 0, {
    override_props: { "Aux/a": "b" },
    signal: controller.signal,
    timeoutMs: 1_000,
  });
  assert.deepEqual(seen[0]?.body, { override_props: { "Aux/a": "b" } });
});
