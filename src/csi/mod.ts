/**
 * linstor-csi semantics both modes must agree on: the remote-access policy
 * (parsing and resolution for a PV or a StorageClass), StorageClass parameter
 * lookup and the topologies a policy allows.
 *
 * @module
 */
export {
  type CsiParameter,
  csiParameter,
  csiParameterEntry,
} from "./_parameters.ts";
export {
  isAnywhere,
  parseRemoteAccessPolicy,
  POLICY_ANYWHERE,
  POLICY_LOCAL_ONLY,
  type PolicyCache,
  type PolicyProblem,
  type PolicySource,
  type RemoteAccessPolicy,
  type RemoteAccessRule,
  requiresLocalReplica,
  type ResolvedPolicy,
  resolveParametersPolicy,
  resolvePolicy,
  type ResolvePolicyOptions,
  resolvePvPolicy,
  resolveStorageClassPolicy,
} from "./_policy.ts";
export {
  legacyVolumeParameters,
  type PlacementPolicy,
  placementPolicyOf,
} from "./_placement.ts";
export { allowedTopologies, inTopologies, type Segment } from "./_topology.ts";
