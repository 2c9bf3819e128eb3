/**
 * `linstor-suite demo`: the main job on the embedded default. Starts the
 * LINSTOR simulator on the demo scenario, feeds the state model from it over
 * real HTTP through the shared LINSTOR client, prints the model's view, then
 * plays the scenario's timeline and prints the view after each change.
 *
 * @module
 */
import { LinstorClient } from "../linstor/mod.ts";
import {
  createSimulator,
  demoScenario,
  serveSimulator,
  type SimAction,
} from "../sim/mod.ts";
import {
  type ClusterState,
  createLinstorReader,
  describeSnapshot,
  startClusterState,
} from "../state/mod.ts";
import { type Clock, SYSTEM_CLOCK } from "../system/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import { formatDuration } from "./duration.ts";
import { LOG_FLAGS, setupLogging } from "./common.ts";

const DEMO_POLL_INTERVAL_MS = 200;
const DEMO_WAIT_MS = 15_000;

/** Runs the demo and exits. */
export const DEMO_COMMAND: Command = {
  name: "demo",
  summary:
    "Run the main job on the embedded default: LINSTOR simulator + demo scenario",
  description:
    "Starts the LINSTOR simulator on the embedded demo scenario, polls it over HTTP with the " +
    "shared LINSTOR client into the cluster state model, prints the model's view, then plays " +
    "the scenario's timeline (fast-forwarded) and prints the view after each change.",
  flags: [...LOG_FLAGS],
  run: runDemo,
};

/** A clock that can jump forward, so the demo plays its timeline at once. */
class JumpClock implements Clock {
  #offset = 0;
  now(): number {
    return SYSTEM_CLOCK.now() + this.#offset;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return SYSTEM_CLOCK.sleep(ms, signal);
  }
  jumpTo(at: number): void {
    this.#offset += Math.max(0, at - this.now());
  }
}

async function runDemo(context: CommandContext): Promise<number> {
  // The demo's output is its tables; logs only say more when asked with -v.
  await setupLogging(context, {
    quiet: !context.flags.isSet("verbosity"),
  });
  const out = context.stdout;
  const stop = new AbortController();
  const signal = AbortSignal.any([context.signal, stop.signal]);
  const clock = new JumpClock();
  const simulator = createSimulator({ clock, scenario: demoScenario() });
  const server = await serveSimulator(simulator, {
    hostname: "127.0.0.1",
    port: 0,
    signal,
  });
  const client = new LinstorClient({
    controllers: [server.url],
    timeoutMs: 5_000,
  });
  const running = startClusterState({
    clock,
    linstor: createLinstorReader(client),
  }, { kinds: [], pollIntervalMs: DEMO_POLL_INTERVAL_MS, signal });
  try {
    out(`LINSTOR simulator (demo scenario) serving on ${server.url}\n`);
    out(
      `State model polls it every ${
        formatDuration(DEMO_POLL_INTERVAL_MS)
      } through the shared LINSTOR client.\n\n`,
    );
    const start = clock.now();
    await freshView(running.state, start, signal);
    out(`== t=0s: initial state\n`);
    out(describeSnapshot(running.state.snapshot(), { now: clock.now() }));
    const times = [...new Set(simulator.timeline().map((t) => t.atMs))].sort(
      (a, b) => a - b,
    );
    for (const atMs of times) {
      clock.jumpTo(start + atMs);
      const applied = simulator.advance();
      const changedAt = clock.now();
      await freshView(running.state, changedAt, signal);
      out(
        `\n== t=${formatDuration(atMs)}: ${
          applied.map((s) =>
            describeAction(s.action) + (s.error ? ` (failed: ${s.error})` : "")
          ).join("; ")
        }\n`,
      );
      out(describeSnapshot(running.state.snapshot(), { now: clock.now() }));
    }
    out("\nDemo finished.\n");
    return 0;
  } finally {
    stop.abort();
    simulator.close();
    await Promise.allSettled([running.stopped, server.finished]);
    client.close();
  }
}

/** Waits until the state model holds LINSTOR data observed after `after`. */
async function freshView(
  state: ClusterState,
  after: number,
  signal: AbortSignal,
): Promise<void> {
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(DEMO_WAIT_MS)]);
  for (;;) {
    const observedAt = state.snapshot().linstor.observedAt;
    if (observedAt !== undefined && observedAt > after) return;
    if (deadline.aborted) {
      throw new Error(
        `Cannot show the demo state: no successful LINSTOR poll within ${
          formatDuration(DEMO_WAIT_MS)
        } (${state.snapshot().linstor.lastError ?? "no error recorded"})`,
      );
    }
    await state.polls.next(deadline).catch(() => {});
  }
}

function describeAction(action: SimAction): string {
  const { action: name, ...rest } = action;
  const args = Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(" ");
  return `${name} ${args}`.trim();
}
