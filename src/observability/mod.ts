/**
 * Logging, metrics and health endpoints shared by every mode.
 *
 * @module
 */
export * from "./logging.ts";
export * from "./metrics.ts";
export * from "./health.ts";
