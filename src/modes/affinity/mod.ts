/**
 * The `affinity` mode: keeps each LINSTOR CSI PV's `spec.nodeAffinity` in
 * line with where LINSTOR holds its healthy diskful replicas, in place when
 * the apiserver allows it, otherwise by a crash-safe replace.
 *
 * @module
 */
export {
  type AffinityMode,
  type AffinityModeDeps,
  type AffinityModeOptions,
  type AffinityPassReport,
  createAffinityMode,
  detectPropertyNamespace,
} from "./mode.ts";
export * from "./plan.ts";
export {
  type AffinityExecutorDeps,
  type AffinityExecutorOptions,
  type AffinityLinstor,
  affinityLinstorFrom,
  createAffinityOperation,
  REPLACE_STEPS,
} from "./_execute.ts";
export {
  accessibleTopology,
  affinityFromSegments,
  affinityMatches,
  describeSegments,
  parseVolumeHandle,
  prunePattern,
  type ReplicaStanding,
  replicaStanding,
  segmentKey,
  termToSegment,
  type TopologyCache,
  type TopologyDoubt,
  type TopologyResult,
  type VolumeHandle,
} from "./_topology.ts";
export {
  decodeRecord,
  encodeRecord,
  type FoundRecord,
  intendedPv,
  RECORD_VERSION,
  type RecordLocation,
  type RecoveryRecord,
  TRANSIENT_ANNOTATIONS,
} from "./_record.ts";
