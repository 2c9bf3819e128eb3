import assert from "node:assert/strict";
import { TokenBucket } from "../../src/linstor/mod.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";

Deno.test("`TokenBucket.take()` passes the burst at once, then spaces takes by 1/qps", async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 10, burst: 3 }, { clock });
  const done: number[] = [];
  for (let i = 0; i < 5; i++) {
    bucket.take().then(() => done.push(clock.now()));
  }
  await flushMicrotasks();
  const start = clock.now();
  assert.deepEqual(done, [start, start, start]);
  await clock.advance(100);
  assert.deepEqual(done.length, 4);
  await clock.advance(100);
  assert.deepEqual(done, [start, start, start, start + 100, start + 200]);
});

Deno.test("`TokenBucket.take()` refills while idle, up to the burst", async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 1, burst: 2 }, { clock });
  await bucket.take();
  await bucket.take();
  await clock.advance(60_000);
  await bucket.take();
  await bucket.take();
  let third = false;
  bucket.take().then(() => third = true);
  await flushMicrotasks();
  assert.equal(third, false);
  await clock.advance(1_000);
  assert.equal(third, true);
});

Deno.test("`TokenBucket.take()` rejects with the reason on abort and returns the token", async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 1, burst: 1 }, { clock });
  await bucket.take();
  const controller = new AbortController();
  const waiting = bucket.take(controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(waiting, /stop/);
  await clock.advance(1_000);
  await bucket.take();
  assert.equal(clock.pending, 0);
});

Deno.test("`TokenBucket` rejects non-positive qps and bursts below one", async (t) => {
  const clock = new FakeClock();
  const cases: [number, number, RegExp][] = [
    [0, 1, /"qps"/],
    [-1, 1, /"qps"/],
    [Infinity, 1, /"qps"/],
    [1, 0, /"burst"/],
    [1, 2.5, /"burst"/],
  ];
  for (const [qps, burst, message] of cases) {
    await t.step(`qps ${qps}, burst ${burst}`, () => {
      assert.throws(
        () => new TokenBucket({ qps, burst }, { clock }),
        (error: unknown) =>
          error instanceof RangeError && message.test(error.message),
      );
    });
  }
});
