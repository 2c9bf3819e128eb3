/**
 * The Kubernetes port (`KubeApi`), informers, leader election, errors and
 * pure object helpers. Modes and the state model import only from here; none
 * of it loads `@kubernetes/client-node` at runtime (its model types are
 * imported as types only). The real adapter is `src/kube/client/mod.ts`,
 * imported by the CLI layer alone.
 *
 * @module
 */
export * from "./api.ts";
export * from "./api_base.ts";
export * from "./errors.ts";
export * from "./objects.ts";
export * from "./informer.ts";
export * from "./projection.ts";
export * from "./leader.ts";
export * from "./diagnostics.ts";
