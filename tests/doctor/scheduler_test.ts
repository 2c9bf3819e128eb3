import assert from "node:assert/strict";
import {
  type Check,
  extenderProbeUrl,
  parseSchedulerConfig,
  schedulerChecks,
} from "../../src/doctor/mod.ts";

const SHIPPED = Deno.readTextFileSync(
  new URL("../../deploy/extender/scheduler-config.yaml", import.meta.url),
);

function config(extender: string, profile = "percentageOfNodesToScore: 100") {
  return `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: linstor
    ${profile}
extenders:
  - urlPrefix: http://127.0.0.1:8099
${extender.split("\n").map((l) => `    ${l}`).join("\n")}
`;
}

const GOOD = `filterVerb: filter
prioritizeVerb: prioritize
weight: 3
nodeCacheCapable: true
ignorable: true
httpTimeout: 5s`;

function run(text: string, reachable = true): Check[] {
  const parsed = parseSchedulerConfig(text);
  const reachability = new Map(
    parsed.extenders.map((e) => [
      extenderProbeUrl(e),
      reachable
        ? { ok: true as const, status: 400 }
        : { ok: false as const, message: "Connection refused" },
    ]),
  );
  return schedulerChecks(parsed, { source: "test", reachability });
}

function row(checks: readonly Check[], suffix: string): Check {
  const found = checks.find((c) => c.name.endsWith(suffix));
  assert.ok(found, `no ${suffix} in ${JSON.stringify(checks)}`);
  return found;
}

Deno.test("`schedulerChecks()` passes the shipped ConfigMap of deploy/extender/", () => {
  const checks = run(SHIPPED);
  assert.deepEqual(
    checks.filter((c) => c.status !== "ok"),
    [],
  );
  assert.equal(checks.length, 6);
  assert.equal(
    row(checks, "reachable").detail,
    "http://127.0.0.1:8099/filter answered HTTP 400",
  );
});

Deno.test("`schedulerChecks()` flags each setting that works against the suite", async (t) => {
  const cases: {
    name: string;
    text: string;
    reachable?: boolean;
    check: string;
    status: "warn" | "fail";
    fix: RegExp;
  }[] = [
    {
      name: "extender not reachable",
      text: config(GOOD),
      reachable: false,
      check: "reachable",
      status: "fail",
      fix: /run doctor in the scheduler pod's extender container/,
    },
    {
      name: "ignorable false",
      text: config(GOOD.replace("ignorable: true", "ignorable: false")),
      check: "ignorable",
      status: "fail",
      fix: /set ignorable: true/,
    },
    {
      name: "ignorable unset",
      text: config(GOOD.replace("ignorable: true\n", "")),
      check: "ignorable",
      status: "fail",
      fix: /set ignorable: true/,
    },
    {
      name: "weight 0 with a prioritizeVerb",
      text: config(GOOD.replace("weight: 3", "weight: 0")),
      check: "weight",
      status: "fail",
      fix: /weight: 3/,
    },
    {
      name: "weight that outvotes every plugin",
      text: config(GOOD.replace("weight: 3", "weight: 10")),
      check: "weight",
      status: "warn",
      fix: /weight: 3/,
    },
    {
      name: "no prioritizeVerb",
      text: config(GOOD.replace("prioritizeVerb: prioritize\n", "")),
      check: "weight",
      status: "warn",
      fix: /prioritizeVerb/,
    },
    {
      name: "nodeCacheCapable false",
      text: config(
        GOOD.replace("nodeCacheCapable: true", "nodeCacheCapable: false"),
      ),
      check: "nodeCacheCapable",
      status: "warn",
      fix: /nodeCacheCapable: true/,
    },
    {
      name: "httpTimeout below the extender's deadline",
      text: config(GOOD.replace("httpTimeout: 5s", "httpTimeout: 2s")),
      check: "httpTimeout",
      status: "warn",
      fix: /httpTimeout: 5s/,
    },
    {
      name: "percentageOfNodesToScore unset",
      text: config(GOOD, "pluginConfig: []"),
      check: "percentageOfNodesToScore",
      status: "warn",
      fix: /percentageOfNodesToScore: 100/,
    },
    {
      name: "percentageOfNodesToScore 50",
      text: config(GOOD, "percentageOfNodesToScore: 50"),
      check: "percentageOfNodesToScore",
      status: "warn",
      fix: /percentageOfNodesToScore: 100/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const found = row(run(c.text, c.reachable ?? true), c.check);
      assert.equal(found.status, c.status, found.detail);
      assert.match(found.fix!, c.fix);
    });
  }
});

Deno.test("`schedulerChecks()` only warns about an extender whose certificate doctor cannot verify", () => {
  const parsed = parseSchedulerConfig(config(GOOD));
  const checks = schedulerChecks(parsed, {
    source: "test",
    reachability: new Map([[
      "http://127.0.0.1:8099/filter",
      { ok: false, message: "invalid peer certificate: UnknownIssuer" },
    ]]),
  });
  const found = row(checks, "reachable");
  assert.equal(found.status, "warn");
  assert.match(found.fix!, /tlsConfig\.caData/);
});

Deno.test("`schedulerChecks()` fails a configuration without our extender", () => {
  const text = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
extenders:
  - urlPrefix: http://topolvm:9251
    filterVerb: predicate
    managedResources: [{ name: topolvm.io/capacity, ignoredByScheduler: true }]
`;
  const checks = run(text);
  assert.equal(checks[0]?.status, "fail");
  assert.match(checks[0]!.fix!, /deploy\/extender\/scheduler-config\.yaml/);
});

Deno.test("`parseSchedulerConfig()` refuses what is not a scheduler configuration", async (t) => {
  for (
    const [name, text, message] of [
      [
        "a Deployment",
        "kind: Deployment\n",
        /expected KubeSchedulerConfiguration/,
      ],
      [
        "a ConfigMap without one",
        "kind: ConfigMap\ndata: { a: b }\n",
        /carries no/,
      ],
      ["broken YAML", "kind: [\n", /Cannot parse scheduler configuration/],
    ] as const
  ) {
    await t.step(name, () => {
      assert.throws(() => parseSchedulerConfig(text), message);
    });
  }
});
