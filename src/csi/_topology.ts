/**
 * The topologies a remote-access policy allows, computed exactly like
 * linstor-csi's `GenericAccessibleTopologies` (a key missing on a replica
 * node is dropped, and a rule left without keys means "anywhere"), and the
 * membership test for a node.
 *
 * @module
 */
import type { RemoteAccessPolicy } from "./_policy.ts";

/** A topology segment: key → value (one nodeSelectorTerm). */
export type Segment = Readonly<Record<string, string>>;

/**
 * The topologies `policy` allows given the segments of each diskful replica
 * node, deduplicated in first-seen order; `undefined` for "anywhere" (no
 * replica yet, or a rule none of whose keys a replica node has).
 */
export function allowedTopologies(
  policy: RemoteAccessPolicy,
  replicaSegments: readonly Segment[],
): readonly Segment[] | undefined {
  if (replicaSegments.length === 0) return undefined;
  const result: Record<string, string>[] = [];
  const seen = new Set<string>();
  for (const segments of replicaSegments) {
    for (const rule of policy) {
      const topology: Record<string, string> = {};
      for (const key of rule.fromSame) {
        const value = segments[key];
        if (value !== undefined) topology[key] = value;
      }
      if (Object.keys(topology).length === 0) return undefined;
      const id = JSON.stringify(Object.entries(topology).sort());
      if (!seen.has(id)) {
        seen.add(id);
        result.push(topology);
      }
    }
  }
  return result;
}

/** Whether a node with `segments` lies in one of `topologies`. */
export function inTopologies(
  topologies: readonly Segment[],
  segments: Segment,
): boolean {
  return topologies.some((t) =>
    Object.entries(t).every(([k, v]) => segments[k] === v)
  );
}
