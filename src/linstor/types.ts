// deno-lint-ignore-file camelcase
/**
 * LINSTOR REST API v1 wire types (data only).
 *
 * Field names keep LINSTOR's spelling. Every field is optional because the
 * controller serializes with Jackson `NON_EMPTY` and omits null or empty
 * values; enums are plain strings because the server adds values between
 * releases and sends them upper-case (compare with `sameEnum()`).
 *
 * @module
 */

/** Properties map (`props`). */
export type Props = Record<string, string>;

/** `GET /v1/controller/version`. */
export interface ControllerVersion {
  version?: string;
  git_hash?: string;
  build_time?: string;
  rest_api_version?: string;
}

/** A node's network interface. */
export interface NetInterface {
  name?: string;
  address?: string;
  satellite_port?: number;
  satellite_encryption_type?: string;
  is_active?: boolean;
  uuid?: string;
}

/** `GET /v1/nodes` item. */
export interface Node {
  name?: string;
  type?: string;
  flags?: string[];
  props?: Props;
  net_interfaces?: NetInterface[];
  connection_status?: string;
  uuid?: string;
  storage_providers?: string[];
  resource_layers?: string[];
  eviction_timestamp?: number;
}

/** Body of `POST /v1/nodes`. */
export interface NodeCreate {
  name: string;
  type: string;
  props?: Props;
  net_interfaces: NetInterface[];
}

/** Body of `PUT /v1/nodes/{node}` and other `*Modify` calls. */
export interface PropsModify {
  override_props?: Props;
  delete_props?: string[];
  delete_namespaces?: string[];
}

/** Body of `PUT /v1/nodes/{node}`. */
export interface NodeModify extends PropsModify {
  node_type?: string;
}

/** `GET /v1/view/storage-pools` item. */
export interface StoragePool {
  storage_pool_name?: string;
  node_name?: string;
  provider_kind?: string;
  props?: Props;
  static_traits?: Props;
  free_capacity?: number;
  total_capacity?: number;
  free_space_mgr_name?: string;
  uuid?: string;
  reports?: ApiCallRc[];
  supports_snapshots?: boolean;
  shared_space?: string;
  external_locking?: boolean;
}

/** Body of `POST /v1/nodes/{node}/storage-pools`. */
export interface StoragePoolCreate {
  storage_pool_name: string;
  provider_kind: string;
  props?: Props;
  shared_space?: string;
  external_locking?: boolean;
}

/** AutoSelectFilter of a resource group or an autoplace request. */
export interface AutoSelectFilter {
  place_count?: number;
  additional_place_count?: number;
  node_name_list?: string[];
  storage_pool?: string;
  storage_pool_list?: string[];
  storage_pool_diskless_list?: string[];
  not_place_with_rsc?: string[];
  not_place_with_rsc_regex?: string;
  replicas_on_same?: string[];
  replicas_on_different?: string[];
  x_replicas_on_different_map?: Record<string, number>;
  layer_stack?: string[];
  provider_list?: string[];
  diskless_on_remaining?: boolean;
  diskless_type?: string;
}

/** `GET /v1/resource-groups` item. */
export interface ResourceGroup {
  name?: string;
  description?: string;
  props?: Props;
  select_filter?: AutoSelectFilter;
  uuid?: string;
}

/** Body of `POST /v1/resource-groups/{rg}/spawn`. */
export interface ResourceGroupSpawn {
  resource_definition_name: string;
  resource_definition_external_name?: string;
  volume_sizes?: number[];
  select_filter?: AutoSelectFilter;
  partial?: boolean;
  definitions_only?: boolean;
}

/** Body of `POST /v1/resource-definitions/{rd}/autoplace`. */
export interface AutoPlaceRequest {
  diskless_on_remaining?: boolean;
  select_filter?: AutoSelectFilter;
  layer_list?: string[];
}

/** A layer data entry (`layer_data`). */
export interface LayerData {
  type?: string;
  data?: Record<string, unknown>;
}

/** `GET /v1/resource-definitions/{rd}/volume-definitions` item. */
export interface VolumeDefinition {
  volume_number?: number;
  size_kib?: number;
  props?: Props;
  flags?: string[];
  layer_data?: LayerData[];
  uuid?: string;
}

/** `GET /v1/resource-definitions` item. */
export interface ResourceDefinition {
  name?: string;
  external_name?: string;
  props?: Props;
  flags?: string[];
  layer_data?: LayerData[];
  uuid?: string;
  resource_group_name?: string;
  volume_definitions?: VolumeDefinition[];
}

/** Body of `POST /v1/resource-definitions`. */
export interface ResourceDefinitionCreate {
  resource_definition: ResourceDefinition;
  drbd_port?: number;
  drbd_secret?: string;
  drbd_peer_slots?: number;
}

/** Body of `POST /v1/resource-definitions/{rd}/volume-definitions`. */
export interface VolumeDefinitionCreate {
  volume_definition: VolumeDefinition;
  drbd_minor_number?: number;
}

/** DRBD replication state towards one peer. */
export interface ReplicationState {
  replication_state?: string;
  done_percentage?: number;
}

/** `volumes[].state`. */
export interface VolumeState {
  disk_state?: string;
  replication_states?: Record<string, ReplicationState>;
}

/** A volume of a resource (`/v1/view/resources` → `volumes[]`). */
export interface Volume {
  volume_number?: number;
  storage_pool_name?: string;
  provider_kind?: string;
  device_path?: string;
  allocated_size_kib?: number;
  usable_size_kib?: number;
  props?: Props;
  flags?: string[];
  state?: VolumeState;
  layer_data_list?: LayerData[];
  uuid?: string;
  reports?: ApiCallRc[];
}

/** `resources[].state`. */
export interface ResourceState {
  in_use?: boolean;
}

/** Resource layer tree (`layer_object`). */
export interface ResourceLayer {
  type?: string;
  children?: ResourceLayer[];
  resource_name_suffix?: string;
  drbd?: Record<string, unknown>;
  storage?: Record<string, unknown>;
  [key: string]: unknown;
}

/** `GET /v1/resource-definitions/{rd}/resources` item. */
export interface Resource {
  name?: string;
  node_name?: string;
  props?: Props;
  flags?: string[];
  layer_object?: ResourceLayer;
  state?: ResourceState;
  uuid?: string;
  create_timestamp?: number;
}

/** `GET /v1/view/resources` item. */
export interface ResourceWithVolumes extends Resource {
  volumes?: Volume[];
  shared_name?: string;
}

/** Body of `POST /v1/resource-definitions/{rd}/resources` (one item). */
export interface ResourceCreate {
  resource: Resource;
  layer_list?: string[];
  drbd_node_id?: number;
}

/**
 * One entry of an ApiCallRc list.
 *
 * `ret_code` is the exact int64 value as a `bigint`: the client decodes it
 * from the source text because `JSON.parse` rounds it (see `parseJson()`).
 */
export interface ApiCallRc {
  ret_code: bigint;
  message?: string;
  cause?: string;
  details?: string;
  correction?: string;
  error_report_ids?: string[];
  obj_refs?: Record<string, string>;
  created_at?: string;
}

/** SSE `may-promote-change` event data of `/v1/events/drbd/promotion`. */
export interface PromotionEvent {
  resource_name?: string;
  node_name?: string;
  may_promote?: boolean;
}

/** Body of `POST /v1/resource-groups` (a `ResourceGroup` with a name). */
export interface ResourceGroupCreate extends ResourceGroup {
  name: string;
}

/** Body of `PUT /v1/resource-groups/{rg}`. */
export interface ResourceGroupModify extends PropsModify {
  description?: string;
  select_filter?: AutoSelectFilter;
  peer_slots?: number;
}

/** Body of `PUT /v1/resource-definitions/{rd}`. */
export interface ResourceDefinitionModify extends PropsModify {
  drbd_port?: number;
  drbd_peer_slots?: number;
  layer_stack?: string[];
  resource_group?: string;
}

/** Body of `PUT /v1/resource-definitions/{rd}/volume-definitions/{nr}`. */
export interface VolumeDefinitionModify extends PropsModify {
  size_kib?: number;
  /** Flags to set; prefix a flag with `-` to clear it. */
  flags?: string[];
}
