/**
 * Everything one request evaluates against: the snapshot index, the pod's
 * LINSTOR volumes, the reservations view and the config; plus the candidate
 * node type. Per-volume data is computed once per request (or per snapshot)
 * so the per-node work is a few map lookups.
 *
 * @module
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { LinstorNodeInfo, PoolInfo } from "../../state/types.ts";
import type { ExtenderConfig, LocalityLevel } from "./_config.ts";
import { type SnapshotIndex } from "./_index.ts";
import {
  allowedTopologies,
  isAnywhere,
  type RemoteAccessPolicy,
} from "../../csi/mod.ts";
import type { Reservation, ReservationView } from "./_reservations.ts";
import {
  type BoundVolume,
  type PendingVolume,
  podKey,
  type PodVolumes,
  resolvePodVolumes,
} from "./_volumes.ts";
import { ANNOTATION_SELECTED_NODE } from "../../constants.ts";
import {
  claimResourceName,
  isDiskfulDeployed,
  replicaHealth,
} from "../../domain/mod.ts";
import { matchesSelector } from "./_selector.ts";
import {
  choosePool,
  type PoolChoiceEntry,
  PoolChoiceTable,
} from "./_capacity.ts";
import type { Verdict } from "./_predicates.ts";

/** A node kube-scheduler offered. */
export interface Candidate {
  /** Kubernetes node name. */
  readonly name: string;
  /** The Node object (from the request, else from the snapshot). */
  readonly kubeNode: V1Node | undefined;
  /** Its LINSTOR node, if any. */
  readonly linstor: LinstorNodeInfo | undefined;
  /** Id of its LINSTOR node's name in the snapshot index (`SnapshotIndex.intern()`); -1 without one. */
  readonly linstorId?: number | undefined;
  /** `name` as a JSON string literal (precomputed for the answer), when known. */
  readonly quotedName?: string | undefined;
  /**
   * The node's locality ids, filled by the first request that scores it
   * (candidate records of the index are shared by the requests on one
   * snapshot).
   */
  locality?: NodeLocality | undefined;
  /**
   * The satellite predicate's verdict on this node (`null`: passes), filled
   * by the first request that checks it.
   */
  satellite?: Verdict | null | undefined;
}

/** A candidate's locality as ids of its snapshot index (`SnapshotIndex.intern()`). */
export interface NodeLocality {
  /** The locality levels these ids were computed for. */
  readonly levels: readonly LocalityLevel[];
  /** Id of the LINSTOR node's name; -1 without a LINSTOR node. */
  readonly linstorId: number;
  /** Id of the node's path at each level (`localityPaths()`); -1 where it has none. */
  readonly pathIds: readonly number[];
  /** Id of `pathIds` as a whole: nodes with the same key have the same paths. */
  readonly key: number;
}

/** Per-resource locality data. */
export interface ResourcePlacement {
  /** LINSTOR nodes with a diskful, current replica. */
  readonly current: ReadonlySet<string>;
  /** LINSTOR nodes with a diskful replica still syncing / outdated. */
  readonly syncing: ReadonlySet<string>;
  /** Nodes with only a diskless or tie-breaker resource. */
  readonly diskless: ReadonlySet<string>;
  /**
   * Nested topology paths of the current replicas, per configured level key
   * (see `localityPaths()`).
   */
  readonly levelValues: ReadonlyMap<string, ReadonlySet<string>>;
  /** `current` as ids of the snapshot index (`SnapshotIndex.intern()`). */
  readonly currentIds: readonly number[];
  /** `syncing` as ids. */
  readonly syncingIds: readonly number[];
  /** The paths of `levelValues` as ids, aligned with the configured levels. */
  readonly levelIds: readonly (readonly number[])[];
}

/** Stands for a level a node has no value for, in `localityPaths()`. */
const NO_VALUE = "\u0001";

/**
 * The nested path of a node at every locality level (best first, so each
 * level lies within the ones after it): the coarsest level's path is its
 * value; a finer level's path is its value and the path of every coarser
 * level, so rack `r1` of zone `a` and rack `r1` of zone `b` differ.
 * `undefined` where the node has no value at that level.
 */
export function localityPaths(
  levels: readonly LocalityLevel[],
  valueOf: (key: string) => string | undefined,
): (string | undefined)[] {
  const paths: (string | undefined)[] = new Array(levels.length);
  let coarser: string | undefined;
  for (let i = levels.length - 1; i >= 0; i--) {
    const value = valueOf(levels[i]!.key);
    paths[i] = value === undefined || coarser === undefined
      ? value
      : `${value}\u0000${coarser}`;
    coarser = coarser === undefined
      ? value ?? NO_VALUE
      : `${value ?? NO_VALUE}\u0000${coarser}`;
  }
  return paths;
}

/** A bound volume whose policy restricts where it may be accessed from. */
export interface AccessCheck {
  readonly volume: BoundVolume;
  readonly topologies: readonly Readonly<Record<string, string>>[];
}

/** A claim as the snapshot holds it. */
type PendingClaim = NonNullable<
  ReturnType<SnapshotIndex["snapshot"]["kube"]["persistentVolumeClaims"]["get"]>
>;

interface ImplicitReservation {
  readonly claim: string;
  readonly node: string;
  readonly pool: string;
  readonly sizeKib: number;
}

const IMPLICIT_KEY = "implicit";
const IMPLICIT_HOLDS_KEY = "implicit-holds";
/** Implicit holds kept per list of claims with a selected node. */
const IMPLICIT_HOLDS_MAX = 8;

/** What others' claims with a selected node hold: LINSTOR node → pool → KiB. */
interface ImplicitHolds {
  readonly byNode: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** `byNode` by the `SnapshotIndex.intern()` id of each node. */
  readonly byId: readonly (ReadonlyMap<string, number> | undefined)[];
  /**
   * The content as text (node, pool and size of each claim counted), for
   * keys: equal holds worked out again (a Node event) key the same.
   */
  readonly key: string;
}
/** Pool-choice tables kept per LINSTOR view (the latest ones). */
const CHOICE_TABLES_MAX = 8;
const PLACEMENT_KEY = "placement";
const ACCESS_KEY = "access";

function memoMap<V>(index: SnapshotIndex, key: string): Map<string, V> {
  let map = index.memo.get(key) as Map<string, V> | undefined;
  if (!map) {
    map = new Map();
    index.memo.set(key, map);
  }
  return map;
}

/** Request-scoped evaluation context. */
export class EvalContext {
  readonly index: SnapshotIndex;
  readonly config: ExtenderConfig;
  readonly pod: V1Pod;
  readonly podKey: string;
  readonly volumes: PodVolumes;
  readonly now: number;
  readonly reservations: ReservationView;
  /** The pod's own claims (their reservations are not counted against it). */
  readonly ownClaims: ReadonlySet<string>;
  /** Bound then pending volumes. */
  readonly allVolumes: readonly (BoundVolume | PendingVolume)[];
  /**
   * Pending volumes in fit order: those that must get a replica on the node
   * first (so a remote-capable claim never takes their room), each group
   * biggest first.
   */
  readonly pendingInFitOrder: readonly PendingVolume[];
  /** Whether any pending volume's capacity check rejects nodes. */
  readonly hasHardCapacity: boolean;
  #access: readonly AccessCheck[] | undefined;
  #placements: readonly (ResourcePlacement | undefined)[] | undefined;
  #placementCount = -1;
  #implicitHolds: ImplicitHolds | undefined;
  #others: readonly Reservation[] | undefined;
  /** `#others`' node maps by node id (`SnapshotIndex.byNodeId()`). */
  #othersById: readonly (readonly (string | undefined)[])[] | undefined;
  #choices: PoolChoiceTable | undefined;
  /** Whether any volume has a node selector or a pending one a pool selector. */
  readonly hasSelectors: boolean;

  constructor(
    index: SnapshotIndex,
    pod: V1Pod,
    options: {
      config: ExtenderConfig;
      now: number;
      reservations: ReservationView;
    },
  ) {
    this.index = index;
    this.config = options.config;
    this.pod = pod;
    this.podKey = podKey(pod);
    this.volumes = resolvePodVolumes(index, pod, {
      defaultPolicy: options.config.defaultRemoteAccessPolicy,
    });
    this.now = options.now;
    this.reservations = options.reservations;
    this.allVolumes = [...this.volumes.bound, ...this.volumes.pending];
    this.ownClaims = new Set(this.allVolumes.map((v) => v.claim));
    const hard = new Set(this.volumes.pending.filter((v) => this.isHard(v)));
    this.pendingInFitOrder = [...this.volumes.pending].sort((a, b) =>
      Number(hard.has(b)) - Number(hard.has(a)) ||
      b.sizeKib - a.sizeKib ||
      (a.claim < b.claim ? -1 : a.claim > b.claim ? 1 : 0)
    );
    this.hasHardCapacity = hard.size > 0;
    this.hasSelectors = this.allVolumes.some((v) => v.nodeSelector) ||
      this.volumes.pending.some((v) => v.poolSelector);
  }

  /** Whether a pending volume's capacity check rejects nodes under the config. */
  isHard(volume: PendingVolume): boolean {
    const mode = this.config.capacity.hardFilter;
    return mode === "always" || (mode === "local-only" && volume.localOnly);
  }

  /** Builds the candidate list from names and optional Node objects. */
  candidates(names: readonly string[], nodes?: readonly V1Node[]): Candidate[] {
    if (!nodes) {
      const out: Candidate[] = new Array(names.length);
      for (let i = 0; i < names.length; i++) {
        out[i] = this.index.candidate(names[i]!);
      }
      return out;
    }
    const byName = new Map<string, V1Node>();
    for (const node of nodes) byName.set(node.metadata?.name ?? "", node);
    return names.map((name) => {
      const kubeNode = byName.get(name);
      if (!kubeNode || this.index.labelledAsKnown(kubeNode)) {
        return this.index.candidate(name);
      }
      const linstor = this.index.linstorNodeFor(name, kubeNode);
      return {
        name,
        kubeNode,
        linstor,
        linstorId: linstor === undefined ? -1 : this.index.intern(linstor.name),
        locality: undefined,
        satellite: undefined,
      };
    });
  }

  /** Placement of a resource definition's replicas (memoized per snapshot). */
  placement(resource: string): ResourcePlacement | undefined {
    const memo = memoMap<ResourcePlacement | undefined>(
      this.index,
      PLACEMENT_KEY,
    );
    if (memo.has(resource)) return memo.get(resource);
    const replicas = this.index.snapshot.linstor.replicasByResource.get(
      resource,
    );
    let result: ResourcePlacement | undefined;
    if (replicas && replicas.length > 0) {
      const current = new Set<string>();
      const syncing = new Set<string>();
      const diskless = new Set<string>();
      const nodes = this.index.snapshot.linstor.nodes;
      for (const r of replicas) {
        const health = replicaHealth(r, {
          nodeOnline: nodes.get(r.node)?.online ?? false,
        });
        // Degraded and unknown copies are not local: reads go to a peer.
        if (health === "current") current.add(r.node);
        else if (health === "syncing") syncing.add(r.node);
        else if (health === "absent" && !r.deleting) diskless.add(r.node);
      }
      const levels = this.config.locality.levels;
      const levelValues = new Map<string, Set<string>>();
      for (const level of levels) levelValues.set(level.key, new Set());
      for (const node of current) {
        const paths = localityPaths(
          levels,
          (key) => this.index.topologyValue(node, key),
        );
        for (let i = 0; i < levels.length; i++) {
          const path = paths[i];
          if (path !== undefined) levelValues.get(levels[i]!.key)!.add(path);
        }
      }
      const intern = (text: string) => this.index.intern(text);
      result = {
        current,
        syncing,
        diskless,
        levelValues,
        currentIds: [...current].map(intern),
        syncingIds: [...syncing].map(intern),
        levelIds: levels.map((level) =>
          [...levelValues.get(level.key)!].map(intern)
        ),
      };
    }
    memo.set(resource, result);
    return result;
  }

  /** A candidate's locality ids, cached on the candidate record. */
  localityOf(node: Candidate): NodeLocality {
    const levels = this.config.locality.levels;
    const cached = node.locality;
    if (cached !== undefined && cached.levels === levels) return cached;
    const labels = node.kubeNode?.metadata?.labels;
    const linstorName = node.linstor?.name;
    const paths = localityPaths(
      levels,
      (key) =>
        labels?.[key] ??
          (linstorName !== undefined
            ? this.index.segmentsOf(linstorName)[key]
            : undefined),
    );
    const pathIds = paths.map((path) =>
      path === undefined ? -1 : this.index.intern(path)
    );
    const locality: NodeLocality = {
      levels,
      linstorId: linstorName === undefined
        ? -1
        : this.index.intern(linstorName),
      pathIds,
      key: this.index.intern(`\u0003${pathIds.join(",")}`),
    };
    node.locality = locality;
    return locality;
  }

  /** Placements of the bound volumes, aligned with `volumes.bound`. */
  placements(): readonly (ResourcePlacement | undefined)[] {
    this.#placements ??= this.volumes.bound.map((v) =>
      this.placement(v.resource)
    );
    return this.#placements;
  }

  /** How many bound volumes have known replicas (defined `placements()`). */
  placementCount(): number {
    if (this.#placementCount < 0) {
      let count = 0;
      for (const placement of this.placements()) if (placement) count++;
      this.#placementCount = count;
    }
    return this.#placementCount;
  }

  /**
   * Topologies a bound volume may be accessed from, `undefined` = anywhere
   * (memoized per snapshot and policy).
   */
  accessTopologies(
    resource: string,
    policy: RemoteAccessPolicy,
  ): readonly Readonly<Record<string, string>>[] | undefined {
    if (isAnywhere(policy)) return undefined;
    const memo = memoMap<
      readonly Readonly<Record<string, string>>[] | undefined
    >(this.index, ACCESS_KEY);
    const key = `${resource}\u0000${JSON.stringify(policy)}`;
    if (memo.has(key)) return memo.get(key);
    const replicas =
      (this.index.snapshot.linstor.replicasByResource.get(resource) ?? [])
        .filter(isDiskfulDeployed);
    const result = allowedTopologies(
      policy,
      replicas.map((r) => this.index.segmentsOf(r.node)),
    );
    memo.set(key, result);
    return result;
  }

  /** The bound volumes whose policy restricts access, with their allowed topologies. */
  accessChecks(): readonly AccessCheck[] {
    if (!this.#access) {
      const checks: AccessCheck[] = [];
      for (const volume of this.volumes.bound) {
        if (!volume.policy) continue;
        const topologies = this.accessTopologies(
          volume.resource,
          volume.policy,
        );
        if (topologies !== undefined) checks.push({ volume, topologies });
      }
      this.#access = checks;
    }
    return this.#access;
  }

  /** Whether a pending volume may use `pool` (class pools and pool selector). */
  poolAllowed(pool: PoolInfo, volume: PendingVolume): boolean {
    if (volume.pools !== undefined && !volume.pools.includes(pool.name)) {
      return false;
    }
    const selector = volume.poolSelector?.selector;
    return selector === undefined ||
      matchesSelector(selector, this.index.poolLabels(pool));
  }

  /** Pools on a LINSTOR node a pending volume may use (class pools ∩ pool selector). */
  candidatePools(
    linstorNode: string,
    volume: PendingVolume,
  ): readonly PoolInfo[] {
    const all = this.index.dataPools(linstorNode);
    if (
      volume.pools === undefined && volume.poolSelector?.selector === undefined
    ) {
      return all;
    }
    return all.filter((p) => this.poolAllowed(p, volume));
  }

  /**
   * KiB held on a pool by others' reservations: explicit ones plus claims
   * with a selected node. `linstorId`: the node's `SnapshotIndex.intern()`
   * id, when the caller has it.
   */
  reservedKib(linstorNode: string, pool: string, linstorId?: number): number {
    const implicit = this.#implicit();
    // The view's `reservedKib(node, pool, ownClaims)`, over the reservations
    // of other claims picked once per request (the pod's own claims, often
    // held on every candidate, cost nothing per node then), each read by
    // node id: a table refill asks this of every node.
    const id = this.index.idOf(linstorNode, linstorId);
    const others = this.#otherReservations();
    const byId = this.#othersById ??= others.map((r) =>
      this.index.byNodeId(r.nodes)
    );
    let explicit = 0;
    for (let i = 0; i < others.length; i++) {
      if (byId[i]![id] === pool) explicit += others[i]!.sizeKib;
    }
    return implicit.byNode.size === 0
      ? explicit
      : explicit + (implicit.byId[id]?.get(pool) ?? 0);
  }

  /** Explicit reservations of other claims than the pod's own. */
  #otherReservations(): readonly Reservation[] {
    this.#others ??= this.reservations.all().filter((r) =>
      !this.ownClaims.has(r.claim)
    );
    return this.#others;
  }

  /**
   * The pool choice (`choosePool()`) of the pod's only pending volume on a
   * LINSTOR node, from a table shared by the requests on this snapshot index
   * whose volume has the same pools and pool selector and which see the same
   * reservations of others: the same inputs to the same rule. `linstorId`:
   * the node's `SnapshotIndex.intern()` id, when the caller has it.
   */
  poolChoice(linstorNode: string, linstorId?: number): PoolChoiceEntry {
    const table = this.choiceTable();
    if (table === undefined) {
      throw new RangeError(
        `Cannot choose a pool on "${linstorNode}": the pod has ${this.pendingInFitOrder.length} pending volumes, not 1`,
      );
    }
    const volume = this.pendingInFitOrder[0]!;
    const id = this.index.idOf(linstorNode, linstorId);
    let entry = table.entry(id);
    if (entry === undefined) {
      entry = {
        choice: choosePool(this, linstorNode, { volume, linstorId: id }),
        passing: undefined,
      };
      table.set(id, entry);
    }
    return entry;
  }

  /**
   * The pool-choice table `poolChoice()` fills, when the pod has exactly one
   * pending volume.
   */
  choiceTable(): PoolChoiceTable | undefined {
    const volume = this.pendingInFitOrder[0];
    if (volume === undefined || this.pendingInFitOrder.length !== 1) {
      return undefined;
    }
    return this.#choices ??= this.#choiceTable(volume);
  }

  /** The pool-choice table of `volume`'s pool shape and the reservations this request sees. */
  #choiceTable(volume: PendingVolume): PoolChoiceTable {
    // Everything `choosePool()` reads besides the snapshot: the pools the
    // volume may use, and what others hold on each pool (explicit
    // reservations by content, implicit ones by the claims left out).
    let key = `${
      volume.pools === undefined ? "\u0001" : volume.pools.join("\u0000")
    }\u0002${
      volume.poolSelector?.selector === undefined
        ? ""
        : volume.poolSelector.text
    }\u0002`;
    for (const r of this.#otherReservations()) {
      key += `${r.claim}\u0001${r.sizeKib}\u0001${
        this.index.objectId(r.nodes)
      }\u0000`;
    }
    key += `\u0002${this.#implicit().key}`;
    // Shared by the snapshots over this LINSTOR view: the key holds
    // everything else a choice reads, so a Kubernetes event that changes
    // none of it (a Node, a PV, a bound claim) keeps the table.
    const tables = this.index.choiceTables;
    let table = tables.get(key);
    if (table === undefined) {
      table = new PoolChoiceTable();
      tables.set(key, table);
      if (tables.size > CHOICE_TABLES_MAX) {
        tables.delete(tables.keys().next().value!);
      }
    }
    return table;
  }

  /** Implicit reservations of claims with `selected-node` set, not yet in LINSTOR and not held explicitly. */
  #implicit(): ImplicitHolds {
    return this.#implicitHolds ??= this.#findImplicitHolds();
  }

  /**
   * `#implicit()` worked out, or kept from an earlier request that saw the
   * same claims with a selected node (the same list object) and the same
   * claims held explicitly and of its own (the few latest kept).
   */
  #findImplicitHolds(): ImplicitHolds {
    const all = this.#allImplicit();
    let key = "";
    for (const r of this.reservations.all()) key += `${r.claim}\u0000`;
    key += "\u0001";
    for (const claim of this.ownClaims) key += `${claim}\u0000`;
    const kept = this.index.sharedByObject(
      IMPLICIT_HOLDS_KEY,
      all,
      [],
      () => new Map<string, ImplicitHolds>(),
    );
    let holds = kept.get(key);
    if (holds === undefined) {
      holds = this.#implicitHoldsOf(all);
      kept.set(key, holds);
      if (kept.size > IMPLICIT_HOLDS_MAX) {
        kept.delete(kept.keys().next().value!);
      }
    }
    return holds;
  }

  /** The implicit holds of `all` but the claims held explicitly and the pod's own. */
  #implicitHoldsOf(all: readonly ImplicitReservation[]): ImplicitHolds {
    const byNode = new Map<string, Map<string, number>>();
    const byId: Map<string, number>[] = [];
    let key = "";
    if (all.length > 0) {
      const explicit = new Set(this.reservations.all().map((r) => r.claim));
      for (const item of all) {
        if (explicit.has(item.claim) || this.ownClaims.has(item.claim)) {
          continue;
        }
        let byPool = byNode.get(item.node);
        if (!byPool) {
          byNode.set(item.node, byPool = new Map());
          byId[this.index.intern(item.node)] = byPool;
        }
        byPool.set(item.pool, (byPool.get(item.pool) ?? 0) + item.sizeKib);
        key += `${item.node}\u0000${item.pool}\u0000${item.sizeKib}\u0001`;
      }
    }
    return { byNode, byId, key };
  }

  /** Every unbound LINSTOR claim with a selected node whose resource LINSTOR does not show yet (per snapshot). */
  #allImplicit(): readonly ImplicitReservation[] {
    const kube = this.index.snapshot.kube;
    // What the claims resolve to depends on them, their classes and the
    // Node objects (LINSTOR node of the selected one): shared by the
    // snapshots that hold the same ones.
    return this.index.sharedByKube(
      `${IMPLICIT_KEY}\u0000${
        JSON.stringify(this.config.defaultRemoteAccessPolicy)
      }`,
      [kube.claimsWithSelectedNode, kube.storageClasses, kube.nodes],
      () => this.#findImplicit(),
    );
  }

  /**
   * `#allImplicit()` computed; each claim's part is kept from the last time
   * while the claim object, the classes, the Node objects and this LINSTOR
   * view are the same (a claim getting its selected node changes one).
   */
  #findImplicit(): readonly ImplicitReservation[] {
    const out: ImplicitReservation[] = [];
    const snapshot = this.index.snapshot;
    const key = `${IMPLICIT_KEY}\u0000${
      JSON.stringify(this.config.defaultRemoteAccessPolicy)
    }`;
    const parts = [snapshot.kube.storageClasses, snapshot.kube.nodes];
    // The state model's index of these claims: no scan of every claim per
    // snapshot. `forEach`: the snapshot's sharded maps iterate entries
    // through generators, several times slower.
    const placed: [string, PendingClaim, string][] = [];
    snapshot.kube.claimsWithSelectedNode.forEach((pvc, claim) => {
      const selected = pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE];
      if (selected) placed.push([claim, pvc, selected]);
    });
    for (const [claim, pvc, selected] of placed) {
      const found = this.index.sharedByObject(
        key,
        pvc,
        parts,
        () => this.#implicitOf(claim, pvc, selected) ?? null,
      );
      if (found !== null) out.push(found);
    }
    return out;
  }

  /** What one claim with a selected node holds implicitly, if anything. */
  #implicitOf(
    claim: string,
    pvc: PendingClaim,
    selected: string,
  ): ImplicitReservation | undefined {
    const snapshot = this.index.snapshot;
    const created = claimResourceName(pvc);
    if (
      created !== undefined &&
      snapshot.linstor.replicasByResource.has(created)
    ) {
      return undefined;
    }
    const [namespace] = claim.split("/");
    const single: V1Pod = {
      metadata: { namespace: namespace ?? "default", name: "" },
      spec: {
        containers: [],
        volumes: [{
          name: "v",
          persistentVolumeClaim: { claimName: pvc.metadata?.name ?? "" },
        }],
      },
    };
    const pending = resolvePodVolumes(this.index, single, {
      defaultPolicy: this.config.defaultRemoteAccessPolicy,
    }).pending[0];
    if (!pending) return undefined;
    const node = this.index.linstorNodeFor(selected)?.name;
    if (!node) return undefined;
    let best: PoolInfo | undefined;
    for (const p of this.candidatePools(node, pending)) {
      if (!best || (p.freeKib ?? 0) > (best.freeKib ?? 0)) best = p;
    }
    return best === undefined
      ? undefined
      : { claim, node, pool: best.name, sizeKib: pending.sizeKib };
  }
}
