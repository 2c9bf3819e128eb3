/**
 * The cluster state model: one `ClusterState` per process, fed by one LINSTOR
 * poller and the Kubernetes informers a mode subscribes to, handing out
 * immutable, indexed `Snapshot`s; plus pure queries over snapshots.
 *
 * @module
 */
export type * from "./types.ts";
export * from "./cluster_state.ts";
export * from "./describe.ts";
export * from "./kube_index.ts";
export * from "./linstor_view.ts";
export * from "./poller.ts";
export * from "./queries.ts";
export * from "./linstor_reader.ts";
