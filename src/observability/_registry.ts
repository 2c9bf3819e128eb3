/**
 * A small Prometheus metrics registry: counters, gauges and histograms with
 * labels, values computed at scrape time (`collect`), and the text
 * exposition format 0.0.4. It replaces prom-client, whose CommonJS modules
 * and their `node:` imports cost a mode's process 1.3–2.5 MiB of resident
 * memory (docs/benchmarks.md, "Our own metrics registry instead of
 * prom-client"). It keeps prom-client's
 * output where our tests, docs and dashboards rely on it: metrics in
 * registration order, each as `# HELP` and `# TYPE` lines followed by its
 * series in the order they were first set, metrics separated by an empty
 * line; a histogram's `le` label first, buckets cumulative, then `+Inf`,
 * `_sum` and `_count`; a metric without labels starts at 0.
 *
 * @module
 */

/** The values of a series' labels, by label name. */
export type LabelValues<T extends string = string> = Partial<
  Record<T, string | number>
>;

/** One exported sample. */
export interface MetricValue<T extends string = string> {
  /** The series' labels (a histogram's bucket samples add `le`). */
  readonly labels: LabelValues<T> & { readonly le?: string | number };
  readonly value: number;
  /** The sample's name when it is not the metric's (`_bucket`, `_sum`, `_count`). */
  readonly metricName?: string;
}

/** A metric as read at one moment. */
export interface MetricSnapshot<T extends string = string> {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly values: readonly MetricValue<T>[];
}

/** The Prometheus metric types this registry exports. */
export type MetricType = "counter" | "gauge" | "histogram";

/** What every metric offers the registry. */
export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** The label names the metric was declared with. */
  readonly labelNames: readonly string[];
  /** Runs `collect` (if any) and reads every series. */
  get(): Promise<MetricSnapshot>;
}

/** Options shared by every metric. */
export interface MetricConfiguration<T extends string, Self> {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  name: string;
  /** One line (newlines and backslashes are escaped). */
  help: string;
  /**
   * The label names a series may carry (`[a-zA-Z_][a-zA-Z0-9_]*`).
   *
   * @default {[]}
   */
  labelNames?: readonly T[];
  /**
   * Registries to register the metric in; there is no global registry.
   *
   * @default {[]}
   */
  registers?: readonly Registry[];
  /** Called with the metric as `this` before it is read (scrape time). */
  collect?: (this: Self) => void | Promise<void>;
}

/** Options of a `Histogram`. */
export interface HistogramConfiguration<T extends string>
  extends MetricConfiguration<T, Histogram<T>> {
  /**
   * Upper bounds of the buckets, strictly increasing (`+Inf` is implied).
   *
   * @default {[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]}
   */
  buckets?: readonly number[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

/** The content type of the text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/** Metrics exported together on one `/metrics` endpoint. */
export class Registry {
  readonly #metrics = new Map<string, Metric>();

  /** The content type of `metrics()`. */
  get contentType(): string {
    return PROMETHEUS_CONTENT_TYPE;
  }

  /** Adds `metric`; a second metric of the same name is refused. */
  registerMetric(metric: Metric): void {
    const known = this.#metrics.get(metric.name);
    if (known !== undefined && known !== metric) {
      throw new RangeError(
        `Cannot register metric "${metric.name}": a metric of that name is registered already`,
      );
    }
    this.#metrics.set(metric.name, metric);
  }

  /** The metric registered as `name`, if any. */
  getSingleMetric(name: string): Metric | undefined {
    return this.#metrics.get(name);
  }

  /** Every metric, in registration order. */
  getMetricsAsArray(): Metric[] {
    return [...this.#metrics.values()];
  }

  /** Every metric in the text exposition format 0.0.4. */
  async metrics(): Promise<string> {
    const blocks: string[] = [];
    for (const metric of this.#metrics.values()) {
      blocks.push(formatMetric(await metric.get()));
    }
    return `${blocks.join("\n\n")}\n`;
  }
}

/** One metric in the text format: HELP, TYPE, then one line per sample. */
export function formatMetric(snapshot: MetricSnapshot): string {
  const lines = [
    `# HELP ${snapshot.name} ${escapeHelp(snapshot.help)}`,
    `# TYPE ${snapshot.name} ${snapshot.type}`,
  ];
  for (const sample of snapshot.values) {
    const labels = Object.entries(sample.labels)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name}="${escapeLabelValue(String(value))}"`);
    const name = sample.metricName ?? snapshot.name;
    const braces = labels.length > 0 ? `{${labels.join(",")}}` : "";
    lines.push(`${name}${braces} ${formatValue(sample.value)}`);
  }
  return lines.join("\n");
}

/** A sample value as the text format writes it (`+Inf`, `-Inf`, `NaN`). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabelValue(text: string): string {
  return escapeHelp(text).replaceAll('"', '\\"');
}

interface Series<T extends string, V> {
  labels: LabelValues<T>;
  value: V;
}

/** The label bookkeeping every metric type shares. */
class Family<T extends string, V> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  readonly #sortedNames: readonly T[];
  #series = new Map<string, Series<T, V>>();

  constructor(
    config: { name: string; help: string; labelNames?: readonly T[] },
  ) {
    if (!METRIC_NAME.test(config.name)) {
      throw new TypeError(
        `Cannot create metric "${config.name}": the name must match ${METRIC_NAME.source}`,
      );
    }
    if (!config.help) {
      throw new TypeError(
        `Cannot create metric "${config.name}": help text is missing`,
      );
    }
    const labelNames = [...(config.labelNames ?? [])];
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith("__")) {
        throw new TypeError(
          `Cannot create metric "${config.name}": label name "${label}" is invalid`,
        );
      }
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new TypeError(
        `Cannot create metric "${config.name}": a label name is repeated`,
      );
    }
    this.name = config.name;
    this.help = config.help;
    this.labelNames = Object.freeze(labelNames);
    this.#sortedNames = Object.freeze([...labelNames].sort());
  }

  /** The series of `labels`, created with `initial()` when it is new. */
  series(labels: LabelValues<T>, initial: () => V): Series<T, V> {
    const key = this.#key(labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels: { ...labels }, value: initial() };
      this.#series.set(key, series);
    }
    return series;
  }

  /** Forgets the series of `labels`. */
  remove(labels: LabelValues<T>): void {
    this.#series.delete(this.#key(labels));
  }

  /** Forgets every series. */
  clear(): void {
    this.#series = new Map();
  }

  /** Every series, in the order they were first set. */
  all(): IterableIterator<Series<T, V>> {
    return this.#series.values();
  }

  #key(labels: LabelValues<T>): string {
    for (const name of Object.keys(labels)) {
      if (!(this.labelNames as readonly string[]).includes(name)) {
        throw new TypeError(
          `Cannot set label "${name}" of metric "${this.name}": it is not one of its labels (${
            this.labelNames.join(", ")
          })`,
        );
      }
    }
    // Unset labels are absent, as in a series that never had them.
    let key = "";
    for (const name of this.#sortedNames) {
      const value = labels[name];
      if (value !== undefined) key += `${name}\u0000${value}\u0001`;
    }
    return key;
  }
}

function splitArguments<T extends string>(
  labelsOrValue: LabelValues<T> | number | undefined,
  value: number | undefined,
): [LabelValues<T>, number | undefined] {
  return typeof labelsOrValue === "object"
    ? [labelsOrValue, value]
    : [{}, labelsOrValue];
}

function register(metric: Metric, registers: readonly Registry[] = []): void {
  for (const registry of registers) registry.registerMetric(metric);
}

/**
 * What every kind of metric shares: its series by labels, its name, help
 * and label names, and the `collect` it runs before it is read.
 */
abstract class LabelledMetric<T extends string, V> {
  protected readonly family: Family<T, V>;
  readonly #collect: (() => void | Promise<void>) | undefined;

  constructor(config: MetricConfiguration<T, never>) {
    this.family = new Family(config);
    const collect = config.collect as
      | ((this: unknown) => void | Promise<void>)
      | undefined;
    this.#collect = collect && (() => collect.call(this));
  }

  /** The metric's name. */
  get name(): string {
    return this.family.name;
  }
  /** The metric's help text. */
  get help(): string {
    return this.family.help;
  }
  /** The label names the metric was declared with. */
  get labelNames(): readonly T[] {
    return this.family.labelNames;
  }

  /** Forgets the series of `labels`. */
  remove(labels: LabelValues<T>): void {
    this.family.remove(labels);
  }

  /** Runs the metric's `collect`, if it has one. */
  protected async collect(): Promise<void> {
    await this.#collect?.();
  }
}

/** A metric with one number per series: a counter or a gauge. */
abstract class NumberMetric<T extends string>
  extends LabelledMetric<T, number> {
  abstract readonly type: "counter" | "gauge";

  /** Forgets every series (one without labels restarts at 0). */
  reset(): void {
    this.family.clear();
    if (this.labelNames.length === 0) this.family.series({}, () => 0);
  }

  /** Runs `collect` and reads every series. */
  async get(): Promise<MetricSnapshot<T>> {
    await this.collect();
    const values: MetricValue<T>[] = [];
    for (const series of this.family.all()) {
      values.push({ labels: { ...series.labels }, value: series.value });
    }
    return { name: this.name, help: this.help, type: this.type, values };
  }
}

/** A value that only goes up (`_total`). */
export class Counter<T extends string = string> extends NumberMetric<T>
  implements Metric {
  readonly type = "counter";

  /** Creates the counter and registers it in `config.registers`. */
  constructor(config: MetricConfiguration<T, Counter<T>>) {
    super(config as MetricConfiguration<T, never>);
    this.reset();
    register(this, config.registers);
  }

  /** Adds `value` (default 1; 0 creates the series) to the series of `labels`. */
  inc(value?: number): void;
  inc(labels: LabelValues<T>, value?: number): void;
  inc(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    const [labels, amount = 1] = splitArguments(labelsOrValue, value);
    if (!Number.isFinite(amount) || amount < 0) {
      throw new RangeError(
        `Cannot increase counter "${this.name}" by ${amount}: a counter only grows by a finite amount`,
      );
    }
    this.family.series(labels, () => 0).value += amount;
  }
}

/** A value that goes up and down. */
export class Gauge<T extends string = string> extends NumberMetric<T>
  implements Metric {
  readonly type = "gauge";

  /** Creates the gauge and registers it in `config.registers`. */
  constructor(config: MetricConfiguration<T, Gauge<T>>) {
    super(config as MetricConfiguration<T, never>);
    this.reset();
    register(this, config.registers);
  }

  /** Sets the series of `labels` to `value`. */
  set(value: number): void;
  set(labels: LabelValues<T>, value: number): void;
  set(labelsOrValue: LabelValues<T> | number, value?: number): void {
    const [labels, to] = splitArguments(labelsOrValue, value);
    if (typeof to !== "number") {
      throw new TypeError(
        `Cannot set gauge "${this.name}": the value is not a number`,
      );
    }
    this.family.series(labels, () => 0).value = to;
  }

  /** Adds `value` (default 1) to the series of `labels`. */
  inc(value?: number): void;
  inc(labels: LabelValues<T>, value?: number): void;
  inc(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    const [labels, amount = 1] = splitArguments(labelsOrValue, value);
    this.family.series(labels, () => 0).value += amount;
  }
}

interface Buckets {
  /** Observations per bucket (not cumulative); the last counts `+Inf`. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted in buckets, with their sum and count. */
export class Histogram<T extends string = string>
  extends LabelledMetric<T, Buckets>
  implements Metric {
  readonly type = "histogram";
  /** The buckets' upper bounds (without `+Inf`). */
  readonly buckets: readonly number[];

  /** Creates the histogram and registers it in `config.registers`. */
  constructor(config: HistogramConfiguration<T>) {
    super(config as MetricConfiguration<T, never>);
    if ((this.family.labelNames as readonly string[]).includes("le")) {
      throw new TypeError(
        `Cannot create histogram "${config.name}": "le" is the buckets' label`,
      );
    }
    const buckets = [...(config.buckets ?? DEFAULT_BUCKETS)];
    buckets.forEach((bound, i) => {
      if (!Number.isFinite(bound) || (i > 0 && bound <= buckets[i - 1]!)) {
        throw new RangeError(
          `Cannot create histogram "${config.name}": buckets must be finite and strictly increasing, got [${buckets}]`,
        );
      }
    });
    this.buckets = Object.freeze(buckets);
    if (this.labelNames.length === 0) {
      this.family.series({}, () => this.#empty());
    }
    register(this, config.registers);
  }

  /** Counts `value` in the series of `labels`. */
  observe(value: number): void;
  observe(labels: LabelValues<T>, value: number): void;
  observe(labelsOrValue: LabelValues<T> | number, value?: number): void {
    const [labels, observed] = splitArguments(labelsOrValue, value);
    if (typeof observed !== "number" || !Number.isFinite(observed)) {
      throw new RangeError(
        `Cannot observe ${observed} in histogram "${this.name}": the value is not a finite number`,
      );
    }
    const series = this.family.series(labels, () => this.#empty())
      .value;
    let bucket = this.buckets.findIndex((bound) => observed <= bound);
    if (bucket < 0) bucket = this.buckets.length;
    series.counts[bucket]! += 1;
    series.sum += observed;
    series.count += 1;
  }

  /** Forgets every series. */
  reset(): void {
    this.family.clear();
  }

  /** Runs `collect` and reads every series: buckets, `+Inf`, `_sum`, `_count`. */
  async get(): Promise<MetricSnapshot<T>> {
    await this.collect();
    const values: MetricValue<T>[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const { labels, value } of this.family.all()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += value.counts[i]!;
        values.push({
          labels: { le: bound, ...labels },
          value: cumulative,
          metricName: bucketName,
        });
      });
      values.push(
        {
          labels: { le: "+Inf", ...labels },
          value: value.count,
          metricName: bucketName,
        },
        {
          labels: { ...labels },
          value: value.sum,
          metricName: `${this.name}_sum`,
        },
        {
          labels: { ...labels },
          value: value.count,
          metricName: `${this.name}_count`,
        },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values };
  }

  #empty(): Buckets {
    return {
      counts: new Array<number>(this.buckets.length + 1).fill(0),
      sum: 0,
      count: 0,
    };
  }
}
