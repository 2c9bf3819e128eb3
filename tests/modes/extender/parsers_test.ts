import assert from "node:assert/strict";
import {
  DEFAULT_EXTENDER_CONFIG,
  matchesSelector,
  parseExtenderConfig,
  parseLabelSelector,
} from "../../../src/modes/extender/mod.ts";

Deno.test("`parseLabelSelector()` reads Kubernetes selector syntax", async (t) => {
  const labels = { disk: "ssd", zone: "a", gpu: "" };
  const cases: [string, boolean][] = [
    ["", true],
    ["disk=ssd", true],
    ["disk==ssd", true],
    ["disk!=ssd", false],
    ["disk in (ssd, hdd)", true],
    ["disk notin (ssd)", false],
    ["zone,disk=ssd", true],
    ["!gpu", false],
    ["missing", false],
    ["!missing", true],
    ["example.com/tier notin (gold)", true],
  ];
  for (const [text, expected] of cases) {
    await t.step(`"${text}" → ${expected}`, () => {
      assert.equal(matchesSelector(parseLabelSelector(text), labels), expected);
    });
  }
  for (
    const bad of [
      "disk in (ssd",
      "a=b,,c",
      "in (x)",
      "disk=s s",
      "-bad=x",
      "disk in ()",
    ]
  ) {
    await t.step(`rejects "${bad}"`, () => {
      assert.throws(
        () => parseLabelSelector(bad),
        (e: unknown) =>
          e instanceof SyntaxError &&
          /Cannot parse label selector/.test(e.message),
      );
    });
  }
});

Deno.test("`parseExtenderConfig()` overlays the YAML file on the defaults", async (t) => {
  await t.step("an empty file keeps the defaults", () => {
    assert.deepEqual(parseExtenderConfig(""), DEFAULT_EXTENDER_CONFIG);
  });
  await t.step("reads every section", () => {
    const config = parseExtenderConfig(`
prefix: scheduler/
filterVerb: predicate
deadline: 3s
maxStaleness: 2m
reservationTTL: 30s
predicates: [satellite, capacity]
capacity:
  hardFilter: always
  defaultDivisor: 2
  divisors: {fast: 4}
locality:
  syncingScore: 5
  levels:
    - {key: example.com/rack, score: 6}
    - {key: topology.kubernetes.io/zone, score: 3}
propertyNamespace: Aux/topology
`);
    assert.equal(config.prefix, "/scheduler");
    assert.equal(config.filterVerb, "predicate");
    assert.equal(config.prioritizeVerb, "prioritize");
    assert.equal(config.deadlineMs, 3000);
    assert.equal(config.maxStalenessMs, 120_000);
    assert.equal(config.reservationTtlMs, 30_000);
    assert.deepEqual(config.predicates, ["satellite", "capacity"]);
    assert.deepEqual(config.capacity, {
      hardFilter: "always",
      defaultDivisor: 2,
      divisors: { fast: 4 },
      oversubscriptionRatio: 20,
    });
    assert.deepEqual(config.locality.levels.map((l) => l.score), [6, 3]);
    assert.equal(config.propertyNamespace, "Aux/topology");
  });
  const bad: [string, string, RegExp][] = [
    ["unknown key", "filtre: x", /"filtre": unknown key/],
    [
      "unknown predicate",
      "predicates: [satelite]",
      /unknown predicate "satelite"/,
    ],
    ["duplicate predicate", "predicates: [access, access]", /listed twice/],
    ["score out of range", "locality: {syncingScore: 11}", /integer 0\.\.10/],
    [
      "divisor not positive",
      "capacity: {divisors: {a: 0}}",
      /"capacity.divisors.a": must be a number > 0/,
    ],
    [
      "bad duration",
      "deadline: soon",
      /^Cannot read extender config "deadline": Cannot parse duration "soon": expected a Go duration/,
    ],
    [
      "a bare number is no longer ms",
      "reservationTTL: 4000",
      /^Cannot read extender config "reservationTTL": Cannot read duration "4000"/,
    ],
    ["same verbs", "filterVerb: prioritize", /must differ/],
    ["verb with a slash", "filterVerb: a/b", /single path segment/],
    [
      "bad hardFilter",
      "capacity: {hardFilter: sometimes}",
      /local-only, always or never/,
    ],
    ["not YAML", "a: [", /Cannot parse extender config/],
  ];
  for (const [name, text, pattern] of bad) {
    await t.step(`rejects ${name}`, () => {
      assert.throws(
        () => parseExtenderConfig(text),
        (e: unknown) => e instanceof Error && pattern.test(e.message),
      );
    });
  }
});
