/**
 * Each replaced tool's container args, exactly as its chart or manifest
 * renders them, run through the image's ENTRYPOINT (read from the
 * Dockerfile), `runCli()`'s dispatch and the mode's own flag table
 * (docs/migration.md). The modes are not started: the recording commands
 * carry the real names and flags and keep the parsed result.
 */
import assert from "node:assert/strict";
import {
  AFFINITY_FLAGS,
  affinityOptionsFromFlags,
} from "../../src/cli/affinity.ts";
import { EXTENDER_FLAGS } from "../../src/cli/extender.ts";
import {
  FENCING_FLAGS,
  fencingOptionsFromFlags,
} from "../../src/cli/fencing.ts";
import {
  type Command,
  type CommandContext,
  runCli,
} from "../../src/cli/mod.ts";
import type { FlagSpec } from "../../src/cli/flags.ts";
import {
  BARE_FLAGS_MODES,
  DECKHOUSE_EXTENDER_CERT_DIR,
  DROP_IN_DEFAULT_ARGS,
  DROP_IN_PROGRAMS,
} from "../../src/constants.ts";

/**
 * The image's ENTRYPOINT after the binary itself: what comes before a
 * container's `args` (Kubernetes `args` replace only CMD).
 */
async function entrypointArgs(): Promise<string[]> {
  const dockerfile = await Deno.readTextFile(
    new URL("../../Dockerfile", import.meta.url),
  );
  const stages = dockerfile.split(/^FROM /m);
  const last = stages[stages.length - 1]!;
  const line = /^ENTRYPOINT (\[.*\])$/m.exec(last);
  assert.ok(line, "the final stage has an exec-form ENTRYPOINT");
  const entrypoint = JSON.parse(line[1]!) as string[];
  assert.match(entrypoint[0]!, /\/linstor-suite$/);
  return entrypoint.slice(1);
}

const TABLES: Readonly<Record<string, readonly FlagSpec[]>> = {
  affinity: AFFINITY_FLAGS,
  extender: EXTENDER_FLAGS,
  fencing: FENCING_FLAGS,
};

/** Flags an anchor passes that we accept and ignore (the reason is in their description). */
const IGNORED = new Set([
  "drbd-status-interval",
  "fail-over-unsafe-pods",
  "satellite-pod-label",
]);

interface Anchor {
  /** Where the args come from. */
  source: string;
  mode: string;
  /** The container's args after `$(VAR)` expansion (no `command` set). */
  args: string[];
  env: Record<string, string>;
  /** Parsed values that must come out (durations in ms). */
  expect: Record<string, string | number | boolean>;
}

const LS = { LS_CONTROLLERS: "http://linstor-controller:3370" };

const ANCHORS: Anchor[] = [
  {
    source: "linstor-affinity-controller chart, default values",
    mode: "affinity",
    args: ["/linstor-affinity-controller", "--leader-election=true", "--v=1"],
    env: {
      ...LS,
      LEASE_LOCK_NAME: "linstor-affinity-controller",
      LEASE_HOLDER_IDENTITY: "linstor-affinity-controller-5d8f-abcde",
    },
    expect: {
      "leader-election": true,
      verbosity: 1,
      "lease-lock-name": "linstor-affinity-controller",
      "leader-election-id": "linstor-affinity-controller-5d8f-abcde",
      // Upstream's defaults: the chart probes :8000 without passing it.
      "health-address": ":8000",
      "resync-rate": 300_000,
      "leader-election-lease-duration": 30_000,
      "leader-election-renew-deadline": 25_000,
      "leader-election-retry-period": 10_000,
    },
  },
  {
    source: "linstor-affinity-controller chart, every option set",
    mode: "affinity",
    args: [
      "/linstor-affinity-controller",
      "--leader-election=false",
      "--metrics-address=:8001",
      "--property-namespace=Aux/topology",
      "--reconcile-rate=15s",
      "--resync-rate=15m",
      "--v=2",
      "--workers=10",
    ],
    env: LS,
    expect: {
      "leader-election": false,
      "metrics-address": ":8001",
      "property-namespace": "Aux/topology",
      "reconcile-rate": 15_000,
      "resync-rate": 900_000,
      verbosity: 2,
      workers: 10,
    },
  },
  {
    source: "piraeus-operator affinity-controller Deployment",
    mode: "affinity",
    args: [
      "/linstor-affinity-controller",
      "--v=1",
      "--leader-election=true",
      "--property-namespace=Aux/topology",
      "--bind-address=:8000",
      "--metrics-address=:8081",
    ],
    env: { ...LS, LEASE_LOCK_NAME: "linstor-affinity-controller" },
    expect: {
      "health-address": ":8000",
      "metrics-address": ":8081",
      "lease-lock-name": "linstor-affinity-controller",
    },
  },
  {
    source:
      "Deckhouse sds-replicated-volume affinity controller (image swapped only: flags without the program)",
    mode: "affinity",
    args: [
      "--leader-election=true",
      "--leader-election-id=linstor-affinity-controller-6c9d-xyz12",
      "--lease-lock-namespace=d8-sds-replicated-volume",
      "--lease-lock-name=linstor-affinity-controller",
      "--v=2",
    ],
    env: {
      LEASE_LOCK_NAME: "linstor-affinity-controller",
      LEASE_HOLDER_IDENTITY: "linstor-affinity-controller-6c9d-xyz12",
      LS_CONTROLLERS: "https://linstor.d8-sds-replicated-volume.svc:3371",
      NAME: "linstor-affinity-controller-6c9d-xyz12",
      NAMESPACE: "d8-sds-replicated-volume",
    },
    expect: {
      "leader-election-id": "linstor-affinity-controller-6c9d-xyz12",
      "lease-lock-namespace": "d8-sds-replicated-volume",
      verbosity: 2,
      // Its probes target :8000 without passing an address.
      "health-address": ":8000",
    },
  },
  {
    source: "Deckhouse affinity controller args with the program named",
    mode: "affinity",
    args: [
      "/linstor-affinity-controller",
      "--leader-election=true",
      "--leader-election-id=linstor-affinity-controller-0",
      "--lease-lock-namespace=d8-sds-replicated-volume",
      "--lease-lock-name=linstor-affinity-controller",
      "--v=2",
    ],
    env: {
      LS_CONTROLLERS: "https://linstor.d8-sds-replicated-volume.svc:3371",
    },
    expect: {
      "leader-election-id": "linstor-affinity-controller-0",
      "lease-lock-namespace": "d8-sds-replicated-volume",
      verbosity: 2,
    },
  },
  {
    source: "kubebuilder-style flags (piraeus-operator conventions)",
    mode: "affinity",
    args: [
      "linstor-affinity-controller",
      "--leader-elect=true",
      "--health-probe-bind-address=:8081",
      "--metrics-bind-address=:8080",
      "--leader-election-lease-duration=30s",
      "--leader-election-renew-deadline=25s",
      "--leader-election-retry-period=10s",
      "--timeout=1m",
    ],
    env: LS,
    expect: {
      "leader-election": true,
      "health-address": ":8081",
      "metrics-address": ":8080",
      "leader-election-lease-duration": 30_000,
      "leader-election-renew-deadline": 25_000,
      "leader-election-retry-period": 10_000,
      timeout: 60_000,
    },
  },
  {
    source: "piraeus-operator ha-controller DaemonSet",
    mode: "fencing",
    args: ["/agent", "--v=1"],
    env: { ...LS, NODE_NAME: "node-a" },
    expect: { verbosity: 1, "node-name": "node-a", "health-address": ":8000" },
  },
  {
    source: "piraeus-ha-controller chart, every option set",
    mode: "fencing",
    args: [
      "/agent",
      "--disable-node-taints=true",
      "--drbd-status-interval=5s",
      "--fail-over-timeout=5s",
      "--fail-over-unsafe-pods=false",
      "--grace-period-seconds=10",
      "--operations-timeout=30s",
      "--reconcile-interval=10s",
      "--resync-interval=15m",
      "--v=1",
    ],
    env: { ...LS, NODE_NAME: "node-a" },
    expect: {
      "disable-node-taints": true,
      "fail-over-timeout": 5_000,
      "grace-period-seconds": 10,
      "operations-timeout": 30_000,
      "reconcile-interval": 10_000,
      "resync-interval": 900_000,
    },
  },
  {
    source: "piraeus-ha-controller binary flags",
    mode: "fencing",
    args: [
      "/piraeus-ha-controller",
      "--node-name=node-b",
      "--health-bind-address=:8000",
      "--satellite-pod-label=app.kubernetes.io/component=linstor-satellite",
    ],
    env: LS,
    expect: { "node-name": "node-b", "health-address": ":8000" },
  },
  {
    source: "linstor-scheduler-extender deploy/all.yaml (image swapped only)",
    mode: "extender",
    args: ["--verbose=true"],
    env: { LS_CONTROLLERS: "http://piraeus-op-cs.default.svc" },
    expect: { verbose: true, listen: ":8099" },
  },
  {
    source: "linstor-scheduler chart (image swapped only)",
    mode: "extender",
    args: ["--verbose=true"],
    env: {
      LS_CONTROLLERS: "https://linstor-controller.piraeus.svc:3371",
      LS_USER_CERTIFICATE: "-----BEGIN CERTIFICATE-----",
      LS_USER_KEY: "-----BEGIN PRIVATE KEY-----",
      LS_ROOT_CA: "-----BEGIN CERTIFICATE-----",
    },
    expect: { verbose: true, listen: ":8099", "health-address": ":8080" },
  },
  {
    source:
      "Deckhouse sds-replicated-volume linstor-scheduler-extender (image swapped only)",
    mode: "extender",
    args: ["--verbose=true"],
    env: {
      LS_CONTROLLERS: "https://linstor.d8-sds-replicated-volume.svc:3371",
    },
    expect: {
      verbose: true,
      listen: ":8099",
      "tls-cert-dir": DECKHOUSE_EXTENDER_CERT_DIR,
    },
  },
  {
    source:
      "linstor-scheduler-extender with command set to the program (earlier migration notes)",
    mode: "extender",
    args: ["/linstor-scheduler-extender", "--verbose=true"],
    env: { LS_CONTROLLERS: "http://piraeus-op-cs.default.svc" },
    expect: { verbose: true },
  },
  {
    source: "Deckhouse scheduler extender (HTTPS, kubebuilder probes)",
    mode: "extender",
    args: [
      "linstor-scheduler-extender",
      "--listen-address=:8099",
      "--tls-cert-file=/etc/sds-replicated-volume-scheduler-extender/certs/tls.crt",
      "--tls-key-file=/etc/sds-replicated-volume-scheduler-extender/certs/tls.key",
      "--health-probe-bind-address=:8081",
      "--metrics-bind-address=:8080",
      "--v=4",
    ],
    env: LS,
    expect: {
      listen: ":8099",
      "tls-cert": "/etc/sds-replicated-volume-scheduler-extender/certs/tls.crt",
      "tls-key": "/etc/sds-replicated-volume-scheduler-extender/certs/tls.key",
      "health-address": ":8081",
      "metrics-address": ":8080",
      verbosity: 4,
    },
  },
];

function recordingCommands(
  seen: { name: string; context: CommandContext }[],
): Command[] {
  return Object.entries(TABLES).map(([name, flags]) => ({
    name,
    summary: `records ${name}`,
    flags,
    run(context) {
      seen.push({ name, context });
      return Promise.resolve(0);
    },
  }));
}

function specOf(flags: readonly FlagSpec[], given: string): FlagSpec {
  const spec = flags.find((f) =>
    f.name === given || (f.aliases ?? []).includes(given)
  );
  assert.ok(spec, `flag --${given} is not declared`);
  return spec;
}

Deno.test("runCli() runs each anchor's exact container args through the image's entrypoint as the replacing mode", async (t) => {
  const entrypoint = await entrypointArgs();
  for (const anchor of ANCHORS) {
    await t.step(anchor.source, async () => {
      const seen: { name: string; context: CommandContext }[] = [];
      const err: string[] = [];
      const code = await runCli([...entrypoint, ...anchor.args], {
        env: anchor.env,
        stdout: () => {},
        stderr: (text) => err.push(text),
        signal: new AbortController().signal,
        commands: recordingCommands(seen),
      });
      assert.equal(code, 0, err.join(""));
      assert.equal(seen.length, 1);
      const { name, context } = seen[0]!;
      assert.equal(name, anchor.mode);
      assert.deepEqual(context.positionals, []);
      const table = TABLES[anchor.mode]!;
      for (const arg of anchor.args.filter((a) => a.startsWith("-"))) {
        const flag = /^--?([^=]+)/.exec(arg)![1]!;
        const spec = specOf(table, flag);
        assert.ok(context.flags.isSet(spec.name), `--${flag} was not taken`);
        if (IGNORED.has(spec.name)) {
          assert.match(spec.description, /^Accepted and ignored: \S/);
        }
      }
      for (const [flag, value] of Object.entries(anchor.expect)) {
        const spec = specOf(table, flag);
        const actual = typeof value === "string"
          ? context.flags.string(spec.name)
          : typeof value === "boolean"
          ? context.flags.boolean(spec.name)
          : context.flags.number(spec.name);
        assert.equal(actual, value, `--${flag}`);
      }
      // Same meaning: the mode's own option builder takes the result.
      if (anchor.mode === "affinity") affinityOptionsFromFlags(context.flags);
      if (anchor.mode === "fencing") fencingOptionsFromFlags(context.flags);
    });
  }
});

Deno.test("runCli() maps every replaced program to a real subcommand, shown by its --help", async (t) => {
  for (const [program, mode] of Object.entries(DROP_IN_PROGRAMS)) {
    await t.step(program, async () => {
      const out: string[] = [];
      const code = await runCli([program, "--help"], {
        env: {},
        stdout: (text) => out.push(text),
        stderr: () => {},
        signal: new AbortController().signal,
      });
      assert.equal(code, 0);
      // The kubectl plugin's table is named as kubectl users type it.
      const usage = mode === "kubectl"
        ? "kubectl linstor-suite <subcommand>"
        : `linstor-suite ${mode} `;
      assert.match(out.join(""), new RegExp(`^Usage: ${usage}`));
    });
  }
});

Deno.test("runCli() keeps agent as the node agent and /agent as fencing", async () => {
  assert.equal(DROP_IN_PROGRAMS["/agent"], "fencing");
  assert.equal(Object.hasOwn(DROP_IN_PROGRAMS, "agent"), false);
  const out: string[] = [];
  await runCli(["agent", "--help"], {
    env: {},
    stdout: (text) => out.push(text),
    stderr: () => {},
    signal: new AbortController().signal,
  });
  assert.match(out.join(""), /^Usage: linstor-suite agent /);
});

Deno.test("runCli() rejects an anchor flag the replacing mode does not know", async () => {
  const err: string[] = [];
  const code = await runCli(["/agent", "--no-such-flag=1"], {
    env: {},
    stdout: () => {},
    stderr: (text) => err.push(text),
    signal: new AbortController().signal,
    commands: recordingCommands([]),
  });
  assert.equal(code, 2);
  assert.match(err.join(""), /unknown flag "--no-such-flag"/);
});

Deno.test("runCli() runs bare flags as the extender with linstor-scheduler-extender's defaults", async () => {
  assert.equal(BARE_FLAGS_MODES[0], "extender");
  const seen: { name: string; context: CommandContext }[] = [];
  const code = await runCli(["--verbose=true", "--listen=127.0.0.1:9000"], {
    env: {},
    stdout: () => {},
    stderr: () => {},
    signal: new AbortController().signal,
    commands: recordingCommands(seen),
  });
  assert.equal(code, 0);
  assert.equal(seen[0]!.name, "extender");
  // The manifest's own flag wins over the drop-in default.
  assert.equal(seen[0]!.context.flags.string("listen"), "127.0.0.1:9000");
  assert.ok(DROP_IN_DEFAULT_ARGS.extender!.includes("--listen=:8099"));
});

Deno.test("runCli() runs bare flags as the first bare-flags mode whose flag table takes them all", async (t) => {
  for (
    const [args, mode] of [
      [["--verbose=true"], "extender"],
      [["--v=2"], "extender"],
      [["--v=2", "--reconcile-rate=15s"], "affinity"],
      [["--leader-election=true", "--verbose"], "affinity"],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const seen: { name: string; context: CommandContext }[] = [];
      const code = await runCli(args, {
        env: {},
        stdout: () => {},
        stderr: () => {},
        signal: new AbortController().signal,
        commands: recordingCommands(seen),
      });
      assert.equal(code, 0);
      assert.equal(seen[0]!.name, mode);
    });
  }
  await t.step("no mode takes them: the extender's usage error", async () => {
    const err: string[] = [];
    const code = await runCli(["--verbose", "--no-such-flag"], {
      env: {},
      stdout: () => {},
      stderr: (text) => err.push(text),
      signal: new AbortController().signal,
      commands: recordingCommands([]),
    });
    assert.equal(code, 2);
    assert.match(err.join(""), /^linstor-suite extender: .*"--no-such-flag"/);
  });
});

Deno.test("runCli() keeps the subcommand's own defaults when it is named", async () => {
  const seen: { name: string; context: CommandContext }[] = [];
  await runCli(["extender", "--verbose=true"], {
    env: {},
    stdout: () => {},
    stderr: () => {},
    signal: new AbortController().signal,
    commands: recordingCommands(seen),
  });
  assert.equal(seen[0]!.context.flags.string("listen"), "127.0.0.1:8099");
  assert.equal(seen[0]!.context.flags.isSet("tls-cert-dir"), false);
});

Deno.test("runCli() still shows help and the version for bare --help, -h and --version", async (t) => {
  for (
    const [args, pattern] of [
      [["--help"], /^Usage: linstor-suite <subcommand>/],
      [["-h"], /^Usage: linstor-suite <subcommand>/],
      [["help"], /^Usage: linstor-suite <subcommand>/],
      [["--version"], /^linstor-suite \d/],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const out: string[] = [];
      const code = await runCli(args, {
        env: {},
        stdout: (text) => out.push(text),
        stderr: () => {},
        signal: new AbortController().signal,
      });
      assert.equal(code, 0);
      assert.match(out.join(""), pattern);
    });
  }
});
