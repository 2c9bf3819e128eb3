/**
 * The node agent: LVM volume groups and thin pools tagged `linstor-<pool>`
 * become LINSTOR storage pools, and StorageClasses `linstor-<pool>-r1..rN`
 * follow. See `docs/agent.md`.
 *
 * @module
 */
export * from "./plan.ts";
export {
  type CandidateOptions,
  type CandidateSet,
  findCandidates,
  type InvalidTag,
  type PoolCandidate,
  type PoolCapacity,
  type PoolConflict,
  type PoolKind,
  poolNameProblem,
} from "./_candidates.ts";
export {
  type LogicalVolume,
  type LvmCommandOptions,
  lvmCommands,
  type LvmReport,
  parseLogicalVolumes,
  parseVolumeGroups,
  type VolumeGroup,
} from "./_lvm.ts";
export {
  type AgentKube,
  type AgentLinstor,
  type NodeEvents,
  nodeEventsFrom,
  poolOperations,
  poolProps,
  storageClassOperations,
  StoragePoolError,
} from "./_operations.ts";
export * from "./mode.ts";
export * from "./scan.ts";
