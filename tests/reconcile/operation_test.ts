import assert from "node:assert/strict";
import {
  errorMessage,
  executeOperations,
  type Operation,
} from "../../src/reconcile/mod.ts";

function op(
  key: string,
  run: (signal: AbortSignal) => Promise<void> = () => Promise.resolve(),
): Operation & { runs: number } {
  const operation = {
    name: "Touch",
    key,
    summary: `touch ${key}`,
    runs: 0,
    async execute(signal: AbortSignal) {
      operation.runs++;
      await run(signal);
    },
  };
  return operation;
}

Deno.test("executeOperations() runs every operation and reports failures without stopping", async () => {
  const ops = [
    op("a"),
    op("b", () => Promise.reject(new Error("boom"))),
    op("c"),
  ];
  const observed: string[] = [];
  const report = await executeOperations(ops, {
    signal: new AbortController().signal,
    metrics: {
      observe: (name, outcome) => observed.push(`${name}:${outcome}`),
    },
  });
  assert.deepEqual(report.executed.map((o) => o.key), ["a", "c"]);
  assert.equal(report.failed.length, 1);
  assert.equal(report.failed[0]!.operation.key, "b");
  assert.deepEqual(observed.sort(), [
    "Touch:error",
    "Touch:success",
    "Touch:success",
  ]);
});

Deno.test("executeOperations() skips everything when dry-run or not leader", async (t) => {
  const cases = [
    { name: "dry-run", options: { dryRun: true }, reason: "dry-run" },
    {
      name: "not leader",
      options: { isLeader: () => false },
      reason: "not-leader",
    },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, async () => {
      const ops = [op("a"), op("b")];
      const report = await executeOperations(ops, {
        signal: new AbortController().signal,
        ...c.options,
      });
      assert.equal(report.executed.length, 0);
      assert.deepEqual(report.skipped.map((s) => s.reason), [
        c.reason,
        c.reason,
      ]);
      assert.equal(ops[0]!.runs + ops[1]!.runs, 0);
    });
  }
});

Deno.test("executeOperations() never runs more than `concurrency` operations at once", async () => {
  let running = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const ops = Array.from({ length: 7 }, (_, i) =>
    op(`k${i}`, async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
    }));
  const done = executeOperations(ops, {
    signal: new AbortController().signal,
    concurrency: 3,
  });
  while (gates.length > 0 || running > 0) {
    await Promise.resolve();
    const gate = gates.shift();
    if (gate) gate();
    else if (running === 0) break;
  }
  const report = await done;
  assert.equal(report.executed.length, 7);
  assert.equal(peak, 3);
});

Deno.test("executeOperations() skips operations not started when the signal aborts", async () => {
  const controller = new AbortController();
  const ops = [
    op("a", () => {
      controller.abort(new Error("stop"));
      return Promise.resolve();
    }),
    op("b"),
    op("c"),
  ];
  const report = await executeOperations(ops, {
    signal: controller.signal,
    concurrency: 1,
  });
  assert.deepEqual(report.executed.map((o) => o.key), ["a"]);
  assert.deepEqual(
    report.skipped.map((s) => `${s.operation.key}:${s.reason}`),
    [
      "b:aborted",
      "c:aborted",
    ],
  );
});

Deno.test("executeOperations() rejects a concurrency that is not a positive integer", async () => {
  await assert.rejects(
    executeOperations([op("a")], {
      signal: new AbortController().signal,
      concurrency: 0,
    }),
    RangeError,
  );
});

Deno.test("errorMessage() joins causes once", () => {
  const error = new Error('Cannot replace PV "x"', {
    cause: new Error("conflict", { cause: "stale resourceVersion" }),
  });
  assert.equal(
    errorMessage(error),
    'Cannot replace PV "x": conflict: stale resourceVersion',
  );
  assert.equal(errorMessage("plain"), "plain");
});
