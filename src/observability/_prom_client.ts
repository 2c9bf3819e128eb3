/**
 * prom-client's registry and metric classes, each from its own module. The
 * package's index also loads its push gateway client (`node:http`,
 * `node:https`, `node:zlib`), its cluster aggregator (`node:cluster`) and
 * summaries (`tdigest`), none of which the suite uses: about 3 MiB of
 * resident memory per process (docs/benchmarks.md, "The process floor").
 * These are the very classes the index exports (it re-exports these
 * modules), typed by the package's own declarations.
 *
 * @module
 */
import type * as PromClient from "prom-client";
import registryModule from "prom-client/lib/registry.js";
import counterModule from "prom-client/lib/counter.js";
import gaugeModule from "prom-client/lib/gauge.js";
import histogramModule from "prom-client/lib/histogram.js";
import defaultMetricsModule from "prom-client/lib/defaultMetrics.js";

/** prom-client's `Registry`. */
export const Registry: typeof PromClient.Registry = registryModule;
/** A prom-client registry. */
export type Registry = PromClient.Registry;
/** prom-client's `Counter`. */
export const Counter: typeof PromClient.Counter = counterModule;
/** A prom-client counter. */
export type Counter<T extends string = string> = PromClient.Counter<T>;
/** prom-client's `Gauge`. */
export const Gauge: typeof PromClient.Gauge = gaugeModule;
/** A prom-client gauge. */
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
/** prom-client's `Histogram`. */
export const Histogram: typeof PromClient.Histogram = histogramModule;
/** A prom-client histogram. */
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
/** prom-client's `collectDefaultMetrics()`. */
export const collectDefaultMetrics: typeof PromClient.collectDefaultMetrics =
  defaultMetricsModule;
