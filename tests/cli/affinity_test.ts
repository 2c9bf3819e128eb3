import assert from "node:assert/strict";
import {
  AFFINITY_FLAGS,
  affinityOptionsFromFlags,
} from "../../src/cli/affinity.ts";
import { parseFlags, runCli, UsageError } from "../../src/cli/mod.ts";
import { resetLogging } from "../../src/observability/mod.ts";
import { POLICY_LOCAL_ONLY } from "../../src/csi/mod.ts";

function parse(args: string[], env: Record<string, string> = {}) {
  return parseFlags(args, { flags: AFFINITY_FLAGS, env }).flags;
}

Deno.test("affinityOptionsFromFlags() accepts what linstor-affinity-controller's chart renders", () => {
  const flags = parse([
    "--v=2",
    "--leader-election=true",
    "--reconcile-rate=15s",
    "--resync-rate=15m",
    "--timeout=1m30s",
    "--workers",
    "5",
    "--property-namespace=Aux/topology/",
    "--bind-address=:8000",
    "--metrics-address=:8001",
  ], { LEASE_LOCK_NAME: "lac", LEASE_HOLDER_IDENTITY: "pod-1" });
  assert.deepEqual(affinityOptionsFromFlags(flags), {
    reconcileRateMs: 15_000,
    timeoutMs: 90_000,
    workers: 5,
    maxReplacementsPerPass: 20,
    propertyNamespace: "Aux/topology",
    dryRun: false,
    settleMs: 30_000,
  });
  assert.equal(flags.string("health-address"), ":8000");
  assert.equal(flags.string("metrics-address"), ":8001");
  assert.equal(flags.string("lease-lock-name"), "lac");
  assert.equal(flags.string("leader-election-id"), "pod-1");
  assert.equal(flags.boolean("leader-election"), true);
  assert.equal(flags.number("verbosity"), 2);
});

Deno.test("affinityOptionsFromFlags() maps our own flags", async (t) => {
  await t.step("defaults", () => {
    const options = affinityOptionsFromFlags(parse([]));
    assert.equal(options.reconcileRateMs, 15_000);
    assert.equal(options.timeoutMs, 60_000);
    assert.equal(options.workers, 10);
    assert.equal(options.propertyNamespace, "");
    assert.equal(options.inPlace, undefined);
    assert.equal(parse([]).boolean("leader-election"), true);
  });
  await t.step("in-place never/always, dry-run, default policy", () => {
    const options = affinityOptionsFromFlags(parse([
      "--in-place=never",
      "--dry-run",
      "--default-remote-access-policy=false",
      "--max-replacements-per-pass=0",
      "--grace-period=0s",
    ]));
    assert.equal(options.gracePeriodMs, 0);
    assert.equal(options.inPlace, false);
    assert.equal(options.dryRun, true);
    assert.deepEqual(options.defaultPolicy, POLICY_LOCAL_ONLY);
    assert.equal(options.maxReplacementsPerPass, 0);
    assert.equal(
      affinityOptionsFromFlags(parse(["--in-place=always"])).inPlace,
      true,
    );
  });
  await t.step("kubebuilder alias --leader-elect=false", () => {
    assert.equal(
      parse(["--leader-elect=false"]).boolean("leader-election"),
      false,
    );
  });
});

Deno.test("affinityOptionsFromFlags() rejects values that cannot work", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["zero workers", ["--workers=0"], /--workers must be positive/],
    ["zero reconcile rate", ["--reconcile-rate=0s"], /--reconcile-rate/],
    [
      "negative replacement cap",
      ["--max-replacements-per-pass=-1"],
      /--max-replacements-per-pass/,
    ],
    [
      "bad default policy",
      ["--default-remote-access-policy=- fromDifferent: [zone]"],
      /--default-remote-access-policy/,
    ],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => affinityOptionsFromFlags(parse(args)), (error) => {
        assert.ok(error instanceof UsageError, String(error));
        assert.match((error as Error).message, message);
        return true;
      });
    });
  }
  await t.step("unknown --in-place value is a usage error", () => {
    assert.throws(() => parse(["--in-place=sometimes"]), UsageError);
  });
});

Deno.test("runCli() affinity exits with a clear message when it cannot start", async (t) => {
  const cases: {
    name: string;
    args: string[];
    code: number;
    message: RegExp;
  }[] = [
    {
      name: "bad flag value: usage error",
      args: ["affinity", "--workers=0"],
      code: 2,
      message: /--workers must be positive/,
    },
    {
      name: "no Kubernetes configuration",
      args: ["affinity"],
      code: 1,
      message: /Cannot load kubeconfig/,
    },
    {
      name: "kubeconfig file missing",
      args: ["affinity", "--kubeconfig=/nonexistent/kubeconfig"],
      code: 1,
      message: /Cannot load kubeconfig "\/nonexistent\/kubeconfig"/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const err: string[] = [];
      try {
        const code = await runCli(c.args, {
          env: {},
          stdout: () => {},
          stderr: (text) => err.push(text),
          signal: new AbortController().signal,
        });
        assert.equal(code, c.code, err.join(""));
      } finally {
        await resetLogging();
      }
      assert.match(err.join(""), c.message);
    });
  }
});
