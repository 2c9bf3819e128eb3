/**
 * The simulator's autoplacer: a pure function choosing nodes and pools for
 * the diskful replicas of a resource definition, a DRBD quorum tie-breaker
 * and `diskless_on_remaining` clients.
 *
 * @module
 */
import type { AutoSelectFilter, Props } from "../linstor/types.ts";
import {
  LINSTOR_DEFAULT_PLACE_COUNT,
  LINSTOR_DISKLESS_STORAGE_POOL,
} from "../constants.ts";
import { fits, isDisklessPool, keyOf, type ReplicaKind } from "./_model.ts";

/** A node as the autoplacer sees it. */
export interface PlacementNode {
  readonly name: string;
  /** ONLINE satellite (only those receive new replicas). */
  readonly eligible: boolean;
  readonly props: Props;
  readonly pools: readonly {
    readonly name: string;
    readonly providerKind: string;
    readonly freeKib: number;
  }[];
  /** Names of resource definitions with a replica on this node. */
  readonly resources: readonly string[];
}

/** Input of `placeReplicas()`. */
export interface PlacementRequest {
  readonly nodes: readonly PlacementNode[];
  /** Replicas the resource definition already has. */
  readonly existing: readonly {
    readonly node: string;
    readonly kind: ReplicaKind;
  }[];
  readonly filter: AutoSelectFilter;
  /** Sum of the volume definition sizes (KiB). */
  readonly sizeKib: number;
  readonly disklessOnRemaining: boolean;
  /** Add a tie-breaker when the result has exactly two diskful replicas. */
  readonly autoTieBreaker: boolean;
}

/** One replica to create (or a tie-breaker to turn diskful: `takeover`). */
export interface Placement {
  readonly node: string;
  readonly pool: string;
  readonly kind: ReplicaKind;
  readonly takeover: boolean;
}

/** Result of `placeReplicas()`. */
export type PlacementResult =
  | {
    readonly ok: true;
    readonly placements: readonly Placement[];
    readonly alreadyDeployed: boolean;
    readonly tieBreakerMissing: boolean;
  }
  | { readonly ok: false; readonly reason: string };

interface Candidate {
  readonly node: PlacementNode;
  readonly pool: string;
  readonly freeKib: number;
  readonly takeover: boolean;
}

function byName(a: string, b: string): number {
  return keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0;
}

function splitEntry(entry: string): { key: string; value?: string } {
  const eq = entry.indexOf("=");
  return eq < 0
    ? { key: entry }
    : { key: entry.slice(0, eq), value: entry.slice(eq + 1) };
}

function bestPool(
  node: PlacementNode,
  filter: AutoSelectFilter,
  sizeKib: number,
): { name: string; freeKib: number } | undefined {
  const wanted = [
    ...(filter.storage_pool ? [filter.storage_pool] : []),
    ...(filter.storage_pool_list ?? []),
  ].map(keyOf);
  const providers = (filter.provider_list ?? []).map(keyOf);
  const pools = node.pools
    .filter((pool) => !isDisklessPool(pool.providerKind))
    .filter((pool) => wanted.length === 0 || wanted.includes(keyOf(pool.name)))
    .filter((pool) =>
      providers.length === 0 || providers.includes(keyOf(pool.providerKind))
    )
    .filter((pool) => fits(pool, sizeKib))
    .sort((a, b) => b.freeKib - a.freeKib || byName(a.name, b.name));
  const best = pools[0];
  return best ? { name: best.name, freeKib: best.freeKib } : undefined;
}

/**
 * Chooses replicas like LINSTOR's autoplacer: `place_count` diskful replicas
 * (or existing + `additional_place_count`) on eligible nodes whose pool
 * matches the filter and has room, most free space first, ties by node
 * name; `replicas_on_same` keeps all diskful replicas in one value group,
 * `replicas_on_different` / `x_replicas_on_different_map` cap replicas per
 * value (nodes without such a property are not eligible); then a
 * tie-breaker when two diskful replicas result, and diskless replicas on
 * every remaining eligible node when `diskless_on_remaining`.
 */
export function placeReplicas(request: PlacementRequest): PlacementResult {
  const { filter } = request;
  const existingDiskful = request.existing.filter((r) => r.kind === "diskful");
  const target = filter.additional_place_count !== undefined
    ? existingDiskful.length + filter.additional_place_count
    : filter.place_count ?? LINSTOR_DEFAULT_PLACE_COUNT;
  const needed = target - existingDiskful.length;
  const nodeByKey = new Map(request.nodes.map((n) => [keyOf(n.name), n]));
  const existingByNode = new Map(
    request.existing.map((r) => [keyOf(r.node), r.kind]),
  );

  const sameEntries = (filter.replicas_on_same ?? []).map(splitEntry);
  const limits = new Map<string, number>();
  for (const entry of filter.replicas_on_different ?? []) {
    limits.set(splitEntry(entry).key, 1);
  }
  for (
    const [key, max] of Object.entries(filter.x_replicas_on_different_map ?? {})
  ) {
    limits.set(key, max);
  }
  const fixedSame = new Map<string, string>();
  for (const entry of sameEntries) {
    if (entry.value !== undefined) fixedSame.set(entry.key, entry.value);
  }
  for (const replica of existingDiskful) {
    const props = nodeByKey.get(keyOf(replica.node))?.props ?? {};
    for (const entry of sameEntries) {
      const value = props[entry.key];
      if (value !== undefined && !fixedSame.has(entry.key)) {
        fixedSame.set(entry.key, value);
      }
    }
  }
  const allowedNodes = (filter.node_name_list ?? []).map(keyOf);
  const avoid = (filter.not_place_with_rsc ?? []).map(keyOf);
  const avoidRegex = filter.not_place_with_rsc_regex
    ? new RegExp(filter.not_place_with_rsc_regex)
    : undefined;

  const candidates: Candidate[] = [];
  for (const node of request.nodes) {
    const existing = existingByNode.get(keyOf(node.name));
    if (!node.eligible) continue;
    if (existing !== undefined && existing !== "tie-breaker") continue;
    if (allowedNodes.length > 0 && !allowedNodes.includes(keyOf(node.name))) {
      continue;
    }
    if (node.resources.some((rd) => avoid.includes(keyOf(rd)))) continue;
    if (avoidRegex && node.resources.some((rd) => avoidRegex.test(rd))) {
      continue;
    }
    if (sameEntries.some((entry) => node.props[entry.key] === undefined)) {
      continue;
    }
    if ([...fixedSame].some(([key, value]) => node.props[key] !== value)) {
      continue;
    }
    if ([...limits.keys()].some((key) => node.props[key] === undefined)) {
      continue;
    }
    const pool = bestPool(node, filter, request.sizeKib);
    if (!pool) continue;
    candidates.push({
      node,
      pool: pool.name,
      freeKib: pool.freeKib,
      takeover: existing === "tie-breaker",
    });
  }

  let chosen: Candidate[] = [];
  if (needed > 0) {
    const groups = new Map<string, Candidate[]>();
    for (const candidate of candidates) {
      const groupKey = JSON.stringify(
        sameEntries.map((entry) => candidate.node.props[entry.key] ?? ""),
      );
      groups.set(groupKey, [...(groups.get(groupKey) ?? []), candidate]);
    }
    let bestScore = -1;
    for (const groupKey of [...groups.keys()].sort()) {
      const picked = pickWithLimits(
        groups.get(groupKey) ?? [],
        needed,
        limits,
        existingDiskful.map((r) => nodeByKey.get(keyOf(r.node))?.props ?? {}),
      );
      if (picked.length < needed) continue;
      const score = picked.reduce((sum, c) => sum + c.freeKib, 0);
      if (score > bestScore) {
        bestScore = score;
        chosen = picked;
      }
    }
    if (chosen.length < needed) {
      return {
        ok: false,
        reason:
          `Not enough available nodes: ${needed} more diskful replica(s) needed, ${candidates.length} node(s) qualify`,
      };
    }
  }

  const placements: Placement[] = chosen.map((c) => ({
    node: c.node.name,
    pool: c.pool,
    kind: "diskful",
    takeover: c.takeover,
  }));
  const used = new Set([
    ...request.existing.map((r) => keyOf(r.node)),
    ...placements.map((p) => keyOf(p.node)),
  ]);
  const diskfulTotal = existingDiskful.length + placements.length;
  const hasDiskless = request.existing.some((r) =>
    r.kind !== "diskful" &&
    !placements.some((p) => keyOf(p.node) === keyOf(r.node))
  );
  let tieBreakerMissing = false;
  const remaining = request.nodes
    .filter((n) => n.eligible && !used.has(keyOf(n.name)))
    .sort((a, b) => byName(a.name, b.name));
  if (request.disklessOnRemaining || filter.diskless_on_remaining) {
    for (const node of remaining) {
      placements.push({
        node: node.name,
        pool: LINSTOR_DISKLESS_STORAGE_POOL,
        kind: "diskless",
        takeover: false,
      });
    }
  } else if (
    placements.length > 0 && request.autoTieBreaker && diskfulTotal === 2 &&
    !hasDiskless
  ) {
    const sameValues = new Map(fixedSame);
    const first = placements[0];
    if (first) {
      const props = nodeByKey.get(keyOf(first.node))?.props ?? {};
      for (const entry of sameEntries) {
        const value = props[entry.key];
        if (value !== undefined && !sameValues.has(entry.key)) {
          sameValues.set(entry.key, value);
        }
      }
    }
    const preferred = remaining.filter((n) =>
      [...sameValues].every(([key, value]) => n.props[key] === value)
    );
    const node = preferred[0] ?? remaining[0];
    if (node) {
      placements.push({
        node: node.name,
        pool: LINSTOR_DISKLESS_STORAGE_POOL,
        kind: "tie-breaker",
        takeover: false,
      });
    } else {
      tieBreakerMissing = true;
    }
  }
  return {
    ok: true,
    placements,
    alreadyDeployed: needed <= 0,
    tieBreakerMissing,
  };
}

function pickWithLimits(
  group: readonly Candidate[],
  needed: number,
  limits: ReadonlyMap<string, number>,
  existingProps: readonly Props[],
): Candidate[] {
  const counts = new Map<string, number>();
  const countKey = (key: string, value: string) => `${key}\u0000${value}`;
  for (const props of existingProps) {
    for (const key of limits.keys()) {
      const value = props[key];
      if (value === undefined) continue;
      counts.set(
        countKey(key, value),
        (counts.get(countKey(key, value)) ?? 0) + 1,
      );
    }
  }
  const sorted = [...group].sort((a, b) =>
    b.freeKib - a.freeKib || byName(a.node.name, b.node.name)
  );
  const picked: Candidate[] = [];
  for (const candidate of sorted) {
    if (picked.length >= needed) break;
    const fitsLimits = [...limits].every(([key, max]) =>
      (counts.get(countKey(key, candidate.node.props[key] ?? "")) ?? 0) < max
    );
    if (!fitsLimits) continue;
    for (const key of limits.keys()) {
      const k = countKey(key, candidate.node.props[key] ?? "");
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    picked.push(candidate);
  }
  return picked;
}
