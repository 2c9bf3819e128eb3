import assert from "node:assert/strict";
import type { V1VolumeNodeAffinity } from "@kubernetes/client-node";
import {
  accessibleTopology,
  affinityFromSegments,
  affinityMatches,
  prunePattern,
  type TopologyResult,
} from "../../../src/modes/affinity/mod.ts";
import {
  parseRemoteAccessPolicy,
  type RemoteAccessPolicy,
} from "../../../src/csi/mod.ts";
import type { ResourceWithVolumes } from "../../../src/linstor/types.ts";
import {
  buildSnapshot,
  kubeNode,
  linstorNode,
  resource,
  resourceDefinition,
} from "../../_builders/mod.ts";

const ZONES: Record<string, string> = { a: "z1", b: "z1", c: "z2", d: "z2" };

function nodesIn(namespace: string, omit: Record<string, string> = {}) {
  return Object.keys(ZONES).map((name) => {
    const props: Record<string, string> = {
      [`${namespace}/topology.kubernetes.io/zone`]: ZONES[name]!,
      [`${namespace}/kubernetes.io/hostname`]: `host-${name}`,
    };
    if (omit[name]) delete props[`${namespace}/${omit[name]}`];
    return linstorNode(name, { props });
  });
}

function topo(
  resources: ResourceWithVolumes[],
  policy: RemoteAccessPolicy | string,
  options: { namespace?: string; omit?: Record<string, string> } = {},
): TopologyResult {
  const namespace = options.namespace ?? "Aux/topology";
  const snapshot = buildSnapshot({
    linstor: {
      nodes: [
        ...nodesIn(namespace, options.omit),
        linstorNode("off", { connectionStatus: "OFFLINE" }),
      ],
      resources,
      resourceDefinitions: [resourceDefinition("rd")],
    },
  });
  return accessibleTopology(snapshot, { resource: "rd", volume: 0 }, {
    policy: typeof policy === "string"
      ? parseRemoteAccessPolicy(policy)
      : policy,
    propertyNamespace: namespace,
  });
}

const TIE_BREAKER = ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"];
const DISKLESS = ["DISKLESS", "DRBD_DISKLESS"];

Deno.test("accessibleTopology() counts only healthy diskful replicas", async (t) => {
  const cases: {
    name: string;
    resources: ResourceWithVolumes[];
    nodes?: string[];
    doubt?: string;
  }[] = [
    {
      name: "two diskful",
      resources: [resource("rd", "a"), resource("rd", "c")],
      nodes: ["a", "c"],
    },
    {
      name: "diskless client never counts",
      resources: [
        resource("rd", "a"),
        resource("rd", "b", { flags: DISKLESS, diskState: "Diskless" }),
      ],
      nodes: ["a"],
    },
    {
      name: "tie-breaker never counts",
      resources: [
        resource("rd", "a"),
        resource("rd", "c"),
        resource("rd", "d", { flags: TIE_BREAKER, diskState: "Diskless" }),
      ],
      nodes: ["a", "c"],
    },
    {
      name: "outdated replica does not count",
      resources: [
        resource("rd", "a"),
        resource("rd", "c", { diskState: "Outdated" }),
      ],
      nodes: ["a"],
    },
    {
      name: "inconsistent (syncing) replica does not count",
      resources: [
        resource("rd", "a"),
        resource("rd", "c", { diskState: "Inconsistent" }),
      ],
      nodes: ["a"],
    },
    {
      name: "replica being deleted does not count",
      resources: [
        resource("rd", "a", { flags: ["DELETE"] }),
        resource("rd", "c"),
      ],
      nodes: ["c"],
    },
    {
      name: "failed deployment does not count",
      resources: [
        resource("rd", "a", { flags: ["FAILED_DEPLOYMENT"] }),
        resource("rd", "c"),
      ],
      nodes: ["c"],
    },
    {
      name: "inactive (evicted) replica does not count",
      resources: [
        resource("rd", "a", { flags: ["INACTIVE", "EVICTED"] }),
        resource("rd", "c"),
      ],
      nodes: ["c"],
    },
    {
      name: "storage-only replica without disk state counts on an online node",
      resources: [resource("rd", "a", { diskState: null })],
      nodes: ["a"],
    },
    {
      name: "no replicas at all is a doubt",
      resources: [],
      doubt: "NoReplicas",
    },
    {
      name: "only diskless and tie-breaker is a doubt, never everywhere",
      resources: [
        resource("rd", "b", { flags: DISKLESS, diskState: "Diskless" }),
        resource("rd", "d", { flags: TIE_BREAKER, diskState: "Diskless" }),
      ],
      doubt: "NoHealthyReplica",
    },
    {
      name: "only outdated replicas is a doubt",
      resources: [resource("rd", "a", { diskState: "Outdated" })],
      doubt: "NoHealthyReplica",
    },
    {
      name: "diskful on an offline node without state is a doubt",
      resources: [
        resource("rd", "a"),
        resource("rd", "off", { diskState: null }),
      ],
      doubt: "ReplicaStateUnknown",
    },
    {
      name: "diskful on a node LINSTOR does not list is a doubt",
      resources: [resource("rd", "ghost")],
      doubt: "ReplicaNodeUnknown",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = topo(c.resources, "false");
      if (c.doubt) {
        assert.equal(got.ok, false, JSON.stringify(got));
        assert.equal(!got.ok && got.reason, c.doubt);
        return;
      }
      assert.ok(got.ok, JSON.stringify(got));
      assert.deepEqual(got.diskfulNodes, c.nodes);
      assert.deepEqual(
        got.segments,
        c.nodes!.map((n) => ({ "linbit.com/hostname": n })),
      );
    });
  }
});

Deno.test("accessibleTopology() applies every policy form under both property namespaces", async (t) => {
  const replicas = [
    resource("rd", "a"),
    resource("rd", "c"),
    resource("rd", "b", { flags: DISKLESS, diskState: "Diskless" }),
  ];
  for (const namespace of ["Aux/topology", "Aux"]) {
    const cases: { policy: string; want: Record<string, string>[] }[] = [
      { policy: "true", want: [] },
      {
        policy: "false",
        want: [{ "linbit.com/hostname": "a" }, { "linbit.com/hostname": "c" }],
      },
      {
        policy: "- fromSame: [topology.kubernetes.io/zone]",
        want: [
          { "topology.kubernetes.io/zone": "z1" },
          { "topology.kubernetes.io/zone": "z2" },
        ],
      },
      {
        policy:
          "- fromSame: [topology.kubernetes.io/zone, kubernetes.io/hostname]",
        want: [
          {
            "kubernetes.io/hostname": "host-a",
            "topology.kubernetes.io/zone": "z1",
          },
          {
            "kubernetes.io/hostname": "host-c",
            "topology.kubernetes.io/zone": "z2",
          },
        ],
      },
      {
        policy:
          "- fromSame: [linbit.com/hostname]\n- fromSame: [topology.kubernetes.io/zone]",
        want: [
          { "linbit.com/hostname": "a" },
          { "linbit.com/hostname": "c" },
          { "topology.kubernetes.io/zone": "z1" },
          { "topology.kubernetes.io/zone": "z2" },
        ],
      },
      {
        policy: "- fromSame: [topology.kubernetes.io/zone]\n- {}",
        want: [],
      },
    ];
    for (const c of cases) {
      await t.step(`${namespace}: ${JSON.stringify(c.policy)}`, () => {
        const got = topo(replicas, c.policy, { namespace });
        assert.ok(got.ok, JSON.stringify(got));
        assert.deepEqual(got.segments, c.want);
      });
    }
  }
  await t.step("keys of another namespace are not seen", () => {
    const got = topo(
      replicas,
      "- fromSame: [topology.kubernetes.io/zone]",
      { namespace: "Aux/topology" },
    );
    assert.ok(got.ok);
    const other = buildSnapshot({
      linstor: {
        nodes: nodesIn("Aux/topology"),
        resources: replicas,
        resourceDefinitions: [resourceDefinition("rd")],
      },
    });
    const wrong = accessibleTopology(other, { resource: "rd", volume: 0 }, {
      policy: parseRemoteAccessPolicy(
        "- fromSame: [topology.kubernetes.io/zone]",
      ),
      propertyNamespace: "Aux",
    });
    assert.equal(!wrong.ok && wrong.reason, "TopologyKeyMissing");
  });
});

Deno.test("accessibleTopology() refuses when a policy key is missing on a replica node", async (t) => {
  const replicas = [resource("rd", "a"), resource("rd", "c")];
  const cases = [
    {
      name: "zone missing on one diskful node",
      omit: { c: "topology.kubernetes.io/zone" },
      policy: "- fromSame: [topology.kubernetes.io/zone]",
    },
    {
      name: "one of two keys missing (linstor-csi would drop it and widen)",
      omit: { a: "kubernetes.io/hostname" },
      policy:
        "- fromSame: [topology.kubernetes.io/zone, kubernetes.io/hostname]",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = topo(replicas, c.policy, { omit: c.omit });
      assert.equal(!got.ok && got.reason, "TopologyKeyMissing");
    });
  }
  await t.step("a missing key on a diskless node does not matter", () => {
    const got = topo(
      [
        ...replicas,
        resource("rd", "b", { flags: DISKLESS, diskState: "Diskless" }),
      ],
      "- fromSame: [topology.kubernetes.io/zone]",
      { omit: { b: "topology.kubernetes.io/zone" } },
    );
    assert.ok(got.ok);
  });
  await t.step("linbit.com/hostname is always the LINSTOR node name", () => {
    const got = topo(replicas, "false", { namespace: "Aux" });
    assert.ok(got.ok);
    assert.deepEqual(got.segments, [
      { "linbit.com/hostname": "a" },
      { "linbit.com/hostname": "c" },
    ]);
  });
});

Deno.test("prunePattern() dedups and lets general segments absorb specific ones", async (t) => {
  const cases: [Record<string, string>[], Record<string, string>[]][] = [
    [[{ a: "1" }, { a: "1" }], [{ a: "1" }]],
    [[{ a: "1" }, { a: "2" }], [{ a: "1" }, { a: "2" }]],
    [[{ a: "1", b: "1" }, { a: "1" }], [{ a: "1" }]],
    [[{ a: "1", b: "1" }, { a: "1", b: "2" }], [{ a: "1", b: "1" }, {
      a: "1",
      b: "2",
    }]],
    [[{ a: "1" }, { a: "1", b: "1" }, { a: "1", b: "2" }], [{ a: "1" }]],
  ];
  for (const [input, want] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.deepEqual(prunePattern(input), want);
    });
  }
});

function affinity(
  ...terms: { key: string; operator?: string; values: string[] }[][]
): V1VolumeNodeAffinity {
  return {
    required: {
      nodeSelectorTerms: terms.map((expressions) => ({
        matchExpressions: expressions.map((e) => ({
          key: e.key,
          operator: e.operator ?? "In",
          values: e.values,
        })),
      })),
    },
  };
}

Deno.test("affinityMatches() compares term sets in both directions", async (t) => {
  const host = (n: string) => ({ key: "linbit.com/hostname", values: [n] });
  const zone = (z: string) => ({ key: "zone", values: [z] });
  const cases: {
    name: string;
    affinity: V1VolumeNodeAffinity | undefined;
    segments: Record<string, string>[];
    want: boolean;
  }[] = [
    {
      name: "none and anywhere",
      affinity: undefined,
      segments: [],
      want: true,
    },
    {
      name: "none but pinned",
      affinity: undefined,
      segments: [{ "linbit.com/hostname": "a" }],
      want: false,
    },
    {
      name: "no required terms and anywhere",
      affinity: {},
      segments: [],
      want: true,
    },
    {
      name: "pinned but anywhere wanted",
      affinity: affinity([host("a")]),
      segments: [],
      want: false,
    },
    {
      name: "same single term",
      affinity: affinity([host("a")]),
      segments: [{ "linbit.com/hostname": "a" }],
      want: true,
    },
    {
      name: "value differs",
      affinity: affinity([host("a")]),
      segments: [{ "linbit.com/hostname": "b" }],
      want: false,
    },
    {
      name: "extra term in the PV",
      affinity: affinity([host("a")], [host("b")]),
      segments: [{ "linbit.com/hostname": "a" }],
      want: false,
    },
    {
      name: "term missing from the PV",
      affinity: affinity([host("a")]),
      segments: [{ "linbit.com/hostname": "a" }, {
        "linbit.com/hostname": "b",
      }],
      want: false,
    },
    {
      name: "same terms in another order, expressions in another order",
      affinity: affinity([zone("z2"), host("c")], [host("a"), zone("z1")]),
      segments: [
        { "linbit.com/hostname": "a", zone: "z1" },
        { "linbit.com/hostname": "c", zone: "z2" },
      ],
      want: true,
    },
    {
      name: "duplicate terms still match the set",
      affinity: affinity([host("a")], [host("a")]),
      segments: [{ "linbit.com/hostname": "a" }],
      want: true,
    },
    {
      name: "operator other than In is foreign",
      affinity: affinity([{ ...host("a"), operator: "NotIn" }]),
      segments: [{ "linbit.com/hostname": "a" }],
      want: false,
    },
    {
      name: "several values in one expression is foreign",
      affinity: affinity([{ key: "linbit.com/hostname", values: ["a", "b"] }]),
      segments: [{ "linbit.com/hostname": "a" }],
      want: false,
    },
    {
      name: "matchFields is foreign",
      affinity: {
        required: {
          nodeSelectorTerms: [{
            matchExpressions: [{
              key: "linbit.com/hostname",
              operator: "In",
              values: ["a"],
            }],
            matchFields: [{
              key: "metadata.name",
              operator: "In",
              values: ["a"],
            }],
          }],
        },
      },
      segments: [{ "linbit.com/hostname": "a" }],
      want: false,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(affinityMatches(c.affinity, c.segments), c.want);
    });
  }
});

Deno.test("affinityFromSegments() writes one term per segment with sorted In expressions", () => {
  assert.equal(affinityFromSegments([]), undefined);
  const built = affinityFromSegments([{
    zone: "z1",
    "linbit.com/hostname": "a",
  }]);
  assert.deepEqual(built, {
    required: {
      nodeSelectorTerms: [{
        matchExpressions: [
          { key: "linbit.com/hostname", operator: "In", values: ["a"] },
          { key: "zone", operator: "In", values: ["z1"] },
        ],
      }],
    },
  });
  assert.ok(
    affinityMatches(built, [{ "linbit.com/hostname": "a", zone: "z1" }]),
  );
});

Deno.test("accessibleTopology() reports the one rack of the replicas for the Balanced placement policy", async (t) => {
  const RACK = "failure-domain.beta.kubernetes.io/zone";
  const racks: Record<string, string | undefined> = {
    a: "r1",
    b: "r1",
    c: "r2",
    d: undefined,
  };
  const balanced = (
    resources: ResourceWithVolumes[],
    options: { kubeNodes?: boolean; policy?: string } = {},
  ) => {
    const snapshot = buildSnapshot({
      linstor: {
        nodes: nodesIn("Aux/topology"),
        resources,
        resourceDefinitions: [resourceDefinition("rd")],
      },
      kube: {
        nodes: Object.entries(racks).map(([name, rack]) =>
          kubeNode(name, { labels: rack ? { [RACK]: rack } : {} })
        ),
      },
      kinds: options.kubeNodes === false ? [] : ["nodes"],
    });
    return accessibleTopology(snapshot, { resource: "rd", volume: 0 }, {
      policy: parseRemoteAccessPolicy(options.policy ?? "false"),
      placement: "Balanced",
      propertyNamespace: "Aux/topology",
    });
  };
  const cases: {
    name: string;
    resources: ResourceWithVolumes[];
    policy?: string;
    kubeNodes?: boolean;
    want: string;
  }[] = [
    {
      // linstor-csi balancer.AccessibleTopologies: {RackLabel: rack of the
      // first diskful node}, whatever allowRemoteVolumeAccess says.
      name: "two replicas in rack r1: one rack segment, the policy ignored",
      resources: [resource("rd", "a"), resource("rd", "b")],
      want: `ok ${RACK}=r1`,
    },
    {
      name: "the policy 'anywhere' is ignored too",
      resources: [resource("rd", "c")],
      policy: "true",
      want: `ok ${RACK}=r2`,
    },
    {
      name: "a tie-breaker in another rack does not count",
      resources: [
        resource("rd", "a"),
        resource("rd", "c", { flags: TIE_BREAKER, diskState: "Diskless" }),
      ],
      want: `ok ${RACK}=r1`,
    },
    {
      // linstor-csi would take the first node's rack (order-dependent).
      name: "replicas in two racks: doubt",
      resources: [resource("rd", "a"), resource("rd", "c")],
      want: "RacksDiffer",
    },
    {
      // linstor-csi fails the request ("has no ... label").
      name: "a replica node without the rack label: doubt",
      resources: [resource("rd", "a"), resource("rd", "d")],
      want: "RackUnknown",
    },
    {
      name: "Kubernetes Nodes not listed: doubt",
      resources: [resource("rd", "a")],
      kubeNodes: false,
      want: "RackUnknown",
    },
    {
      name: "no healthy diskful replica: doubt, as for every placement",
      resources: [resource("rd", "a", { diskState: "Outdated" })],
      want: "NoHealthyReplica",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = balanced(c.resources, {
        ...(c.policy ? { policy: c.policy } : {}),
        ...(c.kubeNodes === false ? { kubeNodes: false } : {}),
      });
      assert.equal(
        got.ok
          ? `ok ${
            got.segments.map((s) =>
              Object.entries(s).map(([k, v]) => `${k}=${v}`).join(",")
            ).join(" | ")
          }`
          : got.reason,
        c.want,
      );
    });
  }
});
