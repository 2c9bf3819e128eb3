import assert from "node:assert/strict";
import { FakeClock } from "../_fakes/fake_clock.ts";
import {
  createSimulator,
  demoScenario,
  parseActions,
  parseDurationMs,
  parseScenario,
  parseSizeKib,
  ScenarioError,
} from "../../src/sim/mod.ts";
import { fixture } from "./_harness.ts";

function issuesOf(text: string): string[] {
  try {
    parseScenario(text, "bad.yaml");
  } catch (error) {
    assert.ok(
      error instanceof ScenarioError,
      `expected ScenarioError, got ${error}`,
    );
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /^Cannot load scenario "bad\.yaml": /);
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail("expected the scenario to be rejected");
}

Deno.test("`parseScenario()` reads the fixture with resolved pools and sorted timeline", () => {
  const scenario = parseScenario(fixture("two_zones.yaml"));
  assert.equal(scenario.nodes.length, 4);
  assert.equal(scenario.nodes[1]?.pools[0]?.freeKib, 40 * 1024 * 1024);
  const pvc1 = scenario.volumes.find((v) => v.name === "pvc-1");
  assert.deepEqual(pvc1?.replicas.map((r) => [r.node, r.kind, r.pool ?? "-"]), [
    ["a1", "diskful", "thin"],
    ["b1", "diskful", "thin"],
    ["a2", "tie-breaker", "-"],
  ]);
  assert.deepEqual(scenario.timeline.map((t) => t.atMs), [
    5000,
    10000,
    15000,
    20000,
  ]);
});

Deno.test("`parseScenario()` names the path of every bad field", async (t) => {
  const cases: { name: string; yaml: string; expect: RegExp[] }[] = [
    {
      name: "bad provider kind and capacity",
      yaml:
        "nodes:\n  - name: n1\n    pools:\n      - { name: p1, provider_kind: FLOPPY, capacity: lots }",
      expect: [
        /^nodes\[0\]\.pools\[0\]\.provider_kind: must be one of .*got "FLOPPY"/,
        /^nodes\[0\]\.pools\[0\]\.capacity: Cannot parse size "lots"/,
      ],
    },
    {
      name: "unknown field (typo)",
      yaml: "nodes:\n  - name: n1\n    prop: {}",
      expect: [/^nodes\[0\]\.prop: unknown field \(allowed: /],
    },
    {
      name: "duplicate node, case-insensitive",
      yaml: "nodes:\n  - name: n1\n  - name: N1",
      expect: [/^nodes\[1\]\.name: duplicate node "N1"/],
    },
    {
      name: "replica on unknown node and missing size",
      yaml:
        "nodes: [{ name: n1 }]\nvolumes:\n  - name: pvc-a\n    replicas: [{ node: n9 }]",
      expect: [
        /^volumes\[0\]\.size: is required/,
        /^volumes\[0\]\.replicas\[0\]\.node: unknown node "n9"/,
      ],
    },
    {
      name: "diskful replica needs a pool when ambiguous",
      yaml:
        "nodes:\n  - name: n1\n    pools: [{ name: p1, provider_kind: LVM }, { name: p2, provider_kind: LVM }]\n" +
        "volumes:\n  - { name: pvc-a, size: 1GiB, replicas: [{ node: n1 }] }",
      expect: [
        /^volumes\[0\]\.replicas\[0\]\.pool: is required: node "n1" has 2 diskful pools/,
      ],
    },
    {
      name: "bad disk state, kind and unknown group",
      yaml:
        "nodes: [{ name: n1, pools: [{ name: p1, provider_kind: LVM }] }]\n" +
        "volumes:\n  - { name: pvc-a, size: 1GiB, resource_group: nope, replicas: [{ node: n1, disk_state: Sad, kind: fat }] }",
      expect: [
        /^volumes\[0\]\.resource_group: unknown resource group "nope"/,
        /^volumes\[0\]\.replicas\[0\]\.kind: must be one of diskful, diskless, tie-breaker/,
        /^volumes\[0\]\.replicas\[0\]\.disk_state: must be one of .*got "Sad"/,
      ],
    },
    {
      name: "two replicas in use",
      yaml:
        "nodes: [{ name: n1, pools: [{ name: p1, provider_kind: LVM }] }, { name: n2 }]\n" +
        "volumes:\n  - { name: pvc-a, size: 1GiB, replicas: [{ node: n1, in_use: true }, { node: n2, kind: diskless, in_use: true }] }",
      expect: [/^volumes\[0\]\.replicas: at most one replica can be in_use/],
    },
    {
      name:
        "timeline: bad duration, unknown action, unknown node and missing field",
      yaml: "nodes: [{ name: n1 }]\ntimeline:\n" +
        "  - { at: soon, action: set-node-status, node: n1, status: OFFLINE }\n" +
        "  - { at: 1s, action: explode }\n" +
        "  - { at: 2s, action: set-node-status, node: n7, status: OFFLINE }\n" +
        "  - { at: 3s, action: set-disk-state, resource: r1, node: n1 }",
      expect: [
        /^timeline\[0\]\.at: Cannot parse duration "soon"/,
        /^timeline\[1\]\.action: must be one of set-node-status, /,
        /^timeline\[2\]\.node: unknown node "n7"/,
        /^timeline\[3\]\.disk_state: is required/,
      ],
    },
    {
      name: "free above capacity and bad name",
      yaml:
        "nodes:\n  - name: 'bad name'\n    pools: [{ name: p1, provider_kind: LVM, capacity: 1GiB, free: 2GiB }]",
      expect: [
        /^nodes\[0\]\.name: "bad name" is not a valid LINSTOR name/,
        /^nodes\[0\]\.pools\[0\]\.free: must not exceed capacity/,
      ],
    },
    {
      name: "wrong root type",
      yaml: "- just\n- a list",
      expect: [/^: must be a mapping, got a list/],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const issues = issuesOf(c.yaml);
      for (const re of c.expect) {
        assert.ok(
          issues.some((i) => re.test(i)),
          `${re} not in:\n${issues.join("\n")}`,
        );
      }
      assert.equal(issues.length, c.expect.length, issues.join("\n"));
    });
  }
});

Deno.test("`parseScenario()` throws SyntaxError for unparsable YAML", () => {
  assert.throws(
    () => parseScenario("nodes: [unclosed", "broken.yaml"),
    (e: unknown) =>
      e instanceof SyntaxError &&
      /^Cannot parse scenario "broken\.yaml": /.test(e.message),
  );
});

Deno.test("`parseSizeKib()` reads KiB numbers and binary units", async (t) => {
  const ok: [unknown, number][] = [
    [2048, 2048],
    ["2048", 2048],
    ["1KiB", 1],
    ["1.5MiB", 1536],
    ["10GiB", 10 * 1024 * 1024],
    ["10g", 10 * 1024 * 1024],
    ["1TiB", 1024 ** 3],
  ];
  for (const [input, kib] of ok) {
    await t.step(
      `${JSON.stringify(input)} → ${kib}`,
      () => assert.equal(parseSizeKib(input), kib),
    );
  }
  for (const bad of ["10 GB", "-1", "GiB", "", "1PiB"]) {
    await t.step(
      `rejects ${JSON.stringify(bad)}`,
      () => assert.throws(() => parseSizeKib(bad), SyntaxError),
    );
  }
  assert.throws(() => parseSizeKib(-5), RangeError);
  assert.throws(() => parseSizeKib(1.5), RangeError);
  assert.throws(() => parseSizeKib(true), TypeError);
});

Deno.test("`parseDurationMs()` reads Go durations", async (t) => {
  const ok: [unknown, number][] = [
    ["5s", 5000],
    ["500ms", 500],
    ["1m30s", 90000],
    ["2h", 7200000],
    ["1.5s", 1500],
    [0, 0],
  ];
  for (const [input, ms] of ok) {
    await t.step(
      `${JSON.stringify(input)} → ${ms}`,
      () => assert.equal(parseDurationMs(input), ms),
    );
  }
  for (const bad of ["5", "5 s", "s", "", "1d"]) {
    await t.step(
      `rejects ${JSON.stringify(bad)}`,
      () => assert.throws(() => parseDurationMs(bad), SyntaxError),
    );
  }
  assert.throws(() => parseDurationMs(5), TypeError);
});

Deno.test("`parseActions()` validates single actions and lists with paths", () => {
  assert.deepEqual(
    parseActions({ action: "set-pool", node: "n1", pool: "p", free: "1GiB" }),
    [
      { action: "set-pool", node: "n1", pool: "p", free_kib: 1024 * 1024 },
    ],
  );
  assert.throws(
    () =>
      parseActions([{ action: "set-node-status", node: "n1", status: "GONE" }, {
        action: "move-replica",
      }]),
    (e: unknown) =>
      e instanceof ScenarioError &&
      e.issues.some((i) => i.path === "[0].status") &&
      e.issues.some((i) => i.path === "[1].resource") &&
      e.issues.some((i) => i.path === "[1].to"),
  );
});

Deno.test("`demoScenario()` is valid and has what the README promises", () => {
  const demo = demoScenario();
  const zones = new Set(
    demo.nodes.map((n) => n.props["Aux/topology/topology.kubernetes.io/zone"]),
  );
  assert.ok(demo.nodes.length >= 3 && demo.nodes.length <= 4);
  assert.equal(zones.size, 2);
  const kinds = new Set(
    demo.nodes.flatMap((n) => n.pools.map((p) => p.providerKind)),
  );
  assert.ok(kinds.has("LVM") && kinds.has("LVM_THIN"));
  const replicaKinds = new Set(
    demo.volumes.flatMap((v) => v.replicas.map((r) => r.kind)),
  );
  assert.deepEqual([...replicaKinds].sort(), [
    "diskful",
    "diskless",
    "tie-breaker",
  ]);
  assert.ok(
    demo.timeline.some((t) =>
      t.atMs === 10_000 && t.action.action === "set-node-status"
    ),
  );
  assert.ok(
    demo.timeline.some((t) =>
      t.atMs === 20_000 && t.action.action === "move-replica"
    ),
  );
});

Deno.test("`demoScenario()` timeline plays without errors", async () => {
  const clock = new FakeClock();
  const sim = createSimulator({ clock, scenario: demoScenario() });
  await clock.advance(60_000);
  const played = sim.advance();
  assert.equal(played.length, demoScenario().timeline.length);
  assert.deepEqual(played.filter((t) => t.error !== undefined), []);
  const cache = sim.state().resources.filter((r) => r.name === "pvc-cache").map(
    (r) => r.node_name,
  );
  assert.deepEqual(cache, ["node-a1", "node-b2"]);
});
