/**
 * Everything one request evaluates against: the snapshot index, the pod's
 * LINSTOR volumes, the reservations view and the config; plus the candidate
 * node type.
 *
 * @module
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { LinstorNodeInfo, PoolInfo } from "../../state/types.ts";
import type { ExtenderConfig } from "./_config.ts";
import {
  isDataCurrent,
  isDiskfulDeployed,
  type SnapshotIndex,
} from "./_index.ts";
import {
  allowedTopologies,
  allowsAnywhere,
  type RemoteAccessPolicy,
} from "./_remote_access.ts";
import type { ReservationView } from "./_reservations.ts";
import {
  type PendingVolume,
  podKey,
  type PodVolumes,
  resolvePodVolumes,
} from "./_volumes.ts";
import { ANNOTATION_SELECTED_NODE } from "../../constants.ts";
import { matchesSelector } from "./_selector.ts";

/** A node kube-scheduler offered. */
export interface Candidate {
  /** Kubernetes node name. */
  readonly name: string;
  /** The Node object (from the request, else from the snapshot). */
  readonly kubeNode: V1Node | undefined;
  /** Its LINSTOR node, if any. */
  readonly linstor: LinstorNodeInfo | undefined;
}

/** Per-resource locality data. */
export interface ResourcePlacement {
  /** LINSTOR nodes with a diskful, current replica. */
  readonly current: ReadonlySet<string>;
  /** LINSTOR nodes with a diskful replica still syncing / outdated. */
  readonly syncing: ReadonlySet<string>;
  /** Nodes with only a diskless or tie-breaker resource. */
  readonly diskless: ReadonlySet<string>;
  /** Topology values of the current replicas, per configured level key. */
  readonly levelValues: ReadonlyMap<string, ReadonlySet<string>>;
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
    this.volumes = resolvePodVolumes(index, pod);
    this.now = options.now;
    this.reservations = options.reservations;
    this.ownClaims = new Set(
      [...this.volumes.bound, ...this.volumes.pending].map((v) => v.claim),
    );
  }

  /** Builds the candidate list from names and optional Node objects. */
  candidates(names: readonly string[], nodes?: readonly V1Node[]): Candidate[] {
    const byName = new Map<string, V1Node>();
    for (const node of nodes ?? []) byName.set(node.metadata?.name ?? "", node);
    const kubeNodes = this.index.snapshot.kube.nodes;
    return names.map((name) => {
      const kubeNode = byName.get(name) ?? kubeNodes.get(name);
      return {
        name,
        kubeNode,
        linstor: this.index.linstorNodeFor(name, kubeNode),
      };
    });
  }

  /** Placement of a resource definition's replicas (memoized per snapshot). */
  placement(resource: string): ResourcePlacement | undefined {
    const key = `placement\u0000${resource}`;
    if (this.index.memo.has(key)) {
      return this.index.memo.get(key) as ResourcePlacement | undefined;
    }
    const replicas = this.index.snapshot.linstor.replicasByResource.get(
      resource,
    );
    let result: ResourcePlacement | undefined;
    if (replicas && replicas.length > 0) {
      const current = new Set<string>();
      const syncing = new Set<string>();
      const diskless = new Set<string>();
      for (const r of replicas) {
        if (isDiskfulDeployed(r)) {
          (isDataCurrent(r) ? current : syncing).add(r.node);
        } else if (!r.deleting) diskless.add(r.node);
      }
      const levelValues = new Map<string, Set<string>>();
      for (const level of this.config.locality.levels) {
        const values = new Set<string>();
        for (const node of current) {
          const v = this.index.topologyValue(node, level.key);
          if (v !== undefined) values.add(v);
        }
        levelValues.set(level.key, values);
      }
      result = { current, syncing, diskless, levelValues };
    }
    this.index.memo.set(key, result);
    return result;
  }

  /**
   * Topologies a bound volume may be accessed from, `undefined` = anywhere
   * (memoized per snapshot and policy).
   */
  accessTopologies(
    resource: string,
    policy: RemoteAccessPolicy,
  ): readonly Readonly<Record<string, string>>[] | undefined {
    if (allowsAnywhere(policy)) return undefined;
    const key = `access\u0000${resource}\u0000${JSON.stringify(policy)}`;
    if (this.index.memo.has(key)) {
      return this.index.memo.get(key) as
        | Readonly<Record<string, string>>[]
        | undefined;
    }
    const replicas =
      (this.index.snapshot.linstor.replicasByResource.get(resource) ?? [])
        .filter(isDiskfulDeployed);
    const result = allowedTopologies(
      policy,
      replicas.map((r) => this.index.segmentsOf(r.node)),
    );
    this.index.memo.set(key, result);
    return result;
  }

  /** Pools on a LINSTOR node a pending volume may use (class pools ∩ pool selector). */
  candidatePools(linstorNode: string, volume: PendingVolume): PoolInfo[] {
    const selector = volume.poolSelector?.selector;
    return this.index.dataPools(linstorNode).filter((p) =>
      (volume.pools === undefined || volume.pools.includes(p.name)) &&
      (selector === undefined || matchesSelector(selector, poolLabels(p)))
    );
  }

  /** Capacity a pool can still give a new volume, before reservations (KiB); `undefined` if unknown. */
  poolCapacityKib(pool: PoolInfo): number | undefined {
    if (pool.freeKib === undefined) return undefined;
    if (!pool.thin) return pool.freeKib;
    const ratio = (key: string) => {
      const v = Number(
        pool.props[key] ?? pool.props["MaxOversubscriptionRatio"],
      );
      return Number.isFinite(v) && v > 0
        ? v
        : this.config.capacity.oversubscriptionRatio;
    };
    const byFree = pool.freeKib * ratio("MaxFreeCapacityOversubscriptionRatio");
    if (pool.totalKib === undefined) return byFree;
    const byTotal =
      pool.totalKib * ratio("MaxTotalCapacityOversubscriptionRatio") -
      this.index.virtualKib(pool.node, pool.name);
    return Math.max(0, Math.min(byFree, byTotal));
  }

  /** KiB held on a pool by others' reservations: explicit ones plus claims with a selected node. */
  reservedKib(linstorNode: string, pool: string): number {
    return this.reservations.reservedKib(linstorNode, pool, this.ownClaims) +
      (this.#implicit().get(linstorNode)?.get(pool) ?? 0);
  }

  /** Implicit reservations of claims with `selected-node` set, not yet in LINSTOR and not held explicitly. */
  #implicitCache: ReadonlyMap<string, ReadonlyMap<string, number>> | undefined;

  #implicit(): ReadonlyMap<string, ReadonlyMap<string, number>> {
    if (this.#implicitCache) return this.#implicitCache;
    const explicit = new Set(this.reservations.all().map((r) => r.claim));
    const all = this.#allImplicit();
    const out = new Map<string, Map<string, number>>();
    for (const item of all) {
      if (explicit.has(item.claim) || this.ownClaims.has(item.claim)) continue;
      let byPool = out.get(item.node);
      if (!byPool) out.set(item.node, byPool = new Map());
      byPool.set(item.pool, (byPool.get(item.pool) ?? 0) + item.sizeKib);
    }
    this.#implicitCache = out;
    return out;
  }

  #allImplicit(): readonly {
    claim: string;
    node: string;
    pool: string;
    sizeKib: number;
  }[] {
    const key = "implicit";
    const memo = this.index.memo.get(key) as {
      claim: string;
      node: string;
      pool: string;
      sizeKib: number;
    }[] | undefined;
    if (memo) return memo;
    const out: {
      claim: string;
      node: string;
      pool: string;
      sizeKib: number;
    }[] = [];
    const snapshot = this.index.snapshot;
    for (const [claim, pvc] of snapshot.kube.persistentVolumeClaims) {
      const selected = pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE];
      if (!selected || pvc.spec?.volumeName) continue;
      if (snapshot.linstor.replicasByResource.has(`pvc-${pvc.metadata?.uid}`)) {
        continue;
      }
      const [namespace] = claim.split("/");
      const fake: V1Pod = {
        metadata: { namespace: namespace ?? "default", name: "" },
        spec: {
          containers: [],
          volumes: [{
            name: "v",
            persistentVolumeClaim: { claimName: pvc.metadata?.name ?? "" },
          }],
        },
      };
      const pending = resolvePodVolumes(this.index, fake).pending[0];
      if (!pending) continue;
      const node = this.index.linstorNodeFor(selected)?.name;
      if (!node) continue;
      const pools = this.candidatePools(node, pending);
      let best: PoolInfo | undefined;
      for (const p of pools) {
        if (!best || (p.freeKib ?? 0) > (best.freeKib ?? 0)) best = p;
      }
      if (best) {
        out.push({ claim, node, pool: best.name, sizeKib: pending.sizeKib });
      }
    }
    this.index.memo.set(key, out);
    return out;
  }
}

/** Labels of a storage pool: its `Aux/` properties with the prefix stripped. */
export function poolLabels(pool: PoolInfo): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(pool.props)) {
    if (k.startsWith("Aux/")) labels[k.slice(4)] = v;
  }
  return labels;
}
