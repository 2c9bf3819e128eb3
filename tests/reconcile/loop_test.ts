import assert from "node:assert/strict";
import { type PassResult, runLoop, Wakeups } from "../../src/reconcile/mod.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";

Deno.test("runLoop() runs a pass at start and then every interval", async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  const starts: number[] = [];
  const t0 = clock.now();
  const done = runLoop(() => {
    starts.push(clock.now() - t0);
    return Promise.resolve();
  }, {
    name: "test",
    clock,
    signal: controller.signal,
    intervalMs: 1000,
    passTimeoutMs: 500,
  });
  await flushMicrotasks();
  await clock.advance(3000);
  controller.abort();
  await done;
  assert.deepEqual(starts, [0, 1000, 2000, 3000]);
});

Deno.test("runLoop() collapses a burst of wake-ups into one debounced pass", async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  const wakeups = new Wakeups();
  let passes = 0;
  const done = runLoop(() => {
    passes++;
    return Promise.resolve();
  }, {
    name: "test",
    clock,
    signal: controller.signal,
    intervalMs: 60_000,
    passTimeoutMs: 1000,
    wakeups,
    debounceMs: 100,
  });
  await flushMicrotasks();
  assert.equal(passes, 1);
  for (let i = 0; i < 5; i++) wakeups.wake();
  await flushMicrotasks();
  await clock.advance(50);
  wakeups.wake();
  await clock.advance(100);
  assert.equal(passes, 2);
  await clock.advance(100);
  assert.equal(passes, 3, "a wake during the debounce asks for one more pass");
  controller.abort();
  await done;
});

Deno.test("runLoop() reports a failed or timed-out pass and keeps running", async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  const results: PassResult[] = [];
  let pass = 0;
  const done = runLoop((signal) => {
    pass++;
    if (pass === 1) return Promise.reject(new Error("LINSTOR down"));
    if (pass === 2) {
      return new Promise<void>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      );
    }
    return Promise.resolve();
  }, {
    name: "test",
    clock,
    signal: controller.signal,
    intervalMs: 1000,
    passTimeoutMs: 300,
    onPass: (r) => results.push(r),
  });
  await flushMicrotasks();
  await clock.advance(1000);
  await clock.advance(300);
  await clock.advance(1000);
  controller.abort();
  await done;
  assert.deepEqual(results.map((r) => r.ok), [false, false, true]);
  assert.match(
    String((results[1]!.error as Error).message),
    /timed out after 300 ms/,
  );
});

Deno.test("runLoop() rejects a non-positive interval", async () => {
  await assert.rejects(
    runLoop(() => Promise.resolve(), {
      name: "bad",
      clock: new FakeClock(),
      signal: new AbortController().signal,
      intervalMs: 0,
      passTimeoutMs: 1,
    }),
    RangeError,
  );
});
