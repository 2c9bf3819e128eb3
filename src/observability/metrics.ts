/**
 * Prometheus metrics support. The registry is created by the CLI and passed
 * down; there is no global registry.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "./_registry.ts";
import {
  METRIC_BUILD_INFO,
  METRIC_LEADER,
  METRIC_LEADER_ELECTION_MASTER_STATUS,
  METRIC_LOOP_LAST_SUCCESS,
  METRIC_LOOP_PASSES_TOTAL,
  VERSION,
} from "../constants.ts";
import type { OperationMetrics } from "../reconcile/mod.ts";
import type { HeapSpace, ProcessStats } from "../system/mod.ts";

export {
  Counter,
  formatMetric,
  formatValue,
  Gauge,
  Histogram,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
} from "./_registry.ts";
export type {
  HistogramConfiguration,
  LabelValues,
  Metric,
  MetricConfiguration,
  MetricSnapshot,
  MetricType,
  MetricValue,
} from "./_registry.ts";

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
 * Registers the standard process metrics, under the names prom-client's
 * default metrics used: `process_cpu_seconds_total` (and its user and
 * system parts), `process_start_time_seconds`,
 * `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
 * `process_heap_bytes`, `process_open_fds`, `process_max_fds`, event-loop lag
 * at scrape time (`nodejs_eventloop_lag_seconds`; not prom-client's min … p99
 * gauges), `nodejs_active_resources{type}` and their
 * total, V8's heap (`nodejs_heap_size_total_bytes`,
 * `nodejs_heap_size_used_bytes`, `nodejs_external_memory_bytes`, per space
 * `nodejs_heap_space_size_{total,used,available}_bytes{space}`) and
 * `nodejs_version_info`. `stats` is read when `/metrics` is scraped.
 */
export function registerProcessMetrics(
  registry: Registry,
  options: { stats: ProcessStats },
): void {
  const { stats } = options;
  const cpuSeconds = {
    user: () => stats.cpu().userSeconds,
    system: () => stats.cpu().systemSeconds,
    "": () => {
      const cpu = stats.cpu();
      return cpu.userSeconds + cpu.systemSeconds;
    },
  };
  for (const [part, read] of Object.entries(cpuSeconds)) {
    let last = 0;
    new Counter({
      name: `process_cpu_${part ? `${part}_` : ""}seconds_total`,
      help: `Total ${part || "user and system"} CPU time spent in seconds.`,
      registers: [registry],
      collect() {
        const now = read();
        this.inc(Math.max(0, now - last));
        last = Math.max(now, last);
      },
    });
  }
  const start = stats.startTimeSeconds();
  gauge(registry, "process_start_time_seconds", {
    help: "Start time of the process since unix epoch in seconds.",
    read: () => start,
  });
  const memory = stats.memory();
  gauge(registry, "process_resident_memory_bytes", {
    help: "Resident memory size in bytes.",
    read: () => stats.memory().residentBytes,
  });
  if (memory.virtualBytes !== undefined) {
    gauge(registry, "process_virtual_memory_bytes", {
      help: "Virtual memory size in bytes.",
      read: () => stats.memory().virtualBytes,
    });
  }
  if (memory.heapBytes !== undefined) {
    gauge(registry, "process_heap_bytes", {
      help: "Process heap size in bytes.",
      read: () => stats.memory().heapBytes,
    });
  }
  if (stats.openFds() !== undefined) {
    gauge(registry, "process_open_fds", {
      help: "Number of open file descriptors.",
      read: () => stats.openFds(),
    });
  }
  const maxFds = stats.maxFds();
  if (maxFds !== undefined) {
    gauge(registry, "process_max_fds", {
      help: "Maximum number of open file descriptors.",
      read: () => maxFds,
    });
  }
  // Only the probe at scrape time: the min … p99 gauges prom-client derived
  // from `monitorEventLoopDelay()` would keep its 2–20 MiB histogram.
  new Gauge({
    name: "nodejs_eventloop_lag_seconds",
    help: "Lag of event loop in seconds.",
    registers: [registry],
    async collect() {
      this.set(await stats.eventLoopLagSeconds());
    },
  });
  new Gauge({
    name: "nodejs_active_resources",
    help:
      "Number of active resources that are currently keeping the event loop alive, grouped by async resource type.",
    labelNames: ["type"],
    registers: [registry],
    collect() {
      this.reset();
      for (const type of stats.activeResources()) this.inc({ type });
    },
  });
  gauge(registry, "nodejs_active_resources_total", {
    help: "Total number of active resources.",
    read: () => stats.activeResources().length,
  });
  gauge(registry, "nodejs_heap_size_total_bytes", {
    help: "Process heap size from Node.js in bytes.",
    read: () => stats.heap().totalBytes,
  });
  gauge(registry, "nodejs_heap_size_used_bytes", {
    help: "Process heap size used from Node.js in bytes.",
    read: () => stats.heap().usedBytes,
  });
  gauge(registry, "nodejs_external_memory_bytes", {
    help: "Node.js external memory size in bytes.",
    read: () => stats.heap().externalBytes,
  });
  const spaces = {
    total: (space: HeapSpace) => space.totalBytes,
    used: (space: HeapSpace) => space.usedBytes,
    available: (space: HeapSpace) => space.availableBytes,
  };
  for (const [kind, read] of Object.entries(spaces)) {
    new Gauge({
      name: `nodejs_heap_space_size_${kind}_bytes`,
      help: `Process heap space size ${kind} from Node.js in bytes.`,
      labelNames: ["space"],
      registers: [registry],
      collect() {
        for (const space of stats.heapSpaces()) {
          this.set({ space: space.space }, read(space));
        }
      },
    });
  }
  const version = stats.runtimeVersion();
  const [major = "", minor = "", patch = ""] = version.replace(/^v/, "")
    .split(".");
  new Gauge({
    name: "nodejs_version_info",
    help: "Node.js version info.",
    labelNames: ["version", "major", "minor", "patch"],
    registers: [registry],
  }).set({ version, major, minor, patch }, 1);
}

/** A gauge without labels set to `read()` at scrape time (unset if undefined). */
function gauge(
  registry: Registry,
  name: string,
  options: { help: string; read: () => number | undefined },
): Gauge {
  return new Gauge({
    name,
    help: options.help,
    registers: [registry],
    collect() {
      const value = options.read();
      if (value !== undefined) this.set(value);
    },
  });
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
