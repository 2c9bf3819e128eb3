/**
 * LVM reports: the `vgs`/`lvs` command lines the agent runs and the pure
 * parser of their JSON output. Running them is the command edge's job
 * (`src/system/command.ts`); this file only builds argv and reads text.
 *
 * @module
 */
import {
  AGENT_DEFAULT_LVM_PATH,
  AGENT_DEFAULT_LVM_TIMEOUT_MS,
  AGENT_LVM_REJECTED_DEVICES,
  AGENT_NSENTER_ARGS,
} from "../../constants.ts";
import type { CommandSpec } from "../../system/mod.ts";

/** A volume group as `vgs` reports it. */
export interface VolumeGroup {
  readonly name: string;
  readonly uuid: string;
  readonly tags: readonly string[];
  readonly sizeBytes: number;
  readonly freeBytes: number;
  /** `vg_attr`, e.g. `wz--n-`; the fourth character is `p` when PVs are missing. */
  readonly attr: string;
  /** True when PVs of the VG are missing (`vg_attr[3] == "p"`). */
  readonly partial: boolean;
}

/** A logical volume as `lvs` reports it. */
export interface LogicalVolume {
  readonly name: string;
  readonly uuid: string;
  readonly vgName: string;
  readonly vgUuid: string;
  /** `lv_attr`; the first character is `t` for a thin pool, `V` for a thin volume. */
  readonly attr: string;
  readonly sizeBytes: number;
  readonly tags: readonly string[];
  /** The thin pool of a thin volume (`pool_lv`), else empty. */
  readonly poolLv: string;
  /** Data usage of an active thin pool in percent; absent when LVM does not know it. */
  readonly dataPercent?: number;
}

/** Both reports of one scan. */
export interface LvmReport {
  readonly volumeGroups: readonly VolumeGroup[];
  readonly logicalVolumes: readonly LogicalVolume[];
}

/** Options of `lvmCommands()`. */
export interface LvmCommandOptions {
  /**
   * Run the host's `lvm` in the host's namespaces through `nsenter` (the pod
   * needs `hostPID` and privileges).
   * @default {false}
   */
  hostLvm?: boolean;
  /** @default {AGENT_DEFAULT_LVM_PATH} */
  lvmPath?: string;
  /** @default {AGENT_DEFAULT_LVM_TIMEOUT_MS} */
  timeoutMs?: number;
}

/** Columns the agent reads from `vgs`. */
export const VG_FIELDS: readonly string[] = Object.freeze([
  "vg_name",
  "vg_uuid",
  "vg_tags",
  "vg_size",
  "vg_free",
  "vg_attr",
]);

/** Columns the agent reads from `lvs`. */
export const LV_FIELDS: readonly string[] = Object.freeze([
  "lv_name",
  "lv_uuid",
  "vg_name",
  "vg_uuid",
  "lv_attr",
  "lv_size",
  "lv_tags",
  "pool_lv",
  "data_percent",
]);

/**
 * The two commands of one scan (`vgs`, then `lvs`): JSON reports in bytes,
 * the C locale (decimal points, not commas), no fd-leak warnings, DRBD, rbd
 * and nbd devices filtered out, and a timeout.
 */
export function lvmCommands(
  options: LvmCommandOptions = {},
): { vgs: CommandSpec; lvs: CommandSpec } {
  const lvm = options.lvmPath ?? AGENT_DEFAULT_LVM_PATH;
  const filter = AGENT_LVM_REJECTED_DEVICES.map((rule) => `"${rule}"`).join(
    ", ",
  );
  const common = [
    "--config",
    `devices { global_filter = [ ${filter} ] }`,
    "--reportformat",
    "json",
    "--units",
    "b",
    "--nosuffix",
  ];
  const spec = (sub: string, fields: readonly string[]): CommandSpec => {
    const args = [sub, ...common, "-o", fields.join(",")];
    return {
      program: options.hostLvm ? "nsenter" : lvm,
      args: options.hostLvm ? [...AGENT_NSENTER_ARGS, lvm, ...args] : args,
      env: { LC_ALL: "C", LVM_SUPPRESS_FD_WARNINGS: "1" },
      timeoutMs: options.timeoutMs ?? AGENT_DEFAULT_LVM_TIMEOUT_MS,
      check: false,
    };
  };
  return { vgs: spec("vgs", VG_FIELDS), lvs: spec("lvs", LV_FIELDS) };
}

/** The rows of one report section and the advisory lines found among them. */
export interface ReportRows {
  readonly rows: readonly Readonly<Record<string, string>>[];
  /** Non-JSON lines lvm printed into stdout (advisories, warnings). */
  readonly warnings: readonly string[];
}

// A line of lvm's JSON output starts with one of these (after indentation).
const JSON_LINE = /^\s*([{}[\]"]|$)/;

/**
 * Reads section `section` (`vg` or `lv`) of an lvm JSON report. Lines that
 * are not JSON (lvm sometimes prints advisories into stdout, even between
 * rows) are set aside as warnings.
 *
 * @throws {SyntaxError} when the text is not a complete report with that section.
 */
export function parseReportRows(text: string, section: string): ReportRows {
  const warnings: string[] = [];
  const json: string[] = [];
  for (const line of text.split("\n")) {
    if (JSON_LINE.test(line)) json.push(line);
    else warnings.push(line.trim());
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.join("\n"));
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse lvm report "${section}": ${(error as Error).message}`,
    );
  }
  const reports = (parsed as { report?: unknown })?.report;
  if (!Array.isArray(reports)) {
    throw new SyntaxError(
      `Cannot parse lvm report "${section}": no "report" array`,
    );
  }
  const rows: Record<string, string>[] = [];
  let found = false;
  for (const report of reports) {
    const list = (report as Record<string, unknown> | null)?.[section];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      throw new SyntaxError(
        `Cannot parse lvm report "${section}": the section is not an array`,
      );
    }
    found = true;
    for (const row of list) {
      if (typeof row !== "object" || row === null || Array.isArray(row)) {
        throw new SyntaxError(
          `Cannot parse lvm report "${section}": a row is not an object`,
        );
      }
      const strings: Record<string, string> = {};
      for (const [key, value] of Object.entries(row)) {
        strings[key] = typeof value === "string" ? value : String(value);
      }
      rows.push(strings);
    }
  }
  if (!found) {
    throw new SyntaxError(
      `Cannot parse lvm report "${section}": the section is missing`,
    );
  }
  return { rows, warnings };
}

/** Parses `vgs` JSON output. @throws {SyntaxError} on a broken report or row. */
export function parseVolumeGroups(
  text: string,
): { volumeGroups: VolumeGroup[]; warnings: readonly string[] } {
  const { items, warnings } = parseUniqueRows(text, "vg", (row, uuid) => {
    const attr = row.vg_attr ?? "";
    return {
      name: required(row, "vg_name", "vg"),
      uuid,
      tags: parseTags(row.vg_tags ?? ""),
      sizeBytes: parseBytes(row, "vg_size", "vg"),
      freeBytes: parseBytes(row, "vg_free", "vg"),
      attr,
      partial: attr[3] === "p",
    };
  });
  return { volumeGroups: items, warnings };
}

/** Parses `lvs` JSON output. @throws {SyntaxError} on a broken report or row. */
export function parseLogicalVolumes(
  text: string,
): { logicalVolumes: LogicalVolume[]; warnings: readonly string[] } {
  const { items, warnings } = parseUniqueRows(text, "lv", (row, uuid) => {
    const dataPercent = parsePercent(row.data_percent ?? "");
    return {
      name: required(row, "lv_name", "lv"),
      uuid,
      vgName: required(row, "vg_name", "lv"),
      vgUuid: required(row, "vg_uuid", "lv"),
      attr: row.lv_attr ?? "",
      sizeBytes: parseBytes(row, "lv_size", "lv"),
      tags: parseTags(row.lv_tags ?? ""),
      poolLv: row.pool_lv ?? "",
      ...(dataPercent === undefined ? {} : { dataPercent }),
    };
  });
  return { logicalVolumes: items, warnings };
}

/**
 * The rows of report `section` ("vg" or "lv"), built once per
 * `<section>_uuid`: lvm lists a VG once per duplicate PV path in some
 * setups, so the first row of each UUID wins.
 */
function parseUniqueRows<T>(
  text: string,
  section: "vg" | "lv",
  build: (row: Readonly<Record<string, string>>, uuid: string) => T,
): { items: T[]; warnings: readonly string[] } {
  const { rows, warnings } = parseReportRows(text, section);
  const seen = new Set<string>();
  const items: T[] = [];
  for (const row of rows) {
    const uuid = required(row, `${section}_uuid`, section);
    if (seen.has(uuid)) continue;
    seen.add(uuid);
    items.push(build(row, uuid));
  }
  return { items, warnings };
}

/** Splits an lvm tag list (`a,b`); empty text is no tags. */
export function parseTags(text: string): string[] {
  return text.split(",").map((tag) => tag.trim()).filter((tag) => tag !== "");
}

function required(
  row: Readonly<Record<string, string>>,
  field: string,
  section: string,
): string {
  const value = row[field];
  if (value === undefined || value === "") {
    throw new SyntaxError(
      `Cannot parse lvm report "${section}": a row has no "${field}"`,
    );
  }
  return value;
}

function parseBytes(
  row: Readonly<Record<string, string>>,
  field: string,
  section: string,
): number {
  const text = required(row, field, section);
  // `--units b --nosuffix` prints integers; tolerate a trailing "B".
  const match = /^(\d+)B?$/.exec(text.trim());
  if (!match) {
    throw new SyntaxError(
      `Cannot parse lvm report "${section}": "${field}" is "${text}", not a byte count`,
    );
  }
  return Number(match[1]);
}

function parsePercent(text: string): number | undefined {
  // A comma decimal separator appears when LC_ALL=C did not reach lvm.
  const value = Number(text.trim().replace(",", "."));
  return text.trim() === "" || !Number.isFinite(value) ? undefined : value;
}
