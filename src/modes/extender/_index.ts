/**
 * Data derived from one Snapshot, computed lazily and cached per snapshot
 * object, so requests against the same snapshot share the work.
 *
 * @module
 */
import type { V1Node } from "@kubernetes/client-node";
import type { Candidate } from "./_context.ts";
import type { PoolChoiceTable } from "./_capacity.ts";
import { NodeIdMap } from "./_node_id_map.ts";
import type {
  LinstorNodeInfo,
  LinstorView,
  PoolInfo,
  Snapshot,
} from "../../state/types.ts";
import { sameViewData } from "../../state/mod.ts";
import {
  LABEL_HOSTNAME,
  LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO,
  LINSTOR_PROP_MAX_FREE_OVERSUBSCRIPTION_RATIO,
  LINSTOR_PROP_MAX_OVERSUBSCRIPTION_RATIO,
  LINSTOR_PROP_MAX_TOTAL_OVERSUBSCRIPTION_RATIO,
  PROPERTY_NAMESPACE_AUX,
  TOPOLOGY_LINBIT_HOSTNAME,
} from "../../constants.ts";
import {
  detectPropertyNamespace,
  PropertyNamespaceLatch,
  propertyNamespaceSetting,
} from "../../domain/mod.ts";

/** A data pool and the capacity it can give a new volume (KiB; `undefined` when unknown). */
export interface PoolCapacity {
  readonly pool: PoolInfo;
  readonly capacityKib: number | undefined;
}

/**
 * Lookups derived from the LINSTOR view only. Kubernetes events make new
 * snapshots that share the same LINSTOR view object, so these survive them.
 */
export class LinstorCaches {
  readonly segments = new Map<string, Readonly<Record<string, string>>>();
  readonly virtualKib = new Map<string, Map<string, number>>();
  readonly dataPools = new Map<string, readonly PoolInfo[]>();
  readonly poolCapacities = new Map<string, readonly PoolCapacity[]>();
  /** `poolCapacities` by the `ids` of the node names. */
  readonly poolCapacitiesById: (readonly PoolCapacity[] | undefined)[] = [];
  readonly capacity = new WeakMap<PoolInfo, number | undefined>();
  readonly poolLabels = new WeakMap<
    PoolInfo,
    Readonly<Record<string, string>>
  >();
  /** `SnapshotIndex.intern()` ids, shared so records can be shared too. */
  readonly ids = new Map<string, number>();
  /**
   * Candidate records of the snapshots over this view, reused by a later
   * snapshot whose Node object of that name is the same object.
   */
  readonly candidates = new Map<string, Candidate>();
  #objectIds = new WeakMap<object, number>();
  #byNodeId = new WeakMap<
    ReadonlyMap<string, string>,
    readonly (string | undefined)[]
  >();
  #nextObjectId = 0;
  /**
   * Pool-choice tables (`EvalContext.poolChoice()`) by the key of everything
   * besides this LINSTOR view they depend on, oldest first.
   */
  readonly choiceTables = new Map<string, PoolChoiceTable>();
  /**
   * Values derived from this LINSTOR view and some Kubernetes maps of the
   * snapshot (`SnapshotIndex.sharedByKube()`): the latest per key, with the
   * maps they were derived from.
   */
  readonly byKube = new Map<string, Kept>();

  /**
   * A map keyed by LINSTOR node name as an array indexed by each name's
   * `ids` entry (built once per map object: reservation maps are immutable).
   */
  byNodeId(
    map: ReadonlyMap<string, string>,
    intern: (text: string) => number,
  ): readonly (string | undefined)[] {
    if (map instanceof NodeIdMap) {
      const direct = map.byId(this.ids);
      if (direct !== undefined) return direct;
    }
    let out = this.#byNodeId.get(map);
    if (out === undefined) {
      const built: (string | undefined)[] = [];
      for (const [node, value] of map) built[intern(node)] = value;
      out = built;
      this.#byNodeId.set(map, out);
    }
    return out;
  }

  /**
   * Values derived from this LINSTOR view, one object (e.g. a claim) and
   * some Kubernetes maps (`SnapshotIndex.sharedByObject()`), per key.
   */
  readonly byObject = new Map<string, WeakMap<object, Kept>>();

  /** The id of `object`, unique across the indexes sharing these caches. */
  objectId(object: object): number {
    let id = this.#objectIds.get(object);
    if (id === undefined) {
      id = this.#nextObjectId++;
      this.#objectIds.set(object, id);
    }
    return id;
  }
}

/** Lazily derived lookups over one snapshot. */
export class SnapshotIndex {
  readonly snapshot: Snapshot;
  #namespace: string;
  #shared: LinstorCaches;
  #candidates: Map<string, Candidate>;
  #labelledAsKnown = new WeakMap<V1Node, boolean>();
  #defaultRatio: number;
  /** Cache for other modules (keyed by their own prefix). */
  readonly memo = new Map<string, unknown>();

  /**
   * `propertyNamespace`: `auto` (or empty) detects it from this snapshot
   * (`detectPropertyNamespace()`); `defaultRatio`: thin
   * over-subscription ratio when pools set none; `shared`: LINSTOR-derived
   * caches of a previous snapshot with the same LINSTOR view.
   */
  constructor(
    snapshot: Snapshot,
    options: {
      propertyNamespace?: string;
      defaultRatio?: number;
      shared?: LinstorCaches;
    } = {},
  ) {
    const propertyNamespace = options.propertyNamespace ?? "auto";
    const defaultRatio = options.defaultRatio ??
      LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO;
    this.snapshot = snapshot;
    this.#shared = options.shared ?? new LinstorCaches();
    // The records by name of every snapshot with these Node objects (a
    // Kubernetes event on a volume or claim keeps them all).
    this.#candidates = this.sharedByKube(
      "candidates",
      [snapshot.kube.nodes],
      () => new Map<string, Candidate>(),
    );
    this.#defaultRatio = defaultRatio;
    this.#namespace = propertyNamespaceSetting(propertyNamespace) ??
      detectPropertyNamespace(snapshot) ?? PROPERTY_NAMESPACE_AUX;
  }

  /** The `intern()` id of every text given an id so far (the table only grows). */
  get ids(): ReadonlyMap<string, number> {
    return this.#shared.ids;
  }

  /**
   * A small integer standing for `text` in this snapshot's index (node names,
   * locality paths), so hot loops compare numbers instead of hashing strings.
   */
  intern(text: string): number {
    const ids = this.#shared.ids;
    let id = ids.get(text);
    if (id === undefined) {
      id = ids.size;
      ids.set(text, id);
    }
    return id;
  }

  /**
   * `id` when the caller has the `intern()` id of `text` (>= 0), else the id
   * looked up.
   */
  idOf(text: string, id?: number): number {
    return id !== undefined && id >= 0 ? id : this.intern(text);
  }

  /**
   * A small integer standing for an object's identity in this index (e.g. a
   * reservation's node map), for keys that must change when it does.
   */
  objectId(object: object): number {
    return this.#shared.objectId(object);
  }

  /**
   * `map` (keyed by LINSTOR node name, never changed once made) as an array
   * indexed by `intern()` ids, so hot loops index instead of hashing names.
   */
  byNodeId(map: ReadonlyMap<string, string>): readonly (string | undefined)[] {
    return this.#shared.byNodeId(map, (text) => this.intern(text));
  }

  /**
   * A value shared by the indexes over the same LINSTOR view whose snapshots
   * hold the identical `parts` (maps of `Snapshot.kube`, which the state
   * model hands out unchanged until an object of their kind changes):
   * `build()` runs when they differ from the latest ones under `key`.
   */
  sharedByKube<T>(key: string, parts: readonly object[], build: () => T): T {
    return kept(this.#shared.byKube, key, { parts, build });
  }

  /**
   * `sharedByKube()` for a value derived from one `object` too (e.g. what a
   * claim reserves implicitly): kept per object under `key`, so a Kubernetes
   * event on one object rebuilds that object's value only.
   */
  sharedByObject<T>(
    key: string,
    object: object,
    parts: readonly object[],
    build: () => T,
  ): T {
    let byObject = this.#shared.byObject.get(key);
    if (byObject === undefined) {
      byObject = new WeakMap();
      this.#shared.byObject.set(key, byObject);
    }
    return kept(byObject, object, { parts, build });
  }

  /**
   * Pool-choice tables shared by the indexes over the same LINSTOR view:
   * keyed by everything else a table depends on (see
   * `EvalContext.poolChoice()`), so a Kubernetes event that changes none of
   * it does not refill one.
   */
  get choiceTables(): Map<string, PoolChoiceTable> {
    return this.#shared.choiceTables;
  }

  /** The LINSTOR property namespace topology is read from. */
  get propertyNamespace(): string {
    return this.#namespace;
  }

  /** The LINSTOR node of a Kubernetes node: same name, else by hostname property or label. */
  linstorNodeFor(
    kubeName: string,
    kubeNode?: V1Node,
  ): LinstorNodeInfo | undefined {
    const linstor = this.snapshot.linstor;
    const direct = linstor.nodes.get(kubeName) ??
      linstor.nodesByHostname.get(kubeName);
    if (direct) return direct;
    const label = (kubeNode ?? this.snapshot.kube.nodes.get(kubeName))?.metadata
      ?.labels?.[LABEL_HOSTNAME];
    if (label && label !== kubeName) {
      return linstor.nodes.get(label) ?? linstor.nodesByHostname.get(label);
    }
    return undefined;
  }

  /** The Kubernetes node of a LINSTOR node, if any maps to it. */
  kubeNodeFor(linstorName: string): V1Node | undefined {
    const nodes = this.snapshot.kube.nodes;
    // Once per LINSTOR view and set of Node objects, not per snapshot.
    const byLinstor = this.sharedByKube("kube-by-linstor", [nodes], () => {
      const built = new Map<string, V1Node>();
      // `forEach`: the snapshot's sharded maps iterate entries through generators.
      nodes.forEach((node, name) => {
        const ln = this.linstorNodeFor(name, node);
        if (ln && !built.has(ln.name)) built.set(ln.name, node);
      });
      return built;
    });
    return byLinstor.get(linstorName);
  }

  /** Topology segments of a LINSTOR node as linstor-csi reports them. */
  segmentsOf(linstorName: string): Readonly<Record<string, string>> {
    let segments = this.#shared.segments.get(linstorName);
    if (!segments) {
      const out: Record<string, string> = {};
      const prefix = `${this.#namespace}/`;
      const node = this.snapshot.linstor.nodes.get(linstorName);
      for (const [k, v] of Object.entries(node?.props ?? {})) {
        if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
      }
      out[TOPOLOGY_LINBIT_HOSTNAME] = linstorName;
      segments = out;
      this.#shared.segments.set(linstorName, segments);
    }
    return segments;
  }

  /** Topology value of `key` for a LINSTOR node: its Kubernetes label, else its LINSTOR segment. */
  topologyValue(linstorName: string, key: string): string | undefined {
    return this.kubeNodeFor(linstorName)?.metadata?.labels?.[key] ??
      this.segmentsOf(linstorName)[key];
  }

  /**
   * Data pools of a LINSTOR node with their capacity before reservations
   * (see `capacityKib`). `linstorId`: the node's `intern()` id, when the
   * caller has it (read by id then, not by name).
   */
  poolCapacities(
    linstorName: string,
    linstorId?: number,
  ): readonly PoolCapacity[] {
    const byId = this.#shared.poolCapacitiesById;
    const id = this.idOf(linstorName, linstorId);
    const known = byId[id];
    if (known !== undefined) return known;
    let out = this.#shared.poolCapacities.get(linstorName);
    if (!out) {
      out = this.dataPools(linstorName).map((pool) => ({
        pool,
        capacityKib: this.capacityKib(pool),
      }));
      this.#shared.poolCapacities.set(linstorName, out);
    }
    byId[id] = out;
    return out;
  }

  /** Labels of a storage pool: its `Aux/` properties with the prefix stripped. */
  poolLabels(pool: PoolInfo): Readonly<Record<string, string>> {
    let labels = this.#shared.poolLabels.get(pool);
    if (!labels) {
      const out: Record<string, string> = {};
      const prefix = `${PROPERTY_NAMESPACE_AUX}/`;
      for (const [k, v] of Object.entries(pool.props)) {
        if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
      }
      labels = out;
      this.#shared.poolLabels.set(pool, labels);
    }
    return labels;
  }

  /** Pools of a LINSTOR node that can hold data (not `DISKLESS`). */
  dataPools(linstorName: string): readonly PoolInfo[] {
    let out = this.#shared.dataPools.get(linstorName);
    if (!out) {
      const pools = this.snapshot.linstor.poolsByNode.get(linstorName);
      const list: PoolInfo[] = [];
      for (const pool of pools?.values() ?? []) {
        if (pool.providerKind !== "DISKLESS") list.push(pool);
      }
      out = list;
      this.#shared.dataPools.set(linstorName, out);
    }
    return out;
  }

  /**
   * Capacity a pool can give a new volume before reservations (KiB), or
   * `undefined` when LINSTOR does not know its free space. Thin pools follow
   * LINSTOR's over-subscription rule:
   * `min(free × MaxFreeCapacityOversubscriptionRatio,
   * total × MaxTotalCapacityOversubscriptionRatio − Σ virtual sizes)`, each
   * ratio falling back to `MaxOversubscriptionRatio`, then `defaultRatio`.
   */
  capacityKib(pool: PoolInfo): number | undefined {
    if (this.#shared.capacity.has(pool)) return this.#shared.capacity.get(pool);
    let result: number | undefined;
    if (pool.freeKib === undefined) {
      result = undefined;
    } else if (!pool.thin) {
      result = pool.freeKib;
    } else {
      const ratio = (key: string) => {
        const v = Number(
          pool.props[key] ??
            pool.props[LINSTOR_PROP_MAX_OVERSUBSCRIPTION_RATIO],
        );
        return Number.isFinite(v) && v > 0 ? v : this.#defaultRatio;
      };
      const byFree = pool.freeKib *
        ratio(LINSTOR_PROP_MAX_FREE_OVERSUBSCRIPTION_RATIO);
      result = pool.totalKib === undefined ? byFree : Math.max(
        0,
        Math.min(
          byFree,
          pool.totalKib * ratio(LINSTOR_PROP_MAX_TOTAL_OVERSUBSCRIPTION_RATIO) -
            this.virtualKib(pool.node, pool.name),
        ),
      );
    }
    this.#shared.capacity.set(pool, result);
    return result;
  }

  /**
   * The candidate record of a Kubernetes node name, shared by the requests on
   * this snapshot and by later snapshots over the same LINSTOR view whose Node
   * object of that name is the same object.
   */
  candidate(name: string): Candidate {
    let candidate = this.#candidates.get(name);
    if (!candidate) {
      const kubeNode = this.snapshot.kube.nodes.get(name);
      const previous = this.#shared.candidates.get(name);
      if (previous !== undefined && previous.kubeNode === kubeNode) {
        // The same Node object over the same LINSTOR view: everything the
        // record holds (LINSTOR node, locality ids) is the same.
        candidate = previous;
      } else {
        const linstor = this.linstorNodeFor(name, kubeNode);
        candidate = {
          name,
          kubeNode,
          linstor,
          linstorId: linstor === undefined ? -1 : this.intern(linstor.name),
          quotedName: JSON.stringify(name),
          // Every field up front: fields added later live outside the
          // record, one more memory read each in the filter's loop.
          locality: undefined,
          satellite: undefined,
        };
        // Names of no node at all (a request may carry any) are not kept.
        if (kubeNode === undefined && linstor === undefined) return candidate;
        this.#shared.candidates.set(name, candidate);
      }
      this.#candidates.set(name, candidate);
    }
    return candidate;
  }

  /**
   * Whether a Node object sent in a request has the labels of this
   * snapshot's Node of its name (all the extender reads of a Node), so its
   * shared candidate record applies. Remembered per object: the decoder
   * hands out the same object while a Node's text is unchanged.
   */
  labelledAsKnown(node: V1Node): boolean {
    let same = this.#labelledAsKnown.get(node);
    if (same === undefined) {
      const known = this.snapshot.kube.nodes.get(node.metadata?.name ?? "");
      same = known !== undefined &&
        sameLabels(known.metadata?.labels, node.metadata?.labels);
      this.#labelledAsKnown.set(node, same);
    }
    return same;
  }

  /** Sum of the virtual (usable) sizes of the volumes placed in a pool, in KiB. */
  virtualKib(node: string, pool: string): number {
    let byPool = this.#shared.virtualKib.get(node);
    if (!byPool) {
      // Per node on first use: a request touches only its candidates' pools.
      byPool = new Map<string, number>();
      const rds = this.snapshot.linstor.resourceDefinitions;
      for (
        const replica of this.snapshot.linstor.replicasByNode.get(node) ?? []
      ) {
        if (replica.role !== "diskful") continue;
        for (const v of replica.volumes) {
          if (!v.storagePool) continue;
          const size = v.usableKib ??
            rds.get(replica.resource)?.volumeDefinitions.find((d) =>
              d.volumeNumber === v.volumeNumber
            )?.sizeKib ?? 0;
          byPool.set(v.storagePool, (byPool.get(v.storagePool) ?? 0) + size);
        }
      }
      this.#shared.virtualKib.set(node, byPool);
    }
    return byPool.get(pool) ?? 0;
  }
}

/** Caches one `SnapshotIndex` per snapshot object and namespace setting. */
export class IndexCache {
  #cache = new WeakMap<Snapshot, SnapshotIndex>();
  #linstor = new WeakMap<object, LinstorCaches>();
  #last: { view: LinstorView; caches: LinstorCaches } | undefined;
  #namespace: PropertyNamespaceLatch;
  #ratio: number;

  /**
   * `propertyNamespace`: the flag or config value (`auto` or empty: detected
   * once, from the first snapshot with LINSTOR data, then kept).
   */
  constructor(
    propertyNamespace: string,
    options: {
      defaultRatio?: number;
      /** Called once with the detected namespace. */
      onDetected?: (namespace: string) => void;
    } = {},
  ) {
    this.#namespace = new PropertyNamespaceLatch(
      propertyNamespace,
      options.onDetected ? { onDetected: options.onDetected } : {},
    );
    this.#ratio = options.defaultRatio ??
      LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO;
  }

  /** The index of `snapshot`, built on first use. */
  of(snapshot: Snapshot): SnapshotIndex {
    let index = this.#cache.get(snapshot);
    if (!index) {
      let shared = this.#linstor.get(snapshot.linstor);
      if (!shared) {
        // A poll that changed nothing makes a new view of the same maps.
        const last = this.#last;
        shared = last !== undefined && sameViewData(last.view, snapshot.linstor)
          ? last.caches
          : new LinstorCaches();
        this.#linstor.set(snapshot.linstor, shared);
      }
      this.#last = { view: snapshot.linstor, caches: shared };
      index = new SnapshotIndex(snapshot, {
        // Before the first LINSTOR data there are no nodes to read anyway.
        propertyNamespace: this.#namespace.of(snapshot) ??
          PROPERTY_NAMESPACE_AUX,
        defaultRatio: this.#ratio,
        shared,
      });
      this.#cache.set(snapshot, index);
    }
    return index;
  }
}

/** A value kept with the objects it was derived from (`sharedByKube()`). */
interface Kept {
  readonly parts: readonly object[];
  readonly value: unknown;
}

/**
 * The value kept under `key` in `store` while it was derived from the very
 * `parts`; built and kept otherwise.
 */
function kept<K, T>(
  store: {
    get(key: K): Kept | undefined;
    set(key: K, value: Kept): unknown;
  },
  key: K,
  derive: { readonly parts: readonly object[]; readonly build: () => T },
): T {
  const { parts, build } = derive;
  const cached = store.get(key);
  if (
    cached !== undefined && cached.parts.length === parts.length &&
    cached.parts.every((part, i) => part === parts[i])
  ) {
    return cached.value as T;
  }
  const value = build();
  store.set(key, { parts, value });
  return value;
}

function sameLabels(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key) || a[key] !== b[key]) return false;
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
