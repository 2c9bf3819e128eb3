/**
 * Test builders: LINSTOR wire objects, Kubernetes objects and snapshots.
 *
 * @module
 */
export * from "./linstor.ts";
export * from "./kube.ts";
export * from "./snapshot.ts";
export * from "./projection_guard.ts";
