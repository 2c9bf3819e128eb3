import assert from "node:assert/strict";
import { type FlagSpec, parseFlags, UsageError } from "../../src/cli/flags.ts";

const FLAGS: readonly FlagSpec[] = [
  {
    name: "verbosity",
    short: "v",
    aliases: ["v"],
    type: "int",
    description: "",
    default: 0,
  },
  { name: "dry-run", type: "boolean", description: "" },
  { name: "leader-election", type: "boolean", description: "", default: true },
  {
    name: "reconcile-rate",
    type: "duration",
    description: "",
    default: 15_000,
    env: "RECONCILE_RATE",
  },
  {
    name: "log-format",
    type: "string",
    description: "",
    default: "text",
    choices: ["text", "json"],
  },
  { name: "namespace", type: "string", description: "", env: "POD_NAMESPACE" },
  { name: "topology-keys", type: "list", description: "" },
];

function parse(args: string[], env: Record<string, string> = {}) {
  return parseFlags(args, { flags: FLAGS, env });
}

Deno.test("parseFlags() accepts every form charts generate", async (t) => {
  const cases: { args: string[]; flag: string; want: unknown }[] = [
    { args: ["--verbosity=3"], flag: "verbosity", want: 3 },
    { args: ["--verbosity", "3"], flag: "verbosity", want: 3 },
    { args: ["-v=2"], flag: "verbosity", want: 2 },
    { args: ["--v=2"], flag: "verbosity", want: 2 },
    { args: ["-v", "4"], flag: "verbosity", want: 4 },
    { args: ["--dry-run"], flag: "dry-run", want: true },
    { args: ["--dry-run=true"], flag: "dry-run", want: true },
    { args: ["--dry-run=false"], flag: "dry-run", want: false },
    { args: ["--leader-election=false"], flag: "leader-election", want: false },
    { args: [], flag: "leader-election", want: true },
    { args: ["--reconcile-rate=1m30s"], flag: "reconcile-rate", want: 90_000 },
    {
      args: ["--reconcile-rate", "15m"],
      flag: "reconcile-rate",
      want: 900_000,
    },
    { args: ["--log-format=json"], flag: "log-format", want: "json" },
    {
      args: ["--topology-keys=a,b", "--topology-keys", "c"],
      flag: "topology-keys",
      want: ["a", "b", "c"],
    },
    { args: ["--verbosity=1", "--verbosity=5"], flag: "verbosity", want: 5 },
  ];
  for (const c of cases) {
    await t.step(c.args.join(" ") || "(none)", () => {
      const { flags } = parse(c.args);
      const get = {
        "verbosity": () => flags.number("verbosity"),
        "dry-run": () => flags.boolean("dry-run"),
        "leader-election": () => flags.boolean("leader-election"),
        "reconcile-rate": () => flags.number("reconcile-rate"),
        "log-format": () => flags.string("log-format"),
        "topology-keys": () => flags.list("topology-keys"),
      }[c.flag]!;
      assert.deepEqual(get(), c.want);
    });
  }
});

Deno.test("parseFlags() falls back to env, then to the default", () => {
  const fromEnv = parse([], {
    RECONCILE_RATE: "30s",
    POD_NAMESPACE: "storage",
  });
  assert.equal(fromEnv.flags.number("reconcile-rate"), 30_000);
  assert.equal(fromEnv.flags.string("namespace"), "storage");
  assert.ok(fromEnv.flags.isSet("namespace"));
  const flagWins = parse(["--reconcile-rate=1s"], { RECONCILE_RATE: "30s" });
  assert.equal(flagWins.flags.number("reconcile-rate"), 1000);
  const defaults = parse([], { RECONCILE_RATE: "" });
  assert.equal(defaults.flags.number("reconcile-rate"), 15_000);
  assert.equal(defaults.flags.string("namespace"), undefined);
  assert.ok(!defaults.flags.isSet("namespace"));
});

Deno.test("parseFlags() keeps positionals", () => {
  const { positionals } = parse([
    "default/web-0",
    "-v=1",
    "--",
    "--not-a-flag",
  ]);
  assert.deepEqual(positionals, ["default/web-0", "--not-a-flag"]);
});

Deno.test("parseFlags() names the flag in one line when input is bad", async (t) => {
  const cases: {
    args: string[];
    env?: Record<string, string>;
    message: RegExp;
  }[] = [
    { args: ["--bogus"], message: /unknown flag "--bogus"/ },
    { args: ["-x"], message: /unknown flag "-x"/ },
    {
      args: ["--verbosity=high"],
      message: /flag "--verbosity" .*"high": expected an integer/,
    },
    {
      args: ["--reconcile-rate=15"],
      message: /flag "--reconcile-rate" .*"15": expected a Go duration/,
    },
    { args: ["--reconcile-rate=-1s"], message: /must not be negative/ },
    { args: ["--log-format=xml"], message: /expected one of "text", "json"/ },
    { args: ["--dry-run=maybe"], message: /boolean --dry-run "maybe"/ },
    { args: ["--namespace"], message: /flag "--namespace" needs a value/ },
    {
      args: [],
      env: { RECONCILE_RATE: "soon" },
      message: /from env RECONCILE_RATE "soon"/,
    },
  ];
  for (const c of cases) {
    await t.step(c.args.join(" ") || JSON.stringify(c.env), () => {
      assert.throws(() => parse(c.args, c.env), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, c.message);
        assert.ok(!error.message.includes("\n"));
        return true;
      });
    });
  }
});

Deno.test("ParsedFlags reading an undeclared flag is a programming error", () => {
  const { flags } = parse([]);
  assert.throws(() => flags.string("nope"), TypeError);
});
