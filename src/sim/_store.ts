/**
 * The simulator's controller state: nodes, pools, groups, definitions and
 * resources, their mutations (throwing `RcFailure` with the controller's
 * ApiCallRc) and their rendering into LINSTOR wire objects.
 *
 * @module
 */
import type {
  ApiCallRc,
  AutoSelectFilter,
  Node,
  Props,
  ResourceDefinition,
  ResourceGroup,
  ResourceLayer,
  ResourceWithVolumes,
  StoragePool,
  Volume,
  VolumeDefinition,
} from "../linstor/types.ts";
import { RC_MASK_CREATE, RC_MASK_DELETE } from "../linstor/mod.ts";
import {
  LINSTOR_DEFAULT_RESOURCE_GROUP,
  LINSTOR_DEFAULT_SATELLITE_PORT,
  LINSTOR_DISKLESS_STORAGE_POOL,
  LINSTOR_PROP_AUTO_TIE_BREAKER,
} from "../constants.ts";
import {
  allocatedKib,
  defined,
  flagsOf,
  isDisklessPool,
  isThin,
  keyOf,
  poolKey,
  type ReplicaKind,
  resourceKey,
  type SimNode,
  type SimPool,
  type SimResource,
  type SimResourceDefinition,
  type SimResourceGroup,
  type SimVolumeDefinition,
  uuidFrom,
} from "./_model.ts";
import { CODE, OBJ, rc, type RcInit } from "./_rc.ts";
import {
  SATELLITE_PROVIDER_KINDS,
  type Scenario,
  type SimAction,
} from "./_scenario.ts";

/** A failed mutation: the ApiCallRc entries to answer with. */
export class RcFailure extends Error {
  /** The entries (the first error decides the HTTP status). */
  readonly entries: readonly RcInit[];

  /** Wraps one error entry. */
  constructor(entry: RcInit) {
    super(entry.message);
    this.name = "RcFailure";
    this.entries = [entry];
  }
}

/** Throws a not-found failure. */
export function notFound(
  message: string,
  mask: { readonly object: bigint; readonly code: bigint },
): never {
  throw new RcFailure({ severity: "error", ...mask, message });
}

/** The controller's refusal with one error entry. */
export function refusal(entry: Omit<RcInit, "severity">): RcFailure {
  return new RcFailure({ severity: "error", ...entry });
}

const EXISTS_CODE: ReadonlyMap<bigint, bigint> = new Map([
  [OBJ.node, CODE.existsNode],
  [OBJ.storPool, CODE.existsStorPool],
  [OBJ.rscGrp, CODE.existsRscGrp],
  [OBJ.vlmGrp, CODE.existsVlmGrp],
  [OBJ.rscDfn, CODE.existsRscDfn],
  [OBJ.vlmDfn, CODE.existsVlmDfn],
  [OBJ.rsc, CODE.existsRsc],
]);

/** The refusal to create an `object` whose name is taken. */
export function alreadyExists(object: bigint, message: string): RcFailure {
  const code = EXISTS_CODE.get(object) ?? CODE.unknown;
  return refusal({ object, op: RC_MASK_CREATE, code, message });
}

/** The refusal to delete an `object` that is still in use. */
export function inUse(object: bigint, message: string): RcFailure {
  return refusal({ object, op: RC_MASK_DELETE, code: CODE.inUse, message });
}

const DRBD_PEER_SLOTS = 7;
const DRBD_AL_STRIPES = 1;
const DRBD_AL_SIZE_KIB = 32;
const FIRST_DRBD_PORT = 7000;
const FIRST_DRBD_MINOR = 1000;
const RESOURCE_LAYERS = [
  "DRBD",
  "LUKS",
  "NVME",
  "CACHE",
  "BCACHE",
  "WRITECACHE",
  "STORAGE",
];

function sortByKey<T>(items: Iterable<T>, key: (item: T) => string): T[] {
  return [...items].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

function nonEmpty<T extends object>(
  target: T,
  key: keyof T,
  value: unknown,
): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value) && value.length === 0) return;
  if (
    typeof value === "object" && !Array.isArray(value) &&
    Object.keys(value).length === 0
  ) {
    return;
  }
  if (value === "") return;
  (target as Record<string, unknown>)[key as string] = value;
}

/** The resources map: counts its changes and keeps replicas grouped by definition. */
class ResourceMap extends Map<string, SimResource> {
  version = 0;
  readonly byRd: Map<string, Map<string, SimResource>> = new Map();

  override set(key: string, value: SimResource): this {
    this.version = (this.version ?? 0) + 1;
    this.#unlink(key);
    const rdKey = keyOf(value.rd);
    let group = this.byRd?.get(rdKey);
    if (!group) {
      group = new Map();
      this.byRd?.set(rdKey, group);
    }
    group.set(key, value);
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    this.version++;
    this.#unlink(key);
    return super.delete(key);
  }

  override clear(): void {
    this.version++;
    this.byRd.clear();
    super.clear();
  }

  #unlink(key: string): void {
    const old = super.get(key);
    if (!old || !this.byRd) return;
    const group = this.byRd.get(keyOf(old.rd));
    group?.delete(key);
    if (group?.size === 0) this.byRd.delete(keyOf(old.rd));
  }
}

interface Index {
  readonly version: string;
  readonly sorted: SimResource[];
  readonly allocated: Map<string, number>;
}

/** The whole controller state. */
export class Store {
  readonly nodes = new Map<string, SimNode>();
  readonly pools = new Map<string, SimPool>();
  readonly groups = new Map<string, SimResourceGroup>();
  readonly definitions = new Map<string, SimResourceDefinition>();
  readonly resources: ResourceMap = new ResourceMap();
  #epoch = 0;
  #index: Index | undefined;
  #counter = 0;
  #nextPort = FIRST_DRBD_PORT;
  #nextMinor = FIRST_DRBD_MINOR;
  #volumeUuids = new Map<string, string>();
  readonly #defaultPoolCapacityKib: number;
  readonly #now: () => number;

  /** An empty controller with the default resource group. */
  constructor(options: { now: () => number; defaultPoolCapacityKib: number }) {
    this.#now = options.now;
    this.#defaultPoolCapacityKib = options.defaultPoolCapacityKib;
    this.addGroup({ name: LINSTOR_DEFAULT_RESOURCE_GROUP });
  }

  /** Next deterministic UUID. */
  uuid(): string {
    this.#counter += 1;
    return uuidFrom(this.#counter);
  }

  // ---- lookups ----

  /** The node or a 404 failure. */
  node(name: string): SimNode {
    return this.nodes.get(keyOf(name)) ??
      notFound(`Node '${name}' not found.`, {
        object: OBJ.node,
        code: CODE.notFoundNode,
      });
  }

  /** The pool or a 404 failure. */
  pool(node: string, name: string): SimPool {
    this.node(node);
    return this.pools.get(poolKey(node, name)) ??
      notFound(`Storage pool '${name}' on node '${node}' not found.`, {
        object: OBJ.storPool,
        code: CODE.notFoundStorPool,
      });
  }

  /** The resource group or a 404 failure. */
  group(name: string): SimResourceGroup {
    return this.groups.get(keyOf(name)) ??
      notFound(`Resource group '${name}' not found.`, {
        object: OBJ.rscGrp,
        code: CODE.notFoundRscGrp,
      });
  }

  /** The resource definition or a 404 failure. */
  definition(name: string): SimResourceDefinition {
    return this.definitions.get(keyOf(name)) ??
      notFound(`Resource definition '${name}' not found.`, {
        object: OBJ.rscDfn,
        code: CODE.notFoundRscDfn,
      });
  }

  /** Volume definition `nr` (as written in the path) of `rd` or a 404 failure. */
  volumeDefinition(
    rd: SimResourceDefinition,
    nr: string | undefined,
  ): SimVolumeDefinition {
    return rd.volumes.find((v) => String(v.volumeNumber) === nr) ??
      notFound(`Volume definition ${nr} of '${rd.name}' not found.`, {
        object: OBJ.vlmDfn,
        code: CODE.notFoundVlmDfn,
      });
  }

  /** The resource or a 404 failure. */
  resource(rd: string, node: string): SimResource {
    this.definition(rd);
    return this.resources.get(resourceKey(rd, node)) ??
      notFound(`Resource '${rd}' on node '${node}' not found.`, {
        object: OBJ.rsc,
        code: CODE.notFoundRsc,
      });
  }

  /** Forgets derived data (call after changing volume definitions in place). */
  invalidate(): void {
    this.#epoch++;
  }

  #indexed(): Index {
    const version = `${this.resources.version}/${this.#epoch}`;
    if (this.#index?.version === version) return this.#index;
    const sorted = sortByKey(
      this.resources.values(),
      (r) => resourceKey(r.rd, r.node),
    );
    const allocated = new Map<string, number>();
    for (const r of sorted) {
      const rdKey = keyOf(r.rd);
      const pool = this.pools.get(poolKey(r.node, r.pool));
      const rd = this.definitions.get(rdKey);
      if (!pool || !rd) continue;
      let sum = 0;
      for (const vd of rd.volumes) {
        sum += allocatedKib(pool.providerKind, vd.sizeKib);
      }
      const key = poolKey(pool.node, pool.name);
      allocated.set(key, (allocated.get(key) ?? 0) + sum);
    }
    this.#index = { version, sorted, allocated };
    return this.#index;
  }

  /** Replicas of one resource definition, by node name. */
  replicasOf(rd: string): SimResource[] {
    return sortByKey(
      this.resources.byRd.get(keyOf(rd))?.values() ?? [],
      (r) => keyOf(r.node),
    );
  }

  /** True when the node's satellite is ONLINE. */
  online(node: string): boolean {
    return this.nodes.get(keyOf(node))?.connectionStatus === "ONLINE";
  }

  /** Sum of the volume definition sizes of a resource definition (KiB). */
  sizeOf(rd: SimResourceDefinition): number {
    return rd.volumes.reduce((sum, vd) => sum + vd.sizeKib, 0);
  }

  /** KiB allocated in a pool by the volumes placed in it. */
  allocatedIn(pool: SimPool): number {
    return this.#indexed().allocated.get(poolKey(pool.node, pool.name)) ?? 0;
  }

  /** Free KiB of a pool (never below 0). */
  freeOf(pool: SimPool): number {
    return Math.max(
      0,
      pool.totalKib - pool.externalUsedKib - this.allocatedIn(pool),
    );
  }

  /** True unless `DrbdOptions/auto-add-quorum-tiebreaker` is `false` on the RD or its group. */
  autoTieBreaker(rd: SimResourceDefinition): boolean {
    const value = rd.props[LINSTOR_PROP_AUTO_TIE_BREAKER] ??
      this.groups.get(keyOf(rd.resourceGroup))
        ?.props[LINSTOR_PROP_AUTO_TIE_BREAKER];
    return value === undefined || value.toLowerCase() !== "false";
  }

  // ---- mutations ----

  /** Adds a node (ONLINE unless told) with its diskless pool. */
  addNode(init: {
    name: string;
    type?: string;
    props?: Props;
    address?: string;
    connectionStatus?: string;
  }): SimNode {
    const node: SimNode = {
      name: init.name,
      type: (init.type ?? "SATELLITE").toUpperCase(),
      props: {
        CurStltConnName: "default",
        NodeUname: init.name,
        ...init.props,
      },
      address: init.address ?? "127.0.0.1",
      connectionStatus: init.connectionStatus ?? "ONLINE",
      uuid: this.uuid(),
    };
    this.nodes.set(keyOf(node.name), node);
    if (node.type === "SATELLITE" || node.type === "COMBINED") {
      this.addPool({
        node: node.name,
        name: LINSTOR_DISKLESS_STORAGE_POOL,
        providerKind: "DISKLESS",
      });
    }
    return node;
  }

  /** Adds a pool; `freeKib` below the total marks the rest as used outside LINSTOR. */
  addPool(init: {
    node: string;
    name: string;
    providerKind: string;
    props?: Props;
    totalKib?: number;
    freeKib?: number;
  }): SimPool {
    const totalKib = isDisklessPool(init.providerKind)
      ? 0
      : init.totalKib ?? this.#defaultPoolCapacityKib;
    const pool: SimPool = {
      node: this.node(init.node).name,
      name: init.name,
      providerKind: init.providerKind.toUpperCase(),
      props: { ...init.props },
      totalKib,
      externalUsedKib: init.freeKib === undefined
        ? 0
        : Math.max(0, totalKib - init.freeKib),
      uuid: this.uuid(),
    };
    this.pools.set(poolKey(pool.node, pool.name), pool);
    this.#remember(pool);
    return pool;
  }

  #remember(pool: SimPool): void {
    if (this.online(pool.node)) {
      pool.lastKnown = { freeKib: this.freeOf(pool), totalKib: pool.totalKib };
    }
  }

  /** Refreshes the `cached=true` view of every pool on ONLINE nodes. */
  rememberCapacities(): void {
    for (const pool of this.pools.values()) this.#remember(pool);
  }

  /** Adds a resource group. */
  addGroup(init: {
    name: string;
    description?: string;
    props?: Props;
    selectFilter?: AutoSelectFilter;
  }): SimResourceGroup {
    const group: SimResourceGroup = {
      name: init.name,
      description: init.description ?? "",
      props: { ...init.props },
      selectFilter: { ...init.selectFilter },
      uuid: this.uuid(),
      volumeGroups: [],
    };
    this.groups.set(keyOf(group.name), group);
    return group;
  }

  /** Adds a resource definition. */
  addDefinition(init: {
    name: string;
    resourceGroup?: string;
    props?: Props;
    externalName?: string;
    port?: number;
    secret?: string;
  }): SimResourceDefinition {
    const group = this.group(
      init.resourceGroup ?? LINSTOR_DEFAULT_RESOURCE_GROUP,
    );
    const uuid = this.uuid();
    const rd: SimResourceDefinition = {
      name: init.name,
      props: { ...init.props },
      resourceGroup: group.name,
      port: init.port ?? this.#nextPort++,
      secret: init.secret ?? `sim-${uuid.slice(-12)}`,
      uuid,
      volumes: [],
      ...(init.externalName !== undefined
        ? { externalName: init.externalName }
        : {}),
    };
    this.definitions.set(keyOf(rd.name), rd);
    return rd;
  }

  /** Adds a volume definition (next free number unless given). */
  addVolumeDefinition(
    rd: SimResourceDefinition,
    init: {
      volumeNumber?: number;
      sizeKib: number;
      props?: Props;
      minor?: number;
    },
  ): void {
    const volumeNumber = init.volumeNumber ??
      rd.volumes.reduce((max, vd) => Math.max(max, vd.volumeNumber + 1), 0);
    rd.volumes.push({
      volumeNumber,
      sizeKib: init.sizeKib,
      props: { ...init.props },
      minor: init.minor ?? this.#nextMinor++,
      uuid: this.uuid(),
    });
    rd.volumes.sort((a, b) => a.volumeNumber - b.volumeNumber);
    this.invalidate();
  }

  /** Adds a replica (no capacity checks: callers decide). */
  addResource(init: {
    rd: string;
    node: string;
    kind: ReplicaKind;
    pool?: string;
    props?: Props;
    diskState?: string;
    inUse?: boolean;
  }): SimResource {
    const rd = this.definition(init.rd);
    const node = this.node(init.node);
    const used = new Set(this.replicasOf(rd.name).map((r) => r.nodeId));
    let nodeId = 0;
    while (used.has(nodeId)) nodeId += 1;
    const diskStates: Record<number, string> = {};
    if (init.diskState !== undefined) {
      for (const vd of rd.volumes) diskStates[vd.volumeNumber] = init.diskState;
    }
    const resource: SimResource = {
      rd: rd.name,
      node: node.name,
      kind: init.kind,
      pool: init.kind === "diskful"
        ? init.pool ?? ""
        : init.pool ?? LINSTOR_DISKLESS_STORAGE_POOL,
      props: { ...init.props },
      diskStates,
      inUse: init.inUse ?? false,
      nodeId,
      uuid: this.uuid(),
      createTimestamp: this.#now(),
    };
    this.resources.set(resourceKey(rd.name, node.name), resource);
    return resource;
  }

  /** Removes a node with its pools and resources. */
  deleteNode(name: string): void {
    const node = this.node(name);
    for (const [key, r] of this.resources) {
      if (keyOf(r.node) === keyOf(node.name)) this.resources.delete(key);
    }
    for (const [key, p] of this.pools) {
      if (keyOf(p.node) === keyOf(node.name)) this.pools.delete(key);
    }
    this.nodes.delete(keyOf(node.name));
  }

  /** Loads a validated scenario into this (empty) store. */
  load(scenario: Scenario): void {
    for (const n of scenario.nodes) {
      this.addNode({
        name: n.name,
        props: n.props,
        connectionStatus: "ONLINE",
        ...defined({ address: n.address }),
      });
      for (const p of n.pools) {
        this.addPool({
          node: n.name,
          name: p.name,
          providerKind: p.providerKind,
          props: p.props,
          totalKib: p.totalKib,
          ...defined({ freeKib: p.freeKib }),
        });
      }
    }
    for (const g of scenario.resourceGroups) {
      this.addGroup({
        name: g.name,
        props: g.props,
        selectFilter: g.selectFilter,
        ...defined({ description: g.description }),
      });
    }
    for (const v of scenario.volumes) {
      const rd = this.addDefinition({
        name: v.name,
        resourceGroup: v.resourceGroup,
        props: v.props,
      });
      for (const size of v.sizesKib) {
        this.addVolumeDefinition(rd, { sizeKib: size, props: v.volumeProps });
      }
      for (const rep of v.replicas) {
        this.addResource({
          rd: rd.name,
          node: rep.node,
          kind: rep.kind,
          inUse: rep.inUse,
          ...defined({ pool: rep.pool, diskState: rep.diskState }),
        });
      }
    }
    // Free capacities given in the scenario mean "after the seeded volumes".
    for (const n of scenario.nodes) {
      for (const p of n.pools) {
        const pool = this.pools.get(poolKey(n.name, p.name));
        if (pool && p.freeKib !== undefined) {
          pool.externalUsedKib = Math.max(
            0,
            pool.totalKib - p.freeKib - this.allocatedIn(pool),
          );
        }
      }
    }
    this.rememberCapacities();
    for (const n of scenario.nodes) {
      const node = this.nodes.get(keyOf(n.name));
      if (node) node.connectionStatus = n.connectionStatus;
    }
  }

  /** Applies a simulator action; throws `RcFailure` when it does not fit the state. */
  apply(action: SimAction): void {
    switch (action.action) {
      case "set-node-status": {
        const node = this.node(action.node);
        this.rememberCapacities();
        node.connectionStatus = action.status;
        this.rememberCapacities();
        return;
      }
      case "set-disk-state": {
        const r = this.resource(action.resource, action.node);
        const rd = this.definition(r.rd);
        if (action.volume !== undefined) {
          if (!rd.volumes.some((vd) => vd.volumeNumber === action.volume)) {
            notFound(
              `Volume definition ${action.volume} of '${rd.name}' not found.`,
              { object: OBJ.vlmDfn, code: CODE.notFoundVlmDfn },
            );
          }
          r.diskStates[action.volume] = action.disk_state;
        } else {
          for (const vd of rd.volumes) {
            r.diskStates[vd.volumeNumber] = action.disk_state;
          }
        }
        return;
      }
      case "set-in-use": {
        const r = this.resource(action.resource, action.node);
        if (action.in_use) {
          const other = this.replicasOf(r.rd).find((x) => x.inUse && x !== r);
          if (other) {
            throw refusal({
              object: OBJ.rsc,
              code: CODE.inUse,
              message:
                `Resource '${r.rd}' is already in use on node '${other.node}'.`,
            });
          }
        }
        r.inUse = action.in_use;
        return;
      }
      case "add-replica":
        this.#addReplica(
          action.resource,
          action.node,
          action.kind,
          action.pool,
          action.disk_state,
        );
        return;
      case "remove-replica": {
        const r = this.resource(action.resource, action.node);
        this.resources.delete(resourceKey(r.rd, r.node));
        return;
      }
      case "move-replica": {
        const r = this.resource(action.resource, action.from);
        const targetPool = action.pool ??
          (r.kind === "diskful" && this.pools.has(poolKey(action.to, r.pool))
            ? r.pool
            : undefined);
        this.#addReplica(r.rd, action.to, r.kind, targetPool, undefined);
        this.resources.delete(resourceKey(r.rd, r.node));
        return;
      }
      case "set-pool": {
        const pool = this.pool(action.node, action.pool);
        if (action.total_kib !== undefined) pool.totalKib = action.total_kib;
        if (action.free_kib !== undefined) {
          const room = pool.totalKib - this.allocatedIn(pool);
          if (action.free_kib > room) {
            throw refusal({
              object: OBJ.storPool,
              code: CODE.invalidRequest,
              message:
                `Cannot set free capacity of '${pool.name}' on '${pool.node}' to ${action.free_kib} KiB: at most ${room} KiB are not allocated`,
            });
          }
          pool.externalUsedKib = room - action.free_kib;
        }
        this.#remember(pool);
        return;
      }
    }
  }

  #addReplica(
    rdName: string,
    nodeName: string,
    kind: ReplicaKind,
    poolName: string | undefined,
    diskState: string | undefined,
  ): void {
    const rd = this.definition(rdName);
    const node = this.node(nodeName);
    if (this.resources.has(resourceKey(rd.name, node.name))) {
      throw refusal({
        object: OBJ.rsc,
        code: CODE.existsRsc,
        message: `Resource '${rd.name}' already exists on node '${node.name}'.`,
      });
    }
    let pool = poolName;
    if (kind === "diskful") {
      const diskPools = [...this.pools.values()].filter((p) =>
        keyOf(p.node) === keyOf(node.name) && !isDisklessPool(p.providerKind)
      );
      pool ??= diskPools.length === 1 ? diskPools[0]?.name : undefined;
      if (pool === undefined) {
        throw refusal({
          object: OBJ.storPool,
          code: CODE.notFoundStorPool,
          message:
            `Node '${node.name}' has ${diskPools.length} diskful pools: name the pool`,
        });
      }
      this.pool(node.name, pool);
    }
    this.addResource({
      rd: rd.name,
      node: node.name,
      kind,
      ...defined({ pool, diskState }),
    });
  }

  // ---- rendering ----

  /** Wire form of a node. */
  renderNode(node: SimNode): Node {
    const out: Node = { name: node.name, type: node.type };
    nonEmpty(out, "props", node.props);
    out.net_interfaces = [{
      name: "default",
      address: node.address,
      satellite_port: LINSTOR_DEFAULT_SATELLITE_PORT,
      satellite_encryption_type: "PLAIN",
      is_active: true,
      uuid: this.#volumeUuid(`netif/${keyOf(node.name)}`),
    }];
    out.connection_status = node.connectionStatus;
    out.uuid = node.uuid;
    if (node.connectionStatus === "ONLINE") {
      out.storage_providers = [...SATELLITE_PROVIDER_KINDS];
      out.resource_layers = RESOURCE_LAYERS;
    }
    return out;
  }

  /** Wire form of a storage pool; capacities only when known (ONLINE, or cached). */
  renderPool(pool: SimPool, cached: boolean): StoragePool {
    const out: StoragePool = {
      "storage_pool_name": pool.name,
      "node_name": pool.node,
      "provider_kind": pool.providerKind,
    };
    nonEmpty(out, "props", pool.props);
    out.static_traits = isDisklessPool(pool.providerKind)
      ? { SupportsSnapshots: "false" }
      : {
        Provisioning: isThin(pool.providerKind) ? "Thin" : "Fat",
        SupportsSnapshots: isThin(pool.providerKind) ? "true" : "false",
      };
    if (!isDisklessPool(pool.providerKind)) {
      if (this.online(pool.node)) {
        out.free_capacity = this.freeOf(pool);
        out.total_capacity = pool.totalKib;
      } else if (cached && pool.lastKnown) {
        out.free_capacity = pool.lastKnown.freeKib;
        out.total_capacity = pool.lastKnown.totalKib;
      }
    }
    out.free_space_mgr_name = `${pool.node}:${pool.name}`;
    out.uuid = pool.uuid;
    out.supports_snapshots = isThin(pool.providerKind);
    out.external_locking = false;
    return out;
  }

  /** Wire form of a resource group. */
  renderGroup(group: SimResourceGroup): ResourceGroup {
    const out: ResourceGroup = { name: group.name };
    nonEmpty(out, "description", group.description);
    nonEmpty(out, "props", group.props);
    nonEmpty(out, "select_filter", group.selectFilter);
    out.uuid = group.uuid;
    return out;
  }

  /** Wire form of a volume definition. */
  renderVolumeDefinition(
    vd: SimResourceDefinition["volumes"][number],
  ): VolumeDefinition {
    const out: VolumeDefinition = {
      "volume_number": vd.volumeNumber,
      "size_kib": vd.sizeKib,
    };
    nonEmpty(out, "props", vd.props);
    out.layer_data = [
      {
        type: "DRBD",
        data: { volume_number: vd.volumeNumber, minor_number: vd.minor },
      },
      { type: "STORAGE" },
    ];
    out.uuid = vd.uuid;
    return out;
  }

  /** Wire form of a resource definition. */
  renderDefinition(
    rd: SimResourceDefinition,
    withVolumes: boolean,
  ): ResourceDefinition {
    const out: ResourceDefinition = { name: rd.name };
    nonEmpty(out, "external_name", rd.externalName);
    nonEmpty(out, "props", rd.props);
    out.layer_data = [
      {
        type: "DRBD",
        data: {
          peer_slots: DRBD_PEER_SLOTS,
          al_stripes: DRBD_AL_STRIPES,
          al_stripe_size_kib: DRBD_AL_SIZE_KIB,
          port: rd.port,
          transport_type: "IP",
          secret: rd.secret,
          down: false,
        },
      },
      { type: "STORAGE" },
    ];
    out.uuid = rd.uuid;
    out.resource_group_name = rd.resourceGroup;
    if (withVolumes) {
      nonEmpty(
        out,
        "volume_definitions",
        rd.volumes.map((vd) => this.renderVolumeDefinition(vd)),
      );
    }
    return out;
  }

  #volumeUuid(key: string): string {
    let uuid = this.#volumeUuids.get(key);
    if (uuid === undefined) {
      uuid = this.uuid();
      this.#volumeUuids.set(key, uuid);
    }
    return uuid;
  }

  /** Disk state of one volume of a replica (override, else UpToDate / Diskless). */
  diskState(r: SimResource, volumeNumber: number): string {
    return r.diskStates[volumeNumber] ??
      (r.kind === "diskful" ? "UpToDate" : "Diskless");
  }

  /**
   * DRBD `may_promote` of a replica: its node is ONLINE, it is no
   * tie-breaker, no replica of the definition is in use, and it can reach
   * UpToDate data (its own disk, or a diskful peer on an ONLINE node).
   */
  mayPromote(r: SimResource): boolean {
    if (!this.online(r.node) || r.kind === "tie-breaker") return false;
    const replicas = this.replicasOf(r.rd);
    if (replicas.some((x) => x.inUse)) return false;
    const rd = this.definitions.get(keyOf(r.rd));
    const upToDate = (x: SimResource) =>
      x.kind === "diskful" &&
      (rd?.volumes ?? []).every((vd) =>
        this.diskState(x, vd.volumeNumber) === "UpToDate"
      );
    if (r.kind === "diskful") return upToDate(r);
    return replicas.some((x) => x !== r && this.online(x.node) && upToDate(x));
  }

  /** Wire form of a resource, with `volumes` for the resource view. */
  renderResource(r: SimResource, withVolumes: boolean): ResourceWithVolumes {
    const rd = this.definition(r.rd);
    const online = this.online(r.node);
    const pool = this.pools.get(poolKey(r.node, r.pool));
    const providerKind = pool?.providerKind ??
      (r.kind === "diskful" ? "LVM" : "DISKLESS");
    const out: ResourceWithVolumes = { name: rd.name, "node_name": r.node };
    nonEmpty(out, "props", r.props);
    nonEmpty(out, "flags", flagsOf(r.kind));
    const peers = this.replicasOf(r.rd).filter((x) => x !== r);
    const connections: Record<string, { connected: boolean; message: string }> =
      {};
    for (const peer of peers) {
      const connected = online && this.online(peer.node);
      connections[peer.node] = {
        connected,
        message: connected ? "Connected" : "Connecting",
      };
    }
    const backing = (vd: SimResourceDefinition["volumes"][number]) =>
      r.kind === "diskful"
        ? `/dev/${pool?.props["StorDriver/LvmVg"] ?? r.pool}/${rd.name}_${
          String(vd.volumeNumber).padStart(5, "0")
        }`
        : undefined;
    const drbdVolumes = rd.volumes.map((vd) => {
      const v: Record<string, unknown> = {
        "drbd_volume_definition": {
          volume_number: vd.volumeNumber,
          minor_number: vd.minor,
        },
        "device_path": `/dev/drbd${vd.minor}`,
      };
      nonEmpty(v, "backing_device", backing(vd));
      v.meta_disk = "internal";
      v.allocated_size_kib = allocatedKib(providerKind, vd.sizeKib);
      v.usable_size_kib = vd.sizeKib;
      if (online) v.disk_state = this.diskState(r, vd.volumeNumber);
      return v;
    });
    const storageVolumes = rd.volumes.map((vd) => {
      const v: Record<string, unknown> = { "volume_number": vd.volumeNumber };
      nonEmpty(v, "device_path", backing(vd));
      v.allocated_size_kib = allocatedKib(providerKind, vd.sizeKib);
      v.usable_size_kib = r.kind === "diskful" ? vd.sizeKib : 0;
      if (online) v.disk_state = r.kind === "diskful" ? "[]" : "Diskless";
      return v;
    });
    const drbd: Record<string, unknown> = {
      "drbd_resource_definition": {
        peer_slots: DRBD_PEER_SLOTS,
        al_stripes: DRBD_AL_STRIPES,
        al_stripe_size_kib: DRBD_AL_SIZE_KIB,
        port: rd.port,
        transport_type: "IP",
        secret: rd.secret,
        down: false,
      },
      "node_id": r.nodeId,
      "tcp_ports": [rd.port],
      "peer_slots": DRBD_PEER_SLOTS,
      "al_stripes": DRBD_AL_STRIPES,
      "al_size": DRBD_AL_SIZE_KIB,
    };
    nonEmpty(
      drbd,
      "flags",
      r.kind === "diskful" ? [] : ["DISKLESS", "INITIALIZED"],
    );
    nonEmpty(drbd, "drbd_volumes", drbdVolumes);
    nonEmpty(drbd, "connections", connections);
    if (online) {
      drbd.promotion_score = r.kind === "diskful" ? 10102 : 0;
      drbd.may_promote = this.mayPromote(r);
    }
    const storage: Record<string, unknown> = {};
    nonEmpty(storage, "storage_volumes", storageVolumes);
    const layer: ResourceLayer = {
      type: "DRBD",
      children: [{ type: "STORAGE", storage }],
      drbd,
    };
    out.layer_object = layer;
    if (online) out.state = { in_use: r.inUse };
    out.uuid = r.uuid;
    out.create_timestamp = r.createTimestamp;
    if (withVolumes) {
      const volumes: Volume[] = rd.volumes.map((vd, i) => {
        const v: Volume = {
          "volume_number": vd.volumeNumber,
          "storage_pool_name": r.pool,
          "provider_kind": providerKind,
          "device_path": `/dev/drbd${vd.minor}`,
          "allocated_size_kib": allocatedKib(providerKind, vd.sizeKib),
          "usable_size_kib": vd.sizeKib,
        };
        if (online) {
          v.state = { disk_state: this.diskState(r, vd.volumeNumber) };
        }
        v.layer_data_list = [
          { type: "DRBD", data: drbdVolumes[i] ?? {} },
          { type: "STORAGE", data: storageVolumes[i] ?? {} },
        ];
        v.uuid = this.#volumeUuid(
          `vlm/${resourceKey(r.rd, r.node)}/${vd.volumeNumber}`,
        );
        return v;
      });
      nonEmpty(out, "volumes", volumes);
    }
    return out;
  }

  /** Sorted lists for rendering. */
  sortedNodes(): SimNode[] {
    return sortByKey(this.nodes.values(), (n) => keyOf(n.name));
  }

  /** Pools sorted by node then name. */
  sortedPools(): SimPool[] {
    return sortByKey(this.pools.values(), (p) => poolKey(p.node, p.name));
  }

  /** Resource groups by name. */
  sortedGroups(): SimResourceGroup[] {
    return sortByKey(this.groups.values(), (g) => keyOf(g.name));
  }

  /** Resource definitions by name. */
  sortedDefinitions(): SimResourceDefinition[] {
    return sortByKey(this.definitions.values(), (d) => keyOf(d.name));
  }

  /** Resources by definition then node. */
  sortedResources(): SimResource[] {
    return [...this.#indexed().sorted];
  }

  /** ApiCallRc entries stamped with the current time. */
  entries(list: readonly RcInit[]): ApiCallRc[] {
    const at = new Date(this.#now()).toISOString();
    return list.map((init) => rc(init, at));
  }
}
