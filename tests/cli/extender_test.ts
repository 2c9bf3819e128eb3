import assert from "node:assert/strict";
import { verbosityOf } from "../../src/cli/common.ts";
import { verbosityToLevel } from "../../src/observability/mod.ts";
import {
  createExtenderCommand,
  EXTENDER_FLAGS,
  extenderConfigFromFlags,
} from "../../src/cli/extender.ts";
import {
  type CommandContext,
  parseFlags,
  runCli,
  UsageError,
} from "../../src/cli/mod.ts";
import { DEFAULT_EXTENDER_CONFIG } from "../../src/modes/extender/mod.ts";
import { POLICY_LOCAL_ONLY } from "../../src/csi/mod.ts";

function context(
  args: string[],
  files: Record<string, string> = {},
): CommandContext {
  const parsed = parseFlags(args, { flags: EXTENDER_FLAGS, env: {} });
  return {
    flags: parsed.flags,
    positionals: parsed.positionals,
    env: {},
    stdout: () => {},
    stderr: () => {},
    signal: new AbortController().signal,
    readTextFile: (path) =>
      path in files
        ? Promise.resolve(files[path]!)
        : Promise.reject(new Deno.errors.NotFound(`no ${path}`)),
  };
}

Deno.test("`extenderConfigFromFlags()` layers defaults, the config file and flags", async (t) => {
  await t.step("defaults without flags", async () => {
    assert.deepEqual(
      await extenderConfigFromFlags(context([])),
      DEFAULT_EXTENDER_CONFIG,
    );
  });
  await t.step("flags override the file", async () => {
    const config = await extenderConfigFromFlags(context(
      [
        "--config=/c.yaml",
        "--max-staleness=2m",
        "--prefix=scheduler",
        "--filter-verb",
        "predicate",
      ],
      {
        "/c.yaml":
          "maxStaleness: 30s\nreservationTTL: 10s\ncapacity: {hardFilter: always}\n",
      },
    ));
    assert.equal(config.maxStalenessMs, 120_000);
    assert.equal(config.reservationTtlMs, 10_000);
    assert.equal(config.capacity.hardFilter, "always");
    assert.equal(config.prefix, "/scheduler");
    assert.equal(config.filterVerb, "predicate");
  });
  await t.step(
    "--default-remote-access-policy overrides the file's",
    async () => {
      const fromFile = await extenderConfigFromFlags(context(
        ["--config=/c.yaml"],
        { "/c.yaml": "defaultRemoteAccessPolicy: false\n" },
      ));
      assert.deepEqual(fromFile.defaultRemoteAccessPolicy, POLICY_LOCAL_ONLY);
      const fromFlag = await extenderConfigFromFlags(context(
        [
          "--config=/c.yaml",
          "--default-remote-access-policy=- fromSame: [topology.kubernetes.io/zone]",
        ],
        { "/c.yaml": "defaultRemoteAccessPolicy: false\n" },
      ));
      assert.deepEqual(fromFlag.defaultRemoteAccessPolicy, [{
        fromSame: ["topology.kubernetes.io/zone"],
      }]);
    },
  );
  const bad: [string, string[], Record<string, string>, RegExp][] = [
    [
      "missing config file",
      ["--config=/nope.yaml"],
      {},
      /Cannot read extender config "\/nope.yaml"/,
    ],
    ["bad config file", ["--config=/c.yaml"], {
      "/c.yaml": "predicates: [nope]",
    }, /unknown predicate "nope" .*\(in \/c.yaml\)$/],
    [
      "zero staleness",
      ["--max-staleness=0s"],
      {},
      /--max-staleness must be positive/,
    ],
    ["verb with a slash", ["--filter-verb=a/b"], {}, /single path segment/],
    [
      "an invalid default remote-access policy",
      ["--default-remote-access-policy=[]"],
      {},
      /^flag --default-remote-access-policy: Cannot parse remote-access policy/,
    ],
    [
      "equal verbs",
      ["--filter-verb=x", "--prioritize-verb=x"],
      {},
      /must differ/,
    ],
  ];
  for (const [name, args, files, pattern] of bad) {
    await t.step(`rejects ${name}`, async () => {
      await assert.rejects(
        () => extenderConfigFromFlags(context(args, files)),
        (e: unknown) => e instanceof UsageError && pattern.test(e.message),
      );
    });
  }
});

Deno.test("`linstor-suite extender` exits 2 with one line on usage errors, before connecting", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["unknown argument", ["extender", "serve"], /unknown argument "serve"/],
    [
      "explain without a pod",
      ["extender", "explain"],
      /explain takes exactly one NAMESPACE\/POD/,
    ],
    [
      "certificate without key",
      ["extender", "--tls-cert=/c.pem"],
      /--tls-cert and --tls-key go together/,
    ],
    [
      "bad listen address",
      ["extender", "--listen=nowhere"],
      /flag --listen: Cannot parse listen address "nowhere"/,
    ],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, async () => {
      let connected = false;
      const command = createExtenderCommand({
        createKube: () => {
          connected = true;
          return Promise.reject(new Error("must not connect"));
        },
        hostname: () => "test",
      });
      let stderr = "";
      const code = await runCli(args, {
        env: {},
        commands: [command],
        stdout: () => {},
        stderr: (text) => stderr += text,
        signal: new AbortController().signal,
      });
      assert.equal(code, 2);
      assert.match(stderr.split("\n")[0] ?? "", pattern);
      assert.equal(connected, false);
    });
  }
});

Deno.test("`extender` accepts linstor-scheduler-extender's `--verbose=true` as debug logging", () => {
  const ctx = context(["--verbose=true"]);
  assert.equal(ctx.flags.boolean("verbose"), true);
  assert.equal(verbosityToLevel(verbosityOf(ctx)), "debug");
});
