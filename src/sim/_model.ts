/**
 * The simulator's in-memory controller model (internal records, not wire
 * types) and small helpers over it.
 *
 * @module
 */
import type { AutoSelectFilter, Props } from "../linstor/types.ts";
import {
  LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO,
  SIM_THIN_INITIAL_ALLOCATION_PERCENT,
  THIN_PROVIDER_KINDS,
} from "../constants.ts";

/** The AutoSelectFilter fields that are lists of strings. */
export const FILTER_STRING_LISTS = [
  "node_name_list",
  "storage_pool_list",
  "storage_pool_diskless_list",
  "not_place_with_rsc",
  "replicas_on_same",
  "replicas_on_different",
  "layer_stack",
  "provider_list",
] as const satisfies readonly (keyof AutoSelectFilter)[];

/** How a replica holds data. */
export type ReplicaKind = "diskful" | "diskless" | "tie-breaker";

/** A LINSTOR node. */
export interface SimNode {
  name: string;
  type: string;
  props: Props;
  address: string;
  connectionStatus: string;
  uuid: string;
}

/** A storage pool on one node. */
export interface SimPool {
  node: string;
  name: string;
  providerKind: string;
  props: Props;
  /** Total capacity in KiB (ignored for DISKLESS). */
  totalKib: number;
  /** Space used by things outside LINSTOR volumes (KiB). */
  externalUsedKib: number;
  uuid: string;
  /** Capacity seen while the node was last ONLINE (for `cached=true`). */
  lastKnown?: { freeKib: number; totalKib: number };
}

/** A volume group of a resource group. */
export interface SimVolumeGroup {
  volumeNumber: number;
  props: Props;
  uuid: string;
}

/** A resource group. */
export interface SimResourceGroup {
  name: string;
  description: string;
  props: Props;
  selectFilter: AutoSelectFilter;
  uuid: string;
  volumeGroups: SimVolumeGroup[];
}

/** A volume definition. */
export interface SimVolumeDefinition {
  volumeNumber: number;
  sizeKib: number;
  props: Props;
  minor: number;
  uuid: string;
}

/** A resource definition with its volume definitions. */
export interface SimResourceDefinition {
  name: string;
  externalName?: string;
  props: Props;
  resourceGroup: string;
  port: number;
  secret: string;
  uuid: string;
  volumes: SimVolumeDefinition[];
}

/** A resource (replica) of a resource definition on one node. */
export interface SimResource {
  rd: string;
  node: string;
  kind: ReplicaKind;
  pool: string;
  props: Props;
  /** Disk state overrides per volume number. */
  diskStates: Record<number, string>;
  inUse: boolean;
  nodeId: number;
  uuid: string;
  createTimestamp: number;
}

/** Case-insensitive key of a LINSTOR name. */
export function keyOf(name: string): string {
  return name.toUpperCase();
}

/** Key of a resource (`rd` + `node`). */
export function resourceKey(rd: string, node: string): string {
  return `${keyOf(rd)}\u0000${keyOf(node)}`;
}

/** Key of a pool (`node` + `pool`). */
export function poolKey(node: string, pool: string): string {
  return `${keyOf(node)}\u0000${keyOf(pool)}`;
}

/** True for thin provider kinds. */
export function isThin(providerKind: string): boolean {
  return THIN_PROVIDER_KINDS.includes(providerKind.toUpperCase());
}

/** True for the DISKLESS provider kind. */
export function isDisklessPool(providerKind: string): boolean {
  return providerKind.toUpperCase() === "DISKLESS";
}

/**
 * KiB a volume of `sizeKib` allocates in a pool: thick pools the full size,
 * thin pools `SIM_THIN_INITIAL_ALLOCATION_PERCENT` of it (rounded up),
 * diskless pools nothing.
 */
export function allocatedKib(providerKind: string, sizeKib: number): number {
  if (isDisklessPool(providerKind)) return 0;
  if (isThin(providerKind)) {
    return Math.ceil(sizeKib * SIM_THIN_INITIAL_ALLOCATION_PERCENT / 100);
  }
  return sizeKib;
}

/**
 * True when a volume set of `sizeKib` (sum of all volume definitions) fits
 * into a pool with `freeKib`: thick pools need the full size, thin pools
 * `size <= free × MaxOversubscriptionRatio` (LINSTOR's default 20).
 */
export function fits(
  pool: { readonly providerKind: string; readonly freeKib: number },
  sizeKib: number,
): boolean {
  const { providerKind, freeKib } = pool;
  if (isDisklessPool(providerKind)) return true;
  if (isThin(providerKind)) {
    return sizeKib <= freeKib * LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO &&
      allocatedKib(providerKind, sizeKib) <= freeKib;
  }
  return sizeKib <= freeKib;
}

/** Resource flags the controller emits for a replica kind (cumulative). */
export function flagsOf(kind: ReplicaKind): string[] {
  switch (kind) {
    case "diskful":
      return [];
    case "diskless":
      return ["DISKLESS", "DRBD_DISKLESS"];
    case "tie-breaker":
      return ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"];
  }
}

/** Matches a props filter (`key` must exist, `key=value` must equal; all must match). */
export function matchesProps(
  props: Props,
  filters: readonly string[],
): boolean {
  return filters.every((filter) => {
    const eq = filter.indexOf("=");
    if (eq < 0) return Object.hasOwn(props, filter);
    const key = filter.slice(0, eq);
    return Object.hasOwn(props, key) && props[key] === filter.slice(eq + 1);
  });
}

/** Applies `override_props`, `delete_props` and `delete_namespaces` to a copy of `props`. */
export function modifyProps(
  props: Props,
  change: {
    override_props?: Props;
    delete_props?: string[];
    delete_namespaces?: string[];
  },
): Props {
  const next: Props = { ...props };
  for (const key of change.delete_props ?? []) delete next[key];
  for (const ns of change.delete_namespaces ?? []) {
    const prefix = ns.endsWith("/") ? ns : `${ns}/`;
    for (const key of Object.keys(next)) {
      if (key.startsWith(prefix)) delete next[key];
    }
  }
  for (const [key, value] of Object.entries(change.override_props ?? {})) {
    next[key] = value;
  }
  return next;
}

/** Deterministic UUID from a counter. */
export function uuidFrom(counter: number): string {
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, "0")}`;
}

/**
 * `fields` without its `undefined` members, to spread into objects with
 * exact optional properties.
 */
export function defined<T extends Record<string, unknown>>(
  fields: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) out[key] = value;
  }
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}
