/**
 * Prometheus metrics support. The registry is created by the CLI and passed
 * down; nothing registers into prom-client's global registry.
 *
 * @module
 */
import { Gauge, Registry } from "prom-client";
import { METRIC_BUILD_INFO, VERSION } from "../constants.ts";
import type { OperationMetrics } from "../reconcile/mod.ts";
import { Counter, Histogram } from "prom-client";

export { Counter, Gauge, Histogram, Registry };

/** Creates a registry holding `linstor_suite_build_info{version, mode}`. */
export function createRegistry(options: { mode: string }): Registry {
  const registry = new Registry();
  const info = new Gauge({
    name: METRIC_BUILD_INFO,
    help: "Build information of linstor-suite; always 1.",
    labelNames: ["version", "mode"],
    registers: [registry],
  });
  info.set({ version: VERSION, mode: options.mode }, 1);
  return registry;
}

/**
 * Operation metrics for `executeOperations()`:
 * `<prefix>_operations_total{operation,outcome}` and
 * `<prefix>_operation_duration_seconds{operation}`.
 */
export function createOperationMetrics(
  registry: Registry,
  options: { prefix: string },
): OperationMetrics {
  const total = new Counter({
    name: `${options.prefix}_operations_total`,
    help:
      "Operations by name and outcome (success, error, dry-run, not-leader, aborted).",
    labelNames: ["operation", "outcome"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${options.prefix}_operation_duration_seconds`,
    help: "Duration of executed operations.",
    labelNames: ["operation"],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  return {
    observe(name, outcome, seconds) {
      total.inc({ operation: name, outcome });
      if (outcome === "success" || outcome === "error") {
        duration.observe({ operation: name }, seconds);
      }
    },
  };
}
