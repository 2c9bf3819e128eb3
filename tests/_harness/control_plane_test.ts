/**
 * Proof that the harness runs a real control plane: RBAC for the per-mode
 * users, schedulable API-created Nodes, a real kube-scheduler calling an
 * extender stub over HTTP, and the apiserver's PV rules the affinity mode
 * relies on.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  ignoreWithoutControlPlane,
  KubeRequestError,
  LINSTOR_SCHEDULER_NAME,
  startControlPlane,
} from "./control_plane.ts";
import { pollUntil } from "./_process.ts";

interface StubCall {
  verb: string;
  pod: string;
  nodeNames: string[];
}

/** An extender stub: it keeps only the node `pick` names (per pod name). */
function serveExtenderStub() {
  const calls: StubCall[] = [];
  const picks = new Map<string, string>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (request) => {
    const verb = new URL(request.url).pathname.split("/").pop() ?? "";
    const args = await request.json() as Record<string, unknown>;
    // kube-scheduler sends Go field names (no JSON tags): Pod, NodeNames.
    const pod = (args.Pod ?? args.pod) as { metadata?: { name?: string } };
    const nodeNames = (args.NodeNames ?? args.nodenames ?? []) as string[];
    const podName = pod?.metadata?.name ?? "";
    calls.push({ verb, pod: podName, nodeNames });
    const pick = picks.get(podName);
    if (verb === "filter") {
      const keep = pick === undefined
        ? nodeNames
        : nodeNames.filter((n) => n === pick);
      const failed: Record<string, string> = {};
      for (const n of nodeNames) {
        if (!keep.includes(n)) failed[n] = "not picked by the stub";
      }
      return Response.json({
        NodeNames: keep,
        FailedNodes: failed,
        Error: "",
      });
    }
    if (verb === "prioritize") {
      return Response.json(
        nodeNames.map((n) => ({ Host: n, Score: n === pick ? 10 : 0 })),
      );
    }
    return new Response("unknown verb", { status: 404 });
  });
  const port = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}/scheduler`,
    calls,
    picks,
    shutdown: () => server.shutdown(),
  };
}

function pod(name: string, namespace: string, schedulerName: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace },
    spec: {
      schedulerName,
      nodeSelector: { "test.linstor-suite.io/pool": "sched" },
      automountServiceAccountToken: false,
      containers: [{ name: "c", image: "registry.invalid/pause:1" }],
    },
  };
}

type Obj = {
  metadata: { uid: string; resourceVersion: string };
  spec: Record<string, unknown>;
  status?: { phase?: string };
};

function pv(name: string, node: string, claim: Record<string, string>) {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: "linstor-test",
      csi: { driver: "linstor.csi.linbit.com", volumeHandle: name },
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", ...claim },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [{
            matchExpressions: [{
              key: "kubernetes.io/hostname",
              operator: "In",
              values: [node],
            }],
          }],
        },
      },
    },
  };
}

Deno.test({
  name: "`startControlPlane()` runs a real Kubernetes control plane",
  ignore: ignoreWithoutControlPlane(),
  async fn(t) {
    const stub = serveExtenderStub();
    try {
      await using cp = await startControlPlane({ extenderUrl: stub.url });
      await cp.createNodes([
        {
          name: "sched-1",
          zone: "a",
          labels: { "test.linstor-suite.io/pool": "sched" },
        },
        {
          name: "sched-2",
          zone: "b",
          labels: { "test.linstor-suite.io/pool": "sched" },
        },
        {
          name: "sched-3",
          zone: "c",
          labels: { "test.linstor-suite.io/pool": "sched" },
        },
      ]);

      await t.step(
        "`createNodes()` creates Ready, untainted nodes with allocatable",
        async () => {
          const node = await cp.request<{
            metadata: { labels: Record<string, string> };
            spec: { taints?: unknown[] };
            status: {
              allocatable: Record<string, string>;
              conditions: { type: string; status: string }[];
            };
          }>("GET", "/api/v1/nodes/sched-2");
          assert.equal(
            node.metadata.labels["topology.kubernetes.io/zone"],
            "b",
          );
          assert.deepEqual(node.spec.taints ?? [], []);
          assert.equal(node.status.allocatable.pods, "110");
          assert.equal(
            node.status.conditions.find((c) => c.type === "Ready")?.status,
            "True",
          );
        },
      );

      await t.step(
        "the mode users are subject to RBAC as service accounts",
        async () => {
          await assert.rejects(
            cp.request("GET", "/api/v1/nodes", { user: "extender" }),
            (e: unknown) => e instanceof KubeRequestError && e.status === 403,
          );
          await cp.request(
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            {
              body: {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRole",
                metadata: { name: "test-extender-nodes" },
                rules: [{
                  apiGroups: [""],
                  resources: ["nodes"],
                  verbs: ["get", "list", "watch"],
                }],
              },
            },
          );
          const sa = cp.identities.extender.user.split(":");
          await cp.request(
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {
              body: {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRoleBinding",
                metadata: { name: "test-extender-nodes" },
                roleRef: {
                  apiGroup: "rbac.authorization.k8s.io",
                  kind: "ClusterRole",
                  name: "test-extender-nodes",
                },
                subjects: [{
                  kind: "ServiceAccount",
                  namespace: sa[2],
                  name: sa[3],
                }],
              },
            },
          );
          const list = await pollUntil(
            "extender may list nodes",
            () =>
              cp.request<{ items: unknown[] }>("GET", "/api/v1/nodes", {
                user: "extender",
              }),
          );
          assert.equal(list.items.length, 3);
          await assert.rejects(
            cp.request("GET", "/api/v1/secrets", { user: "extender" }),
            (e: unknown) => e instanceof KubeRequestError && e.status === 403,
          );
          await assert.rejects(
            cp.request("GET", "/api/v1/nodes", { user: "agent" }),
            (e: unknown) => e instanceof KubeRequestError && e.status === 403,
          );
        },
      );

      await cp.createNamespace("sched");

      await t.step(
        "`startControlPlane()` binds a pod to the node the extender picks",
        async () => {
          for (
            const [name, pick] of [["p-two", "sched-2"], [
              "p-three",
              "sched-3",
            ]] as const
          ) {
            stub.picks.set(name, pick);
            await cp.request("POST", "/api/v1/namespaces/sched/pods", {
              body: pod(name, "sched", LINSTOR_SCHEDULER_NAME),
            });
            const bound = await pollUntil(`${name} bound`, async () => {
              const p = await cp.request<{ spec: { nodeName?: string } }>(
                "GET",
                `/api/v1/namespaces/sched/pods/${name}`,
              );
              return p.spec.nodeName;
            });
            assert.equal(bound, pick);
            const filter = stub.calls.find((c) =>
              c.pod === name && c.verb === "filter"
            );
            assert.ok(filter, `the extender saw no filter call for ${name}`);
            assert.deepEqual([...filter.nodeNames].sort(), [
              "sched-1",
              "sched-2",
              "sched-3",
            ]);
          }
        },
      );

      await t.step("default-scheduler pods are bound too", async () => {
        await cp.request("POST", "/api/v1/namespaces/sched/pods", {
          body: pod("p-default", "sched", "default-scheduler"),
        });
        const node = await pollUntil("p-default bound", async () => {
          const p = await cp.request<{ spec: { nodeName?: string } }>(
            "GET",
            "/api/v1/namespaces/sched/pods/p-default",
          );
          return p.spec.nodeName;
        });
        assert.match(node, /^sched-[123]$/);
      });

      await cp.createNamespace("pv");
      const claim = { namespace: "pv", name: "data" };
      await cp.request("POST", "/api/v1/namespaces/pv/persistentvolumeclaims", {
        body: {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: claim,
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: "linstor-test",
            volumeName: "pv-data",
            resources: { requests: { storage: "1Gi" } },
          },
        },
      });
      await cp.request("POST", "/api/v1/persistentvolumes", {
        body: pv("pv-data", "sched-1", claim),
      });
      const phase = (path: string) => async () => {
        const o = await cp.request<Obj>("GET", path);
        return o.status?.phase === "Bound" ? o : undefined;
      };
      const pvcPath = "/api/v1/namespaces/pv/persistentvolumeclaims/data";
      const pvPath = "/api/v1/persistentvolumes/pv-data";
      const boundClaim = await pollUntil("PVC bound", phase(pvcPath));
      await pollUntil("PV bound", phase(pvPath));

      await t.step(
        "the apiserver rejects an update of a bound PV's nodeAffinity",
        async () => {
          const moved = pv("pv-data", "sched-2", claim);
          await assert.rejects(
            cp.request("PATCH", pvPath, {
              body: { spec: { nodeAffinity: moved.spec.nodeAffinity } },
              contentType: "application/merge-patch+json",
            }),
            (e: unknown) =>
              e instanceof KubeRequestError && e.status === 422 &&
              e.body.includes("nodeAffinity"),
          );
        },
      );

      await t.step(
        "a PVC is Bound again after its PV is deleted and recreated with the same name and claimRef",
        async () => {
          await cp.request("DELETE", pvPath);
          // pv-protection keeps a Bound PV; the affinity mode drops the
          // finalizer itself, as the test does here.
          await cp.request("PATCH", pvPath, {
            body: { metadata: { finalizers: null } },
            contentType: "application/merge-patch+json",
          });
          await pollUntil("PV gone", async () => {
            try {
              await cp.request("GET", pvPath);
              return undefined;
            } catch (e) {
              if (e instanceof KubeRequestError && e.status === 404) {
                return true;
              }
              throw e;
            }
          });
          await cp.request("POST", "/api/v1/persistentvolumes", {
            body: pv("pv-data", "sched-2", {
              ...claim,
              uid: boundClaim.metadata.uid,
            }),
          });
          const rebound = await pollUntil("PVC bound again", phase(pvcPath));
          const newPv = await pollUntil("new PV bound", phase(pvPath));
          assert.equal(rebound.metadata.uid, boundClaim.metadata.uid);
          assert.equal(rebound.spec.volumeName, "pv-data");
          const terms = JSON.stringify(newPv.spec.nodeAffinity);
          assert.ok(terms.includes("sched-2"), terms);
        },
      );
    } finally {
      await stub.shutdown();
    }
  },
});
