/**
 * Fencing end to end: `main.ts fencing` as a process on node-b, a `drbdsetup`
 * test double replaying a stream and then, on cue, node-a's loss and return,
 * and the real control plane, the agent running as the ServiceAccount of
 * `deploy/fencing/rbac.yaml` with a token from the TokenRequest API.
 *
 * The StatefulSet's pod sits on node-a (no kubelet: its phase is set through
 * the status subresource). On the loss: taint, then eviction while Node
 * node-a is Ready (the pod stays Terminating without a kubelet), then a force
 * delete once node-a is NotReady (condition set through the status
 * subresource), then the VolumeAttachment; on recovery the taint goes.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type ControlPlane,
  ignoreWithoutControlPlane,
  KubeRequestError,
  startControlPlane,
} from "../../_harness/control_plane.ts";
import {
  ANNOTATION_FENCING_LOST_PEERS,
  LABEL_ON_STORAGE_LOST,
  TAINT_LOST_QUORUM,
} from "../../../src/constants.ts";
import { createKubeApi, loadKubeConfig } from "../../../src/kube/client/mod.ts";
import {
  encodeLostPeers,
  fencingOperations,
  initialDump,
  peerBackLines,
  peerLostLines,
} from "../../../src/modes/fencing/mod.ts";
import { executeOperations } from "../../../src/reconcile/mod.ts";
import { latencyBoundMs, poll, waitForEvents } from "../../_harness/wait.ts";
import { shippedServiceAccount } from "../../_harness/service_account.ts";
import { PEER_A, resourceOnB } from "./_world.ts";

const ROOT = new URL("../../../", import.meta.url);

interface Json {
  // deno-lint-ignore no-explicit-any
  [key: string]: any;
}

async function getOrUndefined(
  cp: ControlPlane,
  path: string,
): Promise<Json | undefined> {
  try {
    return await cp.request<Json>("GET", path);
  } catch (error) {
    if (error instanceof KubeRequestError && error.status === 404) {
      return undefined;
    }
    throw error;
  }
}

async function setNodeReady(cp: ControlPlane, name: string, ready: boolean) {
  await cp.request("PATCH", `/api/v1/nodes/${name}/status`, {
    body: {
      status: {
        conditions: [{
          type: "Ready",
          status: ready ? "True" : "Unknown",
          reason: ready ? "KubeletReady" : "NodeStatusUnknown",
          lastHeartbeatTime: new Date().toISOString(),
          lastTransitionTime: new Date().toISOString(),
        }],
      },
    },
    contentType: "application/strategic-merge-patch+json",
  });
}

async function setup(
  cp: ControlPlane,
): Promise<{ podUid: string; vaUid: string; kubeconfig: string }> {
  const { kubeconfig } = await shippedServiceAccount(cp, "fencing");
  await cp.createNodes([
    { name: "node-a", labels: { "fencing-e2e/home": "true" } },
    { name: "node-b" },
    { name: "node-c" },
  ]);
  // node-c's agent confirms node-a lost (as its own agent would publish).
  await cp.request("PATCH", "/api/v1/nodes/node-c", {
    body: {
      metadata: {
        annotations: {
          [ANNOTATION_FENCING_LOST_PEERS]: encodeLostPeers({
            at: Date.now() + 120_000,
            lost: ["node-a"],
          }),
        },
      },
    },
    contentType: "application/merge-patch+json",
  });
  await cp.createNamespace("apps");
  await cp.request("POST", "/api/v1/persistentvolumes", {
    body: {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pvc-1" },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: "",
        csi: { driver: "linstor.csi.linbit.com", volumeHandle: "pvc-1" },
        claimRef: { namespace: "apps", name: "data-web-0" },
      },
    },
  });
  await cp.request("POST", "/apis/apps/v1/namespaces/apps/statefulsets", {
    body: {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "web" },
      spec: {
        serviceName: "web",
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: {
            labels: { app: "web", [LABEL_ON_STORAGE_LOST]: "remove" },
          },
          spec: {
            nodeSelector: { "fencing-e2e/home": "true" },
            containers: [{
              name: "main",
              image: "busybox",
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            }],
          },
        },
        volumeClaimTemplates: [{
          metadata: { name: "data" },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: "",
            resources: { requests: { storage: "1Gi" } },
          },
        }],
      },
    },
  });
  const pod = await poll(
    "pod web-0 scheduled on node-a",
    async () => {
      const p = await getOrUndefined(cp, "/api/v1/namespaces/apps/pods/web-0");
      return p?.spec?.nodeName === "node-a" ? p : undefined;
    },
  );
  await cp.request("PATCH", "/api/v1/namespaces/apps/pods/web-0/status", {
    body: { status: { phase: "Running" } },
    contentType: "application/merge-patch+json",
  });
  const va = await cp.request<Json>(
    "POST",
    "/apis/storage.k8s.io/v1/volumeattachments",
    {
      body: {
        apiVersion: "storage.k8s.io/v1",
        kind: "VolumeAttachment",
        metadata: { name: "csi-fencing-e2e" },
        spec: {
          attacher: "linstor.csi.linbit.com",
          nodeName: "node-a",
          source: { persistentVolumeName: "pvc-1" },
        },
      },
    },
  );
  return { podUid: pod.metadata.uid, vaUid: va.metadata.uid, kubeconfig };
}

/** The double: a dump, then on cue node-a's loss, then its return. */
async function drbdsetupDouble(dir: string): Promise<void> {
  const fixtures = new URL("../../_fixtures/drbdsetup/", import.meta.url);
  await Deno.copyFile(
    new URL("drbdsetup_double.sh", fixtures),
    `${dir}/drbdsetup`,
  );
  await Deno.chmod(`${dir}/drbdsetup`, 0o755);
  await Deno.writeTextFile(
    `${dir}/show.json`,
    JSON.stringify([{ resource: "pvc-1", options: { quorum: "majority" } }]),
  );
  const lines = (list: string[]) => list.join("\n") + "\n";
  await Deno.writeTextFile(
    `${dir}/events2.1`,
    lines(initialDump([resourceOnB()], { at: Date.now() })),
  );
  await Deno.writeTextFile(`${dir}/events2.1.end`, "hang");
  // Placeholders: the test rewrites them with current stamps before each cue.
  await Deno.writeTextFile(`${dir}/after.1`, "");
  await Deno.writeTextFile(`${dir}/after.2`, "");
}

async function cue(dir: string, index: number, text: string[]): Promise<void> {
  await Deno.writeTextFile(`${dir}/after.${index}`, text.join("\n") + "\n");
  await Deno.writeTextFile(`${dir}/go.${index}`, "");
}

/** The agent's whole course: loss, eviction, force delete, detach, return. */
async function lossAndReturn(cp: ControlPlane): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fencing-e2e-" });
  let child: Deno.ChildProcess | undefined;
  let drained: Promise<unknown> | undefined;
  let log = "";
  try {
    const { podUid, vaUid, kubeconfig } = await setup(cp);
    await drbdsetupDouble(dir);
    child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "main.ts",
        "fencing",
        `--kubeconfig=${kubeconfig}`,
        "--node-name=node-b",
        `--drbdsetup=${dir}/drbdsetup`,
        "--fail-over-timeout=5s",
        "--health-address=127.0.0.1:0",
        "-v=1",
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        log += chunk;
      }
    };
    drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
    await poll(
      "the agent's lost-peers report (it is synced and acting)",
      async () => {
        // An empty report is never published; wait for the first pass instead.
        await getOrUndefined(cp, "/api/v1/nodes/node-b");
        return log.includes("Fencing agent started") || undefined;
      },
    );

    // node-a's storage network fails: both lines carry the cue's time.
    const lostAt = Date.now();
    await cue(dir, 1, peerLostLines("pvc-1", PEER_A, { at: lostAt }));
    const evicted = await poll(
      "web-0 evicted (Terminating: no kubelet on node-a)",
      async () => {
        const p = await getOrUndefined(
          cp,
          "/api/v1/namespaces/apps/pods/web-0",
        );
        return p?.metadata?.uid === podUid && p.metadata.deletionTimestamp
          ? Date.now()
          : undefined;
      },
      20_000,
    );
    const latencyMs = evicted - lostAt;
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `fencing e2e: peer-loss line -> eviction ${latencyMs} ms\n`,
      ),
    );
    // Never before --fail-over-timeout (5 s); after it, within one poll
    // of the pod plus the scheduling slack of the machine's load.
    assert.ok(latencyMs >= 5_000, `eviction after only ${latencyMs} ms`);
    const boundMs = await latencyBoundMs(5_000, 3_000);
    assert.ok(
      latencyMs <= boundMs,
      `eviction after ${latencyMs} ms (bound ${boundMs} ms)`,
    );
    const nodeA = await cp.request<Json>("GET", "/api/v1/nodes/node-a");
    const taint = (nodeA.spec.taints ?? []).find((t: Json) =>
      t.key === TAINT_LOST_QUORUM
    );
    assert.equal(taint?.effect, "NoSchedule");
    assert.ok(taint?.timeAdded, "the taint is time-stamped");
    const report = (await cp.request<Json>("GET", "/api/v1/nodes/node-b"))
      .metadata.annotations?.[ANNOTATION_FENCING_LOST_PEERS];
    assert.match(report ?? "", /"lost":\["node-a"\]/);

    // node-a goes NotReady: the Terminating pod is deleted with grace 0.
    await setNodeReady(cp, "node-a", false);
    await poll("web-0 (old UID) gone", async () => {
      const p = await getOrUndefined(
        cp,
        "/api/v1/namespaces/apps/pods/web-0",
      );
      return p?.metadata?.uid !== podUid || undefined;
    }, 20_000);
    await poll("our VolumeAttachment deleted", async () => {
      const va = await getOrUndefined(
        cp,
        "/apis/storage.k8s.io/v1/volumeattachments/csi-fencing-e2e",
      );
      return va?.metadata?.uid !== vaUid || undefined;
    }, 20_000);
    // The VolumeAttachment went with the eviction, so its absence says
    // nothing about the force delete's Event: that one follows the delete
    // and is waited for.
    await waitForEvents(cp, [
      { reason: "VolumeWithoutQuorum", action: "EvictedPod", kind: "Pod" },
      {
        reason: "VolumeWithoutQuorum",
        action: "ForceDeletedPod",
        kind: "Pod",
      },
    ], { namespace: "apps" });

    // node-a is back: connected again, the taint goes.
    await setNodeReady(cp, "node-a", true);
    await cue(dir, 2, peerBackLines("pvc-1", PEER_A, { at: Date.now() }));
    await poll("taint removed from node-a", async () => {
      const node = await cp.request<Json>("GET", "/api/v1/nodes/node-a");
      return (node.spec.taints ?? []).some((t: Json) =>
          t.key === TAINT_LOST_QUORUM
        )
        ? undefined
        : true;
    }, 20_000);
  } catch (error) {
    throw new Error(`${error}\n--- agent log ---\n${log}`, { cause: error });
  } finally {
    if (child) {
      try {
        child.kill("SIGTERM");
      } catch {
        // exited
      }
      await child.status;
      await drained;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Delete preconditions against the real apiserver, on a node and in a
 * namespace of its own (the control plane is shared with
 * {@linkcode lossAndReturn}, which runs after it).
 */
async function uidPreconditions(cp: ControlPlane): Promise<void> {
  const account = await shippedServiceAccount(cp, "fencing");
  await cp.createNodes([{ name: "uid-node", ready: false }]);
  await cp.createNamespace("uid");
  const pod = await cp.request<Json>(
    "POST",
    "/api/v1/namespaces/uid/pods",
    {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        spec: {
          nodeName: "uid-node",
          containers: [{ name: "main", image: "busybox" }],
        },
      },
    },
  );
  const kube = createKubeApi(
    loadKubeConfig({ path: account.kubeconfig, env: {} }),
  );
  try {
    const spec = (uid: string) => ({
      name: "ForceDeletePod" as const,
      key: `pod/uid/p@${uid}`,
      phase: 2 as const,
      node: "uid-node",
      namespace: "uid",
      pod: "p",
      uid,
      resource: "pvc-x",
      gracePeriodSeconds: 0,
      summary: "force-delete pod uid/p",
    });
    const wrong = await executeOperations(
      fencingOperations([spec("not-the-uid")], { kube }),
      { signal: new AbortController().signal },
    );
    assert.equal(wrong.failed.length, 1, "a stale UID is refused");
    assert.ok(
      await getOrUndefined(cp, "/api/v1/namespaces/uid/pods/p"),
      "the pod survived",
    );
    const right = await executeOperations(
      fencingOperations([spec(pod.metadata.uid)], { kube }),
      { signal: new AbortController().signal },
    );
    assert.equal(right.executed.length, 1);
    assert.equal(
      await getOrUndefined(cp, "/api/v1/namespaces/uid/pods/p"),
      undefined,
    );
    const again = await executeOperations(
      fencingOperations([spec(pod.metadata.uid)], { kube }),
      { signal: new AbortController().signal },
    );
    assert.equal(again.executed.length, 1, "NotFound counts as done");
  } finally {
    await kube.close();
  }
}

Deno.test({
  name: "fencing on one real apiserver",
  ignore: ignoreWithoutControlPlane(),
  async fn(t) {
    const cp = await startControlPlane({});
    try {
      await t.step(
        "fencingOperations() honours UID preconditions on the real apiserver",
        () => uidPreconditions(cp),
      );
      await t.step(
        "main.ts fencing taints, evicts, force-deletes when NotReady, detaches and untaints on the real apiserver",
        () => lossAndReturn(cp),
      );
    } finally {
      await cp.stop();
    }
  },
});
