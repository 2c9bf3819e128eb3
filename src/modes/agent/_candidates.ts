/**
 * Candidates: which LVM objects of one node become which LINSTOR storage
 * pools, which pool names are in conflict, and what each pool can hold.
 *
 * @module
 */
import { AGENT_TAG_PREFIX } from "../../constants.ts";
import type { LogicalVolume, LvmReport, VolumeGroup } from "./_lvm.ts";

/** LINSTOR provider kinds the agent creates. */
export type PoolKind = "LVM" | "LVM_THIN";

/** An LVM object that should be LINSTOR storage pool `pool` on this node. */
export interface PoolCandidate {
  /** The pool name (the tag minus `linstor-`). */
  readonly pool: string;
  readonly kind: PoolKind;
  /** Volume group name. */
  readonly vg: string;
  readonly vgUuid: string;
  /** Thin pool LV name (LVM_THIN only). */
  readonly thinPool?: string;
  /** UUID of the tagged object: the VG (LVM) or the thin pool LV (LVM_THIN). */
  readonly lvmUuid: string;
  /** What LINSTOR stores as `StorDriver/StorPoolName`: `vg` or `vg/thin`. */
  readonly storPoolName: string;
  /** For messages: `VG "data"` or `thin pool "data/thin"`. */
  readonly object: string;
  /** True when PVs of its VG are missing: nothing is created or deleted for it. */
  readonly partial: boolean;
  /** Capacity the agent publishes for the pool. */
  readonly capacity: PoolCapacity;
}

/** A pool name the node cannot register. */
export interface PoolConflict {
  readonly pool: string;
  /** One sentence for logs, Events and status. */
  readonly reason: string;
}

/** A `linstor-*` tag that names no valid pool. */
export interface InvalidTag {
  readonly tag: string;
  /** `VG "x"` or `LV "x/y"`. */
  readonly object: string;
  readonly reason: string;
}

/** What a scan means for LINSTOR. */
export interface CandidateSet {
  /** Pools to have, by name (conflicting names are absent). */
  readonly candidates: ReadonlyMap<string, PoolCandidate>;
  /** Pool names claimed ambiguously, sorted by pool. */
  readonly conflicts: readonly PoolConflict[];
  /** Tags that cannot become pools. */
  readonly invalid: readonly InvalidTag[];
}

/** Capacity of one pool in bytes. */
export interface PoolCapacity {
  /** VG size (LVM) or thin pool size (LVM_THIN). */
  readonly sizeBytes: number;
  /** What new volumes may still take, after the spare (thick) or within the over-provisioning limit (thin). */
  readonly freeBytes: number;
}

/** Options of `findCandidates()`. */
export interface CandidateOptions {
  /** Bytes kept free on a thick pool (TopoLVM's spare). @default {0} */
  spareBytes?: number;
  /**
   * Thin pools: volumes may add up to this many times the pool size.
   * @default {1}
   */
  overprovisionRatio?: number;
}

/**
 * Valid pool names: what LINSTOR accepts as a storage-pool name (3–48
 * characters, starting with a letter) and what fits into the DNS-1123
 * StorageClass name `linstor-<pool>-r<N>` (lowercase, digits and `-`, no
 * `-` at the end).
 */
const POOL_NAME = /^[a-z][a-z0-9-]{1,46}[a-z0-9]$/;

/** Why `name` is not a valid pool name, or `undefined` when it is. */
export function poolNameProblem(name: string): string | undefined {
  if (POOL_NAME.test(name)) return undefined;
  if (name.length < 3 || name.length > 48) {
    return `pool name "${name}" must be 3 to 48 characters long`;
  }
  return `pool name "${name}" must be lowercase letters, digits and "-", start with a letter and end with a letter or digit`;
}

/**
 * Finds the candidates of one node's LVM report.
 *
 * - A VG with exactly one `linstor-<p>` tag is an LVM pool `<p>`.
 * - A thin-pool LV (`lv_attr` starting with `t`) with exactly one such tag
 *   is an LVM_THIN pool `<p>` (its VG needs no tag).
 * - Two objects claiming `<p>`, one object with several such tags, or a
 *   tagged VG whose name another VG also uses is a conflict: `<p>` gets no
 *   candidate at all.
 */
export function findCandidates(
  report: LvmReport,
  options: CandidateOptions = {},
): CandidateSet {
  const invalid: InvalidTag[] = [];
  const claims = new Map<string, PoolCandidate[]>();
  const reasons = new Map<string, string>();
  const vgNameCount = new Map<string, number>();
  for (const vg of report.volumeGroups) {
    vgNameCount.set(vg.name, (vgNameCount.get(vg.name) ?? 0) + 1);
  }
  const vgByUuid = new Map(report.volumeGroups.map((vg) => [vg.uuid, vg]));
  const claim = (
    tags: readonly string[],
    object: string,
    build: (pool: string) => PoolCandidate,
  ) => {
    const pools: string[] = [];
    for (const tag of tags) {
      if (!tag.startsWith(AGENT_TAG_PREFIX)) continue;
      const pool = tag.slice(AGENT_TAG_PREFIX.length);
      const problem = poolNameProblem(pool);
      if (problem) invalid.push({ tag, object, reason: problem });
      else pools.push(pool);
    }
    for (const pool of pools) {
      if (pools.length > 1) {
        reasons.set(
          pool,
          `${object} carries several linstor-* tags (${
            pools.map((p) => AGENT_TAG_PREFIX + p).join(", ")
          }); remove all but one`,
        );
      }
      const list = claims.get(pool) ?? [];
      list.push(build(pool));
      claims.set(pool, list);
    }
  };
  for (const vg of report.volumeGroups) {
    claim(
      vg.tags,
      `VG "${vg.name}"`,
      (pool) => thickCandidate(pool, vg, options),
    );
  }
  for (const lv of report.logicalVolumes) {
    const object = `LV "${lv.vgName}/${lv.name}"`;
    if (!lv.tags.some((tag) => tag.startsWith(AGENT_TAG_PREFIX))) continue;
    if (!lv.attr.startsWith("t")) {
      for (const tag of lv.tags.filter((t) => t.startsWith(AGENT_TAG_PREFIX))) {
        invalid.push({
          tag,
          object,
          reason: "only volume groups and thin pools can be storage pools",
        });
      }
      continue;
    }
    const vg = vgByUuid.get(lv.vgUuid);
    claim(
      lv.tags,
      `thin pool "${lv.vgName}/${lv.name}"`,
      (pool) => thinCandidate(pool, lv, { vg, report, options }),
    );
  }
  const candidates = new Map<string, PoolCandidate>();
  for (const [pool, list] of claims) {
    if (list.length > 1 && !reasons.has(pool)) {
      reasons.set(
        pool,
        `${list.map((c) => c.object).join(" and ")} carry tag ${
          AGENT_TAG_PREFIX + pool
        }; a tag must be unique on a node`,
      );
    }
    const only = list[0]!;
    if (!reasons.has(pool) && (vgNameCount.get(only.vg) ?? 0) > 1) {
      reasons.set(
        pool,
        `VG name "${only.vg}" is used by ${
          vgNameCount.get(only.vg)
        } volume groups; LINSTOR could not tell them apart (rename one with vgrename)`,
      );
    }
    if (!reasons.has(pool)) candidates.set(pool, only);
  }
  const conflicts = [...reasons].map(([pool, reason]) => ({ pool, reason }))
    .sort((a, b) => compareText(a.pool, b.pool));
  invalid.sort((a, b) =>
    compareText(a.object, b.object) || compareText(a.tag, b.tag)
  );
  return { candidates, conflicts, invalid };
}

function thickCandidate(
  pool: string,
  vg: VolumeGroup,
  options: CandidateOptions,
): PoolCandidate {
  return {
    pool,
    kind: "LVM",
    vg: vg.name,
    vgUuid: vg.uuid,
    lvmUuid: vg.uuid,
    storPoolName: vg.name,
    object: `VG "${vg.name}"`,
    partial: vg.partial,
    capacity: {
      sizeBytes: vg.sizeBytes,
      freeBytes: Math.max(0, vg.freeBytes - (options.spareBytes ?? 0)),
    },
  };
}

function thinCandidate(
  pool: string,
  lv: LogicalVolume,
  context: {
    vg: VolumeGroup | undefined;
    report: LvmReport;
    options: CandidateOptions;
  },
): PoolCandidate {
  return {
    pool,
    kind: "LVM_THIN",
    vg: lv.vgName,
    vgUuid: lv.vgUuid,
    thinPool: lv.name,
    lvmUuid: lv.uuid,
    storPoolName: `${lv.vgName}/${lv.name}`,
    object: `thin pool "${lv.vgName}/${lv.name}"`,
    // A thin pool whose VG is not reported is treated like a partial VG.
    partial: context.vg?.partial ?? true,
    capacity: thinCapacity(lv, context.report, context.options),
  };
}

/**
 * Free bytes of a thin pool: the smaller of what is physically unwritten
 * (size × (1 − data%), when LVM knows data%) and what the over-provisioning
 * limit leaves (ratio × size − Σ thin volume sizes), never below 0.
 */
export function thinCapacity(
  pool: LogicalVolume,
  report: LvmReport,
  options: CandidateOptions = {},
): PoolCapacity {
  const ratio = options.overprovisionRatio ?? 1;
  let virtual = 0;
  for (const lv of report.logicalVolumes) {
    if (lv.vgUuid === pool.vgUuid && lv.poolLv === pool.name) {
      virtual += lv.sizeBytes;
    }
  }
  const limit = Math.floor(ratio * pool.sizeBytes) - virtual;
  const physical = pool.dataPercent === undefined
    ? Infinity
    : Math.floor(pool.sizeBytes * (1 - pool.dataPercent / 100));
  return {
    sizeBytes: pool.sizeBytes,
    freeBytes: Math.max(0, Math.min(limit, physical)),
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
