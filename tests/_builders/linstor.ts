/**
 * Small builders of LINSTOR wire objects (as the REST API sends them) for
 * tests. Defaults describe a healthy object; options override them.
 *
 * @module
 */
import type {
  Node,
  Props,
  ResourceDefinition,
  ResourceGroup,
  ResourceWithVolumes,
  StoragePool,
  Volume,
} from "../../src/linstor/types.ts";

/** Options of `linstorNode()`. */
export interface LinstorNodeOptions {
  /** @default {"ONLINE"} */
  connectionStatus?: string;
  /** @default {"SATELLITE"} */
  type?: string;
  flags?: string[];
  props?: Props;
}

/** A `GET /v1/nodes` item. */
export function linstorNode(
  name: string,
  options: LinstorNodeOptions = {},
): Node {
  return {
    name,
    type: options.type ?? "SATELLITE",
    connection_status: options.connectionStatus ?? "ONLINE",
    ...(options.flags ? { flags: options.flags } : {}),
    ...(options.props ? { props: options.props } : {}),
    net_interfaces: [{ name: "default", address: "10.0.0.1" }],
  };
}

/** Options of `storagePool()`. */
export interface StoragePoolOptions {
  /** @default {"LVM_THIN"} */
  providerKind?: string;
  /** Free KiB; omitted (unknown) when `null`. @default {100 GiB} */
  freeKib?: number | null;
  /** Total KiB; omitted (unknown) when `null`. @default {200 GiB} */
  totalKib?: number | null;
  props?: Props;
  staticTraits?: Props;
}

/** A `GET /v1/view/storage-pools` item. */
export function storagePool(
  node: string,
  name: string,
  options: StoragePoolOptions = {},
): StoragePool {
  const free = options.freeKib === undefined
    ? 100 * 1024 * 1024
    : options.freeKib;
  const total = options.totalKib === undefined
    ? 200 * 1024 * 1024
    : options.totalKib;
  return {
    storage_pool_name: name,
    node_name: node,
    provider_kind: options.providerKind ?? "LVM_THIN",
    ...(free === null ? {} : { free_capacity: free }),
    ...(total === null ? {} : { total_capacity: total }),
    ...(options.props ? { props: options.props } : {}),
    ...(options.staticTraits ? { static_traits: options.staticTraits } : {}),
  };
}

/** Options of `resource()`. */
export interface ResourceOptions {
  /** Cumulative flags as LINSTOR sends them. */
  flags?: string[];
  /**
   * Disk state of volume 0; `null` omits `state` (non-DRBD or unknown).
   * @default {"UpToDate"}
   */
  diskState?: string | null;
  /** Explicit volumes (replaces the single default volume). */
  volumes?: Volume[];
  /** `state.in_use`; omitted when undefined. */
  inUse?: boolean;
  /** @default {"pool1"} */
  storagePool?: string;
  props?: Props;
  createdAt?: number;
}

/** A `GET /v1/view/resources` item (one replica). */
export function resource(
  name: string,
  node: string,
  options: ResourceOptions = {},
): ResourceWithVolumes {
  const diskState = options.diskState === undefined
    ? "UpToDate"
    : options.diskState;
  const volumes = options.volumes ?? [{
    volume_number: 0,
    storage_pool_name: options.storagePool ?? "pool1",
    provider_kind: "LVM_THIN",
    allocated_size_kib: 1024,
    usable_size_kib: 1024 * 1024,
    ...(diskState === null ? {} : { state: { disk_state: diskState } }),
  }];
  return {
    name,
    node_name: node,
    ...(options.flags ? { flags: options.flags } : {}),
    ...(options.props ? { props: options.props } : {}),
    ...(options.inUse === undefined
      ? {}
      : { state: { in_use: options.inUse } }),
    ...(options.createdAt === undefined
      ? {}
      : { create_timestamp: options.createdAt }),
    volumes,
  };
}

/** Options of `resourceDefinition()`. */
export interface ResourceDefinitionOptions {
  /** @default {"sc-rg"} */
  resourceGroup?: string;
  /** Size in KiB of each volume definition. @default {[1 GiB]} */
  volumeSizesKib?: number[];
  flags?: string[];
  props?: Props;
}

/** A `GET /v1/resource-definitions?with_volume_definitions=true` item. */
export function resourceDefinition(
  name: string,
  options: ResourceDefinitionOptions = {},
): ResourceDefinition {
  return {
    name,
    resource_group_name: options.resourceGroup ?? "sc-rg",
    ...(options.flags ? { flags: options.flags } : {}),
    ...(options.props ? { props: options.props } : {}),
    volume_definitions: (options.volumeSizesKib ?? [1024 * 1024]).map((
      size,
      i,
    ) => ({ volume_number: i, size_kib: size })),
  };
}

/** A `GET /v1/resource-groups` item. */
export function resourceGroup(
  name: string,
  options: { placeCount?: number; storagePool?: string; props?: Props } = {},
): ResourceGroup {
  return {
    name,
    select_filter: {
      place_count: options.placeCount ?? 2,
      ...(options.storagePool ? { storage_pool: options.storagePool } : {}),
    },
    ...(options.props ? { props: options.props } : {}),
  };
}
