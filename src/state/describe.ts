/**
 * A plain-text rendering of a `Snapshot` for humans (README demo, debugging).
 *
 * @module
 */
import { LABEL_ZONE, LINSTOR_PROP_TOPOLOGY_ZONE } from "../constants.ts";
import { linstorDataAge } from "../domain/mod.ts";
import type { Replica, Snapshot } from "./types.ts";

/** Options of `describeSnapshot()`. */
export interface DescribeSnapshotOptions {
  /** The reference time for the data age (ms since the epoch). */
  now: number;
  /**
   * Show at most this many resources (the rest are counted).
   * @default {Infinity}
   */
  maxResources?: number;
}

const KIB_UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] as const;

/** `kib` as a binary-unit size with one decimal (`10.0 GiB`); `?` when unknown. */
export function formatKib(kib: number | undefined): string {
  if (kib === undefined || !Number.isFinite(kib)) return "?";
  let value = kib;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < KIB_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${KIB_UNITS[unit]}`;
}

/** `ms` as a short duration (`850ms`, `12s`, `3m4s`, `2h5m`). */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d${hours % 24}h`;
}

function table(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) =>
      i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)
    ).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function diskStates(replica: Replica): string {
  if (replica.volumes.length === 0) return "-";
  if (replica.volumes.length === 1) {
    return replica.volumes[0]!.diskState ?? "Unknown";
  }
  return replica.volumes
    .map((volume) => `${volume.volumeNumber}:${volume.diskState ?? "Unknown"}`)
    .join(",");
}

function replicaNotes(replica: Replica): string {
  const notes: string[] = [];
  if (replica.deleting) notes.push("deleting");
  if (replica.inactive) notes.push("inactive");
  if (replica.inUse) notes.push("in use");
  return notes.join(",");
}

/**
 * Renders nodes (status, zone), storage pools (free/total), resources with
 * their PVs and replicas (role, disk state) and the LINSTOR data age as
 * plain-text tables, sorted by name.
 */
export function describeSnapshot(
  snapshot: Snapshot,
  options: DescribeSnapshotOptions,
): string {
  const { linstor, kube } = snapshot;
  const sections: string[] = [];

  const age = linstorDataAge(snapshot, options.now);
  let header = age === undefined
    ? "LINSTOR data: never polled successfully"
    : `LINSTOR data: ${formatAge(age)} old (observed ${
      new Date(linstor.observedAt!).toISOString()
    })`;
  if (linstor.lastError !== undefined) {
    header += `\nLast LINSTOR poll failed: ${linstor.lastError}`;
  }
  if (kube.subscribed.size > 0) {
    const pending = [...kube.subscribed].filter((kind) =>
      !kube.synced.has(kind)
    );
    header +=
      `\nKubernetes: ${kube.synced.size}/${kube.subscribed.size} kinds synced${
        pending.length > 0 ? ` (waiting for ${pending.sort().join(", ")})` : ""
      }`;
  }
  header += `\nSnapshot version ${snapshot.version}`;
  sections.push(header);

  const nodeNames = [...linstor.nodes.keys()].sort(byString);
  sections.push(table(
    ["NODE", "STATUS", "ZONE"],
    nodeNames.map((name) => {
      const node = linstor.nodes.get(name)!;
      const zone = node.props[LINSTOR_PROP_TOPOLOGY_ZONE] ??
        kube.nodes.get(name)?.metadata?.labels?.[LABEL_ZONE] ?? "-";
      return [name, node.connectionStatus, zone];
    }),
  ));

  const poolRows: string[][] = [];
  for (const node of [...linstor.poolsByNode.keys()].sort(byString)) {
    const pools = [...linstor.poolsByNode.get(node)!.values()]
      .sort((a, b) => byString(a.name, b.name));
    for (const pool of pools) {
      poolRows.push([
        node,
        pool.name,
        pool.providerKind +
        (pool.thin && !pool.providerKind.endsWith("_THIN") ? " (thin)" : ""),
        // A diskless pool has no capacity: "-" (not applicable), not "?".
        pool.providerKind === "DISKLESS" ? "-" : formatKib(pool.freeKib),
        pool.providerKind === "DISKLESS" ? "-" : formatKib(pool.totalKib),
      ]);
    }
  }
  sections.push(table(["NODE", "POOL", "KIND", "FREE", "TOTAL"], poolRows));

  const resources = [
    ...new Set([
      ...linstor.resourceDefinitions.keys(),
      ...linstor.replicasByResource.keys(),
    ]),
  ].sort(byString);
  const limit = options.maxResources ?? Infinity;
  const resourceRows: string[][] = [];
  for (const resource of resources.slice(0, limit)) {
    const pvs = kube.pvsByResource.get(resource) ?? [];
    const pv = pvs.map((item) => {
      const claim = item.spec?.claimRef;
      return claim?.name
        ? `${item.metadata?.name} (${claim.namespace}/${claim.name})`
        : item.metadata?.name ?? "";
    }).join(",") || "-";
    const replicas = linstor.replicasByResource.get(resource) ?? [];
    if (replicas.length === 0) {
      resourceRows.push([resource, pv, "-", "-", "-", "no replicas"]);
    }
    replicas.forEach((replica, i) => {
      resourceRows.push([
        i === 0 ? resource : "",
        i === 0 ? pv : "",
        replica.node,
        replica.role,
        diskStates(replica),
        replicaNotes(replica),
      ]);
    });
  }
  let resourceTable = table(
    ["RESOURCE", "PV", "NODE", "ROLE", "DISK STATE", "NOTES"],
    resourceRows,
  );
  if (resources.length > limit) {
    resourceTable += `\n… ${resources.length - limit} more resources`;
  }
  sections.push(resourceTable);
  return sections.join("\n\n") + "\n";
}
