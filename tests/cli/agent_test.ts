import assert from "node:assert/strict";
import { AGENT_FLAGS, agentOptionsFromFlags } from "../../src/cli/agent.ts";
import { parseFlags, runCli, UsageError } from "../../src/cli/mod.ts";
import { resetLogging } from "../../src/observability/mod.ts";

function parse(args: string[], env: Record<string, string> = {}) {
  return parseFlags(args, { flags: AGENT_FLAGS, env }).flags;
}

Deno.test("agentOptionsFromFlags() has the documented defaults and reads NODE_NAME", () => {
  const options = agentOptionsFromFlags(parse([], { NODE_NAME: "n1" }));
  assert.deepEqual(options, {
    node: "n1",
    scanIntervalMs: 15_000,
    removalGraceMs: 60_000,
    hostLvm: false,
    lvmPath: "lvm",
    timeoutMs: 30_000,
    spareBytes: 10 * 1024 ** 3,
    overprovisionRatio: 20,
    storageClasses: true,
    maxReplicas: 3,
    prune: false,
    dryRun: false,
  });
});

Deno.test("agentOptionsFromFlags() maps every flag", () => {
  const options = agentOptionsFromFlags(parse([
    "--node-name=n2",
    "--scan-interval=5s",
    "--removal-grace=10m",
    "--host-lvm",
    "--lvm-path=/sbin/lvm",
    "--lvm-timeout=10s",
    "--spare-gb=0.5",
    "--overprovision-ratio=2",
    "--storage-classes=false",
    "--max-replicas=2",
    "--prune-storage-classes",
    "--dry-run",
  ]));
  assert.deepEqual(options, {
    node: "n2",
    scanIntervalMs: 5_000,
    removalGraceMs: 600_000,
    hostLvm: true,
    lvmPath: "/sbin/lvm",
    timeoutMs: 10_000,
    spareBytes: 512 * 1024 ** 2,
    overprovisionRatio: 2,
    storageClasses: false,
    maxReplicas: 2,
    prune: true,
    dryRun: true,
  });
});

Deno.test("agentOptionsFromFlags() rejects values that cannot work", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["no node name", [], /--node-name or NODE_NAME/],
    [
      "zero scan interval",
      ["--node-name=n", "--scan-interval=0s"],
      /--scan-interval/,
    ],
    ["negative spare", ["--node-name=n", "--spare-gb=-1"], /--spare-gb/],
    [
      "zero ratio",
      ["--node-name=n", "--overprovision-ratio=0"],
      /--overprovision-ratio/,
    ],
    ["zero replicas", ["--node-name=n", "--max-replicas=0"], /--max-replicas/],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => agentOptionsFromFlags(parse(args)),
        (error) => error instanceof UsageError && message.test(error.message),
      );
    });
  }
});

Deno.test("runCli() exits 2 with one line when the agent has no node name", async () => {
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await runCli(["agent"], {
      env: {},
      stdout: (text) => out.push(text),
      stderr: (text) => err.push(text),
      signal: new AbortController().signal,
    });
    assert.equal(code, 2);
    assert.match(err.join(""), /Cannot start the agent without a node name/);
  } finally {
    await resetLogging();
  }
});
