import assert from "node:assert/strict";
import type { CommandContext } from "../../src/cli/command.ts";
import { COMMON_FLAGS } from "../../src/cli/common.ts";
import { parseFlags } from "../../src/cli/flags.ts";
import {
  leaderElectionFlags,
  type ModeEnvironment,
  runMode,
  type RunModeOptions,
} from "../../src/cli/run_mode.ts";
import type { KubeKind, KubeObjectOf, ListResult } from "../../src/kube/mod.ts";
import { type Registry, resetLogging } from "../../src/observability/mod.ts";
import type { Mode, Operation } from "../../src/reconcile/mod.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";

const T0 = Date.UTC(2026, 0, 1);

/** A FakeKube that counts list calls per kind. */
class CountingKube extends FakeKube {
  readonly lists = new Map<string, number>();

  override list<K extends KubeKind>(
    kind: K,
    options: { signal?: AbortSignal } = {},
  ): Promise<ListResult<KubeObjectOf<K>>> {
    this.lists.set(kind, (this.lists.get(kind) ?? 0) + 1);
    return super.list(kind, options);
  }
}

interface Harness {
  readonly clock: FakeClock;
  readonly kube: CountingKube;
  readonly log: string[];
  /** Settles with the exit code when the mode ends. */
  readonly done: Promise<number>;
  /** Stops the mode (SIGTERM) and returns its exit code. */
  stop(): Promise<number>;
}

function startMode<Memory>(
  args: string[],
  options: {
    mode: (environment: ModeEnvironment) => Mode<Memory>;
    leaderElection?: boolean;
    relistIntervalMs?: number;
    clock?: FakeClock;
  },
): Harness {
  const clock = options.clock ?? new FakeClock(T0);
  const kube = new CountingKube({ clock });
  const { flags, positionals } = parseFlags(
    ["--health-address=127.0.0.1:0", ...args],
    { flags: [...COMMON_FLAGS, ...leaderElectionFlags("test")], env: {} },
  );
  const signal = new AbortController();
  const log: string[] = [];
  const context: CommandContext = {
    flags,
    positionals,
    env: {},
    stdout: () => {},
    stderr: (text) => log.push(text),
    signal: signal.signal,
    readTextFile: () => Promise.reject(new Error("no files here")),
  };
  const runOptions: RunModeOptions<Memory, Record<never, never>> = {
    name: "test",
    wiring: {
      createKube: () => Promise.resolve(kube),
      hostname: () => "host-1",
      clock,
    },
    create: options.mode,
    ...(options.leaderElection ? { leaderElection: true } : {}),
    ...(options.relistIntervalMs
      ? { relistIntervalMs: options.relistIntervalMs }
      : {}),
  };
  const done = runMode(context, runOptions);
  return {
    clock,
    kube,
    log,
    done,
    async stop() {
      signal.abort(new Error("SIGTERM"));
      try {
        return await done;
      } finally {
        await resetLogging();
      }
    },
  };
}

Deno.test("runMode() aborts a running leader-only operation the moment the Lease is lost, keeps local work going, and campaigns again", async () => {
  const timeline: string[] = [];
  let localRuns = 0;
  const clock = new FakeClock(T0);
  const at = () => `${(clock.now() - T0) / 1000}s`;
  const leaderOnly: Operation = {
    name: "Slow",
    key: "a/slow",
    summary: "runs until aborted",
    execute(signal) {
      timeline.push(`start@${at()}`);
      return new Promise<void>((_, reject) => {
        signal.addEventListener("abort", () => {
          timeline.push(`abort@${at()}: ${String(signal.reason?.message)}`);
          reject(signal.reason);
        }, { once: true });
      });
    },
  };
  const local: Operation = {
    name: "Local",
    key: "b/local",
    summary: "work for this node",
    leaderOnly: false,
    execute() {
      localRuns++;
      return Promise.resolve();
    },
  };
  let registry: Registry | undefined;
  const leading = async () => {
    const text = await registry!.metrics();
    const own = /^linstor_suite_leader\{mode="test",lease="test"\} (\d)$/m
      .exec(text)?.[1];
    const clientGo = /^leader_election_master_status\{name="test"\} (\d)$/m
      .exec(text)?.[1];
    assert.equal(own, clientGo, "both gauges agree");
    return own;
  };
  const harness = startMode([
    "--lease-lock-namespace=default",
    "--leader-election-id=me",
  ], {
    clock,
    leaderElection: true,
    mode: (environment) => ({
      name: "test",
      kinds: [],
      readsLinstor: false,
      memory: undefined,
      loop: { intervalMs: 1_000, passTimeoutMs: 600_000, workers: 2 },
      plan: (_snapshot, context) => {
        registry = environment.registry;
        return { operations: [leaderOnly, local], memory: context.memory };
      },
    }),
  });
  try {
    await flushMicrotasks(50);
    // The first pass ran before the first Lease attempt answered.
    assert.equal(localRuns, 1, "a local operation needs no Lease");
    assert.deepEqual(timeline, []);
    await clock.advance(1_000);
    assert.deepEqual(timeline, ["start@1s"]);
    assert.equal(await leading(), "1");
    // Another replica takes the Lease over (e.g. after a network split).
    harness.kube.seed("leases", {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { namespace: "default", name: "test" },
      spec: {
        holderIdentity: "other",
        leaseDurationSeconds: 15,
        renewTime: new Date(clock.now()),
      },
    });
    await harness.clock.advance(1_000);
    assert.deepEqual(timeline, [
      "start@1s",
      "abort@2s: Cannot continue: this replica lost the Lease (it campaigns again)",
    ], "aborted at the first renewal that saw the other holder");
    assert.equal(await leading(), "0", "the gauge drops with the Lease");
    const localBefore = localRuns;
    await harness.clock.advance(5_000);
    assert.equal(timeline.length, 2, "no leader-only work while not leading");
    assert.ok(localRuns > localBefore, "local work goes on");
    // The other holder never renews: after the lease duration this replica
    // takes over again and acts.
    await harness.clock.advance(20_000);
    assert.match(timeline[2] ?? "", /^start@/, timeline.join(", "));
    assert.equal(await leading(), "1");
    assert.equal(
      harness.kube.get("leases", "default/test")?.spec?.holderIdentity,
      "me",
    );
  } finally {
    assert.equal(await harness.stop(), 0);
  }
  assert.equal(
    harness.kube.get("leases", "default/test")?.spec?.holderIdentity,
    "",
    "released on shutdown",
  );
});

Deno.test("runMode() relists every watched kind at the resync rate", async () => {
  const harness = startMode([], {
    relistIntervalMs: 60_000,
    mode: () => ({
      name: "test",
      kinds: ["persistentVolumes", "storageClasses"],
      readsLinstor: false,
      memory: undefined,
    }),
  });
  try {
    await flushMicrotasks(50);
    assert.equal(harness.kube.lists.get("persistentVolumes"), 1);
    await harness.clock.advance(59_000);
    assert.equal(harness.kube.lists.get("persistentVolumes"), 1);
    await harness.clock.advance(1_000);
    assert.equal(harness.kube.lists.get("persistentVolumes"), 2);
    assert.equal(harness.kube.lists.get("storageClasses"), 2);
    await harness.clock.advance(60_000);
    assert.equal(harness.kube.lists.get("persistentVolumes"), 3);
  } finally {
    assert.equal(await harness.stop(), 0);
  }
});

Deno.test("runMode() without a resync rate lists once", async () => {
  const harness = startMode([], {
    mode: () => ({
      name: "test",
      kinds: ["persistentVolumes"],
      readsLinstor: false,
      memory: undefined,
    }),
  });
  try {
    await flushMicrotasks(50);
    await harness.clock.advance(600_000);
    assert.equal(harness.kube.lists.get("persistentVolumes"), 1);
  } finally {
    assert.equal(await harness.stop(), 0);
  }
});

Deno.test("runMode() exports process metrics, and no leader gauge for a mode without leader election", async () => {
  let registry: Registry | undefined;
  const harness = startMode([], {
    mode: (environment) => {
      registry = environment.registry;
      return {
        name: "test",
        kinds: [],
        readsLinstor: false,
        memory: undefined,
      };
    },
  });
  try {
    await flushMicrotasks(50);
    const text = await registry!.metrics();
    for (
      const name of [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "nodejs_heap_size_used_bytes",
      ]
    ) {
      assert.match(text, new RegExp(`^${name} \\d`, "m"), name);
    }
    assert.doesNotMatch(text, /^linstor_suite_leader\{/m);
  } finally {
    assert.equal(await harness.stop(), 0);
  }
});

Deno.test("runMode() reports a mode with leader election turned off as leading", async () => {
  let registry: Registry | undefined;
  const harness = startMode(["--leader-election=false"], {
    leaderElection: true,
    mode: (environment) => {
      registry = environment.registry;
      return {
        name: "test",
        kinds: [],
        readsLinstor: false,
        memory: undefined,
      };
    },
  });
  try {
    await flushMicrotasks(50);
    assert.match(
      await registry!.metrics(),
      /^linstor_suite_leader\{mode="test",lease="test"\} 1$/m,
    );
  } finally {
    assert.equal(await harness.stop(), 0);
  }
});

Deno.test("runMode() stops everything and exits 1 when a service cannot keep running", async () => {
  const harness = startMode([], {
    mode: () => ({
      name: "test",
      kinds: ["persistentVolumes"],
      readsLinstor: false,
      memory: undefined,
      services: [{
        name: "listener",
        run: () => Promise.reject(new Error("address already in use")),
      }],
    }),
  });
  // The mode ends on its own, before any stop signal.
  try {
    assert.equal(await harness.done, 1);
  } finally {
    await harness.stop();
  }
  assert.match(
    harness.log.join(""),
    /Cannot keep .*listener.* running: address already in use/,
  );
});

Deno.test("runMode() exits 0 when stopped during start-up", async () => {
  const harness = startMode([], {
    mode: () => ({
      name: "test",
      kinds: ["persistentVolumes"],
      readsLinstor: false,
      memory: undefined,
      loop: { intervalMs: 1_000, passTimeoutMs: 10_000 },
      plan: (_snapshot, context) => ({
        operations: [],
        memory: context.memory,
      }),
    }),
  });
  // SIGTERM before runMode() got past its first await.
  assert.equal(await harness.stop(), 0);
});
