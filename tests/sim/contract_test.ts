import assert from "node:assert/strict";
import {
  findLinstorOpenApi,
  LINSTOR_DEVIATIONS,
  LINSTOR_OPENAPI_ENV,
  LINSTOR_OPENAPI_URL,
  linstorOpenApiUrl,
  loadLinstorOpenApi,
  parseJsonExact,
  type Violation,
} from "../_support/openapi.ts";
import { contractTest, fixture, simFrom } from "./_harness.ts";

const GIB = 1024 * 1024;

function messages(violations: Violation[]): string[] {
  return violations.map((v) => `${v.path}: ${v.message}`);
}

Deno.test("`loadLinstorOpenApi()` fails clearly when the description is absent", async () => {
  await assert.rejects(
    loadLinstorOpenApi(new URL("file:///nonexistent/rest_v1_openapi.yaml")),
    /Cannot read the LINSTOR OpenAPI description "\/nonexistent\/rest_v1_openapi\.yaml"/,
  );
});

Deno.test("`findLinstorOpenApi()` says where the description is expected when it is absent", async () => {
  const found = await findLinstorOpenApi(
    new URL("file:///nonexistent/rest_v1_openapi.yaml"),
  );
  assert.equal(found.openapi, undefined);
  assert.equal(
    found.missing,
    `LINSTOR OpenAPI description not found at /nonexistent/rest_v1_openapi.yaml (set ${LINSTOR_OPENAPI_ENV} to use another file)`,
  );
});

Deno.test("`linstorOpenApiUrl()` follows the environment variable when it is set", () => {
  const before = Deno.env.get(LINSTOR_OPENAPI_ENV);
  try {
    Deno.env.delete(LINSTOR_OPENAPI_ENV);
    assert.equal(linstorOpenApiUrl().href, LINSTOR_OPENAPI_URL.href);
    Deno.env.set(LINSTOR_OPENAPI_ENV, "/elsewhere/openapi.yaml");
    assert.equal(linstorOpenApiUrl().pathname, "/elsewhere/openapi.yaml");
  } finally {
    if (before === undefined) Deno.env.delete(LINSTOR_OPENAPI_ENV);
    else Deno.env.set(LINSTOR_OPENAPI_ENV, before);
  }
});

Deno.test("`parseJsonExact()` keeps int64 ret_code values exact", () => {
  const text =
    '[{"ret_code":-4611686018427387603,"message":"x"},{"ret_code":4611686018427387905,"message":"y"},{"n":5}]';
  const parsed = parseJsonExact(text) as { ret_code?: bigint; n?: number }[];
  assert.equal(parsed[0]?.ret_code, -4611686018427387603n);
  assert.equal(parsed[1]?.ret_code, 4611686018427387905n);
  assert.equal(parsed[2]?.n, 5);
});

contractTest(
  "`OpenApi.validate()` catches what the contract forbids",
  async (t, openapi) => {
    const node = openapi.component("Node");
    const rcList = openapi.component("ApiCallRcList");
    const strict = { strictProperties: true, nonEmpty: true };
    const cases: {
      name: string;
      schema: Record<string, unknown>;
      value: unknown;
      expect: RegExp[];
    }[] = [
      {
        name: "wrong enum",
        schema: node,
        value: { name: "n", type: "Toaster" },
        expect: [/\$\.type: "Toaster" is not one of/],
      },
      {
        name: "missing required",
        schema: node,
        value: { type: "SATELLITE" },
        expect: [/\$\.name: is required/],
      },
      {
        name: "misspelt field",
        schema: node,
        value: { name: "n", type: "SATELLITE", conection_status: "ONLINE" },
        expect: [/\$\.conection_status: is not declared/],
      },
      {
        name: "null value",
        schema: node,
        value: { name: "n", type: "SATELLITE", uuid: null },
        expect: [/\$\.uuid: is null/],
      },
      {
        name: "empty props map",
        schema: node,
        value: { name: "n", type: "SATELLITE", props: {} },
        expect: [/\$\.props: is an empty map/],
      },
      {
        name: "empty flags",
        schema: node,
        value: { name: "n", type: "SATELLITE", flags: [] },
        expect: [/\$\.flags: is an empty array/],
      },
      {
        name: "wrong nested type",
        schema: node,
        value: {
          name: "n",
          type: "SATELLITE",
          net_interfaces: [{ name: "d", address: 1 }],
        },
        expect: [
          /\$\.net_interfaces\[0\]\.address: expected string, got number/,
        ],
      },
      {
        name: "ret_code as string",
        schema: rcList,
        value: [{ ret_code: "-5", message: "m" }],
        expect: [/\$\[0\]\.ret_code: expected integer, got string/],
      },
      {
        name: "ret_code beyond int64",
        schema: rcList,
        value: [{ ret_code: 2n ** 64n, message: "m" }],
        expect: [/outside int64/],
      },
      {
        name: "ret_code rounded by JSON.parse",
        schema: rcList,
        value: [{ ret_code: -4611686018427387392, message: "m" }],
        expect: [/lost precision/],
      },
      {
        name: "bad date-time",
        schema: rcList,
        value: [{ ret_code: 1, message: "m", created_at: "yesterday" }],
        expect: [/is not an RFC 3339 date-time/],
      },
      {
        name: "int32 overflow",
        schema: openapi.component("VolumeDefinition"),
        value: { size_kib: 1, volume_number: 2 ** 31 },
        expect: [/outside int32/],
      },
    ];
    for (const c of cases) {
      await t.step(c.name, () => {
        const found = messages(openapi.validate(c.schema, c.value, strict));
        for (const re of c.expect) {
          assert.ok(
            found.some((m) => re.test(m)),
            `${re} not in ${JSON.stringify(found)}`,
          );
        }
      });
    }
    await t.step(
      "accepts the upper-case node type (documented deviation)",
      () => {
        assert.deepEqual(
          openapi.validate(node, { name: "n", type: "SATELLITE" }, strict),
          [],
        );
        assert.deepEqual(
          openapi.validate(node, { name: "n", type: "Satellite" }, strict),
          [],
        );
      },
    );
    await t.step("accepts exact bigint ret_codes", () => {
      assert.deepEqual(
        openapi.validate(rcList, [{
          ret_code: -4611686018427387603n,
          message: "m",
        }], strict),
        [],
      );
    });
  },
);

contractTest(
  "`OpenApi` handles the documented deviations explicitly",
  async (t, openapi) => {
    await t.step("single-object GETs use the list item schema", () => {
      const schema = openapi.responseSchema({
        method: "GET",
        path: "/v1/resource-definitions/pvc-1",
        status: 200,
      });
      assert.ok(schema);
      assert.equal(
        openapi.resolve(schema),
        openapi.component("ResourceDefinition"),
      );
      const node = openapi.responseSchema({
        method: "GET",
        path: "/v1/nodes/n1",
        status: 200,
      });
      assert.ok(node);
      assert.equal(openapi.resolve(node), openapi.component("Node"));
    });
    await t.step(
      "OperationFailed accepts the list the controller sends",
      () => {
        const schema = openapi.responseSchema({
          method: "POST",
          path: "/v1/nodes",
          status: 500,
        });
        assert.ok(schema);
        assert.deepEqual(
          openapi.validate(schema, [{ ret_code: -1n, message: "x" }]),
          [],
        );
      },
    );
    await t.step("undescribed error status → ApiCallRcList", () => {
      assert.equal(
        openapi.responseSchema({
          method: "PUT",
          path: "/v1/nodes/n1",
          status: 404,
        }),
        openapi.component("ApiCallRcList"),
      );
    });
    await t.step("undescribed success status is an error", () => {
      assert.throws(
        () =>
          openapi.responseSchema({
            method: "PUT",
            path: "/v1/nodes/n1",
            status: 201,
          }),
        /not described/,
      );
    });
    await t.step("literal path segments win over templates", () => {
      assert.equal(
        openapi.findPath("/v1/nodes/properties/info"),
        "/v1/nodes/properties/info",
      );
      assert.equal(openapi.findPath("/v1/nodes/n1"), "/v1/nodes/{node}");
    });
    await t.step("deviations are listed", () => {
      assert.ok(LINSTOR_DEVIATIONS.length >= 8);
    });
  },
);

contractTest(
  "`OpenApi.validateRequest()` checks client request bodies",
  (_t, openapi) => {
    const strict = { strictProperties: true };
    assert.deepEqual(
      openapi.validateRequest({
        method: "POST",
        path: "/v1/resource-groups/rg/spawn",
        body: { resource_definition_name: "pvc-1", volume_sizes: [1024] },
      }, strict),
      [],
    );
    const bad = messages(
      openapi.validateRequest({
        method: "POST",
        path: "/v1/resource-groups/rg/spawn",
        body: { resource_definition_name: "pvc-1", volume_size: [1024] },
      }, strict),
    );
    assert.deepEqual(bad, [
      "$.volume_size: is not declared in #/components/schemas/ResourceGroupSpawn",
    ]);
    const modify = messages(
      openapi.validateRequest({
        method: "PUT",
        path: "/v1/resource-definitions/r/volume-definitions/0",
        body: { override_props: { "Aux/x": 1 } },
      }, strict),
    );
    assert.deepEqual(modify, [
      "$.override_props.Aux/x: expected string, got number",
    ]);
  },
);

/** Every operation the simulator serves; the walk below must cover each. */
const SERVED = [
  "GET /v1/controller/version",
  "GET /health",
  "GET /v1/nodes",
  "POST /v1/nodes",
  "GET /v1/nodes/{node}",
  "PUT /v1/nodes/{node}",
  "DELETE /v1/nodes/{node}",
  "GET /v1/nodes/{node}/storage-pools",
  "POST /v1/nodes/{node}/storage-pools",
  "GET /v1/nodes/{node}/storage-pools/{storagepool}",
  "PUT /v1/nodes/{node}/storage-pools/{storagepool}",
  "DELETE /v1/nodes/{node}/storage-pools/{storagepool}",
  "GET /v1/view/storage-pools",
  "GET /v1/resource-groups",
  "POST /v1/resource-groups",
  "GET /v1/resource-groups/{resource_group}",
  "PUT /v1/resource-groups/{resource_group}",
  "DELETE /v1/resource-groups/{resource_group}",
  "POST /v1/resource-groups/{resource_group}/spawn",
  "GET /v1/resource-groups/{resource_group}/volume-groups",
  "POST /v1/resource-groups/{resource_group}/volume-groups",
  "PUT /v1/resource-groups/{resource_group}/volume-groups/{volume_number}",
  "DELETE /v1/resource-groups/{resource_group}/volume-groups/{volume_number}",
  "GET /v1/resource-definitions",
  "POST /v1/resource-definitions",
  "GET /v1/resource-definitions/{resource}",
  "PUT /v1/resource-definitions/{resource}",
  "DELETE /v1/resource-definitions/{resource}",
  "GET /v1/resource-definitions/{resource}/volume-definitions",
  "POST /v1/resource-definitions/{resource}/volume-definitions",
  "GET /v1/resource-definitions/{resource}/volume-definitions/{volume_number}",
  "PUT /v1/resource-definitions/{resource}/volume-definitions/{volume_number}",
  "DELETE /v1/resource-definitions/{resource}/volume-definitions/{volume_number}",
  "POST /v1/resource-definitions/{resource}/autoplace",
  "GET /v1/resource-definitions/{resource}/resources",
  "POST /v1/resource-definitions/{resource}/resources",
  "GET /v1/resource-definitions/{resource}/resources/{node}",
  "POST /v1/resource-definitions/{resource}/resources/{node}",
  "PUT /v1/resource-definitions/{resource}/resources/{node}",
  "DELETE /v1/resource-definitions/{resource}/resources/{node}",
  "GET /v1/view/resources",
];

contractTest(
  "every simulator operation answers within the OpenAPI contract",
  async () => {
    const { api, sim } = simFrom(fixture("two_zones.yaml"));
    const calls: [string, string, unknown?][] = [
      ["GET", "/v1/controller/version"],
      ["GET", "/health"],
      ["GET", "/v1/nodes"],
      ["POST", "/v1/nodes", {
        name: "n5",
        type: "SATELLITE",
        net_interfaces: [{ name: "default", address: "10.0.0.5" }],
      }],
      ["POST", "/v1/nodes", { name: "n5", type: "SATELLITE" }],
      ["GET", "/v1/nodes/n5"],
      ["GET", "/v1/nodes/zz"],
      ["PUT", "/v1/nodes/n5", { override_props: { "Aux/zone": "c" } }],
      ["POST", "/v1/nodes/n5/storage-pools", {
        storage_pool_name: "thin",
        provider_kind: "LVM_THIN",
      }],
      ["POST", "/v1/nodes/n5/storage-pools", {
        storage_pool_name: "thin",
        provider_kind: "LVM_THIN",
      }],
      ["GET", "/v1/nodes/n5/storage-pools"],
      ["GET", "/v1/nodes/n5/storage-pools/thin?cached=true"],
      ["PUT", "/v1/nodes/n5/storage-pools/thin", {
        override_props: { "Aux/tier": "ssd" },
      }],
      ["GET", "/v1/view/storage-pools?cached=true"],
      ["GET", "/v1/resource-groups"],
      ["POST", "/v1/resource-groups", {
        name: "rg-c",
        select_filter: { place_count: 2, storage_pool: "thin" },
      }],
      ["POST", "/v1/resource-groups", { name: "rg-c" }],
      ["GET", "/v1/resource-groups/rg-c"],
      ["PUT", "/v1/resource-groups/rg-c", {
        select_filter: { replicas_on_different: ["Aux/zone"] },
      }],
      ["POST", "/v1/resource-groups/rg-c/volume-groups", { volume_number: 0 }],
      ["PUT", "/v1/resource-groups/rg-c/volume-groups/0", {
        override_props: { "Aux/vg": "1" },
      }],
      ["PUT", "/v1/resource-groups/rg-c/volume-groups/7", {
        override_props: { "Aux/vg": "1" },
      }],
      ["GET", "/v1/resource-groups/rg-c/volume-groups"],
      ["POST", "/v1/resource-groups/rg-c/spawn", {
        resource_definition_name: "pvc-c",
        volume_sizes: [GIB],
      }],
      ["POST", "/v1/resource-groups/rg-c/spawn", {
        resource_definition_name: "pvc-d",
        volume_sizes: [GIB],
        select_filter: { place_count: 9 },
      }],
      ["GET", "/v1/resource-definitions?with_volume_definitions=true"],
      ["POST", "/v1/resource-definitions", {
        resource_definition: { name: "pvc-e", resource_group_name: "rg-c" },
      }],
      ["GET", "/v1/resource-definitions/pvc-e"],
      ["PUT", "/v1/resource-definitions/pvc-e", {
        override_props: { "Aux/k": "v" },
      }],
      ["POST", "/v1/resource-definitions/pvc-e/volume-definitions", {
        volume_definition: { size_kib: GIB },
      }],
      ["GET", "/v1/resource-definitions/pvc-e/volume-definitions"],
      ["GET", "/v1/resource-definitions/pvc-e/volume-definitions/0"],
      ["PUT", "/v1/resource-definitions/pvc-e/volume-definitions/0", {
        override_props: { "Aux/v": "1" },
      }],
      ["POST", "/v1/resource-definitions/pvc-e/autoplace", {
        select_filter: { place_count: 2 },
      }],
      ["POST", "/v1/resource-definitions/pvc-e/autoplace", {
        select_filter: { place_count: 2 },
      }],
      ["GET", "/v1/resource-definitions/pvc-e/resources"],
      ["POST", "/v1/resource-definitions/pvc-e/resources", [{
        resource: { node_name: "b2", flags: ["DISKLESS"] },
      }]],
      ["POST", "/v1/resource-definitions/pvc-e/resources/n5", {
        resource: { props: { StorPoolName: "thin" } },
      }],
      ["GET", "/v1/resource-definitions/pvc-e/resources/n5"],
      ["PUT", "/v1/resource-definitions/pvc-e/resources/n5", {
        override_props: { "Aux/r": "1" },
      }],
      ["GET", "/v1/view/resources"],
      ["GET", "/v1/view/resources?nodes=a1&props=Aux/none"],
      ["DELETE", "/v1/resource-definitions/pvc-e/resources/n5"],
      ["DELETE", "/v1/resource-definitions/pvc-e/volume-definitions/9"],
      ["DELETE", "/v1/resource-definitions/pvc-e"],
      ["DELETE", "/v1/resource-definitions/pvc-c/volume-definitions/0"],
      ["DELETE", "/v1/resource-groups/rg-c/volume-groups/0"],
      ["DELETE", "/v1/resource-groups/rg-c"],
      ["DELETE", "/v1/nodes/n5/storage-pools/thin"],
      ["DELETE", "/v1/nodes/n5"],
      ["GET", "/v1/nope"],
    ];
    for (const [method, path, body] of calls) {
      await api.call(
        method,
        path,
        body,
      );
    }
    // and the same again with every node OFFLINE (state and capacities unknown)
    for (const node of ["a1", "a2", "b1", "b2"]) {
      sim.apply({ action: "set-node-status", node, status: "OFFLINE" });
    }
    for (
      const path of [
        "/v1/nodes",
        "/v1/view/resources",
        "/v1/view/storage-pools",
        "/v1/view/storage-pools?cached=true",
      ]
    ) {
      await api.call("GET", path);
    }
    assert.equal(api.validated, calls.length + 4);
    const missing = SERVED.filter((op) => !api.covered.has(op));
    assert.deepEqual(missing, [], "every served operation is exercised");
  },
);
