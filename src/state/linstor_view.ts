/**
 * Pure conversion of LINSTOR list results into the indexed `LinstorView`.
 *
 * A rebuild reuses every object of the previous view whose content did not
 * change (same identity), so consumers can memoize by identity and
 * `linstorDataChanged()` is a handful of reference comparisons.
 *
 * @module
 */
import {
  DISK_STATE_UP_TO_DATE,
  LINSTOR_HOSTNAME_PROPS,
  RESOURCE_FLAGS_DELETING,
  RESOURCE_FLAGS_INACTIVE,
  THIN_PROVIDER_KINDS,
} from "../constants.ts";
import type {
  Node,
  Props,
  ResourceDefinition,
  ResourceGroup,
  ResourceWithVolumes,
  StoragePool,
  Volume,
} from "../linstor/types.ts";
import { classifyReplicaRole } from "../domain/mod.ts";
import { deepEqual } from "./_equal.ts";
import { freezeMap, FrozenMap } from "./_cow_map.ts";
import type {
  LinstorNodeInfo,
  LinstorView,
  PoolInfo,
  Replica,
  ReplicaVolume,
  ResourceDefinitionInfo,
  ResourceGroupInfo,
  VolumeDefinitionInfo,
} from "./types.ts";

/** The raw result of one LINSTOR poll: one list call per kind. */
export interface LinstorData {
  /** `GET /v1/nodes`. */
  readonly nodes: readonly Node[];
  /** `GET /v1/view/storage-pools?cached=true`. */
  readonly storagePools: readonly StoragePool[];
  /** `GET /v1/view/resources`. */
  readonly resources: readonly ResourceWithVolumes[];
  /** `GET /v1/resource-definitions?with_volume_definitions=true`. */
  readonly resourceDefinitions: readonly ResourceDefinition[];
  /** `GET /v1/resource-groups`. */
  readonly resourceGroups: readonly ResourceGroup[];
}

/** Options of `buildLinstorView()`. */
export interface BuildLinstorViewOptions {
  /** When the data was fetched (ms since the epoch); `undefined` for "never". */
  observedAt: number | undefined;
  /** Message of the last failed poll, if the newest attempt failed. */
  lastError?: string | undefined;
  /** The view to reuse unchanged objects from. */
  previous?: LinstorView | undefined;
  /** Called once per wire object that cannot be indexed (e.g. no name). */
  onInvalid?: (message: string) => void;
  /**
   * What the last build remembers (see `createLinstorViewMemo()`); with it
   * a list that is the identical array as last time is not walked again,
   * and the replicas are updated from the wire objects that are new since
   * the last build (the LINSTOR client hands back the same frozen object
   * for an unchanged element) instead of being rebuilt. The result is the
   * same as without it; the memo then describes the new view.
   */
  memo?: LinstorViewMemo;
}

/**
 * What one build of a `LinstorView` remembers for the next (owned by the
 * caller, e.g. one per `ClusterState`).
 */
export interface LinstorViewMemo {
  /** The last build; its maps identify the view it belongs to. */
  last?: {
    readonly data: LinstorData;
    readonly view: Omit<LinstorView, "observedAt" | "lastError">;
    /**
     * `replicas[i]` was built from `data.resources[i]`; `undefined` when the
     * last build had invalid or duplicate resources (then the next one is
     * a full rebuild).
     */
    readonly replicas: readonly Replica[] | undefined;
  };
}

/** An empty memo for `buildLinstorView()`. */
export function createLinstorViewMemo(): LinstorViewMemo {
  return {};
}

const EMPTY_PROPS: Readonly<Props> = Object.freeze({});
const EMPTY_LIST: readonly never[] = Object.freeze([]);
const LOWER_CASE = /[a-z]/;

/** The empty view of a process that has not polled LINSTOR yet. */
export function emptyLinstorView(lastError?: string): LinstorView {
  const empty = freezeMap(new Map<string, never>());
  return Object.freeze({
    observedAt: undefined,
    lastError,
    nodes: empty,
    nodesByHostname: empty,
    poolsByNode: empty,
    resourceDefinitions: empty,
    resourceGroups: empty,
    replicasByResource: empty,
    replicasByNode: empty,
  });
}

/** Whether two views hold the same LINSTOR data (ignoring poll metadata). */
export function linstorDataChanged(
  previous: LinstorView,
  next: LinstorView,
): boolean {
  return previous.nodes !== next.nodes ||
    previous.poolsByNode !== next.poolsByNode ||
    previous.resourceDefinitions !== next.resourceDefinitions ||
    previous.resourceGroups !== next.resourceGroups ||
    previous.replicasByResource !== next.replicasByResource;
}

/** Options of `buildLinstorViewCooperatively()`. */
export interface BuildCooperativelyOptions extends BuildLinstorViewOptions {
  /**
   * Gives the event loop a turn (e.g. `() => clock.sleep(0)`); called after
   * every `sliceSize` objects.
   */
  yieldControl: () => Promise<void>;
  /**
   * Objects processed between two `yieldControl()` calls.
   * @default {5000}
   */
  sliceSize?: number;
  /** Stops the build between slices (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Counts processed objects and says when a slice is full. */
interface Slicer {
  count: number;
  readonly size: number;
}

function sliceFull(slicer: Slicer): boolean {
  if (++slicer.count < slicer.size) return false;
  slicer.count = 0;
  return true;
}

/**
 * Builds the indexed view of one successful poll.
 *
 * Objects without the fields that identify them (a node without `name`, a
 * resource without `name` or `node_name`, …) are reported through
 * `onInvalid` and left out; everything else is kept.
 */
export function buildLinstorView(
  data: LinstorData,
  options: BuildLinstorViewOptions,
): LinstorView {
  const steps = buildSteps(data, options, { count: 0, size: Infinity });
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Same result as `buildLinstorView()`, but gives the event loop a turn every
 * `sliceSize` objects, so that a process serving requests (the extender)
 * is not blocked for the whole rebuild of a large cluster.
 */
export async function buildLinstorViewCooperatively(
  data: LinstorData,
  options: BuildCooperativelyOptions,
): Promise<LinstorView> {
  const size = options.sliceSize ?? 1_000;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(
      `Cannot build the LINSTOR view with slice size "${size}": must be a positive integer`,
    );
  }
  const steps = buildSteps(data, options, { count: 0, size });
  for (;;) {
    options.signal?.throwIfAborted();
    const step = steps.next();
    if (step.done) return step.value;
    await options.yieldControl();
  }
}

function* buildSteps(
  data: LinstorData,
  options: BuildLinstorViewOptions,
  slicer: Slicer,
): Generator<void, LinstorView> {
  const previous = options.previous;
  const invalid = options.onInvalid ?? (() => {});
  // The memo applies only when it describes `previous`.
  const last = options.memo?.last !== undefined && previous !== undefined &&
      sameViewData(options.memo.last.view, previous)
    ? options.memo.last
    : undefined;
  const nodes = last?.data.nodes === data.nodes
    ? previous!.nodes
    : yield* buildNodes(data.nodes, previous, { invalid, slicer });
  const nodesByHostname = nodes === previous?.nodes
    ? previous.nodesByHostname
    : indexByHostname(nodes);
  const poolsByNode = last?.data.storagePools === data.storagePools
    ? previous!.poolsByNode
    : yield* buildPools(data.storagePools, previous, { invalid, slicer });
  const resourceDefinitions =
    last?.data.resourceDefinitions === data.resourceDefinitions
      ? previous!.resourceDefinitions
      : yield* buildByName(
        data.resourceDefinitions,
        previous?.resourceDefinitions,
        {
          convert: toResourceDefinition,
          what: "resource definition",
          invalid,
          same: sameResourceDefinition,
          slicer,
        },
      );
  const resourceGroups = last?.data.resourceGroups === data.resourceGroups
    ? previous!.resourceGroups
    : yield* buildByName(
      data.resourceGroups,
      previous?.resourceGroups,
      { convert: toResourceGroup, what: "resource group", invalid, slicer },
    );
  let replicaResult: ReplicaResult | undefined;
  if (last?.data.resources === data.resources) {
    replicaResult = {
      replicasByResource: previous!.replicasByResource,
      replicasByNode: previous!.replicasByNode,
      replicas: last.replicas,
    };
  } else if (last?.replicas !== undefined) {
    replicaResult = yield* updateReplicas(data.resources, previous!, {
      wire: last.data.resources,
      replicas: last.replicas,
      slicer,
    });
  }
  replicaResult ??= yield* buildReplicas(data.resources, previous, {
    invalid,
    slicer,
  });
  const { replicasByResource, replicasByNode } = replicaResult;
  const view = Object.freeze({
    observedAt: options.observedAt,
    lastError: options.lastError,
    nodes,
    nodesByHostname,
    poolsByNode,
    resourceDefinitions,
    resourceGroups,
    replicasByResource,
    replicasByNode,
  });
  if (options.memo !== undefined) {
    options.memo.last = { data, view, replicas: replicaResult.replicas };
  }
  return view;
}

/**
 * Whether `a` and `b` hold the identical maps: a poll that changed nothing
 * makes a view of the same maps with only a new time.
 */
export function sameViewData(
  a: Omit<LinstorView, "observedAt" | "lastError">,
  b: Omit<LinstorView, "observedAt" | "lastError">,
): boolean {
  return a.nodes === b.nodes && a.nodesByHostname === b.nodesByHostname &&
    a.poolsByNode === b.poolsByNode &&
    a.resourceDefinitions === b.resourceDefinitions &&
    a.resourceGroups === b.resourceGroups &&
    a.replicasByResource === b.replicasByResource &&
    a.replicasByNode === b.replicasByNode;
}

function upperFlags(flags: readonly string[] | undefined): readonly string[] {
  if (flags === undefined || flags.length === 0) return EMPTY_LIST;
  // LINSTOR sends upper case; copy only when it did not.
  if (flags.some((flag) => LOWER_CASE.test(flag))) {
    return Object.freeze(flags.map((flag) => flag.toUpperCase()));
  }
  // A frozen wire list (the client's parse memo freezes) is shared as is.
  return Object.isFrozen(flags) ? flags : Object.freeze([...flags]);
}

/** Whether wire `flags` upper-cased equal `expected`. */
function sameFlags(
  flags: readonly string[] | undefined,
  expected: readonly string[],
): boolean {
  const length = flags?.length ?? 0;
  if (length !== expected.length) return false;
  for (let i = 0; i < length; i++) {
    const flag = flags![i]!;
    if (flag !== expected[i] && flag.toUpperCase() !== expected[i]) {
      return false;
    }
  }
  return true;
}

/** Whether wire `props` hold exactly `expected`. */
function sameProps(
  props: Props | undefined,
  expected: Readonly<Props>,
): boolean {
  if (props === undefined) return Object.keys(expected).length === 0;
  let count = 0;
  for (const key in props) {
    if (props[key] !== expected[key]) return false;
    count++;
  }
  return count === Object.keys(expected).length;
}

function frozenProps(props: Props | undefined): Readonly<Props> {
  if (props === undefined) return EMPTY_PROPS;
  // A frozen wire object (the client's parse memo freezes) is shared as is.
  if (Object.isFrozen(props)) return props;
  return Object.freeze({ ...props });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `next` when it differs from `previous`, else `previous` (identity kept). */
function reuse<T>(previous: T | undefined, next: T): T {
  return previous !== undefined && deepEqual(previous, next) ? previous : next;
}

/** The previous map when every entry of `next` is the previous object. */
function reuseMap<V>(
  previous: ReadonlyMap<string, V> | undefined,
  next: Map<string, V>,
): ReadonlyMap<string, V> {
  if (previous !== undefined && previous.size === next.size) {
    let same = true;
    for (const [key, value] of next) {
      if (previous.get(key) !== value) {
        same = false;
        break;
      }
    }
    if (same) return previous;
  }
  return freezeMap(next);
}

/** Whether wire `node` converts to exactly `info`, checked without allocating. */
function sameNode(node: Node, info: LinstorNodeInfo): boolean {
  const status = node.connection_status ?? "UNKNOWN";
  const type = node.type ?? "";
  return (status === info.connectionStatus ||
    status.toUpperCase() === info.connectionStatus) &&
    (type === info.type || type.toUpperCase() === info.type) &&
    sameFlags(node.flags, info.flags) && sameProps(node.props, info.props);
}

function* buildNodes(
  wire: readonly Node[],
  previous: LinstorView | undefined,
  options: { invalid: (message: string) => void; slicer: Slicer },
): Generator<void, ReadonlyMap<string, LinstorNodeInfo>> {
  const nodes = new Map<string, LinstorNodeInfo>();
  for (const node of wire) {
    if (sliceFull(options.slicer)) yield;
    if (!node.name) {
      options.invalid(`Cannot index LINSTOR node: it has no "name"`);
      continue;
    }
    const old = previous?.nodes.get(node.name);
    if (old !== undefined && sameNode(node, old)) {
      nodes.set(node.name, old);
      continue;
    }
    const connectionStatus = (node.connection_status ?? "UNKNOWN")
      .toUpperCase();
    nodes.set(
      node.name,
      Object.freeze({
        name: node.name,
        type: (node.type ?? "").toUpperCase(),
        connectionStatus,
        online: connectionStatus === "ONLINE",
        flags: upperFlags(node.flags),
        props: frozenProps(node.props),
      }),
    );
  }
  return reuseMap(previous?.nodes, nodes);
}

function indexByHostname(
  nodes: ReadonlyMap<string, LinstorNodeInfo>,
): ReadonlyMap<string, LinstorNodeInfo> {
  const byHostname = new Map<string, LinstorNodeInfo>();
  for (const node of nodes.values()) {
    const hostname = LINSTOR_HOSTNAME_PROPS
      .map((key) => node.props[key])
      .find((value) => value !== undefined && value !== "");
    if (hostname === undefined) continue;
    const existing = byHostname.get(hostname);
    // Two nodes claiming one hostname: prefer the one named like it, then
    // the first by name, so the answer does not depend on list order.
    if (
      existing === undefined ||
      (existing.name !== hostname &&
        (node.name === hostname || node.name < existing.name))
    ) {
      byHostname.set(hostname, node);
    }
  }
  return freezeMap(byHostname);
}

/** Whether wire `pool` converts to exactly `info`, checked without allocating. */
function samePool(pool: StoragePool, info: PoolInfo): boolean {
  const kind = pool.provider_kind ?? "";
  return (kind === info.providerKind ||
    kind.toUpperCase() === info.providerKind) &&
    pool.free_capacity === info.freeKib &&
    pool.total_capacity === info.totalKib &&
    isThin(info.providerKind, pool) === info.thin &&
    sameProps(pool.props, info.props);
}

function isThin(providerKind: string, pool: StoragePool): boolean {
  return THIN_PROVIDER_KINDS.includes(providerKind) ||
    pool.static_traits?.["Provisioning"]?.toLowerCase() === "thin";
}

function* buildPools(
  wire: readonly StoragePool[],
  previous: LinstorView | undefined,
  options: { invalid: (message: string) => void; slicer: Slicer },
): Generator<void, ReadonlyMap<string, ReadonlyMap<string, PoolInfo>>> {
  const byNode = new Map<string, Map<string, PoolInfo>>();
  for (const pool of wire) {
    if (sliceFull(options.slicer)) yield;
    if (!pool.node_name || !pool.storage_pool_name) {
      options.invalid(
        `Cannot index LINSTOR storage pool "${
          pool.storage_pool_name ?? ""
        }" on node "${pool.node_name ?? ""}": it has no node or pool name`,
      );
      continue;
    }
    let pools = byNode.get(pool.node_name);
    if (pools === undefined) {
      pools = new Map();
      byNode.set(pool.node_name, pools);
    }
    const old = previous?.poolsByNode.get(pool.node_name)
      ?.get(pool.storage_pool_name);
    if (old !== undefined && samePool(pool, old)) {
      pools.set(old.name, old);
      continue;
    }
    const providerKind = (pool.provider_kind ?? "").toUpperCase();
    pools.set(
      pool.storage_pool_name,
      Object.freeze({
        node: pool.node_name,
        name: pool.storage_pool_name,
        providerKind,
        thin: isThin(providerKind, pool),
        freeKib: pool.free_capacity,
        totalKib: pool.total_capacity,
        props: frozenProps(pool.props),
      }),
    );
  }
  const result = new Map<string, ReadonlyMap<string, PoolInfo>>();
  for (const [node, pools] of byNode) {
    if (sliceFull(options.slicer)) yield;
    result.set(node, reuseMap(previous?.poolsByNode.get(node), pools));
  }
  return reuseMap(previous?.poolsByNode, result);
}

function* buildByName<W extends { name?: string }, I>(
  wire: readonly W[],
  previous: ReadonlyMap<string, I> | undefined,
  options: {
    convert: (item: W & { name: string }) => I;
    what: string;
    invalid: (message: string) => void;
    same?: (item: W, info: I) => boolean;
    slicer: Slicer;
  },
): Generator<void, ReadonlyMap<string, I>> {
  const { convert, same, slicer } = options;
  const items = new Map<string, I>();
  for (const item of wire) {
    if (sliceFull(slicer)) yield;
    if (!item.name) {
      options.invalid(`Cannot index LINSTOR ${options.what}: it has no "name"`);
      continue;
    }
    const old = previous?.get(item.name);
    if (old !== undefined && same?.(item, old)) {
      items.set(item.name, old);
      continue;
    }
    const info = convert(item as W & { name: string });
    items.set(item.name, reuse(old, info));
  }
  return reuseMap(previous, items);
}

/** Whether `rd` converts to exactly `info`, checked without allocating. */
function sameResourceDefinition(
  rd: ResourceDefinition,
  info: ResourceDefinitionInfo,
): boolean {
  const vds = rd.volume_definitions ?? EMPTY_LIST;
  if (
    rd.resource_group_name !== info.resourceGroup ||
    vds.length !== info.volumeDefinitions.length ||
    !sameFlags(rd.flags, info.flags) ||
    !sameProps(rd.props, info.props)
  ) {
    return false;
  }
  for (let i = 0; i < vds.length; i++) {
    const vd = vds[i]!;
    const expected = info.volumeDefinitions[i]!;
    if (
      (vd.volume_number ?? 0) !== expected.volumeNumber ||
      vd.size_kib !== expected.sizeKib ||
      !sameProps(vd.props, expected.props)
    ) {
      return false;
    }
  }
  return true;
}

function toResourceDefinition(
  rd: ResourceDefinition & { name: string },
): ResourceDefinitionInfo {
  // `map()`: an array of the exact length (one grown by `push()` keeps room
  // for 16 more elements, about 130 bytes per resource definition).
  const volumeDefinitions: VolumeDefinitionInfo[] = (
    rd.volume_definitions ?? EMPTY_LIST
  ).map((vd) =>
    Object.freeze({
      volumeNumber: vd.volume_number ?? 0,
      sizeKib: vd.size_kib,
      props: frozenProps(vd.props),
    })
  );
  volumeDefinitions.sort((a, b) => a.volumeNumber - b.volumeNumber);
  return Object.freeze({
    name: rd.name,
    resourceGroup: rd.resource_group_name,
    flags: upperFlags(rd.flags),
    props: frozenProps(rd.props),
    volumeDefinitions: Object.freeze(volumeDefinitions),
  });
}

function toResourceGroup(
  rg: ResourceGroup & { name: string },
): ResourceGroupInfo {
  return Object.freeze({
    name: rg.name,
    selectFilter: deepFreeze(structuredClone(rg.select_filter ?? {})),
    props: frozenProps(rg.props),
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function toReplicaVolume(volume: Volume): ReplicaVolume {
  const diskState = volume.state?.disk_state;
  return Object.freeze({
    volumeNumber: volume.volume_number ?? 0,
    storagePool: volume.storage_pool_name,
    providerKind: volume.provider_kind?.toUpperCase(),
    diskState: diskState === "" ? undefined : diskState,
    allocatedKib: volume.allocated_size_kib,
    usableKib: volume.usable_size_kib,
  });
}

/** Whether a wire volume converts to exactly `expected`. */
function sameVolume(volume: Volume, expected: ReplicaVolume): boolean {
  const diskState = volume.state?.disk_state;
  return (volume.volume_number ?? 0) === expected.volumeNumber &&
    volume.storage_pool_name === expected.storagePool &&
    (diskState === "" ? undefined : diskState) === expected.diskState &&
    volume.allocated_size_kib === expected.allocatedKib &&
    volume.usable_size_kib === expected.usableKib &&
    (volume.provider_kind === expected.providerKind ||
      volume.provider_kind?.toUpperCase() === expected.providerKind);
}

/**
 * Whether `resource` converts to exactly `replica`, checked without
 * allocating: a resync of an unchanged cluster builds no new objects.
 */
function sameReplica(
  resource: ResourceWithVolumes,
  replica: Replica,
): boolean {
  if (
    resource.create_timestamp !== replica.createdAt ||
    resource.state?.in_use !== replica.inUse ||
    !sameFlags(resource.flags, replica.flags) ||
    !sameProps(resource.props, replica.props)
  ) {
    return false;
  }
  const volumes = resource.volumes ?? EMPTY_LIST;
  if (volumes.length !== replica.volumes.length) return false;
  for (let i = 0; i < volumes.length; i++) {
    // Previous volumes are sorted; unsorted wire volumes just rebuild.
    if (!sameVolume(volumes[i]!, replica.volumes[i]!)) return false;
  }
  return true;
}

function toReplica(
  resource: ResourceWithVolumes & { name: string; node_name: string },
): Replica {
  const flags = upperFlags(resource.flags);
  const volumes = (resource.volumes ?? []).map(toReplicaVolume);
  volumes.sort((a, b) => a.volumeNumber - b.volumeNumber);
  let upToDate = volumes.length > 0;
  for (const volume of volumes) {
    if (volume.diskState !== DISK_STATE_UP_TO_DATE) upToDate = false;
  }
  return Object.freeze({
    resource: resource.name,
    node: resource.node_name,
    role: classifyReplicaRole(flags),
    flags,
    deleting: flags.some((flag) => RESOURCE_FLAGS_DELETING.includes(flag)),
    inactive: flags.some((flag) => RESOURCE_FLAGS_INACTIVE.includes(flag)),
    inUse: resource.state?.in_use,
    volumes: Object.freeze(volumes),
    upToDate,
    createdAt: resource.create_timestamp,
    props: frozenProps(resource.props),
  });
}

/** The replica indexes of one build and what the next build can reuse. */
interface ReplicaResult {
  replicasByResource: ReadonlyMap<string, readonly Replica[]>;
  replicasByNode: ReadonlyMap<string, readonly Replica[]>;
  /** `replicas[i]` was built from wire resource `i`; `undefined` when some were invalid or duplicates. */
  replicas: readonly Replica[] | undefined;
}

function* buildReplicas(
  wire: readonly ResourceWithVolumes[],
  previous: LinstorView | undefined,
  options: { invalid: (message: string) => void; slicer: Slicer },
): Generator<void, ReplicaResult> {
  const { invalid, slicer } = options;
  const byResource = new Map<string, Replica[]>();
  const oldByResource = previous?.replicasByResource;
  const built: Replica[] | undefined = [];
  let clean = true;
  let reused = 0;
  for (const resource of wire) {
    if (sliceFull(slicer)) yield;
    const name = resource.name;
    const node = resource.node_name;
    if (!name || !node) {
      invalid(
        `Cannot index LINSTOR resource "${name ?? ""}" on node "${
          node ?? ""
        }": it has no resource or node name`,
      );
      clean = false;
      continue;
    }
    let replica: Replica | undefined;
    const olds = oldByResource?.get(name);
    if (olds !== undefined) {
      for (const old of olds) {
        if (old.node === node) {
          if (sameReplica(resource, old)) {
            replica = old;
            reused++;
          }
          break;
        }
      }
    }
    replica ??= toReplica(
      resource as ResourceWithVolumes & { name: string; node_name: string },
    );
    built.push(replica);
    let replicas = byResource.get(name);
    if (replicas === undefined) {
      replicas = [];
      byResource.set(name, replicas);
    }
    const duplicate = replicas.findIndex((r) => r.node === node);
    if (duplicate >= 0) {
      replicas[duplicate] = replica;
      clean = false;
    } else replicas.push(replica);
  }
  const replicas = clean ? built : undefined;
  const resourceLists = new Map<string, readonly Replica[]>();
  for (const [name, list] of byResource) {
    if (sliceFull(slicer)) yield;
    if (list.length > 1) list.sort(byNode);
    resourceLists.set(name, reuseList(oldByResource?.get(name), list));
  }
  const replicasByResource = reuseMap(oldByResource, resourceLists);
  if (
    previous !== undefined &&
    replicasByResource === previous.replicasByResource &&
    reused === wire.length
  ) {
    return {
      replicasByResource,
      replicasByNode: previous.replicasByNode,
      replicas,
    };
  }
  const nodeLists = new Map<string, Replica[]>();
  for (const list of resourceLists.values()) {
    if (sliceFull(slicer)) yield;
    for (const replica of list) {
      let onNode = nodeLists.get(replica.node);
      if (onNode === undefined) {
        onNode = [];
        nodeLists.set(replica.node, onNode);
      }
      onNode.push(replica);
    }
  }
  const nodeResult = new Map<string, readonly Replica[]>();
  for (const [node, list] of nodeLists) {
    if (sliceFull(slicer)) yield;
    list.sort(byResourceName);
    nodeResult.set(node, reuseList(previous?.replicasByNode.get(node), list));
  }
  return {
    replicasByResource,
    replicasByNode: reuseMap(previous?.replicasByNode, nodeResult),
    replicas,
  };
}

function byNode(a: Replica, b: Replica): number {
  return compareStrings(a.node, b.node);
}

function byResourceName(a: Replica, b: Replica): number {
  return compareStrings(a.resource, b.resource);
}

/** Wire objects new since the last build before a full rebuild is cheaper (fraction). */
const MAX_NEW_FRACTION = 0.25;

/**
 * The replica indexes of `wire`, updated from the last build instead of
 * rebuilt: a wire object that is the identical object as in the last
 * build's list (found by position first, then through an identity index)
 * keeps its replica; only the new objects are converted, and only the
 * lists of the resources and nodes they or the vanished ones touch are
 * rebuilt. `undefined` (rebuild everything) when something needs the full
 * build's handling: an invalid or duplicate resource, or mostly new data.
 */
function* updateReplicas(
  wire: readonly ResourceWithVolumes[],
  previous: LinstorView,
  last: {
    wire: readonly ResourceWithVolumes[];
    replicas: readonly Replica[];
    slicer: Slicer;
  },
): Generator<void, ReplicaResult | undefined> {
  const { slicer } = last;
  const oldWire = last.wire;
  const matched = new Uint8Array(oldWire.length);
  const replicas = new Array<Replica>(wire.length);
  const added: number[] = [];
  const maxAdded = Math.max(16, wire.length * MAX_NEW_FRACTION);
  let next = 0;
  let misses = 0;
  let index: Map<ResourceWithVolumes, number> | undefined;
  for (let i = 0; i < wire.length; i++) {
    if (sliceFull(slicer)) yield;
    const resource = wire[i]!;
    let k = oldWire[next] === resource
      ? next
      : oldWire[next + 1] === resource
      ? next + 1
      : next > 0 && oldWire[next - 1] === resource
      ? next - 1
      : -1;
    if (k < 0 && (index !== undefined || ++misses > 4)) {
      if (index === undefined) {
        index = new Map();
        for (let j = 0; j < oldWire.length; j++) {
          if (sliceFull(slicer)) yield;
          index.set(oldWire[j]!, j);
        }
      }
      k = index.get(resource) ?? -1;
    }
    if (k < 0) {
      added.push(i);
      if (added.length > maxAdded) return undefined;
      next++;
      continue;
    }
    if (matched[k] === 1) return undefined; // the same object twice
    matched[k] = 1;
    replicas[i] = last.replicas[k]!;
    next = k + 1;
    misses = 0;
  }
  const removed = new Set<Replica>();
  for (let k = 0; k < oldWire.length; k++) {
    if (sliceFull(slicer)) yield;
    if (matched[k] === 0) removed.add(last.replicas[k]!);
  }
  if (added.length === 0 && removed.size === 0) {
    return {
      replicasByResource: previous.replicasByResource,
      replicasByNode: previous.replicasByNode,
      replicas,
    };
  }
  const addedByResource = new Map<string, Replica[]>();
  const addedByNode = new Map<string, Replica[]>();
  for (const i of added) {
    if (sliceFull(slicer)) yield;
    const resource = wire[i]!;
    const name = resource.name;
    const node = resource.node_name;
    if (!name || !node) return undefined; // the full build reports it
    const old = previous.replicasByResource.get(name)?.find((r) =>
      r.node === node
    );
    const replica = old !== undefined && sameReplica(resource, old)
      ? old
      : toReplica(
        resource as ResourceWithVolumes & { name: string; node_name: string },
      );
    replicas[i] = replica;
    pushTo(addedByResource, name, replica);
    pushTo(addedByNode, node, replica);
  }
  const touchedResources = new Set(addedByResource.keys());
  const touchedNodes = new Set(addedByNode.keys());
  for (const replica of removed) {
    touchedResources.add(replica.resource);
    touchedNodes.add(replica.node);
  }
  const resourceChanges = new Map<string, readonly Replica[] | undefined>();
  for (const name of touchedResources) {
    if (sliceFull(slicer)) yield;
    const old = previous.replicasByResource.get(name);
    const list = (old ?? EMPTY_LIST).filter((r) => !removed.has(r));
    for (const replica of addedByResource.get(name) ?? EMPTY_LIST) {
      if (list.some((r) => r.node === replica.node)) return undefined;
      list.push(replica);
    }
    list.sort(byNode);
    const result = list.length === 0 ? undefined : reuseList(old, list);
    if (result !== old) resourceChanges.set(name, result);
  }
  const nodeChanges = new Map<string, readonly Replica[] | undefined>();
  for (const node of touchedNodes) {
    if (sliceFull(slicer)) yield;
    const old = previous.replicasByNode.get(node);
    const list = (old ?? EMPTY_LIST).filter((r) => !removed.has(r));
    list.push(...(addedByNode.get(node) ?? EMPTY_LIST));
    list.sort(byResourceName);
    const result = list.length === 0 ? undefined : reuseList(old, list);
    if (result !== old) nodeChanges.set(node, result);
  }
  const replicasByResource = applyChanges(
    previous.replicasByResource,
    resourceChanges,
  );
  const replicasByNode = applyChanges(previous.replicasByNode, nodeChanges);
  if (replicasByResource === undefined || replicasByNode === undefined) {
    return undefined;
  }
  return { replicasByResource, replicasByNode, replicas };
}

function pushTo<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** `map` with `changes` applied; `undefined` when `map` is not a `FrozenMap`. */
function applyChanges<V>(
  map: ReadonlyMap<string, V>,
  changes: ReadonlyMap<string, V | undefined>,
): ReadonlyMap<string, V> | undefined {
  if (changes.size === 0) return map;
  if (!(map instanceof FrozenMap)) return undefined;
  return map.withChanges(changes);
}

function reuseList<T>(
  previous: readonly T[] | undefined,
  next: T[],
): readonly T[] {
  if (
    previous !== undefined && previous.length === next.length &&
    previous.every((item, i) => item === next[i])
  ) {
    return previous;
  }
  // A copy of the exact length: `next` was grown by `push()` and keeps room
  // for 16 or more elements (a resource's list holds two or three).
  return Object.freeze(next.slice());
}
