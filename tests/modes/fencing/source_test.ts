/**
 * The stream source against a real child process: a test double of
 * `drbdsetup` (tests/_fixtures/drbdsetup/drbdsetup_double.sh) replaying
 * recorded streams, then exiting or hanging on cue.
 */
import assert from "node:assert/strict";
import {
  DrbdState,
  type DrbdView,
  initialDump,
  runDrbdSource,
} from "../../../src/modes/fencing/mod.ts";
import { createCommandRunner } from "../../../src/system/command.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { PEER_A, PEER_C, resourceOnB, T0 } from "./_world.ts";

const FIXTURES = new URL("../../_fixtures/drbdsetup/", import.meta.url);

/** A FakeClock that tells when someone starts sleeping. */
class WatchedClock extends FakeClock {
  onSleep: () => void = () => {};
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const sleeping = super.sleep(ms, signal);
    this.onSleep();
    return sleeping;
  }
}

/** A directory holding the double as `drbdsetup` and what it replays. */
async function doubleDir(
  streams: { lines: string; end: string }[],
  show: unknown = [{ resource: "pvc-1", options: { quorum: "majority" } }],
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "drbdsetup-double-" });
  await Deno.copyFile(
    new URL("drbdsetup_double.sh", FIXTURES),
    `${dir}/drbdsetup`,
  );
  await Deno.chmod(`${dir}/drbdsetup`, 0o755);
  if (show !== undefined) {
    await Deno.writeTextFile(`${dir}/show.json`, JSON.stringify(show));
  }
  for (const [i, stream] of streams.entries()) {
    await Deno.writeTextFile(`${dir}/events2.${i + 1}`, stream.lines);
    await Deno.writeTextFile(`${dir}/events2.${i + 1}.end`, stream.end);
  }
  return dir;
}

/** Runs the source until `done(state)` holds after a change; bounded by 15 s. */
async function runUntil(
  dir: string,
  clock: WatchedClock,
  done: (state: DrbdState, starts: number) => boolean,
): Promise<{ view: DrbdView; starts: number; lines: Map<string, number> }> {
  const state = new DrbdState();
  const controller = new AbortController();
  let starts = 0;
  const lines = new Map<string, number>();
  let reached: DrbdView | undefined;
  const check = () => {
    if (reached === undefined && done(state, starts)) {
      reached = state.view();
      controller.abort();
    }
  };
  // Whenever the source sleeps for its backoff, move time on.
  clock.onSleep = () => queueMicrotask(() => clock.advance(60_000));
  const guard = setTimeout(() => controller.abort(), 15_000);
  try {
    await runDrbdSource({
      runner: createCommandRunner(),
      clock,
      state,
      onChange: check,
      onStart: () => starts++,
      onLine: (kind) => {
        lines.set(kind, (lines.get(kind) ?? 0) + 1);
        check();
      },
    }, { signal: controller.signal, program: `${dir}/drbdsetup` });
  } finally {
    clearTimeout(guard);
  }
  assert.ok(reached, "the source stopped before the goal");
  assert.equal(state.synced, false, "blind once stopped");
  return { view: reached, starts, lines };
}

Deno.test("runDrbdSource() replays a recorded stream and skips its garbage", async () => {
  const recorded = await Deno.readTextFile(
    new URL("events2_peer_lost.txt", FIXTURES),
  );
  const dir = await doubleDir([{ lines: recorded, end: "hang" }]);
  try {
    const { view, lines } = await runUntil(
      dir,
      new WatchedClock(T0 + 20_000),
      (s) =>
        s.synced && s.stats.garbage === 2 &&
        s.view().resources.get("pvc-1")?.connections[0]?.state ===
          "Connecting",
    );
    const pvc = view.resources.get("pvc-1")!;
    assert.equal(pvc.quorumPolicy, "majority");
    assert.equal(pvc.connections[0]!.downSince, T0 + 10_000);
    assert.equal(lines.get("garbage"), 2, "the overrun warning, the cut line");
    assert.equal(lines.get("dump-complete"), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDrbdSource() restarts drbdsetup after it exits and is blind in between", async () => {
  const dump = initialDump([resourceOnB()], { at: T0 }).join("\n") + "\n";
  const down = { ...PEER_A, state: "Connecting" };
  const second = initialDump([resourceOnB({ peers: [down, PEER_C] })], {
    at: T0 + 30_000,
  }).join("\n") + "\n";
  const dir = await doubleDir([
    { lines: dump, end: "1" },
    { lines: "", end: "20" },
    { lines: second, end: "hang" },
  ]);
  const blindSeen: boolean[] = [];
  try {
    const clock = new WatchedClock(T0 + 40_000);
    const { view, starts } = await runUntil(dir, clock, (s, n) => {
      blindSeen.push(s.synced);
      return n === 3 && s.synced;
    });
    assert.equal(starts, 3);
    assert.ok(blindSeen.includes(false) && blindSeen.includes(true));
    const a = view.resources.get("pvc-1")!.connections[0]!;
    assert.equal(a.state, "Connecting");
    assert.equal(a.seenHealthy, true, "health seen in the first stream counts");
    const recorded = await Deno.readTextFile(`${dir}/starts`);
    assert.equal(
      recorded.trim().split("\n")[0],
      "events2 --timestamps --full",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDrbdSource() stays blind and alive when drbdsetup cannot run", async () => {
  const dir = await doubleDir([], undefined);
  try {
    const { view, starts } = await runUntil(
      dir,
      new WatchedClock(T0),
      (_s, n) => n >= 3,
    );
    assert.equal(view.synced, false);
    assert.equal(starts, 3);
    assert.equal(view.resources.size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
