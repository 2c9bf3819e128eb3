import assert from "node:assert/strict";
import { KubeIndex } from "../../src/state/mod.ts";
import {
  buildSnapshot,
  kubeNode,
  pod,
  pv,
  pvc,
  storageClass,
  volumeAttachment,
} from "../_builders/mod.ts";

function names(items: readonly { metadata?: { name?: string } }[] | undefined) {
  return (items ?? []).map((item) => item.metadata?.name);
}

Deno.test("KubeIndex indexes LINSTOR CSI PVs by resource", async (t) => {
  const cases: {
    name: string;
    pv: ReturnType<typeof pv>;
    resource: string | undefined;
  }[] = [
    { name: "plain handle", pv: pv("pvc-1"), resource: "pvc-1" },
    {
      name: "handle differs from the PV name",
      pv: pv("pvc-2", { handle: "default-data" }),
      resource: "default-data",
    },
    {
      name: "handle with volume number",
      pv: pv("pvc-3", { handle: "cg-abc/2" }),
      resource: "cg-abc",
    },
    {
      name: "other driver is ignored",
      pv: pv("pvc-4", { driver: "ebs.csi.aws.com" }),
      resource: undefined,
    },
    {
      name: "garbage handle is ignored",
      pv: pv("pvc-5", { handle: "a/b/c" }),
      resource: undefined,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const index = new KubeIndex({ subscribed: ["persistentVolumes"] });
      index.replace("persistentVolumes", [c.pv]);
      const view = index.view();
      assert.equal(view.persistentVolumes.size, 1);
      if (c.resource === undefined) {
        assert.equal(view.pvsByResource.size, 0);
      } else {
        assert.deepEqual(names(view.pvsByResource.get(c.resource)), [
          c.pv.metadata?.name,
        ]);
      }
    });
  }
});

Deno.test("KubeIndex indexes pods by claim (incl. generic ephemeral) and node", () => {
  const index = new KubeIndex({ subscribed: ["pods"] });
  index.replace("pods", [
    pod("ns", "web-0", { nodeName: "n1", claims: ["data-web-0"] }),
    pod("ns", "job", { nodeName: "n1", ephemeral: ["scratch"] }),
    pod("other", "web-0", { nodeName: "n2", claims: ["data-web-0", "shared"] }),
    pod("ns", "pending", { claims: ["shared"] }),
  ]);
  const view = index.view();
  assert.deepEqual(names(view.podsByClaim.get("ns/data-web-0")), ["web-0"]);
  assert.deepEqual(names(view.podsByClaim.get("ns/job-scratch")), ["job"]);
  assert.deepEqual(names(view.podsByClaim.get("other/data-web-0")), ["web-0"]);
  assert.deepEqual(names(view.podsByClaim.get("ns/shared")), ["pending"]);
  assert.deepEqual(names(view.podsByNode.get("n1")), ["job", "web-0"]);
  assert.deepEqual(names(view.podsByNode.get("n2")), ["web-0"]);
  assert.equal(view.podsByNode.size, 2);
  assert.ok(view.pods.has("other/web-0"));
});

Deno.test("KubeIndex moves index entries when a pod changes and drops them on delete", () => {
  const index = new KubeIndex({ subscribed: ["pods"] });
  index.replace("pods", [pod("ns", "a", { claims: ["c1"] })]);
  const before = index.view();
  assert.equal(
    index.upsert(
      "pods",
      pod("ns", "a", { nodeName: "n1", claims: ["c2"], resourceVersion: "2" }),
    ),
    true,
  );
  const moved = index.view();
  assert.equal(moved.podsByClaim.has("ns/c1"), false);
  assert.deepEqual(names(moved.podsByClaim.get("ns/c2")), ["a"]);
  assert.deepEqual(names(moved.podsByNode.get("n1")), ["a"]);
  // The older view is unchanged.
  assert.deepEqual(names(before.podsByClaim.get("ns/c1")), ["a"]);
  assert.equal(before.podsByNode.size, 0);
  assert.equal(index.remove("pods", pod("ns", "a")), true);
  const gone = index.view();
  assert.equal(gone.pods.size, 0);
  assert.equal(gone.podsByClaim.size, 0);
  assert.equal(gone.podsByNode.size, 0);
  assert.equal(index.remove("pods", pod("ns", "a")), false);
});

Deno.test("KubeIndex replace() removes objects missing from a relist", () => {
  const index = new KubeIndex({ subscribed: ["persistentVolumeClaims"] });
  index.replace("persistentVolumeClaims", [pvc("ns", "a"), pvc("ns", "b")]);
  index.replace("persistentVolumeClaims", [pvc("ns", "b")]);
  assert.deepEqual([...index.view().persistentVolumeClaims.keys()], ["ns/b"]);
});

Deno.test("KubeIndex view() is the same object until a change", () => {
  const index = new KubeIndex({ subscribed: ["nodes"] });
  index.replace("nodes", [kubeNode("n1")]);
  const first = index.view();
  assert.equal(index.view(), first);
  // Same uid and resourceVersion: an informer resync, not a change.
  assert.equal(index.upsert("nodes", kubeNode("n1")), false);
  assert.equal(index.replace("nodes", [kubeNode("n1")]), false);
  assert.equal(index.view(), first);
  index.upsert("nodes", kubeNode("n1", { resourceVersion: "2" }));
  const second = index.view();
  assert.notEqual(second, first);
  assert.equal(first.nodes.get("n1")?.metadata?.resourceVersion, "1");
  assert.equal(second.nodes.get("n1")?.metadata?.resourceVersion, "2");
});

Deno.test("KubeIndex isSynced() waits for a list of every subscribed kind", () => {
  const index = new KubeIndex({ subscribed: ["nodes", "pods"] });
  assert.equal(index.isSynced(), false);
  index.replace("nodes", []);
  assert.equal(index.isSynced(), false);
  assert.deepEqual([...index.view().synced], ["nodes"]);
  index.replace("pods", []);
  assert.equal(index.isSynced(), true);
});

Deno.test("KubeIndex rejects unknown and unsubscribed kinds and nameless objects", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new KubeIndex({ subscribed: ["secrets" as any] }),
    {
      name: "TypeError",
      message:
        /^Cannot subscribe to Kubernetes kind "secrets": expected one of/,
    },
  );
  const index = new KubeIndex({ subscribed: ["nodes"] });
  assert.throws(() => index.sink("pods"), {
    name: "RangeError",
    message: 'Cannot feed Kubernetes kind "pods": it is not subscribed',
  });
  assert.throws(() => index.upsert("nodes", { metadata: {} }), {
    name: "TypeError",
    message: 'Cannot index Kubernetes nodes object: it has no "metadata.name"',
  });
});

Deno.test("KubeIndex indexes unbound claims with a selected node, and older views keep theirs", async (t) => {
  const selected = { "volume.kubernetes.io/selected-node": "n1" };
  const cases: {
    name: string;
    claim: ReturnType<typeof pvc>;
    indexed: boolean;
  }[] = [
    {
      name: "unbound with a selected node",
      claim: pvc("ns", "c", { annotations: selected }),
      indexed: true,
    },
    {
      name: "bound with a selected node",
      claim: pvc("ns", "c", { annotations: selected, volumeName: "pv1" }),
      indexed: false,
    },
    { name: "unbound without one", claim: pvc("ns", "c"), indexed: false },
    {
      name: "an empty selected node",
      claim: pvc("ns", "c", {
        annotations: { "volume.kubernetes.io/selected-node": "" },
      }),
      indexed: false,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const index = new KubeIndex({ subscribed: ["persistentVolumeClaims"] });
      index.replace("persistentVolumeClaims", [c.claim]);
      const view = index.view();
      assert.deepEqual(
        [...view.claimsWithSelectedNode.keys()],
        c.indexed ? ["ns/c"] : [],
      );
      if (c.indexed) {
        assert.equal(view.claimsWithSelectedNode.get("ns/c"), c.claim);
      }
    });
  }
  await t.step("follows the claim's changes", () => {
    const index = new KubeIndex({ subscribed: ["persistentVolumeClaims"] });
    index.replace("persistentVolumeClaims", [pvc("ns", "c"), pvc("ns", "d")]);
    const before = index.view();
    const placed = pvc("ns", "c", {
      annotations: selected,
      resourceVersion: "2",
    });
    index.upsert("persistentVolumeClaims", placed);
    const after = index.view();
    index.upsert(
      "persistentVolumeClaims",
      pvc("ns", "c", {
        annotations: selected,
        volumeName: "pv1",
        resourceVersion: "3",
      }),
    );
    const bound = index.view();
    index.upsert("persistentVolumeClaims", {
      ...placed,
      metadata: { ...placed.metadata, resourceVersion: "4" },
    });
    index.remove("persistentVolumeClaims", placed);
    const gone = index.view();
    assert.equal(before.claimsWithSelectedNode.size, 0);
    assert.deepEqual([...after.claimsWithSelectedNode.keys()], ["ns/c"]);
    assert.equal(bound.claimsWithSelectedNode.size, 0);
    assert.equal(gone.claimsWithSelectedNode.size, 0);
    // Views handed out earlier keep what they held.
    assert.deepEqual([...after.claimsWithSelectedNode.keys()], ["ns/c"]);
  });
});

Deno.test("KubeIndex views iterate every entry across shards", () => {
  const index = new KubeIndex({ subscribed: ["pods"], shards: 4 });
  const pods = Array.from(
    { length: 100 },
    (_, i) => pod("ns", `p${i}`, { nodeName: `n${i % 3}` }),
  );
  index.replace("pods", pods);
  const view = index.view();
  assert.equal(view.pods.size, 100);
  assert.equal([...view.pods.keys()].length, 100);
  assert.equal([...view.pods.values()].length, 100);
  let count = 0;
  view.pods.forEach(() => count++);
  assert.equal(count, 100);
  assert.deepEqual(
    new Set([...view.pods].map(([key]) => key)),
    new Set(pods.map((p) => `ns/${p.metadata!.name}`)),
  );
  assert.equal(
    [...view.podsByNode.values()].reduce((n, list) => n + list.length, 0),
    100,
  );
});

/** Deterministic pseudo-random numbers (LCG), so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The indexes recomputed from scratch, as sorted plain data. */
function expectedIndexes(pods: Map<string, ReturnType<typeof pod>>) {
  const byClaim = new Map<string, string[]>();
  const byNode = new Map<string, string[]>();
  for (const [key, p] of pods) {
    for (const volume of p.spec?.volumes ?? []) {
      const claim = `${p.metadata!.namespace}/${
        volume.persistentVolumeClaim?.claimName ??
          `${p.metadata!.name}-${volume.name}`
      }`;
      byClaim.set(claim, [...(byClaim.get(claim) ?? []), key].sort());
    }
    const node = p.spec?.nodeName;
    if (node) byNode.set(node, [...(byNode.get(node) ?? []), key].sort());
  }
  return { byClaim, byNode };
}

function actualIndex(
  index: ReadonlyMap<string, readonly ReturnType<typeof pod>[]>,
) {
  return new Map(
    [...index].map((
      [key, list],
    ) => [
      key,
      list.map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`),
    ]),
  );
}

Deno.test("KubeIndex views match a from-scratch rebuild after random changes, and never change later", () => {
  const next = random(42);
  const pick = <T>(items: readonly T[]) =>
    items[Math.floor(next() * items.length)]!;
  const index = new KubeIndex({ subscribed: ["pods"], shards: 4 });
  const model = new Map<string, ReturnType<typeof pod>>();
  const frozen: {
    view: ReturnType<KubeIndex["view"]>;
    pods: string[];
    expected: ReturnType<typeof expectedIndexes>;
  }[] = [];
  index.replace("pods", []);
  for (let step = 0; step < 2_000; step++) {
    const name = `p${Math.floor(next() * 60)}`;
    const namespace = pick(["a", "b"]);
    const key = `${namespace}/${name}`;
    if (next() < 0.25) {
      index.remove("pods", pod(namespace, name));
      model.delete(key);
    } else {
      const p = pod(namespace, name, {
        resourceVersion: String(step),
        ...(next() < 0.8 ? { nodeName: pick(["n1", "n2", "n3"]) } : {}),
        claims: next() < 0.5 ? [pick(["c1", "c2", "c3"])] : [],
        ephemeral: next() < 0.2 ? ["tmp"] : [],
      });
      index.upsert("pods", p);
      model.set(key, p);
    }
    if (step % 50 === 0) {
      const view = index.view();
      frozen.push({
        view,
        pods: [...model.keys()].sort(),
        expected: expectedIndexes(model),
      });
    }
  }
  frozen.push({
    view: index.view(),
    pods: [...model.keys()].sort(),
    expected: expectedIndexes(model),
  });
  for (const { view, pods, expected } of frozen) {
    assert.deepEqual([...view.pods.keys()].sort(), pods);
    assert.equal(view.pods.size, pods.length);
    assert.deepEqual(actualIndex(view.podsByClaim), expected.byClaim);
    assert.deepEqual(actualIndex(view.podsByNode), expected.byNode);
  }
});

Deno.test("buildSnapshot() caches every kind by its key", () => {
  const snapshot = buildSnapshot({
    kube: {
      nodes: [kubeNode("n1")],
      pods: [pod("ns", "p")],
      persistentVolumes: [pv("pv1")],
      persistentVolumeClaims: [pvc("ns", "c")],
      storageClasses: [storageClass("linstor")],
      volumeAttachments: [
        volumeAttachment("csi-1", { pvName: "pv1", nodeName: "n1" }),
      ],
    },
  });
  const kube = snapshot.kube;
  assert.deepEqual(
    [
      [...kube.nodes.keys()],
      [...kube.pods.keys()],
      [...kube.persistentVolumes.keys()],
      [...kube.persistentVolumeClaims.keys()],
      [...kube.storageClasses.keys()],
      [...kube.volumeAttachments.keys()],
    ],
    [["n1"], ["ns/p"], ["pv1"], ["ns/c"], ["linstor"], ["csi-1"]],
  );
  assert.equal(kube.synced.size, 6);
});
