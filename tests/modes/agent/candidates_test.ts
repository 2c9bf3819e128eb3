import assert from "node:assert/strict";
import {
  findCandidates,
  poolNameProblem,
} from "../../../src/modes/agent/mod.ts";
import { report, reportOf, thinRow, vgRow } from "./_fixtures.ts";

const GIB = 1024 ** 3;

Deno.test("findCandidates() turns a VG with one linstor tag into an LVM pool", () => {
  const found = findCandidates(report("vgs_loop.json"));
  const data = found.candidates.get("data");
  assert.equal(data?.kind, "LVM");
  assert.equal(data?.storPoolName, "agentrec_data");
  assert.equal(data?.lvmUuid, "zS8ESQ-xKtC-5uyI-lYCH-uNHg-4w9i-sWJFzF");
});

Deno.test("findCandidates() turns a tagged thin pool into an LVM_THIN pool in an untagged VG", () => {
  const found = findCandidates(report("vgs_thin.json", "lvs_thin.json"), {
    overprovisionRatio: 20,
  });
  const thin = found.candidates.get("thindata");
  assert.equal(thin?.kind, "LVM_THIN");
  assert.equal(thin?.vg, "linstor_data");
  assert.equal(thin?.thinPool, "thindata");
  assert.equal(thin?.storPoolName, "linstor_data/thindata");
  assert.equal(thin?.lvmUuid, "LvThin-0001-aaaa-bbbb-cccc-dddd-eeee01");
  // 800 GiB pool, 25 % written: 600 GiB physically free; the ratio allows far more.
  assert.equal(thin?.capacity.freeBytes, 600 * GIB);
  assert.equal(found.candidates.get("thick")?.kind, "LVM");
  assert.deepEqual(found.conflicts, []);
});

Deno.test("findCandidates() computes capacity", async (t) => {
  const cases: {
    name: string;
    vgs: Record<string, string>[];
    lvs?: Record<string, string>[];
    options: { spareBytes?: number; overprovisionRatio?: number };
    pool: string;
    free: number;
  }[] = [
    {
      name: "thick: VG free minus the spare",
      vgs: [vgRow("a", "linstor-aaa", { vg_free: String(50 * GIB) })],
      options: { spareBytes: 10 * GIB },
      pool: "aaa",
      free: 40 * GIB,
    },
    {
      name: "thick: never below zero",
      vgs: [vgRow("a", "linstor-aaa", { vg_free: String(5 * GIB) })],
      options: { spareBytes: 10 * GIB },
      pool: "aaa",
      free: 0,
    },
    {
      name: "thin: the over-provisioning limit when it is smaller",
      vgs: [vgRow("v", "")],
      lvs: [
        thinRow("v/t", "linstor-ttt", {
          lv_size: String(10 * GIB),
          data_percent: "0.00",
        }),
        {
          ...thinRow("v/vol", "", { lv_size: String(15 * GIB) }),
          lv_attr: "Vwi-aotz--",
          pool_lv: "t",
        },
      ],
      options: { overprovisionRatio: 2 },
      pool: "ttt",
      free: 5 * GIB,
    },
    {
      name: "thin: over-provisioned past the limit is zero, not negative",
      vgs: [vgRow("v", "")],
      lvs: [
        thinRow("v/t", "linstor-ttt", { lv_size: String(10 * GIB) }),
        {
          ...thinRow("v/vol", "", { lv_size: String(30 * GIB) }),
          lv_attr: "Vwi-aotz--",
          pool_lv: "t",
        },
      ],
      options: { overprovisionRatio: 2 },
      pool: "ttt",
      free: 0,
    },
    {
      name: "thin: unknown data percent (inactive pool) uses the limit only",
      vgs: [vgRow("v", "")],
      lvs: [
        thinRow("v/t", "linstor-ttt", {
          lv_size: String(10 * GIB),
          data_percent: "",
        }),
      ],
      options: { overprovisionRatio: 1 },
      pool: "ttt",
      free: 10 * GIB,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const found = findCandidates(reportOf(c.vgs, c.lvs), c.options);
      assert.equal(found.candidates.get(c.pool)?.capacity.freeBytes, c.free);
    });
  }
});

Deno.test("findCandidates() reports conflicts and registers nothing for them", async (t) => {
  const cases: {
    name: string;
    vgs: Record<string, string>[];
    lvs?: Record<string, string>[];
    conflicts: string[];
    candidates: string[];
    reason: RegExp;
  }[] = [
    {
      name: "two VGs with the same tag",
      vgs: [vgRow("a", "linstor-data"), vgRow("b", "linstor-data")],
      conflicts: ["data"],
      candidates: [],
      reason: /VG "a" and VG "b" carry tag linstor-data/,
    },
    {
      name: "a VG and its thin pool with the same tag",
      vgs: [vgRow("a", "linstor-data")],
      lvs: [thinRow("a/t", "linstor-data")],
      conflicts: ["data"],
      candidates: [],
      reason: /VG "a" and thin pool "a\/t"/,
    },
    {
      name: "one VG with two linstor tags",
      vgs: [vgRow("a", "linstor-one,linstor-two"), vgRow("b", "linstor-okay")],
      conflicts: ["one", "two"],
      candidates: ["okay"],
      reason: /carries several linstor-\* tags/,
    },
    {
      name: "a tagged VG whose name another VG uses",
      vgs: [
        vgRow("data", "linstor-data"),
        vgRow("data", "", { vg_uuid: "other" }),
      ],
      conflicts: ["data"],
      candidates: [],
      reason: /is used by 2 volume groups/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const found = findCandidates(reportOf(c.vgs, c.lvs ?? []));
      assert.deepEqual(found.conflicts.map((x) => x.pool), c.conflicts);
      assert.deepEqual([...found.candidates.keys()].sort(), c.candidates);
      assert.match(found.conflicts[0]!.reason, c.reason);
    });
  }
});

Deno.test("findCandidates() reports invalid tags and tags on plain LVs", () => {
  const found = findCandidates(reportOf(
    [
      vgRow("a", "linstor-Data"),
      vgRow("b", "linstor-x"),
      vgRow("c", "linstor-thin_data,other-tag"),
      vgRow("d", "linstor-"),
    ],
    [{
      ...thinRow("a/plain", "linstor-lv"),
      lv_attr: "-wi-ao----",
    }],
  ));
  assert.equal(found.candidates.size, 0);
  assert.deepEqual(found.invalid.map((i) => [i.object, i.tag]), [
    ['LV "a/plain"', "linstor-lv"],
    ['VG "a"', "linstor-Data"],
    ['VG "b"', "linstor-x"],
    ['VG "c"', "linstor-thin_data"],
    ['VG "d"', "linstor-"],
  ]);
  assert.match(found.invalid[0]!.reason, /only volume groups and thin pools/);
});

Deno.test("poolNameProblem() accepts names valid for LINSTOR and StorageClasses", async (t) => {
  const cases: [string, boolean][] = [
    ["data", true],
    ["thin-data-2", true],
    ["abc", true],
    ["a".repeat(48), true],
    ["ab", false],
    ["a".repeat(49), false],
    ["Data", false],
    ["thin_data", false],
    ["1data", false],
    ["data-", false],
    ["da.ta", false],
  ];
  for (const [name, valid] of cases) {
    await t.step(name, () => {
      assert.equal(poolNameProblem(name) === undefined, valid);
    });
  }
});
