import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import {
  DEFAULT_EXTENDER_CONFIG,
  type ExtenderConfig,
  filterNodes,
  Reservations,
  SnapshotIndex,
} from "../../../src/modes/extender/mod.ts";
import { EvalContext } from "../../../src/modes/extender/_context.ts";
import {
  capacityScore,
  fitOnNode,
  fitOnNodeByRule,
} from "../../../src/modes/extender/_capacity.ts";
import { filterReservations } from "../../../src/modes/extender/_reservation_policy.ts";
import { ANNOTATION_STORAGE_POOL_SELECTOR } from "../../../src/constants.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import {
  buildSnapshot,
  GIB,
  makePod,
  plainMaps,
  T0,
  type World,
} from "./_snapshot.ts";

const NODES = ["n1", "n2", "n3", "n4", "n5"];

/**
 * n1: thick pool1 10 GiB (tier gold) and thick pool2 7 GiB; n2: thin pool1
 * (1 GiB free of 10, default ratio) with 3 GiB placed; n3: thick pool1 3 GiB;
 * n4: diskless only; n5: pool1 of unknown free space. Claims `small` (2 GiB),
 * `big` (8 GiB) and `other` (4 GiB, selected node n1, so held implicitly)
 * are local-only; `anywhere` (5 GiB) may be accessed remotely; `two` (4 GiB)
 * may use pool1 or pool2, `data` (1 GiB) any pool; `gold` (1 GiB) selects
 * pools of tier gold.
 */
function world(): World {
  return {
    linstorNodes: NODES.map((name) => ({ name })),
    kubeNodes: NODES.map((name) => ({ name })),
    pools: [
      { node: "n1", name: "pool1", freeGiB: 10, props: { "Aux/tier": "gold" } },
      { node: "n1", name: "pool2", freeGiB: 7 },
      {
        node: "n2",
        name: "pool1",
        kind: "LVM_THIN",
        freeGiB: 1,
        totalGiB: 10,
      },
      { node: "n3", name: "pool1", freeGiB: 3 },
      { node: "n4", name: "DfltDisklessStorPool", kind: "DISKLESS" },
      { node: "n5", name: "pool1", freeGiB: undefined },
    ],
    replicas: [{ resource: "placed", node: "n2", pool: "pool1", sizeGiB: 3 }],
    storageClasses: [
      {
        name: "local",
        params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
      },
      { name: "r2", params: { storagePool: "pool1" } },
      {
        name: "two",
        params: {
          storagePool: "pool1 pool2",
          allowRemoteVolumeAccess: "false",
        },
      },
      { name: "any", params: { allowRemoteVolumeAccess: "false" } },
    ],
    pvcs: [
      { name: "small", sc: "local", size: "2Gi" },
      { name: "big", sc: "local", size: "8Gi" },
      {
        name: "other",
        sc: "local",
        size: "4Gi",
        annotations: { "volume.kubernetes.io/selected-node": "n1" },
      },
      { name: "anywhere", sc: "r2", size: "5Gi" },
      { name: "two", sc: "two", size: "4Gi" },
      { name: "data", sc: "any", size: "1Gi" },
      {
        name: "gold",
        sc: "any",
        size: "1Gi",
        annotations: { [ANNOTATION_STORAGE_POOL_SELECTOR]: "tier=gold" },
      },
    ],
  };
}

/** One request of a sequence: the pod's claims and a change of the held reservations before it. */
interface Step {
  name: string;
  claims: string[];
  change?: (reservations: Reservations, index: SnapshotIndex) => void;
}

function held(nodes: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(nodes));
}

function reserve(
  claim: string,
  sizeGiB: number,
  nodes: Record<string, string>,
): (reservations: Reservations) => void {
  return (reservations) =>
    reservations.reserve(`default/${claim}`, {
      pod: `default/holder-${claim}`,
      uid: `uid-${claim}`,
      sizeKib: sizeGiB * GIB,
      nodes: held(nodes),
    });
}

/**
 * Requests in order on one snapshot index, so the pool-choice tables of the
 * earlier ones are there for the later ones; each step changes what others
 * hold (or the pod, its sizes, pool shape, access) in one way a shared table
 * must notice.
 */
const STEPS: readonly Step[] = [
  { name: "one local-only claim, nothing held", claims: ["small"] },
  {
    name: "same pool shape, a size that fits fewer nodes",
    claims: ["big"],
  },
  { name: "back to the small claim", claims: ["small"] },
  {
    name: "another claim holds 7 GiB of pool1 on n1 and n3",
    claims: ["small"],
    change: reserve("x", 7, { n1: "pool1", n3: "pool1" }),
  },
  {
    name: "the same reservation refreshed",
    claims: ["big"],
    change: (r) => r.refresh("default/x"),
  },
  {
    name: "that reservation narrowed to n3",
    claims: ["big"],
    change: (r) => r.narrow("default/x", new Set(["n3"])),
  },
  {
    name: "replaced by a bigger one on the same nodes",
    claims: ["big"],
    change: reserve("x", 9, { n3: "pool1" }),
  },
  {
    name: "another claim holds pool2 of n1: pool1 stays the best",
    claims: ["two"],
    change: reserve("y", 5, { n1: "pool2" }),
  },
  {
    name: "the pod's own claim is held everywhere (not charged against it)",
    claims: ["small"],
    change: reserve("small", 2, { n1: "pool1", n2: "pool1", n3: "pool1" }),
  },
  {
    name: "the pod's own claim grew",
    claims: ["small"],
    change: reserve("small", 9, { n1: "pool1", n3: "pool1" }),
  },
  {
    name: "the implicitly held claim is the pod's own, another's is held",
    claims: ["other"],
  },
  {
    name: "the implicitly held claim is held explicitly too",
    claims: ["big"],
    change: reserve("other", 4, { n2: "pool1" }),
  },
  {
    name: "reservations released",
    claims: ["big"],
    change: (r) => {
      for (const claim of ["x", "y", "small", "other"]) {
        r.release(`default/${claim}`);
      }
    },
  },
  // From here nothing is held explicitly: each step differs from the one
  // before in one input of the pool choice only.
  { name: "two allowed pools (pool2 has more room on n1)", claims: ["two"] },
  { name: "any pool", claims: ["data"] },
  { name: "any pool of a storage-pool selector", claims: ["gold"] },
  {
    name: "the implicitly held claim is another pod's",
    claims: ["small"],
  },
  { name: "the implicitly held claim is the pod's own", claims: ["other"] },
  {
    name: "remote access allowed (capacity only scores)",
    claims: ["anywhere"],
  },
  {
    name: "a node map held with one size, then with another",
    claims: ["small"],
    change: (r, index) => {
      // The store keeps the map it is given: only the size tells them apart.
      const nodes = held({ n1: "pool1", n3: "pool1" });
      const entry = { pod: "default/q", uid: "uid-q", nodes };
      r.reserve("default/q", { ...entry, sizeKib: GIB });
      const request = context(index, makePod("p", { claims: ["small"] }), r);
      for (const node of NODES) fitOnNode(request, index.candidate(node));
      r.reserve("default/q", { ...entry, sizeKib: 2 * GIB });
    },
  },
  {
    name: "two claims take the rule every time",
    claims: ["small", "big"],
  },
  { name: "three claims", claims: ["two", "small", "anywhere"] },
];

function context(
  index: SnapshotIndex,
  pod: V1Pod,
  reservations: Reservations,
): EvalContext {
  return new EvalContext(index, pod, {
    config: DEFAULT_EXTENDER_CONFIG,
    now: T0,
    reservations: reservations.view(),
  });
}

Deno.test("`fitOnNode()` answers what `fitOnNodeByRule()` does on every node, and a fresh index, whatever the earlier requests", async (t) => {
  const snapshot = buildSnapshot(world());
  const index = new SnapshotIndex(snapshot);
  const reservations = new Reservations({
    clock: new FakeClock(T0),
    ttlMs: 60_000,
  });
  for (const step of STEPS) {
    await t.step(step.name, () => {
      step.change?.(reservations, index);
      const pod = makePod("p", { claims: step.claims });
      // Twice: the first fills the tables, the second reads them.
      for (let round = 0; round < 2; round++) {
        const request = context(index, pod, reservations);
        for (const node of NODES) {
          const byRule = fitOnNodeByRule(request, node);
          assert.deepEqual(
            fitOnNode(request, index.candidate(node)),
            byRule,
            `${node}, round ${round + 1}`,
          );
          // A record of the request's own (from a Node object) has no id.
          const own = { ...index.candidate(node), linstorId: undefined };
          assert.deepEqual(fitOnNode(request, own), byRule, node);
        }
      }
      // What the index keeps from the earlier steps (tables, implicit
      // holds) changes no answer: a fresh index gives the same.
      const fresh = new SnapshotIndex(snapshot);
      const alone = context(fresh, pod, reservations);
      const shared = context(index, pod, reservations);
      for (const node of NODES) {
        assert.deepEqual(
          fitOnNode(shared, index.candidate(node)),
          fitOnNode(alone, fresh.candidate(node)),
          `${node}, fresh index`,
        );
      }
    });
  }
});

Deno.test("`fitOnNode()` differs per step where the reservations differ (the steps test something)", () => {
  const index = new SnapshotIndex(buildSnapshot(world()));
  const reservations = new Reservations({
    clock: new FakeClock(T0),
    ttlMs: 60_000,
  });
  const pod = makePod("p", { claims: ["small"] });
  const free = () => {
    const request = context(index, pod, reservations);
    return NODES.map((node) =>
      fitOnNode(request, index.candidate(node)).availableKib[0]
    );
  };
  // n1: 10 GiB less `other`'s 4 held implicitly; n2's thin pool: 1 GiB
  // free × 20 (below 10 GiB × 20 − 3 GiB placed); n4 has no pool, n5's
  // is of unknown size.
  assert.deepEqual(free(), [6 * GIB, 20 * GIB, 3 * GIB, 0, 0]);
  reserve("x", 3, { n1: "pool1", n3: "pool1" })(reservations);
  assert.deepEqual(free(), [3 * GIB, 20 * GIB, 0, 0, 0]);
  assert.deepEqual(
    fitOnNode(context(index, pod, reservations), index.candidate("n3")).failures
      .map((f) => f.reason),
    ["pool pool1: claim default/small needs 2.0GiB, 0.0GiB free (3.0GiB reserved)"],
  );
});

Deno.test("`filterNodes()` answers with its packed pass what its general pass does, on every step and config", async (t) => {
  const configs: Record<string, ExtenderConfig> = {
    default: DEFAULT_EXTENDER_CONFIG,
    "capacity always hard, capacity first": {
      ...DEFAULT_EXTENDER_CONFIG,
      predicates: ["capacity", "satellite"],
      capacity: { ...DEFAULT_EXTENDER_CONFIG.capacity, hardFilter: "always" },
    },
    "pool divisors": {
      ...DEFAULT_EXTENDER_CONFIG,
      capacity: {
        ...DEFAULT_EXTENDER_CONFIG.capacity,
        divisors: { pool1: 0.25, constructor: 2 },
      },
    },
  };
  for (const [label, config] of Object.entries(configs)) {
    const index = new SnapshotIndex(buildSnapshot(world()));
    const reservations = new Reservations({
      clock: new FakeClock(T0),
      ttlMs: 60_000,
    });
    for (const step of STEPS) {
      await t.step(`${label}: ${step.name}`, () => {
        step.change?.(reservations, index);
        const pod = makePod("p", { claims: step.claims });
        const filter = (packed: boolean) => {
          const outcome = filterNodes(index, { pod, names: NODES }, {
            config,
            now: T0,
            reservations: reservations.view(),
            score: true,
            held: (claim) => reservations.get(claim),
            packed,
          });
          return {
            passed: [...outcome.passed],
            rejected: [...outcome.rejected],
            scores: outcome.scores,
            holds: plainMaps(outcome.holds),
          };
        };
        // Twice: the first fills the shared tables, the second reads them.
        for (let round = 0; round < 2; round++) {
          assert.deepEqual(filter(true), filter(false), `round ${round + 1}`);
        }
      });
    }
  }
});

Deno.test("`capacityScore()` takes a pool's divisor from its own entry only", async (t) => {
  const index = new SnapshotIndex(buildSnapshot(world()));
  const reservations = new Reservations({
    clock: new FakeClock(T0),
    ttlMs: 60_000,
  });
  const fit = (pool: string) => ({
    pools: [pool],
    availableKib: [16 * GIB],
    failures: [],
  });
  const cases: [string, Record<string, number>, string, number][] = [
    ["the default divisor", {}, "pool1", 4],
    ["the pool's own divisor", { pool1: 4 }, "pool1", 2],
    ["another pool's divisor does not apply", { pool2: 4 }, "pool1", 4],
    // `Object.prototype` members are no divisors.
    ['a pool named "constructor"', {}, "constructor", 4],
    ['a pool named "toString"', {}, "toString", 4],
    [
      '"constructor" with its own divisor',
      { constructor: 16 },
      "constructor",
      0,
    ],
  ];
  for (const [name, divisors, pool, want] of cases) {
    await t.step(name, () => {
      const request = new EvalContext(
        index,
        makePod("p", { claims: ["small"] }),
        {
          config: {
            ...DEFAULT_EXTENDER_CONFIG,
            capacity: { ...DEFAULT_EXTENDER_CONFIG.capacity, divisors },
          },
          now: T0,
          reservations: reservations.view(),
        },
      );
      assert.equal(capacityScore(request, fit(pool)), want);
    });
  }
});

Deno.test("`filterNodes()` packed and general passes agree on a retried pod whose claims are held already", () => {
  let unchanged = 0;
  for (const step of STEPS) {
    const snapshot = buildSnapshot(world());
    const index = new SnapshotIndex(snapshot);
    const reservations = new Reservations({
      clock: new FakeClock(T0),
      ttlMs: 60_000,
    });
    step.change?.(reservations, index);
    const pod = makePod("p", { claims: step.claims });
    const filter = (packed: boolean) =>
      filterNodes(index, { pod, names: NODES }, {
        config: DEFAULT_EXTENDER_CONFIG,
        now: T0,
        reservations: reservations.view(),
        score: true,
        held: (claim) => reservations.get(claim),
        packed,
      });
    // The pod's first filter holds its claims, as the handler does.
    reservations.apply(
      filterReservations(filter(false), {
        held: (claim) => reservations.get(claim),
        passed: undefined,
        pools: snapshot.linstor.poolsByNode,
      }),
    );
    const [packed, general] = [filter(true), filter(false)];
    assert.deepEqual(
      plainMaps(packed.holds),
      plainMaps(general.holds),
      step.name,
    );
    assert.deepEqual(packed.scores, general.scores, step.name);
    unchanged += (general.holds ?? []).filter((h) => h.unchanged).length;
  }
  // Retried pods hold what they held: the comparison ran.
  assert.ok(unchanged > 10, `${unchanged} holds compared unchanged`);
});
