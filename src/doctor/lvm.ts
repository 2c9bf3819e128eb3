/**
 * The agent node checks over one LVM scan (taken through the command edge
 * with the agent's own `scanLvm()`): lvm2 answers, and VGs or thin pools carry
 * valid, unambiguous `linstor-<pool>` tags (the agent's own
 * `findCandidates()` decides).
 *
 * @module
 */
import { findCandidates, type LvmScan } from "../modes/agent/mod.ts";
import { type Check, fail, ok, warn } from "./check.ts";

/** The LVM checks of this node. */
export function lvmChecks(scan: LvmScan): Check[] {
  if (!scan.ok) {
    if (/spawn|not found|No such file/i.test(scan.error)) {
      return [fail(
        "LVM lvm2",
        `lvm cannot run: ${scan.error}`,
        "install lvm2 on the node (or pass --host-lvm / --lvm-path as the agent is given them)",
      )];
    }
    return [fail(
      "LVM lvm2",
      scan.error,
      "run `lvm vgs` on the node and fix what it reports",
    )];
  }
  const report = scan.report;
  const checks: Check[] = [];
  const summary =
    `${report.volumeGroups.length} VG(s), ${report.logicalVolumes.length} LV(s)`;
  checks.push(
    scan.complete ? ok("LVM lvm2", `vgs and lvs answered: ${summary}`) : warn(
      "LVM lvm2",
      `lvm exited non-zero (${scan.warnings[0] ?? "no message"}): ${summary}`,
      "run `lvm vgs` on the node and repair the VG it complains about; until then the agent deletes no pool",
    ),
  );
  const set = findCandidates(report);
  for (const invalid of set.invalid) {
    checks.push(fail(
      `LVM tag ${invalid.tag}`,
      `${invalid.object}: ${invalid.reason}`,
      `remove it (vgchange/lvchange --deltag ${invalid.tag}) and tag a valid pool name instead`,
    ));
  }
  for (const conflict of set.conflicts) {
    checks.push(fail(
      `LVM pool ${conflict.pool}`,
      conflict.reason,
      `keep exactly one object tagged linstor-${conflict.pool} (vgchange/lvchange --deltag on the others)`,
    ));
  }
  const pools = [...set.candidates].map(([pool, c]) => `${pool} (${c.object})`)
    .sort();
  if (pools.length > 0) {
    checks.push(ok("LVM tags", `pools: ${pools.join(", ")}`));
  } else if (set.invalid.length === 0 && set.conflicts.length === 0) {
    checks.push(warn(
      "LVM tags",
      "no VG or thin pool is tagged linstor-<pool>: the agent registers no pool on this node",
      "tag one: vgchange --addtag linstor-<pool> <vg> (or lvchange --addtag linstor-<pool> <vg>/<thinpool>)",
    ));
  }
  return checks;
}
