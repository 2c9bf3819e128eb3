/**
 * The `affinity` mode: keeps each LINSTOR CSI PV's `spec.nodeAffinity` in
 * line with where LINSTOR holds its healthy diskful replicas, in place when
 * the apiserver allows it, otherwise by a crash-safe replace.
 *
 * @module
 */
export {
  AFFINITY_KINDS,
  type AffinityInputs,
  type AffinityMemory,
  type AffinityMode,
  type AffinityModeDeps,
  type AffinityModeOptions,
  type AffinityPassReport,
  createAffinityMode,
} from "./mode.ts";
export * from "./plan.ts";
export {
  type AffinityLinstor,
  affinityLinstorFrom,
  REPLACE_STEPS,
} from "./_execute.ts";
export {
  accessibleTopology,
  affinityFromSegments,
  affinityMatches,
  prunePattern,
  type TopologyCache,
  type TopologyDoubt,
  type TopologyResult,
} from "./_topology.ts";
export {
  encodeRecord,
  type FoundRecord,
  intendedPv,
  RECORD_VERSION,
  type RecordLocation,
  type RecoveryRecord,
} from "./_record.ts";
