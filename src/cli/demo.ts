/**
 * `linstor-suite demo`: the main job on the embedded default.
 *
 * 1. Starts the LINSTOR simulator on the demo scenario and serves it over
 *    HTTP on 127.0.0.1.
 * 2. Feeds the cluster state model from it through the shared LINSTOR client
 *    (a real poll per step) and from the Kubernetes objects a linstor-csi
 *    cluster would hold for that scenario (`src/demo/kube.ts`).
 * 3. Prints the model's view, then what the extender answers for two pending
 *    pods (a bound volume, and a new WaitForFirstConsumer volume).
 * 4. Plays the scenario's timeline (fast-forwarded) and prints the view after
 *    each change, with the extender's answer when a satellite changes and the
 *    affinity controller's plan (dry-run) when a replica moves.
 * 5. Shows a fencing decision on a generated `drbdsetup events2` stream: a
 *    peer lost while quorum is kept → its opted-in pod is evicted; a
 *    kubelet-only outage → nothing.
 * 6. Shows the node agent's plan for recorded LVM reports of three nodes:
 *    pools created, a duplicate tag and an invalid name refused,
 *    StorageClasses `linstor-<pool>-r1..rN`.
 *
 * @module
 */
import type { V1Pod } from "@kubernetes/client-node";
import {
  agentDemoText,
  DEMO_NAMESPACE,
  demoKubeObjects,
  fencingDemoText,
} from "../demo/mod.ts";
import { LinstorClient } from "../linstor/mod.ts";
import { planAffinity } from "../modes/affinity/mod.ts";
import {
  DEFAULT_EXTENDER_CONFIG,
  explainPod,
  formatExplanation,
  Reservations,
} from "../modes/extender/mod.ts";
import {
  createSimulator,
  demoScenario,
  serveSimulator,
  type SimAction,
} from "../sim/mod.ts";
import {
  ClusterState,
  createLinstorReader,
  describeSnapshot,
  type KubeKind,
  pollLinstor,
} from "../state/mod.ts";
import { type Clock, SYSTEM_CLOCK } from "../system/mod.ts";
import { DEMO_COMMAND_INFO } from "./demo_flags.ts";
import type { Command, CommandContext, Write } from "./command.ts";
import { formatDuration } from "../domain/mod.ts";
import { setupLogging } from "./common.ts";

const DEMO_POLL_TIMEOUT_MS = 10_000;
const DEMO_KINDS: readonly KubeKind[] = [
  "nodes",
  "persistentVolumes",
  "persistentVolumeClaims",
  "storageClasses",
];

/** Runs the demo and exits. */
export const DEMO_COMMAND: Command = {
  ...DEMO_COMMAND_INFO,
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
  const start = clock.now();
  const simulator = createSimulator({ clock, scenario: demoScenario() });
  const server = await serveSimulator(simulator, {
    hostname: "127.0.0.1",
    port: 0,
    signal,
  });
  const client = new LinstorClient({
    controllers: [server.url],
    timeoutMs: 5_000,
    mode: "demo",
  });
  const reader = createLinstorReader(client);
  const state = new ClusterState({ clock }, {
    kinds: DEMO_KINDS,
    wakeupDebounceMs: 0,
    signal,
  });
  const kube = demoKubeObjects({ created: start - 3_600_000 });
  state.sink("nodes").replace(kube.nodes);
  state.sink("persistentVolumes").replace(kube.persistentVolumes);
  state.sink("persistentVolumeClaims").replace(kube.persistentVolumeClaims);
  state.sink("storageClasses").replace(kube.storageClasses);
  const poll = async () => {
    state.applyLinstorData(
      await pollLinstor(reader, {
        clock,
        timeoutMs: DEMO_POLL_TIMEOUT_MS,
        signal,
      }),
      clock.now(),
    );
  };
  try {
    out(`LINSTOR simulator (demo scenario) serving on ${server.url}\n`);
    out(
      "The state model polls it through the shared LINSTOR client after every step.\n\n",
    );
    await poll();
    out(`== t=0s: initial state\n`);
    out(describeSnapshot(state.snapshot(), { now: clock.now() }));
    for (const pod of kube.pods) {
      explainForPod(out, state, pod, clock.now());
    }
    planForDemo(out, state, clock.now());
    for (;;) {
      const next = simulator.nextEventAt();
      if (next === undefined) break;
      clock.jumpTo(next);
      const applied = simulator.advance();
      await poll();
      out(
        `\n== t=${formatDuration(applied[0]?.atMs ?? next - start)}: ${
          applied.map((s) =>
            describeAction(s.action) + (s.error ? ` (failed: ${s.error})` : "")
          ).join("; ")
        }\n`,
      );
      out(describeSnapshot(state.snapshot(), { now: clock.now() }));
      if (applied.some((s) => s.action.action === "set-node-status")) {
        explainForPod(out, state, kube.pods[0]!, clock.now());
      }
      if (applied.some((s) => s.action.action === "move-replica")) {
        planForDemo(out, state, clock.now());
      }
    }
    out(`\n== fencing (the agent on node-b, generated events2 stream)\n`);
    out(fencingDemoText(clock));
    out(`\n== agent (LVM tags become storage pools and StorageClasses)\n`);
    out(agentDemoText());
    out("\nDemo finished.\n");
    return 0;
  } finally {
    stop.abort();
    simulator.close();
    await server.finished;
    client.close();
  }
}

function explainForPod(
  out: Write,
  state: ClusterState,
  pod: V1Pod,
  now: number,
): void {
  const claims = (pod.spec?.volumes ?? []).map((v) =>
    v.persistentVolumeClaim?.claimName
  ).filter((c) => c !== undefined);
  out(
    `\n-- extender: where may pod ${DEMO_NAMESPACE}/${pod.metadata?.name} (claims ${
      claims.join(", ")
    }) go?\n`,
  );
  const explanation = explainPod(state.snapshot(), pod, {
    config: DEFAULT_EXTENDER_CONFIG,
    now,
    reservations: new Reservations({
      clock: { now: () => now, sleep: () => Promise.resolve() },
      ttlMs: DEFAULT_EXTENDER_CONFIG.reservationTtlMs,
    }),
  });
  out(formatExplanation(explanation));
}

/**
 * Prints what `linstor-suite affinity` would do now (its planner, dry-run):
 * the PVs whose nodeAffinity no longer matches LINSTOR, and why others are
 * left alone. The real controller replaces the PV under the same name
 * (`tools/affinity_demo.ts` shows it on a real control plane).
 */
function planForDemo(out: Write, state: ClusterState, now: number): void {
  const plan = planAffinity(state.snapshot(), {
    now,
    clusterIdentity: "demo-cluster",
    inPlaceSupported: false,
    options: {
      propertyNamespace: "Aux/topology",
      gracePeriodMs: 60_000,
      maxLinstorAgeMs: 60_000,
      maxReplacementsPerPass: 10,
    },
  });
  out(
    `\n-- affinity (dry-run, settle time 0): ${plan.examined} LINSTOR PVs examined, ${plan.drifted} drifted from LINSTOR\n`,
  );
  for (const action of plan.actions) {
    out(`${action.kind} ${action.key}: ${action.summary}\n`);
  }
  for (const skip of plan.skips) {
    out(
      `left alone ${skip.pvName || "(all)"}: ${skip.reason}: ${skip.detail}\n`,
    );
  }
  if (plan.actions.length === 0 && plan.skips.length === 0) {
    out("every PV's nodeAffinity matches where LINSTOR holds its data\n");
  }
}

function describeAction(action: SimAction): string {
  const { action: name, ...rest } = action;
  const args = Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(" ");
  return `${name} ${args}`.trim();
}
