import assert from "node:assert/strict";
import { codeOf, entries, simFrom } from "./_harness.ts";

const GIB = 1024 * 1024;
const ZONE = "Aux/topology/topology.kubernetes.io/zone";

const NODES = `
nodes:
  - { name: n1, props: { ${ZONE}: a }, pools: [{ name: thin, provider_kind: LVM_THIN, capacity: 100GiB }] }
  - { name: n2, props: { ${ZONE}: a }, pools: [{ name: thin, provider_kind: LVM_THIN, capacity: 50GiB }] }
  - { name: n3, props: { ${ZONE}: b }, pools: [{ name: thin, provider_kind: LVM_THIN, capacity: 80GiB }] }
  - name: n4
    props: { ${ZONE}: b }
    pools:
      - { name: thin, provider_kind: LVM_THIN, capacity: 20GiB }
      - { name: fat, provider_kind: LVM, capacity: 100GiB }
  - { name: n5, props: { ${ZONE}: c } }
`;

const EQUAL_NODES = `
nodes:
  - { name: m2, pools: [{ name: eq, provider_kind: LVM, capacity: 10GiB }] }
  - { name: m0, pools: [{ name: eq, provider_kind: LVM, capacity: 10GiB }] }
  - { name: m1, pools: [{ name: eq, provider_kind: LVM, capacity: 10GiB }] }
  - { name: m3 }
`;

interface Case {
  name: string;
  scenario?: string;
  filter: Record<string, unknown>;
  groupProps?: Record<string, string>;
  sizeKib?: number;
  offline?: string[];
  /** Expected `node:kind` list sorted by node, or the expected error code. */
  expect: string[] | number;
}

const CASES: Case[] = [
  {
    name: "two replicas on most free space plus a tie-breaker",
    filter: { place_count: 2, storage_pool: "thin" },
    expect: ["n1:diskful", "n2:tie-breaker", "n3:diskful"],
  },
  {
    name: "three replicas need no tie-breaker",
    filter: { place_count: 3, storage_pool: "thin" },
    expect: ["n1:diskful", "n2:diskful", "n3:diskful"],
  },
  {
    name: "replicas_on_different spreads over zones",
    filter: {
      place_count: 2,
      storage_pool: "thin",
      replicas_on_different: [ZONE],
    },
    expect: ["n1:diskful", "n2:tie-breaker", "n3:diskful"],
  },
  {
    name: "replicas_on_same keeps one zone (the one with most space)",
    filter: { place_count: 2, storage_pool: "thin", replicas_on_same: [ZONE] },
    expect: ["n1:diskful", "n2:diskful", "n3:tie-breaker"],
  },
  {
    name: "replicas_on_same with a value pins the zone",
    filter: {
      place_count: 2,
      storage_pool: "thin",
      replicas_on_same: [`${ZONE}=b`],
    },
    expect: ["n1:tie-breaker", "n3:diskful", "n4:diskful"],
  },
  {
    name: "node_name_list restricts candidates",
    filter: {
      place_count: 2,
      storage_pool_list: ["thin"],
      node_name_list: ["n2", "n4"],
    },
    expect: ["n1:tie-breaker", "n2:diskful", "n4:diskful"],
  },
  {
    name: "x_replicas_on_different_map caps replicas per zone",
    filter: {
      place_count: 4,
      storage_pool: "thin",
      x_replicas_on_different_map: { [ZONE]: 2 },
    },
    expect: ["n1:diskful", "n2:diskful", "n3:diskful", "n4:diskful"],
  },
  {
    name: "x_replicas_on_different_map makes too many replicas impossible",
    filter: {
      place_count: 3,
      storage_pool: "thin",
      x_replicas_on_different_map: { [ZONE]: 1 },
    },
    expect: 996,
  },
  {
    name: "pool on too few nodes fails with FAIL_NOT_ENOUGH_NODES",
    filter: { place_count: 2, storage_pool: "fat" },
    expect: 996,
  },
  {
    name: "more replicas than nodes fails",
    filter: { place_count: 6, storage_pool: "thin" },
    expect: 996,
  },
  {
    name: "thick pool without room fails",
    filter: { place_count: 1, storage_pool: "fat" },
    sizeKib: 200 * GIB,
    expect: 996,
  },
  {
    name: "thin pool over-subscription up to 20× free space",
    filter: { place_count: 1, storage_pool: "thin", node_name_list: ["n4"] },
    sizeKib: 150 * GIB,
    expect: ["n4:diskful"],
  },
  {
    name: "thin pool beyond the 10 % initial allocation fails",
    filter: { place_count: 1, storage_pool: "thin", node_name_list: ["n4"] },
    sizeKib: 250 * GIB,
    expect: 996,
  },
  {
    name: "diskless_on_remaining adds clients everywhere else",
    filter: {
      place_count: 2,
      storage_pool: "thin",
      diskless_on_remaining: true,
    },
    expect: [
      "n1:diskful",
      "n2:diskless",
      "n3:diskful",
      "n4:diskless",
      "n5:diskless",
    ],
  },
  {
    name: "auto tie-breaker off by resource group property",
    filter: { place_count: 2, storage_pool: "thin" },
    groupProps: { "DrbdOptions/auto-add-quorum-tiebreaker": "False" },
    expect: ["n1:diskful", "n3:diskful"],
  },
  {
    name: "OFFLINE nodes get no replicas",
    filter: { place_count: 2, storage_pool: "thin" },
    offline: ["n1", "n2"],
    expect: ["n3:diskful", "n4:diskful", "n5:tie-breaker"],
  },
  {
    name: "no place_count means LINSTOR's default of 2",
    filter: { storage_pool: "thin" },
    expect: ["n1:diskful", "n2:tie-breaker", "n3:diskful"],
  },
  {
    name: "equal free space breaks ties by node name",
    scenario: EQUAL_NODES,
    filter: { place_count: 2, storage_pool: "eq" },
    expect: ["m0:diskful", "m1:diskful", "m2:tie-breaker"],
  },
];

function kindOf(flags: string[] | undefined): string {
  if (flags?.includes("TIE_BREAKER")) return "tie-breaker";
  if (flags?.includes("DISKLESS")) return "diskless";
  return "diskful";
}

Deno.test("`POST /v1/resource-groups/{rg}/spawn` places replicas like LINSTOR's autoplacer", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const { api, sim } = simFrom(c.scenario ?? NODES);
      for (const node of c.offline ?? []) {
        sim.apply({ action: "set-node-status", node, status: "OFFLINE" });
      }
      const rg = await api.call("POST", "/v1/resource-groups", {
        name: "rg",
        select_filter: c.filter,
        ...(c.groupProps ? { props: c.groupProps } : {}),
      });
      assert.equal(rg.status, 201);
      const res = await api.call("POST", "/v1/resource-groups/rg/spawn", {
        resource_definition_name: "pvc-x",
        volume_sizes: [c.sizeKib ?? GIB],
      });
      if (typeof c.expect === "number") {
        assert.equal(res.status, 500);
        const error = entries(res.body).find((e) =>
          codeOf(e.ret_code) === c.expect
        );
        assert.ok(error, `expected code ${c.expect} in ${res.text}`);
        assert.match(error.message, /Not enough available nodes/);
        const view = await api.call(
          "GET",
          "/v1/view/resources?resources=pvc-x",
        );
        assert.deepEqual(view.body, [], "no replica was created");
        return;
      }
      assert.equal(res.status, 201, res.text);
      const view = (await api.call("GET", "/v1/view/resources?resources=pvc-x"))
        .body as {
          node_name: string;
          flags?: string[];
        }[];
      assert.deepEqual(
        view.map((r) => `${r.node_name}:${kindOf(r.flags)}`),
        c.expect,
      );
      if (c.expect.some((e) => e.endsWith("tie-breaker"))) {
        assert.ok(
          entries(res.body).some((e) => codeOf(e.ret_code) === 10003),
          "TieBreakerCreated info",
        );
      }
    });
  }
});

Deno.test("`POST /v1/resource-groups/{rg}/spawn` uses up free space as volumes are placed", async () => {
  const { api } = simFrom(NODES);
  await api.call("POST", "/v1/resource-groups", {
    name: "rg",
    select_filter: { place_count: 1, storage_pool: "fat" },
  });
  const first = await api.call("POST", "/v1/resource-groups/rg/spawn", {
    resource_definition_name: "vol-a",
    volume_sizes: [60 * GIB],
  });
  assert.equal(first.status, 201);
  const pool = (await api.call("GET", "/v1/nodes/n4/storage-pools/fat"))
    .body as { free_capacity: number };
  assert.equal(pool.free_capacity, 40 * GIB);
  const second = await api.call("POST", "/v1/resource-groups/rg/spawn", {
    resource_definition_name: "vol-b",
    volume_sizes: [60 * GIB],
  });
  assert.equal(second.status, 500);
  assert.equal(codeOf(entries(second.body).at(-1)?.ret_code), 996);
  const rd = await api.call("GET", "/v1/resource-definitions/vol-b");
  assert.equal(
    rd.status,
    200,
    "the definition stays after a failed placement (documented)",
  );
});

Deno.test("`POST /v1/resource-definitions/{rd}/autoplace` adds, warns and validates", async (t) => {
  const { api } = simFrom(NODES);
  await api.call("POST", "/v1/resource-groups", {
    name: "rg",
    select_filter: { place_count: 1, storage_pool: "thin" },
  });
  await api.call("POST", "/v1/resource-groups/rg/spawn", {
    resource_definition_name: "vol-v",
    volume_sizes: [GIB],
  });
  const nodes = async () =>
    ((await api.call("GET", "/v1/view/resources?resources=vol-v")).body as {
      node_name: string;
      flags?: string[];
    }[])
      .map((r) => `${r.node_name}:${kindOf(r.flags)}`);
  assert.deepEqual(await nodes(), ["n1:diskful"]);
  await t.step(
    "additional_place_count adds one more and a tie-breaker",
    async () => {
      const res = await api.call(
        "POST",
        "/v1/resource-definitions/vol-v/autoplace",
        {
          select_filter: { additional_place_count: 1 },
        },
      );
      assert.equal(res.status, 201);
      assert.deepEqual(await nodes(), [
        "n1:diskful",
        "n2:tie-breaker",
        "n3:diskful",
      ]);
    },
  );
  await t.step(
    "place_count already reached → 201 with WARN already deployed",
    async () => {
      const res = await api.call(
        "POST",
        "/v1/resource-definitions/vol-v/autoplace",
        { select_filter: { place_count: 2 } },
      );
      assert.equal(res.status, 201);
      assert.equal(codeOf(entries(res.body)[0]?.ret_code), 1006);
    },
  );
  await t.step(
    "a tie-breaker node is taken over for a third diskful replica",
    async () => {
      const res = await api.call(
        "POST",
        "/v1/resource-definitions/vol-v/autoplace",
        {
          select_filter: { place_count: 3, node_name_list: ["n2"] },
        },
      );
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(await nodes(), [
        "n1:diskful",
        "n2:diskful",
        "n3:diskful",
      ]);
    },
  );
  await t.step("missing definition → 404", async () => {
    const res = await api.call(
      "POST",
      "/v1/resource-definitions/nope/autoplace",
      { select_filter: {} },
    );
    assert.equal(res.status, 404);
  });
  await t.step("bad filter → 400", async () => {
    const res = await api.call(
      "POST",
      "/v1/resource-definitions/vol-v/autoplace",
      {
        select_filter: { place_count: "two" },
      },
      { unchecked: true },
    );
    assert.equal(res.status, 400);
  });
});

Deno.test("`POST /v1/resource-groups/{rg}/spawn` validates its input", async (t) => {
  const { api } = simFrom(NODES);
  await t.step("missing group → 404 FAIL_NOT_FOUND_RSC_GRP", async () => {
    const res = await api.call("POST", "/v1/resource-groups/nope/spawn", {
      resource_definition_name: "vol-x",
    });
    assert.equal(res.status, 404);
    assert.equal(codeOf(entries(res.body)[0]?.ret_code), 317);
  });
  await t.step("existing definition → 500 FAIL_EXISTS_RSC_DFN", async () => {
    await api.call("POST", "/v1/resource-groups/DfltRscGrp/spawn", {
      resource_definition_name: "vol-x",
      volume_sizes: [GIB],
      definitions_only: true,
    });
    const res = await api.call("POST", "/v1/resource-groups/DfltRscGrp/spawn", {
      resource_definition_name: "vol-x",
      volume_sizes: [GIB],
    });
    assert.equal(res.status, 500);
    assert.equal(codeOf(entries(res.body)[0]?.ret_code), 501);
  });
  await t.step("definitions_only creates no replicas", async () => {
    const view = await api.call("GET", "/v1/view/resources?resources=vol-x");
    assert.deepEqual(view.body, []);
    const rd = (await api.call(
      "GET",
      "/v1/resource-definitions/vol-x?with_volume_definitions=true",
    )).body as {
      volume_definitions: unknown[];
    };
    assert.equal(rd.volume_definitions.length, 1);
  });
  await t.step("bad sizes → 400", async () => {
    const res = await api.call("POST", "/v1/resource-groups/DfltRscGrp/spawn", {
      resource_definition_name: "vol-y",
      volume_sizes: [-1],
    }, { unchecked: true });
    assert.equal(res.status, 400);
    assert.equal(
      (await api.call("GET", "/v1/resource-definitions/vol-y")).status,
      404,
      "nothing created",
    );
  });
});
