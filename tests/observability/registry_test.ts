import assert from "node:assert/strict";
import {
  Counter,
  formatValue,
  Gauge,
  Histogram,
  PROMETHEUS_CONTENT_TYPE,
  registerProcessMetrics,
  Registry,
} from "../../src/observability/mod.ts";
import type { ProcessStats } from "../../src/system/mod.ts";

Deno.test("`Registry.metrics()` writes the text format 0.0.4", async (t) => {
  const cases: {
    name: string;
    build(registry: Registry): void;
    want: string;
  }[] = [
    {
      name: "an empty registry is one newline",
      build() {},
      want: "\n",
    },
    {
      name: "a counter without labels starts at 0",
      build(registry) {
        new Counter({ name: "c_total", help: "C.", registers: [registry] });
      },
      want: "# HELP c_total C.\n# TYPE c_total counter\nc_total 0\n",
    },
    {
      name: "a metric with labels and no series has only HELP and TYPE",
      build(registry) {
        new Gauge({
          name: "g",
          help: "G.",
          labelNames: ["a"],
          registers: [registry],
        });
      },
      want: "# HELP g G.\n# TYPE g gauge\n",
    },
    {
      name:
        "metrics in registration order, series in first-set order, labels as given",
      build(registry) {
        const b = new Gauge({
          name: "b",
          help: "B.",
          labelNames: ["y", "x"],
          registers: [registry],
        });
        const a = new Counter({
          name: "a_total",
          help: "A.",
          labelNames: ["k"],
          registers: [registry],
        });
        b.set({ y: "2", x: "1" }, 5);
        b.set({ x: "0", y: "9" }, 6);
        a.inc({ k: "z" });
        a.inc({ k: "a" }, 2);
        b.set({ x: "1", y: "2" }, 7); // the first series, updated in place
      },
      want: [
        "# HELP b B.",
        "# TYPE b gauge",
        'b{y="2",x="1"} 7',
        'b{x="0",y="9"} 6',
        "",
        "# HELP a_total A.",
        "# TYPE a_total counter",
        'a_total{k="z"} 1',
        'a_total{k="a"} 2',
        "",
      ].join("\n"),
    },
    {
      name:
        "label values escape backslash, quote and newline; help escapes backslash and newline",
      build(registry) {
        new Gauge({
          name: "e",
          help: 'Back\\slash "quoted"\nnext',
          labelNames: ["v"],
          registers: [registry],
        }).set({ v: 'a\\b"c"\nd' }, 1);
      },
      want: [
        '# HELP e Back\\\\slash "quoted"\\nnext',
        "# TYPE e gauge",
        'e{v="a\\\\b\\"c\\"\\nd"} 1',
        "",
      ].join("\n"),
    },
    {
      name: "special values are +Inf, -Inf and NaN",
      build(registry) {
        const g = new Gauge({
          name: "s",
          help: "S.",
          labelNames: ["k"],
          registers: [registry],
        });
        g.set({ k: "inf" }, Infinity);
        g.set({ k: "-inf" }, -Infinity);
        g.set({ k: "nan" }, NaN);
        g.set({ k: "small" }, 1e-7);
      },
      want: [
        "# HELP s S.",
        "# TYPE s gauge",
        's{k="inf"} +Inf',
        's{k="-inf"} -Inf',
        's{k="nan"} NaN',
        's{k="small"} 1e-7',
        "",
      ].join("\n"),
    },
    {
      name:
        "a histogram's buckets are cumulative, le first, then +Inf, _sum and _count",
      build(registry) {
        const h = new Histogram({
          name: "h_seconds",
          help: "H.",
          labelNames: ["verb"],
          buckets: [0.1, 1],
          registers: [registry],
        });
        h.observe({ verb: "filter" }, 0.05);
        h.observe({ verb: "filter" }, 0.1); // on a bound: counted in it
        h.observe({ verb: "filter" }, 0.5);
        h.observe({ verb: "filter" }, 3);
        h.observe({ verb: "prioritize" }, 2);
      },
      want: [
        "# HELP h_seconds H.",
        "# TYPE h_seconds histogram",
        'h_seconds_bucket{le="0.1",verb="filter"} 2',
        'h_seconds_bucket{le="1",verb="filter"} 3',
        'h_seconds_bucket{le="+Inf",verb="filter"} 4',
        'h_seconds_sum{verb="filter"} 3.65',
        'h_seconds_count{verb="filter"} 4',
        'h_seconds_bucket{le="0.1",verb="prioritize"} 0',
        'h_seconds_bucket{le="1",verb="prioritize"} 0',
        'h_seconds_bucket{le="+Inf",verb="prioritize"} 1',
        'h_seconds_sum{verb="prioritize"} 2',
        'h_seconds_count{verb="prioritize"} 1',
        "",
      ].join("\n"),
    },
    {
      name: "a histogram without labels starts with empty buckets",
      build(registry) {
        new Histogram({
          name: "d",
          help: "D.",
          buckets: [1],
          registers: [registry],
        });
      },
      want: [
        "# HELP d D.",
        "# TYPE d histogram",
        'd_bucket{le="1"} 0',
        'd_bucket{le="+Inf"} 0',
        "d_sum 0",
        "d_count 0",
        "",
      ].join("\n"),
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const registry = new Registry();
      c.build(registry);
      assert.equal(await registry.metrics(), c.want);
    });
  }
});

Deno.test("`Registry` names the content type of the text format 0.0.4", () => {
  assert.equal(new Registry().contentType, PROMETHEUS_CONTENT_TYPE);
  assert.equal(
    PROMETHEUS_CONTENT_TYPE,
    "text/plain; version=0.0.4; charset=utf-8",
  );
});

Deno.test("metrics keep one series per distinct set of label values", async (t) => {
  const cases: {
    name: string;
    calls: [Partial<Record<"a" | "b", string | number>>, number][];
    want: [Record<string, string | number>, number][];
  }[] = [
    {
      name: "the same labels in another key order are the same series",
      calls: [[{ a: "1", b: "2" }, 1], [{ b: "2", a: "1" }, 2]],
      want: [[{ a: "1", b: "2" }, 3]],
    },
    {
      name: "a number and its text are the same label value",
      calls: [[{ a: 1 }, 1], [{ a: "1" }, 1]],
      want: [[{ a: 1 }, 2]],
    },
    {
      name: "a label left out is another series than one set",
      calls: [[{ a: "1" }, 1], [{ a: "1", b: "" }, 1]],
      want: [[{ a: "1" }, 1], [{ a: "1", b: "" }, 1]],
    },
    {
      name: "values that would join alike stay apart",
      calls: [[{ a: "x,b:y" }, 1], [{ a: "x", b: "y" }, 1]],
      want: [[{ a: "x,b:y" }, 1], [{ a: "x", b: "y" }, 1]],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const counter = new Counter({
        name: "c_total",
        help: "C.",
        labelNames: ["a", "b"],
      });
      for (const [labels, value] of c.calls) counter.inc(labels, value);
      const got = (await counter.get()).values.map((
        v,
      ) => [v.labels, v.value]);
      assert.deepEqual(got, c.want);
    });
  }
});

Deno.test("`remove()` and `reset()` drop series; metrics without labels restart at 0", async () => {
  const labelled = new Gauge({ name: "g", help: "G.", labelNames: ["n"] });
  labelled.set({ n: "a" }, 1);
  labelled.set({ n: "b" }, 2);
  labelled.remove({ n: "a" });
  assert.deepEqual((await labelled.get()).values, [
    { labels: { n: "b" }, value: 2 },
  ]);
  labelled.reset();
  assert.deepEqual((await labelled.get()).values, []);
  const plain = new Counter({ name: "p_total", help: "P." });
  plain.inc(5);
  plain.reset();
  assert.deepEqual((await plain.get()).values, [{ labels: {}, value: 0 }]);
});

Deno.test("`collect` runs at each read with the metric as `this`", async () => {
  const registry = new Registry();
  let reads = 0;
  new Gauge({
    name: "at_scrape",
    help: "Read at scrape time.",
    registers: [registry],
    async collect() {
      await Promise.resolve();
      this.set(++reads);
    },
  });
  assert.match(await registry.metrics(), /^at_scrape 1$/m);
  assert.match(await registry.metrics(), /^at_scrape 2$/m);
});

Deno.test("metrics refuse bad names, labels and values", async (t) => {
  const cases: { name: string; run(): void; error: RegExp }[] = [
    {
      name: "a metric name with a dash",
      run: () => new Counter({ name: "a-b", help: "X." }),
      error: /Cannot create metric "a-b"/,
    },
    {
      name: "a missing help text",
      run: () => new Counter({ name: "a", help: "" }),
      error: /help text is missing/,
    },
    {
      name: "a label name starting with a digit",
      run: () => new Gauge({ name: "a", help: "X.", labelNames: ["1x"] }),
      error: /label name "1x" is invalid/,
    },
    {
      name: "a reserved label name",
      run: () => new Gauge({ name: "a", help: "X.", labelNames: ["__x"] }),
      error: /label name "__x" is invalid/,
    },
    {
      name: "le on a histogram",
      run: () => new Histogram({ name: "a", help: "X.", labelNames: ["le"] }),
      error: /"le" is the buckets' label/,
    },
    {
      name: "buckets out of order",
      run: () => new Histogram({ name: "a", help: "X.", buckets: [1, 1] }),
      error: /strictly increasing/,
    },
    {
      name: "a label the metric was not declared with",
      run: () =>
        new Counter({ name: "a", help: "X.", labelNames: ["k"] }).inc(
          { j: "1" } as Record<string, string>,
        ),
      error: /Cannot set label "j" of metric "a"/,
    },
    {
      name: "a counter going down",
      run: () => new Counter({ name: "a", help: "X." }).inc(-1),
      error: /Cannot increase counter "a" by -1/,
    },
    {
      name: "an infinite observation",
      run: () => new Histogram({ name: "a", help: "X." }).observe(Infinity),
      error: /Cannot observe Infinity in histogram "a"/,
    },
    {
      name: "two metrics of one name in one registry",
      run: () => {
        const registry = new Registry();
        new Gauge({ name: "a", help: "X.", registers: [registry] });
        new Gauge({ name: "a", help: "X.", registers: [registry] });
      },
      error: /Cannot register metric "a"/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(c.run, c.error);
    });
  }
});

Deno.test("`formatValue()` writes integers and decimals as JavaScript does", () => {
  assert.deepEqual(
    [0, 1, -2, 0.0005, 1.5e21, Infinity, -Infinity, NaN].map(formatValue),
    ["0", "1", "-2", "0.0005", "1.5e+21", "+Inf", "-Inf", "NaN"],
  );
});

/** A process whose statistics are fixed, but for CPU time, which grows. */
function fakeStats(): ProcessStats & { cpuSeconds: number } {
  return {
    cpuSeconds: 1.5,
    cpu() {
      return { userSeconds: this.cpuSeconds, systemSeconds: 0.25 };
    },
    startTimeSeconds: () => 1_700_000_000,
    memory: () => ({
      residentBytes: 50 * 2 ** 20,
      virtualBytes: 2 ** 30,
      heapBytes: 2 ** 28,
    }),
    openFds: () => 12,
    maxFds: () => 1024,
    heap: () => ({ totalBytes: 30, usedBytes: 20, externalBytes: 5 }),
    heapSpaces: () => [
      { space: "new", totalBytes: 4, usedBytes: 2, availableBytes: 2 },
      { space: "old", totalBytes: 8, usedBytes: 6, availableBytes: 1 },
    ],
    eventLoopLagSeconds: () => Promise.resolve(0.002),
    activeResources: () => ["Timeout", "TCPServerWrap", "Timeout"],
    runtimeVersion: () => "v26.3.0",
  };
}

Deno.test("`registerProcessMetrics()` exports prom-client's default metric names from the process's statistics", async () => {
  const registry = new Registry();
  const stats = fakeStats();
  registerProcessMetrics(registry, { stats });
  const text = await registry.metrics();
  const samples = text.split("\n").filter((line) =>
    line !== "" && !line.startsWith("#")
  );
  assert.deepEqual(samples, [
    "process_cpu_user_seconds_total 1.5",
    "process_cpu_system_seconds_total 0.25",
    "process_cpu_seconds_total 1.75",
    "process_start_time_seconds 1700000000",
    "process_resident_memory_bytes 52428800",
    "process_virtual_memory_bytes 1073741824",
    "process_heap_bytes 268435456",
    "process_open_fds 12",
    "process_max_fds 1024",
    "nodejs_eventloop_lag_seconds 0.002",
    'nodejs_active_resources{type="Timeout"} 2',
    'nodejs_active_resources{type="TCPServerWrap"} 1',
    "nodejs_active_resources_total 3",
    "nodejs_heap_size_total_bytes 30",
    "nodejs_heap_size_used_bytes 20",
    "nodejs_external_memory_bytes 5",
    'nodejs_heap_space_size_total_bytes{space="new"} 4',
    'nodejs_heap_space_size_total_bytes{space="old"} 8',
    'nodejs_heap_space_size_used_bytes{space="new"} 2',
    'nodejs_heap_space_size_used_bytes{space="old"} 6',
    'nodejs_heap_space_size_available_bytes{space="new"} 2',
    'nodejs_heap_space_size_available_bytes{space="old"} 1',
    'nodejs_version_info{version="v26.3.0",major="26",minor="3",patch="0"} 1',
  ]);
  assert.match(
    text,
    /^# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds\.\n# TYPE process_cpu_seconds_total counter$/m,
  );
  // The CPU counters follow the process's own total.
  stats.cpuSeconds = 2;
  assert.match(
    await registry.metrics(),
    /^process_cpu_user_seconds_total 2\n[^]*^process_cpu_seconds_total 2.25$/m,
  );
});

Deno.test("`registerProcessMetrics()` leaves out what the process cannot read", async () => {
  const registry = new Registry();
  registerProcessMetrics(registry, {
    stats: {
      ...fakeStats(),
      memory: () => ({ residentBytes: 1024 }),
      openFds: () => undefined,
      maxFds: () => undefined,
    },
  });
  const names = registry.getMetricsAsArray().map((m) => m.name);
  assert.ok(names.includes("process_resident_memory_bytes"));
  for (
    const absent of [
      "process_virtual_memory_bytes",
      "process_heap_bytes",
      "process_open_fds",
      "process_max_fds",
    ]
  ) {
    assert.ok(!names.includes(absent), absent);
  }
  assert.match(
    await registry.metrics(),
    /^nodejs_eventloop_lag_seconds 0.002$/m,
  );
});
