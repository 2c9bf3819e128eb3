/**
 * Prometheus metrics of the extender, registered on a registry the CLI owns.
 *
 * @module
 */
import {
  Counter,
  Gauge,
  Histogram,
  type Registry,
} from "../../observability/mod.ts";
import {
  METRIC_EXTENDER_FAIL_OPEN_TOTAL,
  METRIC_EXTENDER_LINSTOR_DATA_AGE_SECONDS,
  METRIC_EXTENDER_NODE_OBJECTS_TOTAL,
  METRIC_EXTENDER_PRIORITIZE_REUSE_TOTAL,
  METRIC_EXTENDER_REJECTED_NODES_TOTAL,
  METRIC_EXTENDER_REQUEST_DURATION_SECONDS,
  METRIC_EXTENDER_REQUESTS_TOTAL,
  METRIC_EXTENDER_RESERVATIONS,
  METRIC_EXTENDER_RESERVED_BYTES,
} from "../../constants.ts";
import type { Reservations } from "./_reservations.ts";

/** The extender's metrics. */
export interface ExtenderMetrics {
  readonly requests: Counter<"verb" | "outcome">;
  readonly duration: Histogram<"verb">;
  readonly failOpen: Counter<"reason">;
  readonly rejected: Counter<"predicate">;
  /** Prioritize requests that reused (hit) or could not reuse (miss) their pod's filter. */
  readonly prioritizeReuse?: Counter<"result">;
  /**
   * Node objects received (`nodeCacheCapable: false`): recognised by their
   * text (known), parsed alone (parsed), or in a body decoded in full (full).
   */
  readonly nodeObjects?: Counter<"decode">;
}

/**
 * Creates and registers the extender metrics on `registry`; `reservations`
 * and `dataAgeSeconds` feed gauges read at scrape time.
 */
export function createExtenderMetrics(
  registry: Registry,
  options: {
    reservations?: Reservations;
    dataAgeSeconds?: () => number | undefined;
  } = {},
): ExtenderMetrics {
  const requests = new Counter({
    name: METRIC_EXTENDER_REQUESTS_TOTAL,
    help:
      "Extender requests by verb and outcome (ok, fail_open, bad_request, too_large, not_found, deadline, error).",
    labelNames: ["verb", "outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: METRIC_EXTENDER_REQUEST_DURATION_SECONDS,
    help: "Time to answer an extender request, body read included.",
    labelNames: ["verb"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 4],
    registers: [registry],
  });
  const failOpen = new Counter({
    name: METRIC_EXTENDER_FAIL_OPEN_TOTAL,
    help:
      "Requests answered without an opinion because data was stale, unsynced, late or an internal error occurred.",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: METRIC_EXTENDER_REJECTED_NODES_TOTAL,
    help: "Nodes rejected by the filter, by predicate.",
    labelNames: ["predicate"] as const,
    registers: [registry],
  });
  const prioritizeReuse = new Counter({
    name: METRIC_EXTENDER_PRIORITIZE_REUSE_TOTAL,
    help:
      "Prioritize requests that reused the candidates and capacity fits of the same pod's filter (hit) or computed them afresh (miss).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  const nodeObjects = new Counter({
    name: METRIC_EXTENDER_NODE_OBJECTS_TOTAL,
    help:
      "Node objects received, by decoding: known (recognised by their text), parsed (new text, parsed alone), full (body not in kube-scheduler's layout, decoded whole).",
    labelNames: ["decode"] as const,
    registers: [registry],
  });
  const reservations = options.reservations;
  new Gauge({
    name: METRIC_EXTENDER_RESERVATIONS,
    help: "Active capacity reservations (one per claim).",
    registers: [registry],
    collect() {
      this.set(reservations ? reservations.view().all().length : 0);
    },
  });
  new Gauge({
    name: METRIC_EXTENDER_RESERVED_BYTES,
    help:
      "Bytes held by active reservations, by LINSTOR node and storage pool.",
    labelNames: ["node", "pool"] as const,
    registers: [registry],
    collect() {
      this.reset();
      if (!reservations) return;
      const totals = new Map<string, number>();
      for (const r of reservations.view().all()) {
        for (const [node, pool] of r.nodes) {
          const key = `${node}\u0000${pool}`;
          totals.set(key, (totals.get(key) ?? 0) + r.sizeKib * 1024);
        }
      }
      for (const [key, bytes] of totals) {
        const [node, pool] = key.split("\u0000");
        this.set({ node: node ?? "", pool: pool ?? "" }, bytes);
      }
    },
  });
  const dataAge = options.dataAgeSeconds;
  new Gauge({
    name: METRIC_EXTENDER_LINSTOR_DATA_AGE_SECONDS,
    help:
      "Age of the LINSTOR data the extender decides on (-1 before the first poll).",
    registers: [registry],
    collect() {
      this.set(dataAge?.() ?? -1);
    },
  });
  return {
    requests,
    duration,
    failOpen,
    rejected,
    prioritizeReuse,
    nodeObjects,
  };
}
