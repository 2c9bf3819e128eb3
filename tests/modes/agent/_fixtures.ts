/**
 * Recorded LVM reports (`tests/_fixtures/lvm/`) and small builders.
 *
 * @module
 */
import {
  type LvmReport,
  parseLogicalVolumes,
  parseVolumeGroups,
} from "../../../src/modes/agent/mod.ts";

const DIR = new URL("../../_fixtures/lvm/", import.meta.url);

/** The text of fixture `name`. */
export function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(name, DIR));
}

/** A report from the `vgs` and `lvs` fixtures. */
export function report(vgs: string, lvs = "lvs_loop.json"): LvmReport {
  return {
    volumeGroups: parseVolumeGroups(fixture(vgs)).volumeGroups,
    logicalVolumes: parseLogicalVolumes(fixture(lvs)).logicalVolumes,
  };
}

/** `vgs` JSON for `rows`. */
export function vgsJson(rows: readonly Record<string, string>[]): string {
  return JSON.stringify({ report: [{ vg: rows }] }, null, 2);
}

/** `lvs` JSON for `rows`. */
export function lvsJson(rows: readonly Record<string, string>[]): string {
  return JSON.stringify({ report: [{ lv: rows }] }, null, 2);
}

/** A `vgs` row. */
export function vgRow(
  name: string,
  tags: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    vg_name: name,
    vg_uuid: `uuid-${name}`,
    vg_tags: tags,
    vg_size: "107374182400",
    vg_free: "53687091200",
    vg_attr: "wz--n-",
    ...extra,
  };
}

/** A thin-pool `lvs` row for `vg/name`. */
export function thinRow(
  path: string,
  tags: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const [vg, name] = path.split("/") as [string, string];
  return {
    lv_name: name,
    lv_uuid: `uuid-${vg}-${name}`,
    vg_name: vg,
    vg_uuid: `uuid-${vg}`,
    lv_attr: "twi-aotz--",
    lv_size: "10737418240",
    lv_tags: tags,
    pool_lv: "",
    data_percent: "10.00",
    ...extra,
  };
}

/** A report built from rows. */
export function reportOf(
  vgs: readonly Record<string, string>[],
  lvs: readonly Record<string, string>[] = [],
): LvmReport {
  return {
    volumeGroups: parseVolumeGroups(vgsJson(vgs)).volumeGroups,
    logicalVolumes: parseLogicalVolumes(lvsJson(lvs)).logicalVolumes,
  };
}
