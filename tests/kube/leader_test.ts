import assert from "node:assert/strict";
import { startLeaderElection } from "../../src/kube/mod.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";

const NS = "linstor";
const NAME = "linstor-suite-affinity";

async function settle(): Promise<void> {
  await flushMicrotasks(50);
}

/** Advances the clock in retry-period steps so every attempt runs. */
async function advance(clock: FakeClock, ms: number): Promise<void> {
  for (let done = 0; done < ms; done += 500) {
    await clock.advance(Math.min(500, ms - done));
    await settle();
  }
}

function start(
  kube: FakeKube,
  clock: FakeClock,
  identity: string,
) {
  const controller = new AbortController();
  const changes: boolean[] = [];
  const election = startLeaderElection(kube, {
    namespace: NS,
    name: NAME,
    identity,
    clock,
    signal: controller.signal,
    onChange: (leading) => changes.push(leading),
  });
  return {
    election,
    changes,
    stop: async () => {
      controller.abort();
      await election.stopped;
    },
  };
}

function holder(kube: FakeKube): string | undefined {
  return kube.peek("leases", `${NS}/${NAME}`)?.spec?.holderIdentity;
}

Deno.test("startLeaderElection() creates an absent Lease and leads", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  const a = start(kube, clock, "pod-a");
  await settle();
  assert.equal(a.election.isLeader(), true);
  assert.deepEqual(a.changes, [true]);
  const lease = kube.peek("leases", `${NS}/${NAME}`)!;
  assert.equal(lease.spec!.holderIdentity, "pod-a");
  assert.equal(lease.spec!.leaseDurationSeconds, 15);
  assert.equal(lease.spec!.leaseTransitions, 0);
  // Renews every retry period.
  const rv = lease.metadata!.resourceVersion;
  await advance(clock, 2_000);
  assert.notEqual(
    kube.peek("leases", `${NS}/${NAME}`)!.metadata!.resourceVersion,
    rv,
  );
  assert.equal(a.election.isLeader(), true);
  await a.stop();
  assert.equal(clock.pending, 0);
});

Deno.test("startLeaderElection() respects a Lease another holder keeps renewing", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  const a = start(kube, clock, "pod-a");
  await settle();
  const b = start(kube, clock, "pod-b");
  await advance(clock, 60_000);
  assert.equal(a.election.isLeader(), true);
  assert.equal(b.election.isLeader(), false);
  assert.deepEqual(b.changes, []);
  assert.equal(holder(kube), "pod-a");
  await b.stop();
  await a.stop();
});

Deno.test("startLeaderElection() takes over a Lease unchanged for its duration", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  kube.seed("leases", {
    metadata: { name: NAME, namespace: NS },
    spec: {
      holderIdentity: "dead-pod",
      leaseDurationSeconds: 15,
      renewTime: new Date(clock.now()),
      leaseTransitions: 3,
    },
  });
  const b = start(kube, clock, "pod-b");
  await settle();
  await advance(clock, 14_000);
  assert.equal(b.election.isLeader(), false, "not before 15 s");
  await advance(clock, 2_000);
  assert.equal(b.election.isLeader(), true);
  assert.equal(holder(kube), "pod-b");
  assert.equal(
    kube.peek("leases", `${NS}/${NAME}`)!.spec!.leaseTransitions,
    4,
  );
  await b.stop();
});

Deno.test("startLeaderElection() takes a released Lease at once", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  const a = start(kube, clock, "pod-a");
  await settle();
  const b = start(kube, clock, "pod-b");
  await advance(clock, 4_000);
  assert.equal(b.election.isLeader(), false);
  await a.stop();
  assert.deepEqual(a.changes, [true, false]);
  assert.equal(a.election.isLeader(), false);
  const released = kube.peek("leases", `${NS}/${NAME}`)!;
  assert.equal(released.spec!.holderIdentity, "");
  assert.equal(released.spec!.leaseDurationSeconds, 1);
  await advance(clock, 2_000);
  assert.equal(b.election.isLeader(), true);
  assert.equal(holder(kube), "pod-b");
  await b.stop();
});

Deno.test("startLeaderElection() steps down when it cannot renew within the deadline", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  const a = start(kube, clock, "pod-a");
  await settle();
  assert.equal(a.election.isLeader(), true);
  kube.failNext("get", new Error("apiserver unreachable"), {
    kind: "leases",
    times: 100,
  });
  await advance(clock, 8_000);
  assert.equal(a.election.isLeader(), true, "still within 10 s");
  await advance(clock, 2_500);
  assert.equal(a.election.isLeader(), false);
  assert.deepEqual(a.changes, [true, false]);
  await a.stop();
});

Deno.test("startLeaderElection() steps down when another candidate holds the Lease", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  const a = start(kube, clock, "pod-a");
  await settle();
  const lease = kube.peek("leases", `${NS}/${NAME}`)!;
  await kube.replace("leases", {
    ...lease,
    spec: { ...lease.spec, holderIdentity: "usurper" },
  });
  await advance(clock, 2_000);
  assert.equal(a.election.isLeader(), false);
  assert.deepEqual(a.changes, [true, false]);
  assert.equal(holder(kube), "usurper", "does not fight a live holder");
  await a.stop();
  assert.equal(holder(kube), "usurper", "does not release a Lease it lost");
});

Deno.test("startLeaderElection() elects exactly one of many candidates", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  const candidates = ["a", "b", "c", "d"].map((id) => start(kube, clock, id));
  for (let i = 0; i < 10; i++) {
    await advance(clock, 1_000);
    const leaders = candidates.filter((c) => c.election.isLeader());
    assert.equal(leaders.length, 1, `one leader at step ${i}`);
  }
  for (const c of candidates) await c.stop();
});

Deno.test("startLeaderElection() rejects inconsistent timings", async (t) => {
  const kube = new FakeKube({ clock: new FakeClock() });
  const cases: [string, Record<string, number | string>, RegExp][] = [
    ["renew deadline above lease", {
      leaseDurationMs: 5_000,
      renewDeadlineMs: 10_000,
    }, /leaseDurationMs > renewDeadlineMs/],
    ["zero retry", { retryPeriodMs: 0 }, /retryPeriodMs must be positive/],
    ["empty identity", { identity: "" }, /identity is empty/],
  ];
  for (const [name, overrides, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () =>
          startLeaderElection(kube, {
            namespace: NS,
            name: NAME,
            identity: "x",
            clock: new FakeClock(),
            signal: AbortSignal.abort(),
            ...overrides,
          }),
        message,
      );
    });
  }
});
