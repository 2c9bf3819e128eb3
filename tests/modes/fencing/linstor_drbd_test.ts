import assert from "node:assert/strict";
import { LINSTOR_PROP_DRBD_QUORUM } from "../../../src/constants.ts";
import {
  createFencingMode,
  emptyFencingMemory,
  emptyLinstorDrbdMemory,
  type LinstorDrbdMemory,
  linstorDrbdView,
  planFencing,
} from "../../../src/modes/fencing/mod.ts";
import {
  linstorNode,
  resource,
  resourceDefinition,
  resourceGroup,
} from "../../_builders/linstor.ts";
import { buildSnapshot } from "../../_builders/snapshot.ts";
import { createCommandRunner } from "../../../src/system/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { FakeKube } from "../../_fakes/fake_kube.ts";
import { T0, worldObjects, type WorldOptions } from "./_world.ts";

/** Seconds after T0. */
function at(seconds: number): number {
  return T0 + seconds * 1000;
}

interface LinstorWorld {
  /** Connection status of node-a. @default {"ONLINE"} */
  a?: string;
  /** Disk state of node-b's replica (the witness). @default {"UpToDate"} */
  bDisk?: string;
  /** The quorum property on the resource definition. @default {"majority"} */
  quorum?: string | null;
  /** A failed LINSTOR poll after the data. */
  lastError?: string;
  kube?: WorldOptions;
}

function snapshotAt(now: number, w: LinstorWorld = {}) {
  return buildSnapshot({
    takenAt: now,
    kube: worldObjects(w.kube),
    linstor: {
      nodes: [
        linstorNode("node-a", { connectionStatus: w.a ?? "ONLINE" }),
        linstorNode("node-b"),
        linstorNode("node-c"),
      ],
      resources: [
        resource("pvc-1", "node-a", { inUse: true }),
        resource("pvc-1", "node-b", {
          inUse: false,
          diskState: w.bDisk ?? "UpToDate",
        }),
        resource("pvc-1", "node-c", {
          inUse: false,
          flags: ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"],
          diskState: "Diskless",
        }),
      ],
      resourceDefinitions: [
        resourceDefinition("pvc-1", {
          props: w.quorum === null
            ? {}
            : { [LINSTOR_PROP_DRBD_QUORUM]: w.quorum ?? "majority" },
        }),
      ],
      resourceGroups: [resourceGroup("sc-rg")],
      ...(w.lastError ? { lastError: w.lastError } : {}),
    },
  });
}

/**
 * Passes of node-b's agent: healthy at T0, then `fault` from 10 s, planned
 * at `seconds`; returns the planner's decisions on the last pass.
 */
function decide(fault: LinstorWorld, seconds: number) {
  let memory: LinstorDrbdMemory = emptyLinstorDrbdMemory();
  const passes: [number, LinstorWorld][] = [
    [0, {}],
    [10, fault],
    [seconds, fault],
  ];
  let plan;
  for (const [s, w] of passes) {
    const snapshot = snapshotAt(at(s), w);
    const mapped = linstorDrbdView(snapshot, memory, {
      nodeName: "node-b",
      now: at(s),
      maxAgeMs: 60_000,
    });
    memory = mapped.memory;
    plan = planFencing({ drbd: mapped.view, snapshot }, {
      now: at(s),
      nodeName: "node-b",
      memory: emptyFencingMemory(),
      options: { failOverTimeoutMs: 5_000 },
    });
  }
  return plan!;
}

const CASES: {
  name: string;
  fault: LinstorWorld;
  seconds: number;
  fence: boolean;
  reason?: string;
}[] = [
  {
    name: "node-a OFFLINE for 6 s",
    fault: { a: "OFFLINE" },
    seconds: 16,
    fence: true,
  },
  {
    name: "node-a OFFLINE for 3 s",
    fault: { a: "OFFLINE" },
    seconds: 13,
    fence: false,
  },
  { name: "node-a ONLINE", fault: {}, seconds: 16, fence: false },
  {
    name: "node-a NotReady in Kubernetes only (kubelet-only)",
    fault: { kube: { aReady: false } },
    seconds: 16,
    fence: false,
  },
  {
    name: "node-b's own replica Outdated",
    fault: { a: "OFFLINE", bDisk: "Outdated" },
    seconds: 16,
    fence: false,
  },
  {
    name: "no quorum policy on the resource",
    fault: { a: "OFFLINE", quorum: null },
    seconds: 16,
    fence: false,
  },
  {
    name: "the last LINSTOR poll failed",
    fault: { a: "OFFLINE", lastError: "connection refused" },
    seconds: 16,
    fence: false,
  },
  {
    name: "node-c does not report node-a lost",
    fault: { a: "OFFLINE", kube: { cReports: [] } },
    seconds: 16,
    fence: false,
  },
];

for (const c of CASES) {
  Deno.test(`linstorDrbdView() then planFencing() ${c.fence ? "fences node-a" : "does nothing"} when ${c.name}`, () => {
    const plan = decide(c.fault, c.seconds);
    const fenced = plan.decisions.filter((d) => d.outcome === "fence");
    const removals = plan.actions.filter((a) =>
      a.name === "EvictPod" || a.name === "ForceDeletePod" ||
      a.name === "TaintNode"
    );
    if (c.fence) {
      assert.deepEqual(fenced.map((d) => `${d.resource}/${d.peer}`), [
        "pvc-1/node-a",
      ]);
      assert.deepEqual(removals.map((a) => a.name), ["TaintNode", "EvictPod"]);
    } else {
      assert.deepEqual(fenced, []);
      assert.deepEqual(removals, []);
    }
  });
}

Deno.test("linstorDrbdView() keeps the first OFFLINE time and forgets it once ONLINE", () => {
  const first = linstorDrbdView(
    snapshotAt(at(10), { a: "OFFLINE" }),
    emptyLinstorDrbdMemory(),
    { nodeName: "node-b", now: at(10), maxAgeMs: 60_000 },
  );
  const second = linstorDrbdView(
    snapshotAt(at(20), { a: "OFFLINE" }),
    first.memory,
    { nodeName: "node-b", now: at(20), maxAgeMs: 60_000 },
  );
  const connection = second.view.resources.get("pvc-1")!.connections.find((
    c,
  ) => c.peer === "node-a")!;
  assert.equal(connection.state, "Unconnected");
  assert.equal(connection.downSince, at(10));
  const back = linstorDrbdView(snapshotAt(at(30)), second.memory, {
    nodeName: "node-b",
    now: at(30),
    maxAgeMs: 60_000,
  });
  assert.deepEqual([...back.memory.offlineSince.keys()], []);
  assert.equal(
    back.view.resources.get("pvc-1")!.connections[0]!.state,
    "Connected",
  );
});

Deno.test("linstorDrbdView() is blind when the LINSTOR data is older than maxAgeMs", () => {
  const result = linstorDrbdView(
    snapshotAt(at(0)),
    emptyLinstorDrbdMemory(),
    { nodeName: "node-b", now: at(61), maxAgeMs: 60_000 },
  );
  assert.equal(result.view.synced, false);
  assert.equal(result.view.resources.size, 0);
});

Deno.test("linstorDrbdView() gives this node's devices no quorum when most replicas are OFFLINE", () => {
  const snapshot = buildSnapshot({
    takenAt: T0,
    linstor: {
      nodes: [
        linstorNode("node-a", { connectionStatus: "OFFLINE" }),
        linstorNode("node-b"),
        linstorNode("node-c", { connectionStatus: "OFFLINE" }),
      ],
      resources: ["node-a", "node-b", "node-c"].map((n) =>
        resource("pvc-1", n)
      ),
      resourceDefinitions: [resourceDefinition("pvc-1")],
      resourceGroups: [
        resourceGroup("sc-rg", {
          props: { [LINSTOR_PROP_DRBD_QUORUM]: "majority" },
        }),
      ],
    },
  });
  const { view } = linstorDrbdView(snapshot, emptyLinstorDrbdMemory(), {
    nodeName: "node-b",
    now: T0,
    maxAgeMs: 60_000,
  });
  const pvc = view.resources.get("pvc-1")!;
  assert.equal(pvc.quorumPolicy, "majority");
  assert.deepEqual(pvc.devices.map((d) => d.quorum), [false]);
});

Deno.test("createFencingMode() with drbdSource linstor reads LINSTOR, runs no drbdsetup and evicts once node-a is OFFLINE long enough", async () => {
  const clock = new FakeClock(T0);
  const kube = new FakeKube({ clock });
  try {
    const mode = createFencingMode({
      kube,
      runner: createCommandRunner(),
      clock,
    }, {
      nodeName: "node-b",
      drbdSource: "linstor",
      drbdsetup: "/nonexistent/drbdsetup",
    });
    assert.equal(mode.readsLinstor, true);
    assert.deepEqual(Object.keys(mode.sources ?? {}), []);
    let memory = mode.memory;
    const names: string[][] = [];
    for (
      const [s, w] of [[0, {}], [10, { a: "OFFLINE" }], [16, {
        a: "OFFLINE",
      }]] as const
    ) {
      const plan = mode.plan!(snapshotAt(at(s), w), {
        now: at(s),
        memory,
        inputs: {},
      });
      memory = plan.memory;
      names.push(plan.operations.map((o) => o.name));
    }
    assert.ok(!names[1]!.includes("EvictPod"), "not before the timeout");
    assert.ok(names[2]!.includes("TaintNode"), names[2]!.join());
    assert.ok(names[2]!.includes("EvictPod"), names[2]!.join());
  } finally {
    await kube.close();
  }
});
