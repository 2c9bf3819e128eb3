/**
 * The chart's Grafana dashboard and PrometheusRule alerts
 * (`deploy/helm/linstor-suite/files/`) against the metrics the binary really
 * registers: every mode is started in-process through its real subcommand
 * (Kubernetes faked, LINSTOR simulated), its registry read once everything
 * is registered, and every PromQL expression's metric names, selector
 * labels, grouping labels and legend/annotation labels are checked against
 * it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  AFFINITY_WIRING,
  createAffinityCommand,
} from "../../src/cli/affinity.ts";
import { AGENT_WIRING, createAgentCommand } from "../../src/cli/agent.ts";
import {
  createExtenderCommand,
  EXTENDER_WIRING,
} from "../../src/cli/extender.ts";
import { createFencingCommand, FENCING_WIRING } from "../../src/cli/fencing.ts";
import { type Command, runCli } from "../../src/cli/mod.ts";
import type { ModeEnvironment, ModeWiring } from "../../src/cli/run_mode.ts";
import { resetLogging } from "../../src/observability/mod.ts";
import {
  createSimulator,
  parseScenario,
  serveSimulator,
} from "../../src/sim/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/mod.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";

const FILES = new URL(
  "../../deploy/helm/linstor-suite/files/",
  import.meta.url,
);

/** Labels Prometheus adds when it scrapes a pod (ServiceMonitor/PodMonitor). */
const TARGET_LABELS = new Set([
  "namespace",
  "pod",
  "container",
  "job",
  "instance",
  "service",
  "endpoint",
]);

/** PromQL functions and aggregation operators (and Grafana's `label_values`). */
const FUNCTIONS = new Set([
  "abs",
  "absent",
  "absent_over_time",
  "avg",
  "avg_over_time",
  "bottomk",
  "ceil",
  "changes",
  "clamp",
  "clamp_max",
  "clamp_min",
  "count",
  "count_over_time",
  "count_values",
  "delta",
  "deriv",
  "floor",
  "group",
  "histogram_quantile",
  "idelta",
  "increase",
  "irate",
  "label_join",
  "label_replace",
  "label_values",
  "last_over_time",
  "max",
  "max_over_time",
  "min",
  "min_over_time",
  "predict_linear",
  "quantile",
  "quantile_over_time",
  "rate",
  "resets",
  "round",
  "scalar",
  "sort",
  "sort_desc",
  "stddev",
  "stdvar",
  "sum",
  "sum_over_time",
  "time",
  "timestamp",
  "topk",
  "vector",
]);

/** Keywords followed by a label list. */
const GROUPING = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
]);

/** Other keywords that are not metric names. */
const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
]);

/** What one PromQL expression refers to. */
interface PromQlRefs {
  /** Each vector selector: the metric and the label names it matches on. */
  selectors: { metric: string; labels: string[] }[];
  /** Label names in `by`, `without`, `on`, `ignoring`, `group_*` lists. */
  grouping: string[];
}

/** Reads the metric names and label names an expression uses. */
function parsePromQl(expr: string): PromQlRefs {
  const text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\[[^\]]*\]/g, " ");
  const refs: PromQlRefs = { selectors: [], grouping: [] };
  const token =
    /[A-Za-z_:][A-Za-z0-9_:]*|\d+(?:\.\d+)?(?:e[+-]?\d+)?|\{[^}]*\}|\(|\)|[^\sA-Za-z0-9_:{}()]+|\s+/gy;
  const tokens: string[] = [];
  let consumed = 0;
  for (const match of text.matchAll(token)) {
    consumed += match[0].length;
    if (!/^\s+$/.test(match[0])) tokens.push(match[0]);
  }
  assert.equal(consumed, text.length, `cannot tokenize ${expr}`);
  const labelNames = (matchers: string) =>
    matchers.slice(1, -1).split(",").map((m) => m.trim()).filter((m) => m)
      .map((m) => /^([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/.exec(m)?.[1] ?? m);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!/^[A-Za-z_:]/.test(t)) continue;
    if (GROUPING.has(t)) {
      if (tokens[i + 1] !== "(") continue;
      let j = i + 2;
      for (; tokens[j] !== ")" && j < tokens.length; j++) {
        if (tokens[j] !== ",") refs.grouping.push(tokens[j]!);
      }
      i = j;
      continue;
    }
    if (FUNCTIONS.has(t) || KEYWORDS.has(t)) continue;
    const next = tokens[i + 1];
    const labels = next?.startsWith("{") ? labelNames(next) : [];
    refs.selectors.push({ metric: t, labels });
  }
  return refs;
}

/** A registered metric: its type and label names. */
interface Exported {
  type: string;
  labels: Set<string>;
  modes: Set<string>;
}

/** Every metric each mode registers, started through its real subcommand. */
async function exportedMetrics(): Promise<Map<string, Exported>> {
  const stopSim = new AbortController();
  const sim = await serveSimulator(
    createSimulator({
      clock: SYSTEM_CLOCK,
      scenario: parseScenario(
        "nodes:\n  - { name: n1, pools: [{ name: pool1, provider_kind: LVM, capacity: 10GiB }] }\n",
        "observability",
      ),
    }),
    { hostname: "127.0.0.1", port: 0, signal: stopSim.signal },
  );
  const exported = new Map<string, Exported>();
  try {
    const runs: [string, (wiring: ModeWiring) => Command, string[]][] = [
      [
        "extender",
        (w) => createExtenderCommand({ ...EXTENDER_WIRING, ...w }),
        ["--listen=127.0.0.1:0"],
      ],
      [
        "affinity",
        (w) => createAffinityCommand({ ...AFFINITY_WIRING, ...w }),
        ["--leader-election=true", "--lease-lock-namespace=default"],
      ],
      [
        "agent",
        (w) => createAgentCommand({ ...AGENT_WIRING, ...w }),
        ["--node-name=n1", "--lease-lock-namespace=default"],
      ],
      [
        "fencing",
        (w) => createFencingCommand({ ...FENCING_WIRING, ...w }),
        ["--node-name=n1", "--drbd-source=linstor"],
      ],
    ];
    for (const [mode, create, args] of runs) {
      const kube = new FakeKube({ clock: SYSTEM_CLOCK });
      const stop = new AbortController();
      let environment: ModeEnvironment | undefined;
      const command = create({
        createKube: () => Promise.resolve(kube),
        hostname: () => "test-host",
        onRunning(env) {
          environment = env;
          stop.abort();
        },
      });
      const err: string[] = [];
      const code = await runCli(
        [mode, "--health-address=127.0.0.1:0", "--log-format=json", ...args],
        {
          env: { LS_CONTROLLERS: sim.url },
          commands: [command],
          stdout: () => {},
          stderr: (text) => err.push(text),
          signal: stop.signal,
        },
      );
      assert.equal(code, 0, `${mode}: ${err.join("")}`);
      assert.ok(environment, `${mode} never ran`);
      for (const metric of environment.registry.getMetricsAsArray()) {
        const labels = metric.labelNames;
        const entry = exported.get(metric.name) ??
          { type: String(metric.type), labels: new Set(), modes: new Set() };
        for (const label of labels) entry.labels.add(label);
        entry.modes.add(mode);
        exported.set(metric.name, entry);
      }
    }
  } finally {
    await resetLogging();
    stopSim.abort();
    await sim.finished;
  }
  return exported;
}

/** The problems of one expression against `exported`; empty when it is fine. */
function problemsOf(
  expr: string,
  exported: ReadonlyMap<string, Exported>,
  outputLabels: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  const refs = parsePromQl(expr);
  if (refs.selectors.length === 0) problems.push("no metric");
  const known = new Set(TARGET_LABELS);
  for (const { metric, labels } of refs.selectors) {
    const histogram = /^(.*)_(bucket|sum|count)$/.exec(metric);
    const base = histogram && exported.get(histogram[1]!)?.type === "histogram"
      ? histogram[1]!
      : metric;
    const entry = exported.get(base);
    if (!entry) {
      problems.push(`unknown metric "${metric}"`);
      continue;
    }
    const allowed = new Set([...entry.labels, ...TARGET_LABELS]);
    if (histogram?.[2] === "bucket" && base !== metric) allowed.add("le");
    for (const label of allowed) known.add(label);
    for (const label of labels) {
      if (!allowed.has(label)) {
        problems.push(`"${metric}" has no label "${label}"`);
      }
    }
  }
  for (const label of [...refs.grouping, ...outputLabels]) {
    if (!known.has(label)) {
      problems.push(`no metric in the expression has label "${label}"`);
    }
  }
  return problems;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** Every PromQL expression of the dashboard, with the labels its legend uses. */
function dashboardExpressions(
  dashboard: Json,
): { where: string; expr: string; legend: string[] }[] {
  const found: { where: string; expr: string; legend: string[] }[] = [];
  const visit = (panels: Json[]) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) {
        found.push({
          where: `panel "${panel.title}" ${target.refId}`,
          expr: target.expr,
          legend: [
            ...String(target.legendFormat ?? "").matchAll(
              /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g,
            ),
          ].map((m) => m[1]!),
        });
      }
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== "query") continue;
    const query = typeof variable.query === "string"
      ? variable.query
      : variable.query.query;
    // Grafana's label_values(metric, label) reads `label` of `metric`.
    const values = /^label_values\(\s*(.+?)\s*,\s*([A-Za-z_]\w*)\s*\)$/.exec(
      query,
    );
    found.push({
      where: `variable "${variable.name}"`,
      expr: values ? values[1]! : query,
      legend: values ? [values[2]!] : [],
    });
  }
  return found;
}

/** Every alert rule of the rule groups. */
function alertRules(groups: Json[]): Json[] {
  return groups.flatMap((group) => group.rules);
}

const dashboard: Json = JSON.parse(
  await Deno.readTextFile(new URL("dashboard.json", FILES)),
);
const groups: Json[] = parse(
  await Deno.readTextFile(new URL("alerts.yaml", FILES)),
);

Deno.test("parsePromQl() finds metrics, matcher labels and grouping labels, and problemsOf() reports each mistake", () => {
  assert.deepEqual(
    parsePromQl(
      'histogram_quantile(0.99, sum by (le, verb) (rate(m_seconds_bucket{namespace=~"$ns", verb!="x"}[5m]))) / on (pod) group_left max(other) > 1e-3',
    ),
    {
      selectors: [
        { metric: "m_seconds_bucket", labels: ["namespace", "verb"] },
        { metric: "other", labels: [] },
      ],
      grouping: ["le", "verb", "pod"],
    },
  );
  const exported = new Map<string, Exported>([
    ["m_seconds", {
      type: "histogram",
      labels: new Set(["verb"]),
      modes: new Set(["x"]),
    }],
    ["g", { type: "gauge", labels: new Set(["node"]), modes: new Set(["x"]) }],
  ]);
  assert.deepEqual(
    problemsOf(
      "sum by (le, verb) (rate(m_seconds_bucket[5m])) + max(g)",
      exported,
    ),
    [],
  );
  assert.deepEqual(problemsOf("rate(m_second_bucket[5m])", exported), [
    'unknown metric "m_second_bucket"',
  ]);
  assert.deepEqual(problemsOf('g{pool="a"}', exported), [
    '"g" has no label "pool"',
  ]);
  assert.deepEqual(problemsOf("sum by (pool) (g)", exported), [
    'no metric in the expression has label "pool"',
  ]);
  assert.deepEqual(problemsOf("max(g)", exported, ["verb"]), [
    'no metric in the expression has label "verb"',
  ]);
});

Deno.test("the dashboard and the alerts use only metrics and labels the modes register", async (t) => {
  const exported = await exportedMetrics();
  // The registry reading works: a known metric with its known labels.
  assert.deepEqual(
    [...exported.get("linstor_suite_extender_fail_open_total")!.labels],
    ["reason"],
  );
  for (const { where, expr, legend } of dashboardExpressions(dashboard)) {
    await t.step(`dashboard ${where}`, () => {
      assert.deepEqual(problemsOf(expr, exported, legend), [], expr);
    });
  }
  for (const rule of alertRules(groups)) {
    await t.step(`alert ${rule.alert}`, () => {
      const used = [
        ...JSON.stringify(rule.annotations).matchAll(
          /\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g,
        ),
      ].map((m) => m[1]!);
      assert.deepEqual(problemsOf(rule.expr, exported, used), [], rule.expr);
    });
  }
});

Deno.test("the dashboard shows what operators look at in each mode", () => {
  const metrics = new Set(
    dashboardExpressions(dashboard).flatMap(({ expr }) =>
      parsePromQl(expr).selectors.map((s) => s.metric)
    ),
  );
  for (
    const wanted of [
      "linstor_suite_extender_request_duration_seconds_bucket",
      "linstor_suite_extender_fail_open_total",
      "linstor_suite_extender_linstor_data_age_seconds",
      "linstor_suite_extender_reservations",
      "linstor_suite_affinity_operations_total",
      "linstor_suite_affinity_skips_total",
      "linstor_suite_agent_pool_free_bytes",
      "linstor_suite_agent_candidates",
      "linstor_suite_fencing_decisions",
      "linstor_suite_fencing_actions_total",
    ]
  ) {
    assert.ok(metrics.has(wanted), `the dashboard shows ${wanted}`);
  }
  const ids = new Set<number>();
  for (const panel of dashboard.panels) {
    assert.ok(!ids.has(panel.id), `panel id ${panel.id} is unique`);
    ids.add(panel.id);
  }
});

Deno.test("the alerts are PrometheusRule groups covering each way linstor-suite goes wrong", () => {
  assert.ok(Array.isArray(groups));
  const names = new Set<string>();
  for (const group of groups) {
    assert.equal(typeof group.name, "string");
    assert.ok(group.rules.length > 0, group.name);
    for (const rule of group.rules) {
      assert.match(rule.alert, /^LinstorSuite[A-Z][A-Za-z]+$/);
      assert.equal(typeof rule.expr, "string");
      assert.match(rule.for, /^\d+[smh]$/);
      assert.ok(["warning", "critical"].includes(rule.labels.severity));
      assert.equal(typeof rule.annotations.summary, "string");
      assert.equal(typeof rule.annotations.description, "string");
      assert.ok(!names.has(rule.alert), `${rule.alert} once`);
      names.add(rule.alert);
    }
  }
  for (
    const wanted of [
      "LinstorSuiteExtenderFailingOpen",
      "LinstorSuiteLinstorDataStale",
      "LinstorSuiteAffinityStuck",
      "LinstorSuiteAgentStuck",
      "LinstorSuiteFencingTaintLeftBehind",
    ]
  ) {
    assert.ok(names.has(wanted), `alert ${wanted}`);
  }
});
