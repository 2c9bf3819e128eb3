/**
 * linstor-csi's remote-access policy (`allowRemoteVolumeAccess`) and its
 * StorageClass parameter lookup, computed the way linstor-csi does.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import {
  CSI_ATTRIBUTE_REMOTE_ACCESS_POLICY,
  CSI_ATTRIBUTE_USES_VOLUME_CONTEXT,
  CSI_PARAMETER_PREFIX,
  TOPOLOGY_LINBIT_HOSTNAME,
} from "../../constants.ts";

/**
 * Rules OR-ed together; each rule is the `fromSame` keys a node must share
 * with a diskful replica. `[[]]` means "anywhere".
 */
export type RemoteAccessPolicy = readonly (readonly string[])[];

/** Access from anywhere (`"true"`). */
export const ANYWHERE: RemoteAccessPolicy = Object.freeze([Object.freeze([])]);
/** Local only (`"false"`). */
export const LOCAL_ONLY: RemoteAccessPolicy = Object.freeze([
  Object.freeze([TOPOLOGY_LINBIT_HOSTNAME]),
]);

/** Parses a policy value (`true`, `false` or a YAML list of `{fromSame: [...]}`); throws `SyntaxError`. */
export function parseRemoteAccessPolicy(text: string): RemoteAccessPolicy {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === "true") return ANYWHERE;
  if (trimmed.toLowerCase() === "false") return LOCAL_ONLY;
  let raw: unknown;
  try {
    raw = parseYaml(trimmed);
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse remote access policy "${text}": ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
  if (raw === true) return ANYWHERE;
  if (raw === false) return LOCAL_ONLY;
  if (!Array.isArray(raw)) {
    throw new SyntaxError(
      `Cannot parse remote access policy "${text}": expected true, false or a list of {fromSame: [keys]}`,
    );
  }
  return raw.map((rule) => {
    if (typeof rule !== "object" || rule === null || Array.isArray(rule)) {
      throw new SyntaxError(
        `Cannot parse remote access policy "${text}": rule is not a map`,
      );
    }
    const keys = (rule as Record<string, unknown>).fromSame ?? [];
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string")) {
      throw new SyntaxError(
        `Cannot parse remote access policy "${text}": fromSame is not a list of keys`,
      );
    }
    return keys as string[];
  });
}

/** Whether every rule needs the node itself to hold a diskful replica. */
export function requiresLocalReplica(policy: RemoteAccessPolicy): boolean {
  return policy.length > 0 &&
    policy.every((rule) => rule.includes(TOPOLOGY_LINBIT_HOSTNAME));
}

/** Whether the policy allows access from anywhere. */
export function allowsAnywhere(policy: RemoteAccessPolicy): boolean {
  return policy.some((rule) => rule.length === 0);
}

/**
 * Reads a linstor-csi parameter: `linstor.csi.linbit.com/<key>` or bare
 * `<key>`, key compared lower-cased (as linstor-csi does).
 */
export function csiParameter(
  parameters: Readonly<Record<string, string>> | undefined,
  key: string,
): string | undefined {
  if (!parameters) return undefined;
  const wanted = key.toLowerCase();
  let bare: string | undefined;
  for (const [k, v] of Object.entries(parameters)) {
    const lower = k.toLowerCase();
    if (lower === CSI_PARAMETER_PREFIX + wanted) return v;
    if (lower === wanted) bare = v;
  }
  return bare;
}

/**
 * The policy of a StorageClass: `allowRemoteVolumeAccess`, else the
 * linstor-csi default (anywhere when the layer list has DRBD or NVMe).
 */
export function storageClassPolicy(
  parameters: Readonly<Record<string, string>> | undefined,
): RemoteAccessPolicy {
  const value = csiParameter(parameters, "allowRemoteVolumeAccess");
  if (value !== undefined) return parseRemoteAccessPolicy(value);
  const layers = (csiParameter(parameters, "layerList") ?? "drbd storage")
    .toLowerCase().split(/\s+/);
  return layers.includes("drbd") || layers.includes("nvme")
    ? ANYWHERE
    : LOCAL_ONLY;
}

/**
 * The policy of a bound volume: PV volume attributes when linstor-csi stored
 * its parameters there, else the StorageClass; `undefined` when neither is known.
 */
export function volumePolicy(
  volumeAttributes: Readonly<Record<string, string>> | undefined,
  storageClassParameters: Readonly<Record<string, string>> | undefined,
  storageClassKnown: boolean,
): RemoteAccessPolicy | undefined {
  if (
    volumeAttributes && CSI_ATTRIBUTE_USES_VOLUME_CONTEXT in volumeAttributes
  ) {
    const value = volumeAttributes[CSI_ATTRIBUTE_REMOTE_ACCESS_POLICY];
    return value === undefined ? ANYWHERE : parseRemoteAccessPolicy(value);
  }
  if (!storageClassKnown) return undefined;
  return storageClassPolicy(storageClassParameters);
}

/**
 * The topologies a policy allows given the segments of each diskful replica
 * node, or `undefined` for "anywhere". Keys missing on a replica node are
 * dropped and an empty result means anywhere, exactly like linstor-csi's
 * `GenericAccessibleTopologies`.
 */
export function allowedTopologies(
  policy: RemoteAccessPolicy,
  replicaSegments: readonly Readonly<Record<string, string>>[],
): readonly Readonly<Record<string, string>>[] | undefined {
  if (replicaSegments.length === 0) return undefined;
  const result: Record<string, string>[] = [];
  const seen = new Set<string>();
  for (const segments of replicaSegments) {
    for (const rule of policy) {
      const topology: Record<string, string> = {};
      for (const key of rule) {
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
  topologies: readonly Readonly<Record<string, string>>[],
  segments: Readonly<Record<string, string>>,
): boolean {
  return topologies.some((t) =>
    Object.entries(t).every(([k, v]) => segments[k] === v)
  );
}
