/**
 * linstor-csi's placement policy (which volume scheduler created a volume,
 * and so which accessible-topology rule its PV got) and the legacy volume
 * parameters kept in LINSTOR for volumes created before the volume context.
 *
 * @module
 */
import {
  CSI_PARAM_CLIENT_LIST,
  CSI_PARAM_NODE_LIST,
  CSI_PARAM_PLACEMENT_POLICY,
  LINSTOR_PROP_CSI_LEGACY_PARAMETERS,
} from "../constants.ts";
import { csiParameterEntry } from "./_parameters.ts";
import type { PolicyProblem } from "./_policy.ts";

/** linstor-csi's volume schedulers (`placementPolicy` values). */
export type PlacementPolicy =
  | "Manual"
  | "AutoPlace"
  | "FollowTopology"
  | "Balanced"
  | "AutoPlaceTopology";

const PLACEMENT_POLICIES: readonly PlacementPolicy[] = [
  "Manual",
  "AutoPlace",
  "FollowTopology",
  "Balanced",
  "AutoPlaceTopology",
];

/**
 * The placement policy linstor-csi derives from volume `parameters`:
 * `placementPolicy` compared case-insensitively (default
 * `AutoPlaceTopology`), and `Manual` whenever `nodeList` or `clientList` is
 * given. Every policy but `Balanced` reports the generic accessible
 * topology; `Balanced` reports the replicas' rack.
 */
export function placementPolicyOf(
  parameters: Readonly<Record<string, string>> | undefined,
): PlacementPolicy | PolicyProblem {
  if (
    csiParameterEntry(parameters, CSI_PARAM_NODE_LIST) !== undefined ||
    csiParameterEntry(parameters, CSI_PARAM_CLIENT_LIST) !== undefined
  ) {
    return "Manual";
  }
  const entry = csiParameterEntry(parameters, CSI_PARAM_PLACEMENT_POLICY);
  if (entry === undefined) return "AutoPlaceTopology";
  const wanted = entry.value.toLowerCase();
  const policy = PLACEMENT_POLICIES.find((p) => p.toLowerCase() === wanted);
  if (policy === undefined) {
    return {
      reason: "InvalidPolicy",
      detail: `${entry.key}: "${entry.value}" is not a placement policy (${
        PLACEMENT_POLICIES.join(", ")
      })`,
    };
  }
  return policy;
}

/**
 * The volume parameters linstor-csi kept in the resource-definition
 * property `Aux/csi-volume-annotations` (`{"parameters": {…}}`) for volumes
 * created before it wrote a volume context into the PV; `undefined` when the
 * property is absent.
 */
export function legacyVolumeParameters(
  resourceDefinitionProps: Readonly<Record<string, string>>,
):
  | { readonly parameters: Readonly<Record<string, string>> }
  | PolicyProblem
  | undefined {
  const raw = resourceDefinitionProps[LINSTOR_PROP_CSI_LEGACY_PARAMETERS];
  if (raw === undefined) return undefined;
  const invalid = (why: string): PolicyProblem => ({
    reason: "InvalidPolicy",
    detail: `LINSTOR property ${LINSTOR_PROP_CSI_LEGACY_PARAMETERS}: ${why}`,
  });
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return invalid("not JSON");
  }
  const parameters = (value as { parameters?: unknown } | null)?.parameters;
  if (parameters === undefined || parameters === null) {
    return { parameters: {} };
  }
  if (
    typeof parameters !== "object" || Array.isArray(parameters) ||
    Object.values(parameters).some((v) => typeof v !== "string")
  ) {
    return invalid('"parameters" is not a map of strings');
  }
  return { parameters: parameters as Record<string, string> };
}
