/**
 * Prometheus metrics support. The registry is created by the CLI and passed
 * down; nothing registers into prom-client's global registry.
 *
 * @module
 */
import { collectDefaultMetrics, Gauge, Registry } from "./_prom_client.ts";
import {
  METRIC_BUILD_INFO,
  METRIC_LEADER,
  METRIC_LEADER_ELECTION_MASTER_STATUS,
  METRIC_LOOP_LAST_SUCCESS,
  METRIC_LOOP_PASSES_TOTAL,
  VERSION,
} from "../constants.ts";
import type { OperationMetrics } from "../reconcile/mod.ts";
import { Counter, Histogram } from "./_prom_client.ts";

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
 * Registers the standard process metrics (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `process_start_time_seconds`,
 * `process_open_fds`, heap and event-loop lag) into `registry`; they are
 * read when `/metrics` is scraped.
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
}

/** Sets the leader-status gauges of one replica. */
export interface LeaderMetric {
  /** Records whether this replica leads now. */
  set(leading: boolean): void;
}

/**
 * The leader-status metrics of a mode: `linstor_suite_leader{mode, lease}`
 * and client-go's `leader_election_master_status{name}` (1 leading, 0 not),
 * starting at `leading`.
 */
export function createLeaderMetric(
  registry: Registry,
  options: { mode: string; lease: string; leading: boolean },
): LeaderMetric {
  const leader = new Gauge({
    name: METRIC_LEADER,
    help:
      "1 while this replica leads its mode's Lease (or acts without leader election), else 0.",
    labelNames: ["mode", "lease"],
    registers: [registry],
  });
  const master = new Gauge({
    name: METRIC_LEADER_ELECTION_MASTER_STATUS,
    help: "Leader-election status as client-go reports it: 1 leading, 0 not.",
    labelNames: ["name"],
    registers: [registry],
  });
  const metric: LeaderMetric = {
    set(leading) {
      const value = leading ? 1 : 0;
      leader.set({ mode: options.mode, lease: options.lease }, value);
      master.set({ name: options.lease }, value);
    },
  };
  metric.set(options.leading);
  return metric;
}

/** Records the passes of a mode's loop. */
export interface LoopMetrics {
  /** Records one pass (give it to `runLoop()` `onPass`). */
  record(result: { endedAt: number; ok: boolean }): void;
}

/**
 * The loop metrics of a mode: `linstor_suite_loop_passes_total{mode,result}`
 * and `linstor_suite_loop_last_success_timestamp_seconds{mode}` (absent until
 * a pass succeeded), so a stuck controller shows as an old timestamp.
 */
export function createLoopMetrics(
  registry: Registry,
  options: { mode: string },
): LoopMetrics {
  const passes = new Counter({
    name: METRIC_LOOP_PASSES_TOTAL,
    help: "Passes of a mode's loop by result (ok, error).",
    labelNames: ["mode", "result"],
    registers: [registry],
  });
  passes.inc({ mode: options.mode, result: "ok" }, 0);
  passes.inc({ mode: options.mode, result: "error" }, 0);
  const lastSuccess = new Gauge({
    name: METRIC_LOOP_LAST_SUCCESS,
    help:
      "When a mode's loop last finished a pass without error, in seconds since the epoch.",
    labelNames: ["mode"],
    registers: [registry],
  });
  return {
    record(result) {
      passes.inc({ mode: options.mode, result: result.ok ? "ok" : "error" });
      if (result.ok) {
        lastSuccess.set({ mode: options.mode }, result.endedAt / 1000);
      }
    },
  };
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
