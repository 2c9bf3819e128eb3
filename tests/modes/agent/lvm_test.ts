import assert from "node:assert/strict";
import {
  lvmCommands,
  parseLogicalVolumes,
  parseVolumeGroups,
} from "../../../src/modes/agent/mod.ts";
import { fixture, lvsJson, vgRow, vgsJson } from "./_fixtures.ts";

Deno.test("parseVolumeGroups() reads a recorded report with string-typed numbers", () => {
  const { volumeGroups, warnings } = parseVolumeGroups(
    fixture("vgs_loop.json"),
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(volumeGroups[0], {
    name: "agentrec_data",
    uuid: "zS8ESQ-xKtC-5uyI-lYCH-uNHg-4w9i-sWJFzF",
    tags: ["linstor-data"],
    sizeBytes: 62914560,
    freeBytes: 62914560,
    attr: "wz--n-",
    partial: false,
  });
  assert.deepEqual(volumeGroups[1]?.tags, ["linstor-fast", "linstor-other"]);
});

Deno.test("parseVolumeGroups() sets advisory lines inside the JSON aside as warnings", () => {
  const { volumeGroups, warnings } = parseVolumeGroups(
    fixture("vgs_advisory.txt"),
  );
  assert.equal(volumeGroups.length, 1);
  assert.equal(volumeGroups[0]?.name, "data");
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^WARNING: Not using device/);
});

Deno.test("parseVolumeGroups() keeps VGs with the same name apart by UUID", () => {
  const { volumeGroups } = parseVolumeGroups(fixture("vgs_duplicate.json"));
  assert.deepEqual(volumeGroups.map((vg) => vg.uuid), [
    "DupVg1-aaaa-bbbb-cccc-dddd-eeee-ffff01",
    "DupVg2-aaaa-bbbb-cccc-dddd-eeee-ffff02",
  ]);
});

Deno.test("parseVolumeGroups() marks a VG with missing PVs as partial", () => {
  const { volumeGroups } = parseVolumeGroups(fixture("vgs_partial.json"));
  assert.equal(volumeGroups[0]?.partial, true);
});

Deno.test("parseVolumeGroups() lists a VG reported twice (duplicate PV paths) once", () => {
  const row = vgRow("a", "");
  assert.equal(parseVolumeGroups(vgsJson([row, row])).volumeGroups.length, 1);
});

Deno.test("parseVolumeGroups() throws a SyntaxError on a broken report", async (t) => {
  const cases: [string, string][] = [
    ["truncated output", fixture("vgs_truncated.txt")],
    ["empty output", ""],
    ["no report array", "{}"],
    ["another section only", lvsJson([])],
    ["a row without a UUID", vgsJson([vgRow("a", "", { vg_uuid: "" })])],
    [
      "a size that is not bytes",
      vgsJson([vgRow("a", "", { vg_size: "1.5g" })]),
    ],
    ["a row that is not an object", '{"report":[{"vg":["x"]}]}'],
  ];
  for (const [name, text] of cases) {
    await t.step(name, () => {
      assert.throws(() => parseVolumeGroups(text), SyntaxError);
    });
  }
});

Deno.test("parseLogicalVolumes() reads thin pools, thin volumes and data percent", () => {
  const { logicalVolumes } = parseLogicalVolumes(fixture("lvs_thin.json"));
  assert.equal(logicalVolumes.length, 4);
  assert.equal(logicalVolumes[0]?.attr, "twi-aotz--");
  assert.equal(logicalVolumes[0]?.dataPercent, 25);
  assert.equal(logicalVolumes[1]?.poolLv, "thindata");
  assert.equal(logicalVolumes[3]?.dataPercent, undefined);
});

Deno.test("parseLogicalVolumes() reads a comma decimal separator", () => {
  const text = lvsJson([{
    lv_name: "t",
    lv_uuid: "u",
    vg_name: "v",
    vg_uuid: "vu",
    lv_attr: "twi-a-tz--",
    lv_size: "100",
    lv_tags: "",
    pool_lv: "",
    data_percent: "12,50",
  }]);
  assert.equal(parseLogicalVolumes(text).logicalVolumes[0]?.dataPercent, 12.5);
});

Deno.test("lvmCommands() asks for JSON in bytes with a device filter, C locale and a timeout", () => {
  const { vgs, lvs } = lvmCommands({ timeoutMs: 5000 });
  assert.equal(vgs.program, "lvm");
  assert.equal(vgs.args?.[0], "vgs");
  assert.equal(lvs.args?.[0], "lvs");
  const args = vgs.args!.join(" ");
  assert.match(args, /--reportformat json --units b --nosuffix/);
  assert.match(args, /global_filter = \[ "r\|\^\/dev\/drbd\|"/);
  assert.deepEqual(vgs.env, { LC_ALL: "C", LVM_SUPPRESS_FD_WARNINGS: "1" });
  assert.equal(vgs.timeoutMs, 5000);
  assert.equal(vgs.check, false);
});

Deno.test("lvmCommands() enters the host's namespaces with nsenter when hostLvm is set", () => {
  const { vgs } = lvmCommands({ hostLvm: true, lvmPath: "/sbin/lvm" });
  assert.equal(vgs.program, "nsenter");
  assert.deepEqual(vgs.args?.slice(0, 10), [
    "-t",
    "1",
    "-m",
    "-u",
    "-i",
    "-n",
    "-p",
    "--",
    "/sbin/lvm",
    "vgs",
  ]);
});
