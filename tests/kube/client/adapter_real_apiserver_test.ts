/**
 * The real adapter (`createKubeApi()`) against a real kube-apiserver from
 * the control-plane harness, and the same checks the fake's own tests make
 * (the API behaviours every implementation shares are in `../_contract.ts`),
 * so `FakeKube`'s behaviour is pinned to the real thing: TLS with bearer
 * token and client certificate, paged list, watch, PV nodeAffinity
 * immutability (422), dry-run, UID preconditions, server-side apply, Lease
 * MicroTimes through leader election, events.k8s.io series, eviction.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  CoreV1Api,
  KubeConfig as ClientNodeKubeConfig,
  type V1PersistentVolume,
} from "@kubernetes/client-node";
import {
  createKubeApi,
  type KubeConfig,
  loadKubeConfig,
} from "../../../src/kube/client/mod.ts";
import {
  isConflict,
  isInvalid,
  isNotFound,
  type KubeApi,
  startLeaderElection,
} from "../../../src/kube/mod.ts";
import {
  ignoreWithoutControlPlane,
  startControlPlane,
} from "../../_harness/control_plane.ts";
import { pollUntil } from "../../_harness/_process.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";

const NS = "adapter";

function pv(name: string): V1PersistentVolume {
  return {
    metadata: { name },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      csi: { driver: "linstor.csi.linbit.com", volumeHandle: name },
    },
  };
}

function affinity(host: string) {
  return {
    required: {
      nodeSelectorTerms: [{
        matchExpressions: [{
          key: "kubernetes.io/hostname",
          operator: "In",
          values: [host],
        }],
      }],
    },
  };
}

async function withKube(
  kubeConfig: KubeConfig,
  fn: (kube: KubeApi) => Promise<void>,
): Promise<void> {
  const kube = createKubeApi(kubeConfig, { reportingInstance: "test-pod" });
  try {
    await fn(kube);
  } finally {
    await kube.close();
  }
}

Deno.test({
  name: "createKubeApi() works against a real kube-apiserver",
  ignore: ignoreWithoutControlPlane(),
  fn: async (t) => {
    await using cp = await startControlPlane();
    await cp.createNamespace(NS);
    await cp.createNodes([{ name: "n1" }]);
    const token = loadKubeConfig({ path: cp.adminKubeconfig, env: {} });

    await t.step("lists over TLS with a client certificate", async () => {
      const cert = loadKubeConfig({ path: cp.adminCertKubeconfig, env: {} });
      await withKube(cert, async (kube) => {
        const { items } = await kube.list("nodes");
        assert.deepEqual(items.map((n) => n.metadata?.name), ["n1"]);
        assert.ok(items[0]!.metadata!.creationTimestamp instanceof Date);
      });
    });

    await withKube(token, async (kube) => {
      await t.step("reads and patches a node", async () => {
        const node = await kube.patch({ kind: "nodes", name: "n1" }, {
          type: "strategic",
          body: { metadata: { labels: { "example.com/x": "1" } } },
        });
        assert.equal(node.metadata!.labels!["example.com/x"], "1");
        assert.equal(
          (await kube.get({ kind: "nodes", name: "n1" })).metadata!
            .labels!["example.com/x"],
          "1",
        );
        await assert.rejects(
          kube.get({ kind: "nodes", name: "missing" }),
          isNotFound,
        );
      });

      await t.step(
        "keeps PV nodeAffinity immutable once set, as FakeKube does",
        async () => {
          const created = await kube.create("persistentVolumes", pv("pv-a"));
          // The PV controller sets the phase right after creation: re-read.
          await pollUntil(
            "pv-a Available",
            async () =>
              (await kube.get({ kind: "persistentVolumes", name: "pv-a" }))
                  .status?.phase ===
                "Available" || undefined,
          );
          const current = await kube.get({
            kind: "persistentVolumes",
            name: "pv-a",
          });
          const set = await kube.replace("persistentVolumes", {
            ...current,
            spec: { ...current.spec, nodeAffinity: affinity("n1") },
          });
          const changed = {
            ...set,
            spec: { ...set.spec, nodeAffinity: affinity("n2") },
          };
          await assert.rejects(
            kube.replace("persistentVolumes", changed, { dryRun: "All" }),
            isInvalid,
          );
          await assert.rejects(
            kube.replace("persistentVolumes", changed),
            isInvalid,
          );
          // A dry-run of an allowed change is not persisted.
          const dry = await kube.replace("persistentVolumes", {
            ...set,
            metadata: { ...set.metadata, labels: { dry: "1" } },
          }, { dryRun: "All" });
          assert.deepEqual(dry.metadata!.labels, { dry: "1" });
          const now = await kube.get({
            kind: "persistentVolumes",
            name: "pv-a",
          });
          assert.equal(now.metadata!.labels, undefined);
          assert.equal(
            now.metadata!.resourceVersion,
            set.metadata!.resourceVersion,
          );
          // Stale resourceVersion and wrong UID are conflicts.
          await assert.rejects(
            kube.replace("persistentVolumes", {
              ...created,
              metadata: { ...created.metadata },
            }),
            isConflict,
          );
          await assert.rejects(
            kube.delete({ kind: "persistentVolumes", name: "pv-a" }, {
              preconditions: { uid: "00000000-0000-0000-0000-000000000000" },
            }),
            isConflict,
          );
          await kube.delete({ kind: "persistentVolumes", name: "pv-a" }, {
            preconditions: { uid: created.metadata!.uid! },
          });
          // The pv-protection finalizer keeps it until the PV controller
          // (not running here) or a client removes the finalizer.
          const terminating = await kube.get({
            kind: "persistentVolumes",
            name: "pv-a",
          }).catch(
            () => undefined,
          );
          if (terminating) {
            assert.ok(terminating.metadata!.deletionTimestamp instanceof Date);
            // The PV protection controller may remove it first.
            await kube.patch({ kind: "persistentVolumes", name: "pv-a" }, {
              type: "merge",
              body: { metadata: { finalizers: null } },
            }).catch((error) => {
              if (!isNotFound(error)) throw error;
            });
          }
          await pollUntil("pv-a gone", async () => {
            try {
              await kube.get({ kind: "persistentVolumes", name: "pv-a" });
              return undefined;
            } catch (error) {
              if (isNotFound(error)) return true;
              throw error;
            }
          });
        },
      );

      await t.step("server-side applies a StorageClass", async () => {
        const sc = await kube.patch({
          kind: "storageClasses",
          name: "linstor-test",
        }, {
          type: "apply",
          body: {
            provisioner: "linstor.csi.linbit.com",
            parameters: { "linstor.csi.linbit.com/placementCount": "2" },
          },
          force: true,
        });
        assert.equal(sc.provisioner, "linstor.csi.linbit.com");
        assert.equal(sc.metadata!.managedFields?.[0]?.manager, "linstor-suite");
        await assert.rejects(
          kube.patch({ kind: "storageClasses", name: "linstor-test" }, {
            type: "apply",
            body: {
              provisioner: "linstor.csi.linbit.com",
              parameters: { "linstor.csi.linbit.com/placementCount": "3" },
            },
            force: true,
          }),
          isInvalid,
        );
      });

      await t.step("elects a leader with MicroTime Lease fields", async () => {
        const controller = new AbortController();
        const clock = new FakeClock(Date.now());
        const election = startLeaderElection(kube, {
          namespace: NS,
          name: "adapter-test",
          identity: "pod-a",
          clock,
          signal: controller.signal,
        });
        await pollUntil(
          "leader",
          () => Promise.resolve(election.isLeader() || undefined),
        );
        const lease = await kube.get({
          kind: "leases",
          namespace: NS,
          name: "adapter-test",
        });
        assert.equal(lease.spec!.holderIdentity, "pod-a");
        assert.ok(lease.spec!.renewTime instanceof Date);
        assert.ok(lease.spec!.acquireTime instanceof Date);
        controller.abort();
        await election.stopped;
        const released = await kube.get({
          kind: "leases",
          namespace: NS,
          name: "adapter-test",
        });
        assert.equal(released.spec!.holderIdentity ?? "", "");
        assert.equal(released.spec!.leaseDurationSeconds, 1);
      });

      await t.step(
        "records an Event and counts repeats in its series",
        async () => {
          const involved = await kube.create(
            "persistentVolumes",
            pv("pv-event"),
          );
          const details = {
            type: "Warning" as const,
            reason: "TestReason",
            message: "something happened",
            action: "Testing",
          };
          await kube.recordEvent(involved, details);
          await kube.recordEvent(involved, details);
          const core = cp.adminKubeconfig;
          const kc = new ClientNodeKubeConfig();
          kc.loadFromFile(core);
          const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({
            namespace: "default",
          });
          const mine = events.items.filter((e) =>
            e.involvedObject.uid === involved.metadata!.uid
          );
          assert.equal(mine.length, 1);
          assert.equal(mine[0]!.reason, "TestReason");
          assert.equal(mine[0]!.series?.count ?? mine[0]!.count, 2);
        },
      );

      await t.step("evicts a pod with a UID precondition", async () => {
        const kc = new ClientNodeKubeConfig();
        kc.loadFromFile(cp.adminKubeconfig);
        const core = kc.makeApiClient(CoreV1Api);
        const pod = await core.createNamespacedPod({
          namespace: NS,
          body: {
            metadata: { name: "victim" },
            spec: {
              schedulerName: "nobody",
              automountServiceAccountToken: false,
              containers: [{ name: "c", image: "registry.invalid/pause:1" }],
            },
          },
        });
        await assert.rejects(
          kube.evict({ namespace: NS, name: "victim" }, { uid: "wrong" }),
          isConflict,
        );
        await kube.evict({ namespace: NS, name: "victim" }, {
          uid: pod.metadata!.uid!,
        });
        await pollUntil("victim gone", async () => {
          try {
            await core.readNamespacedPod({ name: "victim", namespace: NS });
            return undefined;
          } catch {
            return true;
          }
        });
      });
    });
  },
});
