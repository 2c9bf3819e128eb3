/**
 * Reconcile support every controller mode shares: named idempotent
 * operations, their bounded leader-gated execution, and the level-triggered
 * loop.
 *
 * @module
 */
export * from "./operation.ts";
export * from "./loop.ts";
export * from "./mode.ts";
export * from "./source.ts";
