/**
 * The agent part of `linstor-suite demo`: the agent's plan for recorded LVM
 * reports of three nodes, against a LINSTOR that has no pools yet.
 *
 * 1. Each node's `vgs`/`lvs` JSON is parsed and planned (`planPools()`):
 *    tagged VGs and thin pools become pools to create; a tag on two VGs is a
 *    conflict that registers nothing; an invalid name is refused.
 * 2. With those pools created, `planStorageClasses()` shows the classes
 *    `linstor-<pool>-r1..rN`, N = nodes with the pool (at most 3).
 *
 * @module
 */
import {
  AGENT_OWNER,
  LINSTOR_PROP_AGENT_LVM_UUID,
  LINSTOR_PROP_AGENT_MANAGED_BY,
  LINSTOR_PROP_STOR_DRIVER_POOL_NAME,
} from "../constants.ts";
import type { StoragePool } from "../linstor/mod.ts";
import {
  EMPTY_MEMORY,
  parseLogicalVolumes,
  parseVolumeGroups,
  planPools,
  planStorageClasses,
} from "../modes/agent/mod.ts";

const GIB = 1024 ** 3;

function vg(name: string, tags: string, sizeGib: number): string {
  return `{"vg_name":"${name}", "vg_uuid":"demo-${name}", "vg_tags":"${tags}", "vg_size":"${
    sizeGib * GIB
  }", "vg_free":"${sizeGib * GIB / 2}", "vg_attr":"wz--n-"}`;
}

function report(section: "vg" | "lv", rows: string[]): string {
  return `  {\n      "report": [\n          {\n              "${section}": [\n${
    rows.map((row) => `                  ${row}`).join(",\n")
  }\n              ]\n          }\n      ]\n  }\n`;
}

const THIN_POOL =
  `{"lv_name":"thindata", "lv_uuid":"demo-thin", "vg_name":"linstor_data", "vg_uuid":"demo-linstor_data", "lv_attr":"twi-aotz--", "lv_size":"${
    800 * GIB
  }", "lv_tags":"linstor-thindata", "pool_lv":"", "data_percent":"25.00"}`;

/** Recorded-format reports per node: `[vgs, lvs]`. */
const NODES: readonly [string, string, string][] = [
  [
    "node-a1",
    report("vg", [
      vg("vg_data", "linstor-data", 1000),
      vg("linstor_data", "", 1000),
    ]),
    report("lv", [THIN_POOL]),
  ],
  [
    "node-a2",
    report("vg", [vg("vg_data", "linstor-data", 1000)]),
    report("lv", []),
  ],
  [
    "node-b1",
    report("vg", [
      vg("vg_data", "linstor-data", 2000),
      vg("nvme0", "linstor-fast", 500),
      vg("nvme1", "linstor-fast", 500),
      vg("scratch", "linstor-Scratch_1", 100),
    ]),
    report("lv", []),
  ],
];

/** The demo text of the agent's plan. */
export function agentDemoText(): string {
  const lines = [
    "Agent: planned from recorded LVM reports (LINSTOR has no pools yet; dry-run)",
  ];
  const created: StoragePool[] = [];
  for (const [node, vgs, lvs] of NODES) {
    const plan = planPools({
      node,
      scan: {
        ok: true,
        complete: true,
        warnings: [],
        report: {
          volumeGroups: parseVolumeGroups(vgs).volumeGroups,
          logicalVolumes: parseLogicalVolumes(lvs).logicalVolumes,
        },
      },
      linstor: { ok: true, connectionStatus: "ONLINE", pools: [] },
    }, { now: 0, memory: EMPTY_MEMORY, options: { removalGraceMs: 60_000 } });
    for (const action of plan.actions) {
      if (action.type === "CreatePool") {
        const c = action.candidate;
        lines.push(
          `  ${node}: create ${c.kind} pool "${c.pool}" on ${c.object} (free ${
            Math.round(c.capacity.freeBytes / GIB)
          } GiB)`,
        );
        created.push({
          storage_pool_name: c.pool,
          node_name: node,
          provider_kind: c.kind,
          props: {
            [LINSTOR_PROP_STOR_DRIVER_POOL_NAME]: c.storPoolName,
            [LINSTOR_PROP_AGENT_MANAGED_BY]: AGENT_OWNER,
            [LINSTOR_PROP_AGENT_LVM_UUID]: c.lvmUuid,
          },
        });
      } else if (action.type === "NodeEvent") {
        lines.push(`  ${node}: Warning ${action.reason}: ${action.message}`);
      }
    }
  }
  const classes = planStorageClasses({ pools: created, storageClasses: [] });
  for (const [pool, n] of classes.replicas) {
    const names = classes.actions
      .filter((a) => a.type === "CreateStorageClass")
      .map((a) => a.key.slice("storageclass/".length))
      .filter((name) => name.startsWith(`linstor-${pool}-r`));
    lines.push(
      `  StorageClasses for "${pool}" (${n} node(s)): ${names.join(", ")}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
