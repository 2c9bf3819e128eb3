import assert from "node:assert/strict";
import {
  createOnceSource,
  type Mode,
  modeReadiness,
  type Operation,
  passMode,
} from "../../src/reconcile/mod.ts";
import { buildSnapshot } from "../_builders/snapshot.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";

const T0 = Date.UTC(2026, 0, 1);

function op(
  key: string,
  options: {
    leaderOnly?: boolean;
    run?: (signal: AbortSignal) => Promise<void>;
  } = {},
): Operation & { runs: number } {
  const operation = {
    name: "Touch",
    key,
    summary: `touch ${key}`,
    runs: 0,
    ...(options.leaderOnly === undefined
      ? {}
      : { leaderOnly: options.leaderOnly }),
    async execute(signal: AbortSignal) {
      operation.runs++;
      await options.run?.(signal);
    },
  };
  return operation;
}

/** A mode planning `operations` and counting passes in its memory. */
function countingMode(operations: readonly Operation[]): Mode<number> {
  return {
    name: "test",
    kinds: [],
    memory: 0,
    plan: (_snapshot, context) => ({ operations, memory: context.memory + 1 }),
  };
}

Deno.test("passMode() gates leader-only operations and runs the others on a non-leader", async () => {
  const shared = op("a-leader");
  const local = op("b-local", { leaderOnly: false });
  const report = await passMode(countingMode([shared, local]), {
    snapshot: buildSnapshot(),
    now: T0,
    memory: 0,
    inputs: {},
  }, { signal: new AbortController().signal, isLeader: () => false });
  assert.equal(shared.runs, 0);
  assert.equal(local.runs, 1);
  assert.deepEqual(report.execution.skipped.map((s) => s.reason), [
    "not-leader",
  ]);
  assert.equal(report.memory, 1, "the plan's memory is returned");
});

Deno.test("passMode() prints and executes nothing in dry-run, and settles the memory", async () => {
  const shared = op("a");
  const lines: string[] = [];
  const mode: Mode<number> = {
    ...countingMode([shared]),
    settle: (memory, report) => memory + 10 * report.skipped.length,
  };
  const report = await passMode(mode, {
    snapshot: buildSnapshot(),
    now: T0,
    memory: 0,
    inputs: {},
  }, {
    signal: new AbortController().signal,
    dryRun: true,
    print: (line) => lines.push(line),
  });
  assert.equal(shared.runs, 0);
  assert.deepEqual(lines, ["dry-run: Touch a: touch a\n"]);
  assert.equal(report.memory, 11);
});

Deno.test("passMode() aborts a running leader-only operation the moment the term ends", async () => {
  const term = new AbortController();
  let started!: () => void;
  const running = new Promise<void>((resolve) => started = resolve);
  const slow = op("slow", {
    run: (signal) =>
      new Promise<void>((_, reject) => {
        started();
        signal.addEventListener("abort", () => reject(signal.reason), {
          once: true,
        });
      }),
  });
  const pass = passMode(countingMode([slow]), {
    snapshot: buildSnapshot(),
    now: T0,
    memory: 0,
    inputs: {},
  }, {
    signal: new AbortController().signal,
    isLeader: () => true,
    leaderSignal: () => term.signal,
  });
  await running;
  term.abort(new Error("lost the Lease"));
  const report = await pass;
  assert.equal(report.execution.failed.length, 1);
  assert.match(String(report.execution.failed[0]!.error), /lost the Lease/);
});

Deno.test("modeReadiness() is one rule over caches, LINSTOR age, sources and the mode", async (t) => {
  const synced = buildSnapshot({
    linstor: { observedAt: T0 - 5_000 },
    kube: { persistentVolumes: [] },
  });
  const cases: {
    name: string;
    snapshot: ReturnType<typeof buildSnapshot>;
    options?: Partial<Parameters<typeof modeReadiness>[1]>;
    ok: boolean;
    detail: RegExp;
  }[] = [
    {
      name: "everything synced and fresh",
      snapshot: synced,
      ok: true,
      detail: /caches synced/,
    },
    {
      name: "a watched kind not listed yet",
      snapshot: buildSnapshot({
        linstor: { observedAt: T0 },
        kinds: ["persistentVolumes", "pods"],
        kube: { persistentVolumes: [] },
      }),
      ok: false,
      detail: /Kubernetes pods not synced yet/,
    },
    {
      name: "LINSTOR never polled, with the last error",
      snapshot: buildSnapshot({
        linstor: { observedAt: null, lastError: "connection refused" },
      }),
      ok: false,
      detail: /LINSTOR not polled successfully yet: connection refused/,
    },
    {
      name:
        "LINSTOR never polled does not matter to a mode that does not read it",
      snapshot: buildSnapshot({ linstor: { observedAt: null } }),
      options: { readsLinstor: false },
      ok: true,
      detail: /caches synced/,
    },
    {
      name: "LINSTOR data too old",
      snapshot: buildSnapshot({ linstor: { observedAt: T0 - 120_000 } }),
      ok: false,
      detail: /LINSTOR data is 120s old \(max 60s\)/,
    },
    {
      name: "a source not ready (blind)",
      snapshot: synced,
      options: {
        sources: [{
          name: "drbdsetup events2",
          result: { ok: false, detail: "blind" },
        }],
      },
      ok: false,
      detail: /drbdsetup events2: blind/,
    },
    {
      name: "the mode's own condition",
      snapshot: synced,
      options: { mode: { ok: false, detail: "storm guard tripped" } },
      ok: false,
      detail: /storm guard tripped/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const result = modeReadiness(c.snapshot, {
        now: T0,
        readsLinstor: true,
        maxLinstorAgeMs: 60_000,
        ...c.options,
      });
      assert.equal(result.ok, c.ok, result.detail);
      assert.match(result.detail, c.detail);
    });
  }
});

Deno.test("createOnceSource() retries a failing read with backoff, not ready until it succeeds", async () => {
  const clock = new FakeClock(T0);
  const attempts: number[] = [];
  const source = createOnceSource("cluster identity", {
    clock,
    initialDelayMs: 1_000,
    maxDelayMs: 4_000,
    read() {
      attempts.push(clock.now() - T0);
      return attempts.length < 5
        ? Promise.reject(new Error("apiserver not ready"))
        : Promise.resolve("uid-1");
    },
  });
  const stop = new AbortController();
  let wakes = 0;
  const running = source.run(stop.signal, () => wakes++);
  await flushMicrotasks();
  assert.equal(source.current(), undefined);
  assert.equal(source.ready!().ok, false);
  assert.match(source.ready!().detail, /1 attempts: apiserver not ready/);
  await clock.advance(20_000);
  await running;
  assert.deepEqual(attempts, [0, 1_000, 3_000, 7_000, 11_000]);
  assert.equal(source.current(), "uid-1");
  assert.equal(source.ready!().ok, true);
  assert.equal(wakes, 1);
  assert.equal(clock.pending, 0, "no timer left once read");
});
