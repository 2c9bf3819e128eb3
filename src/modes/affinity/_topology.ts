/**
 * The accessible topology of a LINSTOR volume, computed from a Snapshot the
 * way linstor-csi's `GenericAccessibleTopologies` does, but refusing (instead
 * of silently widening) wherever linstor-csi would fall back to "anywhere"
 * or "every node"; and the comparison with a PV's nodeAffinity. The
 * linstor-csi-faithful version (what the extender must agree with) is
 * `allowedTopologies()` in `src/csi/`.
 *
 * @module
 */
import type {
  V1NodeSelectorTerm,
  V1VolumeNodeAffinity,
} from "@kubernetes/client-node";
import {
  TOPOLOGY_BALANCER_RACK,
  TOPOLOGY_LINBIT_HOSTNAME,
} from "../../constants.ts";
import { replicaHealth, type VolumeHandle } from "../../domain/mod.ts";
import type { Replica, Snapshot } from "../../state/types.ts";
import type {
  PlacementPolicy,
  RemoteAccessPolicy,
  Segment,
} from "../../csi/mod.ts";

/** Why no topology can be trusted. */
export type TopologyDoubt =
  | "NoReplicas"
  | "NoHealthyReplica"
  | "ReplicaStateUnknown"
  | "ReplicaNodeUnknown"
  | "TopologyKeyMissing"
  | "RackUnknown"
  | "RacksDiffer";

/** The result of `accessibleTopology()`. */
export type TopologyResult =
  | {
    readonly ok: true;
    /** Sorted, pruned segments; empty means "anywhere" (no nodeAffinity). */
    readonly segments: readonly Segment[];
    /** LINSTOR nodes holding a healthy diskful replica, sorted. */
    readonly diskfulNodes: readonly string[];
  }
  | {
    readonly ok: false;
    readonly reason: TopologyDoubt;
    readonly detail: string;
  };

/** How one replica counts for the topology. */
type ReplicaStanding = "healthy" | "ignored" | "unknown";

/**
 * Whether `replica` counts as a healthy diskful replica of volume `volume`:
 * its `replicaHealth()` is `current` (diskful, deployed, the volume
 * `UpToDate` or without DRBD state on an online node). A copy whose state
 * LINSTOR cannot report is "unknown"; anything else is ignored.
 */
function replicaStanding(
  snapshot: Snapshot,
  replica: Replica,
  volume: number,
): ReplicaStanding {
  const health = replicaHealth(replica, {
    volume,
    nodeOnline: snapshot.linstor.nodes.get(replica.node)?.online ?? false,
  });
  return health === "current"
    ? "healthy"
    : health === "unknown"
    ? "unknown"
    : "ignored";
}

/** Per-pass memo of node segments (`<namespace>\0<node>` → segments); create one per snapshot. */
export type TopologyCache = Map<string, Readonly<Record<string, string>>>;

/**
 * Computes where volume `handle` is accessible under `policy`.
 *
 * For each healthy diskful replica node, the segments are the node's
 * properties under `propertyNamespace/` (prefix stripped) plus
 * `linbit.com/hostname` = node name; each policy rule keeps its `fromSame`
 * keys. Unlike linstor-csi, a missing key, an unknown replica state or the
 * absence of any healthy diskful replica is a doubt, never "anywhere".
 *
 * A volume created by linstor-csi's `Balanced` scheduler (`placement`)
 * reports one segment instead, whatever the policy: the rack label
 * `failure-domain.beta.kubernetes.io/zone` of the Kubernetes Node of its
 * (first) diskful replica. Here every healthy diskful replica's Node must
 * carry the same rack, else it is a doubt (`RackUnknown`, `RacksDiffer`).
 */
export function accessibleTopology(
  snapshot: Snapshot,
  handle: VolumeHandle,
  options: {
    policy: RemoteAccessPolicy;
    propertyNamespace: string;
    /** linstor-csi placement policy of the volume. @default {"AutoPlaceTopology"} */
    placement?: PlacementPolicy;
    /** Memo shared by the calls of one pass over one snapshot. */
    cache?: TopologyCache;
  },
): TopologyResult {
  const replicas = snapshot.linstor.replicasByResource.get(handle.resource) ??
    [];
  if (replicas.length === 0) {
    return {
      ok: false,
      reason: "NoReplicas",
      detail: `LINSTOR reports no resources of "${handle.resource}"`,
    };
  }
  const diskfulNodes: string[] = [];
  for (const replica of replicas) {
    const standing = replicaStanding(snapshot, replica, handle.volume);
    if (standing === "unknown") {
      return {
        ok: false,
        reason: "ReplicaStateUnknown",
        detail:
          `the state of the diskful replica on node "${replica.node}" is unknown`,
      };
    }
    if (standing === "healthy") diskfulNodes.push(replica.node);
  }
  diskfulNodes.sort();
  if (diskfulNodes.length === 0) {
    return {
      ok: false,
      reason: "NoHealthyReplica",
      detail:
        `no healthy diskful replica of "${handle.resource}" volume ${handle.volume}`,
    };
  }
  if (options.placement === "Balanced") {
    return rackTopology(snapshot, diskfulNodes);
  }
  const prefix = `${options.propertyNamespace}/`;
  const segments: Segment[] = [];
  for (const nodeName of diskfulNodes) {
    const cacheKey = `${prefix}\0${nodeName}`;
    let nodeSegments = options.cache?.get(cacheKey);
    if (nodeSegments === undefined) {
      const node = snapshot.linstor.nodes.get(nodeName);
      if (node === undefined) {
        return {
          ok: false,
          reason: "ReplicaNodeUnknown",
          detail: `LINSTOR node "${nodeName}" is not in the node list`,
        };
      }
      const segments: Record<string, string> = {};
      for (const key in node.props) {
        if (key.startsWith(prefix)) {
          segments[key.slice(prefix.length)] = node.props[key]!;
        }
      }
      segments[TOPOLOGY_LINBIT_HOSTNAME] = nodeName;
      nodeSegments = segments;
      options.cache?.set(cacheKey, segments);
    }
    for (const rule of options.policy) {
      if (rule.fromSame.length === 0) {
        return { ok: true, segments: [], diskfulNodes };
      }
      const segment: Record<string, string> = {};
      for (const key of rule.fromSame) {
        const value = nodeSegments[key];
        if (value === undefined) {
          return {
            ok: false,
            reason: "TopologyKeyMissing",
            detail:
              `LINSTOR node "${nodeName}" has no property "${prefix}${key}"`,
          };
        }
        segment[key] = value;
      }
      segments.push(segment);
    }
  }
  return { ok: true, segments: prunePattern(segments), diskfulNodes };
}

/** The `Balanced` scheduler's topology: the one rack of the diskful nodes. */
function rackTopology(
  snapshot: Snapshot,
  diskfulNodes: readonly string[],
): TopologyResult {
  if (!snapshot.kube.synced.has("nodes")) {
    return {
      ok: false,
      reason: "RackUnknown",
      detail:
        "Kubernetes Nodes are not listed yet (the Balanced placement policy reads their rack label)",
    };
  }
  const racks = new Map<string, string>();
  for (const nodeName of diskfulNodes) {
    const rack = snapshot.kube.nodes.get(nodeName)?.metadata?.labels?.[
      TOPOLOGY_BALANCER_RACK
    ];
    if (rack === undefined || rack === "") {
      return {
        ok: false,
        reason: "RackUnknown",
        detail: `Kubernetes Node "${nodeName}" ${
          snapshot.kube.nodes.has(nodeName)
            ? `has no label ${TOPOLOGY_BALANCER_RACK}`
            : "does not exist"
        }`,
      };
    }
    racks.set(nodeName, rack);
  }
  const distinct = [...new Set(racks.values())];
  if (distinct.length > 1) {
    return {
      ok: false,
      reason: "RacksDiffer",
      detail: `the diskful replicas are in different racks (${
        [...racks].map(([node, rack]) => `${node}=${rack}`).join(", ")
      }); linstor-csi's Balanced scheduler assumes one`,
    };
  }
  return {
    ok: true,
    segments: [{ [TOPOLOGY_BALANCER_RACK]: distinct[0]! }],
    diskfulNodes,
  };
}

/**
 * Removes duplicates and segments covered by a more general one (a subset),
 * then sorts by canonical form (linstor-csi `PrunePattern`, made deterministic).
 */
export function prunePattern(segments: readonly Segment[]): Segment[] {
  const bySize = [...segments].sort((a, b) =>
    Object.keys(a).length - Object.keys(b).length
  );
  const result: Segment[] = [];
  for (const segment of bySize) {
    if (result.some((general) => isSubset(general, segment))) continue;
    result.push(segment);
  }
  return result.sort((a, b) => compareText(segmentKey(a), segmentKey(b)));
}

function isSubset(a: Segment, b: Segment): boolean {
  return Object.entries(a).every(([key, value]) => b[key] === value);
}

/** Code-unit order of two strings (locale-independent, for stable sorting). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A canonical string of a segment (sorted keys), for set comparison. */
function segmentKey(segment: Segment): string {
  const keys = Object.keys(segment);
  if (keys.length > 1) keys.sort();
  let text = "";
  for (const key of keys) text += `${key}\u0000${segment[key]}\u0001`;
  return text;
}

/** The PV nodeAffinity for `segments`: one term per segment, `In` with one value per key; `undefined` for none. */
export function affinityFromSegments(
  segments: readonly Segment[],
): V1VolumeNodeAffinity | undefined {
  if (segments.length === 0) return undefined;
  return {
    required: {
      nodeSelectorTerms: segments.map((segment) => ({
        matchExpressions: Object.keys(segment).sort().map((key) => ({
          key,
          operator: "In",
          values: [segment[key]!],
        })),
      })),
    },
  };
}

/** A nodeSelectorTerm as a segment, or `undefined` when it is not of the form linstor-csi writes. */
function termToSegment(term: V1NodeSelectorTerm): Segment | undefined {
  if ((term.matchFields ?? []).length > 0) return undefined;
  const expressions = term.matchExpressions ?? [];
  if (expressions.length === 0) return undefined;
  const segment: Record<string, string> = {};
  for (const expression of expressions) {
    if (expression.operator !== "In") return undefined;
    if ((expression.values ?? []).length !== 1) return undefined;
    if (Object.hasOwn(segment, expression.key)) return undefined;
    segment[expression.key] = expression.values![0]!;
  }
  return segment;
}

/**
 * Whether the PV's `nodeAffinity` equals `segments` as sets of terms, both
 * directions (a hand-added or foreign-form term counts as drift). No
 * affinity (or no required terms) matches only "anywhere".
 */
export function affinityMatches(
  affinity: V1VolumeNodeAffinity | undefined,
  segments: readonly Segment[],
): boolean {
  const terms = affinity?.required?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return segments.length === 0;
  if (segments.length === 0) return false;
  const have = new Set<string>();
  for (const term of terms) {
    const segment = termToSegment(term);
    if (segment === undefined) return false;
    have.add(segmentKey(segment));
  }
  let wanted = 0;
  const want = new Set<string>();
  for (const segment of segments) {
    const key = segmentKey(segment);
    if (!have.has(key)) return false;
    if (!want.has(key)) {
      want.add(key);
      wanted++;
    }
  }
  return wanted === have.size;
}

/** A one-line rendering of segments for logs (`{a=1,b=2} | {a=3}`, `anywhere`). */
export function describeSegments(segments: readonly Segment[]): string {
  if (segments.length === 0) return "anywhere";
  return segments.map((segment) =>
    `{${
      Object.keys(segment).sort().map((key) => `${key}=${segment[key]}`).join(
        ",",
      )
    }}`
  ).join(" | ");
}
