/**
 * Prometheus metrics of the LINSTOR client.
 *
 * @module
 */
import { Counter, Histogram, type Registry } from "../observability/mod.ts";
import {
  METRIC_LINSTOR_FAILOVERS_TOTAL,
  METRIC_LINSTOR_REQUEST_DURATION_SECONDS,
  METRIC_LINSTOR_REQUESTS_TOTAL,
} from "../constants.ts";

/** One finished HTTP attempt. */
export interface AttemptRecord {
  method: string;
  controller: string;
  /** HTTP status code, `timeout` or `connection`. */
  outcome: string;
  seconds: number;
}

/** What the transport reports; every method may be a no-op. */
export interface TransportObserver {
  attempt(record: AttemptRecord): void;
  failover(from: string, to: string): void;
}

/** An observer that records nothing. */
export const NO_OBSERVER: TransportObserver = Object.freeze({
  attempt() {},
  failover() {},
});

/**
 * Registers (or reuses, when another client registered them already) the
 * `linstor_suite_linstor_*` metrics in `registry`.
 */
export function registerLinstorMetrics(registry: Registry): TransportObserver {
  const requests = reuse(
    registry,
    METRIC_LINSTOR_REQUESTS_TOTAL,
    () =>
      new Counter({
        name: METRIC_LINSTOR_REQUESTS_TOTAL,
        help:
          "LINSTOR HTTP attempts by method, controller and outcome (status code, timeout, connection)",
        labelNames: ["method", "controller", "outcome"] as const,
        registers: [registry],
      }),
  );
  const duration = reuse(
    registry,
    METRIC_LINSTOR_REQUEST_DURATION_SECONDS,
    () =>
      new Histogram({
        name: METRIC_LINSTOR_REQUEST_DURATION_SECONDS,
        help: "Duration of LINSTOR HTTP attempts in seconds",
        labelNames: ["method"] as const,
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      }),
  );
  const failovers = reuse(
    registry,
    METRIC_LINSTOR_FAILOVERS_TOTAL,
    () =>
      new Counter({
        name: METRIC_LINSTOR_FAILOVERS_TOTAL,
        help: "Switches of the active LINSTOR controller",
        registers: [registry],
      }),
  );
  return {
    attempt(record) {
      requests.inc({
        method: record.method,
        controller: record.controller,
        outcome: record.outcome,
      });
      duration.observe({ method: record.method }, record.seconds);
    },
    failover() {
      failovers.inc();
    },
  };
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
