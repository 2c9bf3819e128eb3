/**
 * The Kubernetes port (`KubeApi`), its real adapter over
 * `@kubernetes/client-node`, informers, leader election and pure object
 * helpers. Modes import only from here.
 *
 * @module
 */
export * from "./api.ts";
export * from "./errors.ts";
export * from "./objects.ts";
export * from "./informer.ts";
export * from "./leader.ts";
export * from "./adapter.ts";
