/**
 * linstor-csi remote-access policies: parsing and resolution for one PV,
 * exactly in the order linstor-affinity-controller resolves them (PV override
 * annotation, then the PV's volume context, then its StorageClass). The one
 * implementation the extender and affinity modes share.
 *
 * @module
 */
import type {
  V1PersistentVolume,
  V1StorageClass,
} from "@kubernetes/client-node";
import { parseYaml } from "../domain/mod.ts";
import {
  ANNOTATION_PREFIX_POLICY_OVERRIDE,
  CSI_PARAM_ALLOW_REMOTE_VOLUME_ACCESS,
  CSI_PARAM_LAYER_LIST,
  TOPOLOGY_LINBIT_HOSTNAME,
  VOLUME_CONTEXT_REMOTE_ACCESS_POLICY,
  VOLUME_CONTEXT_USES_VOLUME_CONTEXT,
} from "../constants.ts";
import { csiParameterEntry } from "./_parameters.ts";

/** One rule: diskless access from nodes sharing every `fromSame` key's value with a diskful replica. */
export interface RemoteAccessRule {
  /** Topology keys that must match; empty means "anywhere". */
  readonly fromSame: readonly string[];
}

/** A remote-access policy: rules are OR-ed, keys within a rule AND-ed. */
export type RemoteAccessPolicy = readonly RemoteAccessRule[];

/** Access from any node (`"true"`): PVs get no nodeAffinity. */
export const POLICY_ANYWHERE: RemoteAccessPolicy = Object.freeze([
  Object.freeze({ fromSame: Object.freeze([]) }),
]);

/** Access only on diskful replicas (`"false"`). */
export const POLICY_LOCAL_ONLY: RemoteAccessPolicy = Object.freeze([
  Object.freeze({ fromSame: Object.freeze([TOPOLOGY_LINBIT_HOSTNAME]) }),
]);

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * Parses a linstor-csi remote-access policy: a Go boolean (`true` = anywhere,
 * `false` = local only) or a YAML list of `{fromSame: [key, …]}` rules.
 *
 * Stricter than linstor-csi where it would silently widen access: an empty
 * list, an unknown rule key (e.g. `fromDifferent`, which linstor-csi ignores
 * and so reads as "anywhere") or a non-string key are rejected.
 */
export function parseRemoteAccessPolicy(text: string): RemoteAccessPolicy {
  if (GO_TRUE.has(text)) return POLICY_ANYWHERE;
  if (GO_FALSE.has(text)) return POLICY_LOCAL_ONLY;
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (cause) {
    throw new SyntaxError(
      `Cannot parse remote-access policy "${text}": not a boolean or YAML`,
      { cause },
    );
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new SyntaxError(
      `Cannot parse remote-access policy "${text}": expected "true", "false" or a non-empty YAML list of rules`,
    );
  }
  return Object.freeze(
    value.map((rule, index) => parseRule(text, rule, index)),
  );
}

function parseRule(
  text: string,
  rule: unknown,
  index: number,
): RemoteAccessRule {
  if (rule === null || typeof rule !== "object" || Array.isArray(rule)) {
    throw new TypeError(
      `Cannot parse remote-access policy "${text}": rule ${index} is not a mapping`,
    );
  }
  const unknown = Object.keys(rule).filter((key) => key !== "fromSame");
  if (unknown.length > 0) {
    throw new TypeError(
      `Cannot parse remote-access policy "${text}": rule ${index} has unsupported key "${
        unknown[0]
      }" (only fromSame is supported by linstor-csi)`,
    );
  }
  const fromSame = (rule as { fromSame?: unknown }).fromSame ?? [];
  if (
    !Array.isArray(fromSame) ||
    fromSame.some((key) => typeof key !== "string" || key === "")
  ) {
    throw new TypeError(
      `Cannot parse remote-access policy "${text}": rule ${index} fromSame must be a list of non-empty strings`,
    );
  }
  return Object.freeze({ fromSame: Object.freeze([...fromSame] as string[]) });
}

/** `true` when `policy` grants access from anywhere (a rule without keys). */
export function isAnywhere(policy: RemoteAccessPolicy): boolean {
  return policy.some((rule) => rule.fromSame.length === 0);
}

/**
 * `true` when every rule needs the node itself to hold a diskful replica
 * (each rule has `linbit.com/hostname`), as with `"false"`.
 */
export function requiresLocalReplica(policy: RemoteAccessPolicy): boolean {
  return policy.length > 0 &&
    policy.every((rule) => rule.fromSame.includes(TOPOLOGY_LINBIT_HOSTNAME));
}

/** Where a resolved policy came from. */
export type PolicySource =
  | "pv-annotation"
  | "volume-context"
  | "storage-class"
  | "storage-class-default"
  | "legacy-parameters";

/** A successfully resolved policy. */
export interface ResolvedPolicy {
  readonly policy: RemoteAccessPolicy;
  readonly source: PolicySource;
  /** The annotation, volume attribute or parameter key the policy came from. */
  readonly from: string;
}

/** Why no policy could be resolved. */
export type PolicyProblem =
  | { readonly reason: "StorageClassMissing"; readonly detail: string }
  | { readonly reason: "InvalidPolicy"; readonly detail: string };

/** Options of `resolvePolicy()`. */
export interface ResolvePolicyOptions {
  /**
   * The driver-wide default (linstor-csi `--default-remote-access-policy`),
   * used when the StorageClass sets none and its layer list has DRBD or NVMe.
   * @default {POLICY_ANYWHERE}
   */
  defaultPolicy?: RemoteAccessPolicy;
}

/**
 * Resolves the remote-access policy of `pv` as linstor-csi and
 * linstor-affinity-controller do: the first `override.piraeus.io*` PV
 * annotation (by sorted key), else the volume context written at
 * provisioning, else the StorageClass parameter, else the driver default.
 */
export function resolvePolicy(
  pv: V1PersistentVolume,
  storageClass: V1StorageClass | undefined,
  options: ResolvePolicyOptions = {},
): ResolvedPolicy | PolicyProblem {
  return resolvePvPolicy(pv) ??
    resolveStorageClassPolicy(
      pv.spec?.storageClassName ?? "",
      storageClass,
      options,
    );
}

/** The PV part of `resolvePolicy()` (steps 1 and 2); `undefined` when the PV names no policy itself. */
export function resolvePvPolicy(
  pv: V1PersistentVolume,
  options: { cache?: PolicyCache } = {},
): ResolvedPolicy | PolicyProblem | undefined {
  const annotations = pv.metadata?.annotations ?? {};
  const override = Object.keys(annotations)
    .filter((key) => key.startsWith(ANNOTATION_PREFIX_POLICY_OVERRIDE))
    .sort()[0];
  if (override !== undefined) {
    return parseFrom(
      annotations[override]!,
      "pv-annotation",
      override,
      options.cache,
    );
  }
  const attributes = pv.spec?.csi?.volumeAttributes ?? {};
  const fromContext = attributes[VOLUME_CONTEXT_REMOTE_ACCESS_POLICY];
  if (
    attributes[VOLUME_CONTEXT_USES_VOLUME_CONTEXT] !== undefined &&
    fromContext !== undefined
  ) {
    return parseFrom(
      fromContext,
      "volume-context",
      VOLUME_CONTEXT_REMOTE_ACCESS_POLICY,
      options.cache,
    );
  }
  return undefined;
}

/**
 * The StorageClass part of `resolvePolicy()` (steps 3 and 4): the same for
 * every PV of the class, so callers may cache it per class.
 */
export function resolveStorageClassPolicy(
  className: string,
  storageClass: V1StorageClass | undefined,
  options: ResolvePolicyOptions = {},
): ResolvedPolicy | PolicyProblem {
  if (storageClass === undefined) {
    return {
      reason: "StorageClassMissing",
      detail: className === ""
        ? "the PV names no StorageClass and has no volume context"
        : `StorageClass "${className}" does not exist`,
    };
  }
  return resolveParametersPolicy(storageClass.parameters, options);
}

/**
 * The remote-access policy of volume `parameters` (a StorageClass's, or the
 * legacy ones kept in LINSTOR), as linstor-csi's `NewParameters`: the
 * `allowRemoteVolumeAccess` parameter, else the default by layer list.
 */
export function resolveParametersPolicy(
  parameters: Readonly<Record<string, string>> | undefined,
  options: ResolvePolicyOptions & { source?: PolicySource } = {},
): ResolvedPolicy | PolicyProblem {
  const source = options.source ?? "storage-class";
  const policyParam = csiParameterEntry(
    parameters,
    CSI_PARAM_ALLOW_REMOTE_VOLUME_ACCESS,
  );
  if (policyParam !== undefined) {
    return parseFrom(policyParam.value, source, policyParam.key);
  }
  const layers = csiParameterEntry(parameters, CSI_PARAM_LAYER_LIST);
  const networked = layers === undefined ||
    layers.value.split(" ").some((layer) =>
      ["drbd", "nvme"].includes(layer.toLowerCase())
    );
  return {
    policy: networked
      ? options.defaultPolicy ?? POLICY_ANYWHERE
      : POLICY_LOCAL_ONLY,
    source: source === "storage-class" ? "storage-class-default" : source,
    from: layers?.key ?? "",
  };
}

/** Parsed policy texts (or their parse errors), shared by the PVs of one pass. */
export type PolicyCache = Map<string, RemoteAccessPolicy | Error>;

function parseFrom(
  text: string,
  source: PolicySource,
  from: string,
  cache?: PolicyCache,
): ResolvedPolicy | PolicyProblem {
  let parsed = cache?.get(text);
  if (parsed === undefined) {
    try {
      parsed = parseRemoteAccessPolicy(text);
    } catch (error) {
      parsed = error as Error;
    }
    cache?.set(text, parsed);
  }
  if (parsed instanceof Error) {
    return { reason: "InvalidPolicy", detail: `${from}: ${parsed.message}` };
  }
  return { policy: parsed, source, from };
}
