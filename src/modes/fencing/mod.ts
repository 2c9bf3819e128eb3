/**
 * The `fencing` mode: a per-node agent that streams `drbdsetup events2`,
 * decides from this node's DRBD view (the witness rule) which peers lost
 * their storage, and removes opted-in pods
 * (`linstor.csi.linbit.com/on-storage-lost: remove`) from them.
 *
 * @module
 */
export * from "./events2.ts";
export * from "./drbd_state.ts";
export * from "./plan.ts";
export * from "./stream_gen.ts";
export * from "./source.ts";
export * from "./linstor_drbd.ts";
export * from "./mode.ts";
export {
  type ActionObserver,
  type FencingKube,
  fencingOperations,
} from "./_execute.ts";
