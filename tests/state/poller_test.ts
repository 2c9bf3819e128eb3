import assert from "node:assert/strict";
import {
  LinstorPollError,
  LinstorPollTimeoutError,
  type LinstorReader,
  pollLinstor,
} from "../../src/state/mod.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";
import { linstorNode, resource } from "../_builders/mod.ts";

/** A reader whose five calls answer from `answers` (a function per call). */
function reader(
  overrides: Partial<Record<keyof LinstorReader, (s: AbortSignal) => unknown>>,
): LinstorReader & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  const call =
    (name: keyof LinstorReader, value: unknown[]) => (signal: AbortSignal) => {
      signals.push(signal);
      const override = overrides[name];
      return (override ? override(signal) : Promise.resolve(value)) as Promise<
        never[]
      >;
    };
  return {
    signals,
    listNodes: call("listNodes", [linstorNode("n1")]),
    viewStoragePools: call("viewStoragePools", []),
    viewResources: call("viewResources", [resource("r1", "n1")]),
    listResourceDefinitions: call("listResourceDefinitions", []),
    listResourceGroups: call("listResourceGroups", []),
  };
}

Deno.test("pollLinstor() returns the five lists", async () => {
  const data = await pollLinstor(reader({}), {
    clock: new FakeClock(),
    timeoutMs: 1_000,
    signal: new AbortController().signal,
  });
  assert.equal(data.nodes[0]?.name, "n1");
  assert.equal(data.resources[0]?.name, "r1");
  assert.deepEqual(data.storagePools, []);
});

Deno.test("pollLinstor() names the list that failed", async (t) => {
  const cause = new Error("HTTP 500");
  const cases: {
    name: string;
    overrides: Parameters<typeof reader>[0];
    message: string;
  }[] = [
    {
      name: "rejected call",
      overrides: { viewStoragePools: () => Promise.reject(cause) },
      message: "Cannot list LINSTOR storage pools: HTTP 500",
    },
    {
      name: "synchronous throw",
      overrides: {
        listResourceGroups: () => {
          throw cause;
        },
      },
      message: "Cannot list LINSTOR resource groups: HTTP 500",
    },
    {
      name: "not an array",
      overrides: { listNodes: () => Promise.resolve({ nodes: [] }) },
      message: "Cannot list LINSTOR nodes: expected a JSON array, got object",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const fake = reader(c.overrides);
      const error = await pollLinstor(fake, {
        clock: new FakeClock(),
        timeoutMs: 1_000,
        signal: new AbortController().signal,
      }).catch((e) => e);
      assert.ok(error instanceof LinstorPollError);
      assert.equal(error.message, c.message);
      assert.equal(error.name, "LinstorPollError");
      // The calls still running are told to stop.
      assert.ok(fake.signals.every((signal) => signal.aborted));
    });
  }
});

Deno.test("pollLinstor() aborts after its timeout even when a call ignores the signal", async () => {
  const clock = new FakeClock();
  const fake = reader({ viewResources: () => new Promise(() => {}) });
  const poll = pollLinstor(fake, {
    clock,
    timeoutMs: 2_000,
    signal: new AbortController().signal,
  }).catch((e) => e);
  await flushMicrotasks();
  await clock.advance(1_999);
  assert.equal(fake.signals.some((s) => s.aborted), false);
  await clock.advance(1);
  const error = await poll;
  assert.ok(error instanceof LinstorPollTimeoutError);
  assert.equal(error.timeoutMs, 2_000);
  assert.ok(fake.signals.every((signal) => signal.aborted));
  assert.equal(clock.pending, 0);
});

Deno.test("pollLinstor() rejects with the signal's reason on shutdown", async () => {
  const controller = new AbortController();
  const clock = new FakeClock();
  const poll = pollLinstor(
    reader({ viewResources: () => new Promise(() => {}) }),
    { clock, timeoutMs: 2_000, signal: controller.signal },
  ).catch((e) => e);
  await flushMicrotasks();
  const reason = new Error("shutdown");
  controller.abort(reason);
  assert.equal(await poll, reason);
  assert.equal(clock.pending, 0);
  await assert.rejects(
    pollLinstor(reader({}), { clock, timeoutMs: 1, signal: controller.signal }),
    (error) => error === reason,
  );
  await assert.rejects(
    pollLinstor(reader({}), {
      clock,
      timeoutMs: 0,
      signal: new AbortController().signal,
    }),
    {
      name: "RangeError",
      message:
        'Cannot poll LINSTOR with timeout "0": must be a positive number of ms',
    },
  );
});
