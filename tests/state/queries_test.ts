import assert from "node:assert/strict";
import {
  claimsOfPod,
  linstorNodeFor,
  podsOfClaim,
  poolsOf,
  pvcsOfPod,
  pvsOfResource,
  replicasOf,
  replicasOnNode,
} from "../../src/state/mod.ts";
import {
  buildSnapshot,
  kubeNode,
  linstorNode,
  pod,
  pv,
  pvc,
  resource,
  storagePool,
} from "../_builders/mod.ts";

Deno.test("linstorNodeFor() matches by name, then by hostname property", async (t) => {
  const snapshot = buildSnapshot({
    linstor: {
      nodes: [
        linstorNode("k8s-1"),
        linstorNode("stor-2", {
          props: { "Aux/topology/kubernetes.io/hostname": "k8s-2" },
        }),
        linstorNode("stor-3", {
          props: { "Aux/kubernetes.io/hostname": "k8s-3" },
        }),
        linstorNode("stor-4", {
          props: { "Aux/topology/kubernetes.io/hostname": "host-4.example" },
        }),
        linstorNode("host-6"),
      ],
    },
    kube: {
      nodes: [
        kubeNode("k8s-4", {
          labels: { "kubernetes.io/hostname": "host-4.example" },
        }),
        kubeNode("k8s-6", { labels: { "kubernetes.io/hostname": "host-6" } }),
      ],
    },
  });
  const cases: { kubeNode: string; expect: string | undefined }[] = [
    { kubeNode: "k8s-1", expect: "k8s-1" },
    { kubeNode: "k8s-2", expect: "stor-2" },
    { kubeNode: "k8s-3", expect: "stor-3" },
    { kubeNode: "k8s-4", expect: "stor-4" },
    { kubeNode: "k8s-5", expect: undefined },
    { kubeNode: "k8s-6", expect: "host-6" },
  ];
  for (const c of cases) {
    await t.step(c.kubeNode, () => {
      assert.equal(linstorNodeFor(snapshot, c.kubeNode)?.name, c.expect);
    });
  }
});

Deno.test("linstorNodeFor() prefers the topology property over the plain Aux one", () => {
  const snapshot = buildSnapshot({
    linstor: {
      nodes: [
        linstorNode("a", {
          props: {
            "Aux/topology/kubernetes.io/hostname": "k8s-1",
            "Aux/kubernetes.io/hostname": "k8s-9",
          },
        }),
      ],
    },
  });
  assert.equal(linstorNodeFor(snapshot, "k8s-1")?.name, "a");
  assert.equal(linstorNodeFor(snapshot, "k8s-9"), undefined);
});

Deno.test("pvcsOfPod() and claimsOfPod() include generic ephemeral volumes", () => {
  const web = pod("ns", "web-0", {
    claims: ["data-web-0", "data-web-0", "missing"],
    ephemeral: ["scratch"],
  });
  assert.deepEqual(claimsOfPod(web), [
    "ns/data-web-0",
    "ns/missing",
    "ns/web-0-scratch",
  ]);
  const snapshot = buildSnapshot({
    kube: {
      persistentVolumeClaims: [
        pvc("ns", "data-web-0"),
        pvc("ns", "web-0-scratch"),
        pvc("other", "data-web-0"),
      ],
      pods: [web],
    },
  });
  assert.deepEqual(
    pvcsOfPod(snapshot, web).map((c) =>
      `${c.metadata?.namespace}/${c.metadata?.name}`
    ),
    ["ns/data-web-0", "ns/web-0-scratch"],
  );
  assert.deepEqual(
    podsOfClaim(snapshot, "ns/web-0-scratch").map((p) => p.metadata?.name),
    ["web-0"],
  );
  assert.deepEqual(podsOfClaim(snapshot, "ns/nothing"), []);
});

Deno.test("replicasOf(), replicasOnNode(), poolsOf() and pvsOfResource() read the indexes", () => {
  const snapshot = buildSnapshot({
    linstor: {
      resources: [resource("r1", "n2"), resource("r1", "n1")],
      storagePools: [storagePool("n1", "b"), storagePool("n1", "a")],
    },
    kube: { persistentVolumes: [pv("r1")] },
  });
  assert.deepEqual(replicasOf(snapshot, "r1").map((r) => r.node), ["n1", "n2"]);
  assert.deepEqual(replicasOf(snapshot, "r2"), []);
  assert.deepEqual(replicasOnNode(snapshot, "n2").map((r) => r.resource), [
    "r1",
  ]);
  assert.deepEqual(poolsOf(snapshot, "n1").map((p) => p.name), ["a", "b"]);
  assert.deepEqual(poolsOf(snapshot, "n9"), []);
  assert.deepEqual(
    pvsOfResource(snapshot, "r1").map((p) => p.metadata?.name),
    ["r1"],
  );
});
