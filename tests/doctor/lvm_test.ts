import assert from "node:assert/strict";
import { lvmChecks } from "../../src/doctor/mod.ts";
import type { LvmScan } from "../../src/modes/agent/mod.ts";
import { reportOf, thinRow, vgRow } from "../modes/agent/_fixtures.ts";

function scan(
  vgs: Record<string, string>[],
  lvs: Record<string, string>[] = [],
): LvmScan {
  return { ok: true, complete: true, warnings: [], report: reportOf(vgs, lvs) };
}

Deno.test("`lvmChecks()` lists the pools the agent would register", () => {
  const checks = lvmChecks(scan(
    [vgRow("data", "linstor-fast"), vgRow("vg2", "")],
    [thinRow("vg2/thin", "linstor-thin")],
  ));
  assert.deepEqual(checks.map((c) => c.status), ["ok", "ok"]);
  assert.match(checks[0]!.detail, /2 VG\(s\), 1 LV\(s\)/);
  assert.equal(
    checks[1]!.detail,
    'pools: fast (VG "data"), thin (thin pool "vg2/thin")',
  );
});

Deno.test("`lvmChecks()` reports each LVM fault with its fix", async (t) => {
  await t.step("lvm2 missing", () => {
    const [check] = lvmChecks({
      ok: false,
      error: 'Cannot run "lvm vgs": spawn failed: No such file or directory',
    });
    assert.equal(check?.status, "fail");
    assert.match(check!.fix!, /install lvm2/);
  });
  await t.step("lvm failing", () => {
    const [check] = lvmChecks({ ok: false, error: "timed out" });
    assert.equal(check?.status, "fail");
    assert.match(check!.fix!, /lvm vgs/);
  });
  await t.step("no tags", () => {
    const checks = lvmChecks(scan([vgRow("data", "")]));
    const tags = checks.find((c) => c.name === "LVM tags");
    assert.equal(tags?.status, "warn");
    assert.match(tags!.fix!, /vgchange --addtag linstor-<pool>/);
  });
  await t.step("an invalid tag", () => {
    const checks = lvmChecks(scan([vgRow("data", "linstor-X")]));
    const bad = checks.find((c) => c.name === "LVM tag linstor-X");
    assert.equal(bad?.status, "fail");
    assert.match(bad!.fix!, /--deltag linstor-X/);
  });
  await t.step("two objects claiming one pool", () => {
    const checks = lvmChecks(scan([
      vgRow("a", "linstor-pool1"),
      vgRow("b", "linstor-pool1"),
    ]));
    const bad = checks.find((c) => c.name === "LVM pool pool1");
    assert.equal(bad?.status, "fail");
    assert.match(bad!.fix!, /exactly one object tagged linstor-pool1/);
  });
  await t.step("lvm complaining about one VG", () => {
    const [check] = lvmChecks({
      ok: true,
      complete: false,
      warnings: ["WARNING: VG x is missing PV"],
      report: reportOf([vgRow("data", "linstor-fast")]),
    });
    assert.equal(check?.status, "warn");
    assert.match(check!.detail, /missing PV/);
  });
});
