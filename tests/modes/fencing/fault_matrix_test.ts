/**
 * The fault matrix of docs/fencing.md: agents on node-b and node-c, each with
 * its own DRBD state fed by generated events2 streams, plan and execute
 * every second against the faithful Kubernetes fake; node-a is Primary and
 * runs the opted-in pod. Each scenario injects a fault, lets it last, heals
 * it, and the test asserts zero false fencings and zero taints left behind,
 * then writes the table into docs/fencing.md.
 */
import assert from "node:assert/strict";
import type { V1Node } from "@kubernetes/client-node";
import {
  LABEL_ON_STORAGE_LOST,
  TAINT_LOST_QUORUM,
} from "../../../src/constants.ts";
import { KUBE_KINDS, type KubeKind } from "../../../src/kube/mod.ts";
import {
  DrbdState,
  emptyFencingMemory,
  type FencingMemory,
  fencingOperations,
  type GenPeer,
  type GenResource,
  initialDump,
  peerBackLines,
  peerLostLines,
  planFencing,
} from "../../../src/modes/fencing/mod.ts";
import { executeOperations } from "../../../src/reconcile/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { FakeKube } from "../../_fakes/fake_kube.ts";
import { buildSnapshot, type KubeInput } from "../../_builders/snapshot.ts";
import {
  feed,
  PEER_A,
  PEER_C,
  T0,
  worldObjects,
  type WorldOptions,
} from "./_world.ts";

const PEER_B: GenPeer = { peerNodeId: 1, name: "node-b" };
const FAULT_AT = 10;
const HEAL_AT = 60;
const END_AT = 90;

interface Agent {
  readonly node: string;
  readonly state: DrbdState;
  memory: FencingMemory;
}

type Lines = (at: number) => string[];

interface Step {
  readonly at: number;
  /** Lines per agent. */
  readonly b?: Lines;
  readonly c?: Lines;
  /** A restart of drbdsetup on the agent (blind until its next dump). */
  readonly restart?: "b" | "c";
  readonly kube?: (kube: FakeKube) => void;
}

interface Scenario {
  readonly name: string;
  /** What must happen to the pod on node-a (its removals, in order). */
  readonly expected: string;
  readonly world?: WorldOptions;
  readonly dumpB?: GenResource;
  readonly dumpC?: GenResource;
  readonly steps: readonly Step[];
}

const ON_B: GenResource = { name: "pvc-1", peers: [PEER_A, PEER_C] };
const ON_C: GenResource = { name: "pvc-1", peers: [PEER_A, PEER_B] };

function lost(peer: GenPeer): Lines {
  return (at) => peerLostLines("pvc-1", peer, { at });
}

function back(peer: GenPeer): Lines {
  return (at) => peerBackLines("pvc-1", peer, { at });
}

function nodeReady(name: string, ready: boolean) {
  return (kube: FakeKube) => {
    const node = kube.get("nodes", name)!;
    kube.seed("nodes", {
      ...node,
      status: {
        conditions: [{ type: "Ready", status: ready ? "True" : "Unknown" }],
      },
    } as V1Node);
  };
}

const A_LOST_EVERYWHERE: Step[] = [
  { at: FAULT_AT, b: lost(PEER_A), c: lost(PEER_A) },
  { at: HEAL_AT, b: back(PEER_A), c: back(PEER_A) },
];

const SCENARIOS: readonly Scenario[] = [
  {
    name: "node-a powered off (Node Ready until 40 s later)",
    expected: "evicted → force-deleted",
    steps: [
      ...A_LOST_EVERYWHERE,
      { at: FAULT_AT, kube: (kube) => kube.setKubeletDown("node-a") },
      { at: FAULT_AT + 40, kube: nodeReady("node-a", false) },
      { at: HEAL_AT, kube: nodeReady("node-a", true) },
    ],
  },
  {
    name: "node-a powered off, already NotReady",
    expected: "force-deleted",
    steps: [
      ...A_LOST_EVERYWHERE,
      { at: FAULT_AT, kube: nodeReady("node-a", false) },
      { at: HEAL_AT, kube: nodeReady("node-a", true) },
    ],
  },
  {
    name: "storage network of node-a cut (Node stays Ready)",
    expected: "evicted",
    steps: A_LOST_EVERYWHERE,
  },
  {
    name: "kubelet-only outage on node-a (DRBD connected)",
    expected: "untouched",
    steps: [
      { at: FAULT_AT, kube: nodeReady("node-a", false) },
      { at: HEAL_AT, kube: nodeReady("node-a", true) },
    ],
  },
  {
    name: "link node-a–node-b cut, node-c sees both",
    expected: "untouched",
    steps: [
      { at: FAULT_AT, b: lost(PEER_A) },
      { at: HEAL_AT, b: back(PEER_A) },
    ],
  },
  {
    name: "node-b isolated (lost quorum on its side)",
    expected: "untouched",
    steps: [
      {
        at: FAULT_AT,
        b: (at) => [
          ...lost(PEER_A)(at),
          ...lost(PEER_C)(at),
          `${
            stamp(at)
          } change device name:pvc-1 volume:0 minor:1000 backing_dev:/dev/vg0/pvc-1_00000 disk:UpToDate client:no open:no quorum:no`,
        ],
        c: lost(PEER_B),
      },
      {
        at: HEAL_AT,
        b: (at) => [
          ...back(PEER_A)(at),
          ...back(PEER_C)(at),
          `${
            stamp(at)
          } change device name:pvc-1 volume:0 minor:1000 backing_dev:/dev/vg0/pvc-1_00000 disk:UpToDate client:no open:no quorum:yes`,
        ],
        c: back(PEER_B),
      },
    ],
  },
  {
    name: "flapping links to node-a (down 3 s of every 4 s)",
    expected: "untouched",
    steps: Array.from({ length: 12 }, (_, i) => [
      { at: FAULT_AT + 4 * i, b: lost(PEER_A), c: lost(PEER_A) },
      { at: FAULT_AT + 4 * i + 3, b: back(PEER_A), c: back(PEER_A) },
    ]).flat(),
  },
  {
    name: "new volume still syncing when node-a is lost",
    expected: "untouched",
    dumpB: {
      ...ON_B,
      disk: "Inconsistent",
      peers: [{ ...PEER_A, replication: "SyncTarget" }, PEER_C],
    },
    dumpC: {
      ...ON_C,
      disk: "Inconsistent",
      peers: [{ ...PEER_A, replication: "SyncTarget" }, PEER_B],
    },
    steps: [
      ...A_LOST_EVERYWHERE,
      { at: FAULT_AT, kube: nodeReady("node-a", false) },
      { at: HEAL_AT, kube: nodeReady("node-a", true) },
    ],
  },
  {
    name: "drbdsetup on node-b and node-c restarts during the outage",
    expected: "force-deleted",
    steps: [
      ...A_LOST_EVERYWHERE,
      { at: FAULT_AT, kube: nodeReady("node-a", false) },
      { at: FAULT_AT + 2, restart: "b" },
      { at: FAULT_AT + 2, restart: "c" },
      { at: HEAL_AT, kube: nodeReady("node-a", true) },
    ],
  },
  {
    name: "garbage lines in both streams, node-a lost",
    expected: "force-deleted",
    steps: [
      {
        at: FAULT_AT,
        b: (at) => ["drbdsetup: warning", ...lost(PEER_A)(at), "change x"],
        c: (at) => ["\u0000", ...lost(PEER_A)(at), "2026-07-01T10:00"],
      },
      { at: HEAL_AT, b: back(PEER_A), c: back(PEER_A) },
      { at: FAULT_AT, kube: nodeReady("node-a", false) },
      { at: HEAL_AT, kube: nodeReady("node-a", true) },
    ],
  },
  {
    name: "node-a lost, its pod is not labelled",
    expected: "untouched",
    world: {
      pod: (p) => {
        delete p.metadata!.labels![LABEL_ON_STORAGE_LOST];
        return p;
      },
    },
    steps: [
      ...A_LOST_EVERYWHERE,
      { at: FAULT_AT, kube: nodeReady("node-a", false) },
      { at: HEAL_AT, kube: nodeReady("node-a", true) },
    ],
  },
  {
    name: "node-a lost while 2 other nodes are fenced (storm guard)",
    expected: "untouched",
    world: { extraNodes: ["node-d", "node-e"], tainted: ["node-d", "node-e"] },
    steps: [
      ...A_LOST_EVERYWHERE,
      { at: FAULT_AT, kube: nodeReady("node-a", false) },
      { at: HEAL_AT, kube: nodeReady("node-a", true) },
    ],
  },
];

function stamp(at: number): string {
  return `${new Date(at).toISOString().slice(0, 23)}000+00:00`;
}

interface Outcome {
  readonly pod: string;
  /** Seconds from the fault until the pod object is gone. */
  readonly seconds: number | undefined;
  readonly actions: readonly string[];
  readonly taintsLeft: number;
}

async function kubeInput(kube: FakeKube): Promise<KubeInput> {
  const input: Record<string, unknown[]> = {};
  for (const kind of KUBE_KINDS) {
    input[kind] = (await kube.list(kind as KubeKind)).items;
  }
  return input as KubeInput;
}

async function simulate(scenario: Scenario): Promise<Outcome> {
  const clock = new FakeClock(T0);
  const kube = new FakeKube({ clock });
  const objects = worldObjects({ cReports: undefined, ...scenario.world });
  for (const kind of KUBE_KINDS) {
    for (const obj of (objects[kind] ?? []) as never[]) kube.seed(kind, obj);
  }
  const policies = new Map([["pvc-1", "majority"]]);
  const agents: Record<"b" | "c", Agent> = {
    b: { node: "node-b", state: new DrbdState(), memory: emptyFencingMemory() },
    c: { node: "node-c", state: new DrbdState(), memory: emptyFencingMemory() },
  };
  const dumps = { b: scenario.dumpB ?? ON_B, c: scenario.dumpC ?? ON_C };
  const restartAt: Record<"b" | "c", number | undefined> = {
    b: undefined,
    c: undefined,
  };
  for (const key of ["b", "c"] as const) {
    agents[key].state.beginResync();
    agents[key].state.setQuorumPolicies(policies);
    feed(agents[key].state, initialDump([dumps[key]], { at: T0 }), T0);
  }
  const actions: string[] = [];
  let removedAt: number | undefined;
  const removals: string[] = [];
  for (let second = 0; second <= END_AT; second++) {
    const now = T0 + second * 1000;
    if (second > 0) await clock.advance(1000);
    for (const step of scenario.steps.filter((s) => s.at === second)) {
      step.kube?.(kube);
      for (const key of ["b", "c"] as const) {
        const lines = step[key]?.(now);
        if (lines) feed(agents[key].state, lines, now);
        if (step.restart === key) {
          agents[key].state.beginResync();
          restartAt[key] = second;
        }
      }
    }
    if (removedAt === undefined && !kube.get("pods", "apps/web-0")) {
      removedAt = second;
    }
    for (const key of ["b", "c"] as const) {
      // A restarted drbdsetup dumps the current state 3 s later.
      if (restartAt[key] !== undefined && second === restartAt[key]! + 3) {
        const down = dumps[key].peers.map((p) =>
          p.name === "node-a" ? { ...p, state: "Connecting" } : p
        );
        feed(
          agents[key].state,
          initialDump([{ ...dumps[key], peers: down }], { at: now }),
          now,
        );
      }
      const agent = agents[key];
      const snapshot = buildSnapshot({
        kube: await kubeInput(kube),
        takenAt: now,
      });
      const plan = planFencing({ drbd: agent.state.view(), snapshot }, {
        now,
        nodeName: agent.node,
        memory: agent.memory,
        options: { minFencingIntervalMs: 0 },
      });
      agent.memory = plan.memory;
      const report = await executeOperations(
        fencingOperations(plan.actions, { kube }),
        { signal: new AbortController().signal },
      );
      for (const operation of report.executed) {
        if (operation.name === "PublishLostPeers") continue;
        actions.push(`${operation.name}@${second}s by ${agent.node}`);
        if (operation.name === "ForceDeletePod") removals.push("force-deleted");
        if (operation.name === "EvictPod") removals.push("evicted");
      }
    }
  }
  let taintsLeft = 0;
  for (const name of ["node-a", "node-b", "node-c"]) {
    const taints = kube.get("nodes", name)?.spec?.taints ?? [];
    taintsLeft += taints.filter((t) => t.key === TAINT_LOST_QUORUM).length;
  }
  await kube.close();
  if (removedAt === undefined && !kube.get("pods", "apps/web-0")) {
    removedAt = END_AT;
  }
  return {
    pod: removals.length === 0 ? "untouched" : removals.join(" → "),
    seconds: removedAt === undefined ? undefined : removedAt - FAULT_AT,
    actions,
    taintsLeft,
  };
}

function summarize(actions: readonly string[]): string {
  const kinds = [...new Set(actions.map((a) => a.split("@")[0]))];
  return kinds.length === 0 ? "none" : kinds.join(", ");
}

Deno.test("the fencing fault matrix has zero false fencings and zero taints left", async () => {
  const rows: string[] = [
    "| scenario | expected | observed | after | actions | taints left |",
    "|---|---|---|---|---|---|",
  ];
  let falseFencings = 0;
  let taintsLeft = 0;
  for (const scenario of SCENARIOS) {
    const outcome = await simulate(scenario);
    if (scenario.expected === "untouched" && outcome.pod !== "untouched") {
      falseFencings++;
    }
    taintsLeft += outcome.taintsLeft;
    rows.push(
      `| ${scenario.name} | ${scenario.expected} | ${outcome.pod} | ${
        outcome.seconds === undefined ? "—" : `${outcome.seconds} s`
      } | ${summarize(outcome.actions)} | ${outcome.taintsLeft} |`,
    );
    assert.equal(outcome.pod, scenario.expected, scenario.name);
    assert.equal(outcome.taintsLeft, 0, `${scenario.name}: taints left`);
  }
  assert.equal(falseFencings, 0);
  rows.push(
    "",
    `False fencings: ${falseFencings}. Taints left behind: ${taintsLeft}. ` +
      `Fault at ${FAULT_AT} s, healed at ${HEAL_AT} s, fail-over timeout 5 s, ` +
      `passes every second; "after" is the time from the fault to the pod's removal.`,
  );
  const path = new URL("../../../docs/fencing.md", import.meta.url);
  const doc = await Deno.readTextFile(path);
  const begin = "<!-- fault-matrix:begin -->";
  const end = "<!-- fault-matrix:end -->";
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  assert.ok(start >= 0 && stop > start, "docs/fencing.md has the markers");
  const next = `${doc.slice(0, start + begin.length)}\n${rows.join("\n")}\n${
    doc.slice(stop)
  }`;
  const formatted = await formatMarkdown(next);
  if (formatted !== doc) await Deno.writeTextFile(path, formatted);
});

/** `deno fmt` of a Markdown text, so the written doc passes `deno fmt --check`. */
async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}
