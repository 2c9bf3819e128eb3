/**
 * `linstor-suite doctor`'s pure core: checks (name, status, detail, fix)
 * computed from what the CLI gathered at the edges, and their table or JSON
 * output. See docs/doctor.md.
 *
 * @module
 */
export * from "./check.ts";
export * from "./report.ts";
export * from "./linstor.ts";
export * from "./property_namespace.ts";
export * from "./kubernetes.ts";
export * from "./scheduler.ts";
export * from "./lvm.ts";
