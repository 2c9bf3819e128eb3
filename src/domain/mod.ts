/**
 * The domain rules every mode shares, each implemented once: the LINSTOR CSI
 * volume handle and resource name; replica role and health; snapshot
 * freshness; Go durations; Kubernetes quantities; the LINSTOR property
 * namespace; the YAML of configuration texts. Pure code: no I/O, no
 * clock, no `@kubernetes/client-node` at runtime (types only).
 *
 * @module
 */
export * from "./duration.ts";
export * from "./freshness.ts";
export * from "./property_namespace.ts";
export * from "./quantity.ts";
export * from "./replica.ts";
export * from "./volume_handle.ts";
export * from "./yaml.ts";
