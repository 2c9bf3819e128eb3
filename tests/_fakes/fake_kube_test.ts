import assert from "node:assert/strict";
import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
} from "@kubernetes/client-node";
import { FakeKube } from "./fake_kube.ts";
import { FakeClock } from "./fake_clock.ts";
import {
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
  isTooManyRequests,
  KubeApiError,
  type WatchEvent,
} from "../../src/kube/mod.ts";

function pv(name: string, extra: Partial<V1PersistentVolume> = {}) {
  return {
    metadata: { name },
    spec: {
      capacity: { storage: "1Gi" },
      csi: { driver: "linstor.csi.linbit.com", volumeHandle: name },
      ...extra.spec,
    },
  } as V1PersistentVolume;
}

const AFFINITY = {
  required: {
    nodeSelectorTerms: [{
      matchExpressions: [{
        key: "kubernetes.io/hostname",
        operator: "In",
        values: ["n1"],
      }],
    }],
  },
};

Deno.test("FakeKube.create() assigns uid, resourceVersion and creationTimestamp", async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 750));
  const kube = new FakeKube({ clock });
  const created = await kube.create("persistentVolumes", pv("a"));
  assert.match(created.metadata!.uid!, /^[0-9a-f-]{36}$/);
  assert.equal(
    created.metadata!.resourceVersion,
    String(Number((await kube.list("nodes")).resourceVersion)),
  );
  assert.deepEqual(
    created.metadata!.creationTimestamp,
    new Date(Date.UTC(2026, 0, 1)),
  );
  assert.equal(created.apiVersion, "v1");
  assert.equal(created.kind, "PersistentVolume");
  const second = await kube.create("persistentVolumes", pv("b"));
  assert.notEqual(second.metadata!.uid, created.metadata!.uid);
  assert.ok(
    Number(second.metadata!.resourceVersion) >
      Number(created.metadata!.resourceVersion),
  );
});

// NotFound, AlreadyExists, stale resourceVersions, delete preconditions and
// 410 Gone are in the KubeApi contract (tests/kube/_contract.ts).
Deno.test("FakeKube rejects invalid writes with the apiserver's errors", async (t) => {
  const kube = new FakeKube({ clock: new FakeClock() });
  await kube.create("persistentVolumes", pv("a"));
  const cases: {
    name: string;
    run: () => Promise<unknown>;
    check: (e: unknown) => boolean;
    status: number;
  }[] = [
    {
      name: "replace with another uid is Conflict",
      run: () =>
        kube.replace("persistentVolumes", {
          ...pv("a"),
          metadata: { name: "a", uid: "other" },
        }),
      check: isConflict,
      status: 409,
    },
    {
      name: "create without a name is Invalid",
      run: () => kube.create("persistentVolumes", pv("")),
      check: isInvalid,
      status: 422,
    },
    {
      name: "delete of a missing pod is NotFound",
      run: () => kube.delete({ kind: "pods", namespace: "", name: "p" }),
      check: isNotFound,
      status: 404,
    },
    {
      name: "a failing JSON patch test is Invalid",
      run: () =>
        kube.patch({ kind: "persistentVolumes", name: "a" }, {
          type: "json",
          body: [{ op: "test", path: "/metadata/uid", value: "nope" }],
        }),
      check: isInvalid,
      status: 422,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await assert.rejects(c.run(), (e: unknown) => {
        assert.ok(e instanceof KubeApiError);
        assert.equal(e.status, c.status);
        assert.ok(c.check(e), e.message);
        assert.match(e.message, /^Cannot \w+ \w+/);
        return true;
      });
    });
  }
  assert.equal(
    kube.peek("persistentVolumes", "a")?.metadata?.labels,
    undefined,
  );
});

Deno.test("FakeKube keeps PV spec.nodeAffinity immutable once set unless mutablePvNodeAffinity", async (t) => {
  for (const mutable of [false, true]) {
    await t.step(`mutablePvNodeAffinity: ${mutable}`, async () => {
      const kube = new FakeKube({
        clock: new FakeClock(),
        mutablePvNodeAffinity: mutable,
      });
      const created = await kube.create("persistentVolumes", pv("a"));
      // Setting it the first time is always allowed.
      const withAffinity = await kube.replace("persistentVolumes", {
        ...created,
        spec: { ...created.spec, nodeAffinity: AFFINITY },
      });
      const changed = {
        ...withAffinity,
        spec: {
          ...withAffinity.spec,
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [{
                matchExpressions: [{
                  key: "kubernetes.io/hostname",
                  operator: "In",
                  values: ["n2"],
                }],
              }],
            },
          },
        },
      };
      if (mutable) {
        const updated = await kube.replace("persistentVolumes", changed);
        assert.equal(
          updated.spec!.nodeAffinity!.required!.nodeSelectorTerms[0]!
            .matchExpressions![0]!.values![0],
          "n2",
        );
      } else {
        await assert.rejects(
          kube.replace("persistentVolumes", changed),
          (e: unknown) => {
            assert.ok(isInvalid(e));
            assert.match(String(e), /spec\.nodeAffinity.*field is immutable/);
            return true;
          },
        );
        // Dry-run gets the same answer.
        await assert.rejects(
          kube.replace("persistentVolumes", changed, { dryRun: "All" }),
          isInvalid,
        );
      }
    });
  }
});

Deno.test("FakeKube does not persist dry-run writes", async () => {
  const kube = new FakeKube({ clock: new FakeClock() });
  const dry = await kube.create("persistentVolumes", pv("a"), {
    dryRun: "All",
  });
  assert.equal(dry.metadata!.name, "a");
  assert.equal(kube.peek("persistentVolumes", "a"), undefined);
  const created = await kube.create("persistentVolumes", pv("a"));
  const result = await kube.replace("persistentVolumes", {
    ...created,
    metadata: { ...created.metadata, labels: { dry: "run" } },
  }, { dryRun: "All" });
  assert.deepEqual(result.metadata!.labels, { dry: "run" });
  assert.equal(
    kube.peek("persistentVolumes", "a")!.metadata!.labels,
    undefined,
  );
  assert.equal(
    kube.peek("persistentVolumes", "a")!.metadata!.resourceVersion,
    created.metadata!.resourceVersion,
  );
  await kube.delete({ kind: "persistentVolumes", name: "a" }, {
    dryRun: "All",
  });
  assert.ok(kube.peek("persistentVolumes", "a"));
  assert.deepEqual(kube.actions().map((a) => [a.verb, a.dryRun]), [
    ["create", true],
    ["create", false],
    ["replace", true],
    ["delete", true],
  ]);
});

Deno.test("FakeKube.delete() waits for finalizers", async () => {
  const kube = new FakeKube({ clock: new FakeClock() });
  const created = await kube.create("persistentVolumes", {
    ...pv("a"),
    metadata: { name: "a", finalizers: ["kubernetes.io/pv-protection"] },
  });
  await kube.delete({ kind: "persistentVolumes", name: "a" }, {
    preconditions: { uid: created.metadata!.uid! },
  });
  const terminating = kube.peek("persistentVolumes", "a")!;
  assert.ok(terminating.metadata!.deletionTimestamp instanceof Date);
  // No new finalizers on a terminating object.
  await assert.rejects(
    kube.patch({ kind: "persistentVolumes", name: "a" }, {
      type: "merge",
      body: { metadata: { finalizers: ["a", "b"] } },
    }),
    isInvalid,
  );
  // deletionTimestamp cannot be cleared.
  const kept = await kube.patch({ kind: "persistentVolumes", name: "a" }, {
    type: "merge",
    body: { metadata: { labels: { x: "y" } } },
  });
  assert.ok(kept.metadata!.deletionTimestamp instanceof Date);
  await kube.patch({ kind: "persistentVolumes", name: "a" }, {
    type: "json",
    body: [{ op: "remove", path: "/metadata/finalizers/0" }],
  });
  assert.equal(kube.peek("persistentVolumes", "a"), undefined);
});

Deno.test("FakeKube keeps status on updates of kinds with a status subresource", async () => {
  const kube = new FakeKube({ clock: new FakeClock(), pvBinder: false });
  const created = await kube.create("persistentVolumes", pv("a"));
  assert.equal(created.status!.phase, "Available");
  const replaced = await kube.replace("persistentVolumes", {
    ...created,
    status: { phase: "Failed" },
  });
  assert.equal(replaced.status!.phase, "Available");
});

Deno.test("FakeKube PV binder binds, releases and rebinds claims", async () => {
  const kube = new FakeKube({ clock: new FakeClock() });
  const claim = kube.seed("persistentVolumeClaims", {
    metadata: { name: "c", namespace: "ns" },
    spec: { volumeName: "a" },
    status: { phase: "Pending" },
  } as V1PersistentVolumeClaim);
  const created = await kube.create("persistentVolumes", {
    ...pv("a"),
    spec: {
      ...pv("a").spec,
      claimRef: {
        namespace: "ns",
        name: "c",
        uid: claim.metadata!.uid!,
      },
    },
  });
  assert.equal(kube.peek("persistentVolumes", "a")!.status!.phase, "Bound");
  assert.equal(
    kube.peek("persistentVolumeClaims", "ns/c")!.status!.phase,
    "Bound",
  );
  // Delete and re-create the PV with the same claimRef (what the affinity
  // controller does): the claim stays Bound once the PV is back.
  await kube.delete({ kind: "persistentVolumes", name: "a" }, {
    preconditions: { uid: created.metadata!.uid! },
  });
  assert.equal(
    kube.peek("persistentVolumeClaims", "ns/c")!.status!.phase,
    "Lost",
  );
  await kube.create("persistentVolumes", {
    ...pv("a"),
    spec: {
      ...pv("a").spec,
      claimRef: { namespace: "ns", name: "c", uid: claim.metadata!.uid! },
    },
  });
  assert.equal(kube.peek("persistentVolumes", "a")!.status!.phase, "Bound");
  assert.equal(
    kube.peek("persistentVolumeClaims", "ns/c")!.status!.phase,
    "Bound",
  );
  // A claimRef to a claim with another uid is Released.
  await kube.create("persistentVolumes", {
    ...pv("b"),
    spec: {
      ...pv("b").spec,
      claimRef: { namespace: "ns", name: "c", uid: "someone-else" },
    },
  });
  assert.equal(kube.peek("persistentVolumes", "b")!.status!.phase, "Released");
});

Deno.test("FakeKube.watch() replays history, streams changes and ends on abort", async () => {
  const kube = new FakeKube({ clock: new FakeClock(), pvBinder: false });
  const { resourceVersion } = await kube.list("persistentVolumes");
  await kube.create("persistentVolumes", pv("a"));
  const controller = new AbortController();
  const seen: WatchEvent<V1PersistentVolume>[] = [];
  const done = (async () => {
    for await (
      const event of kube.watch("persistentVolumes", {
        resourceVersion,
        signal: controller.signal,
      })
    ) {
      seen.push(event);
      if (seen.length === 1) {
        await kube.patch({ kind: "persistentVolumes", name: "a" }, {
          type: "merge",
          body: { metadata: { labels: { x: "1" } } },
        });
      } else if (seen.length === 2) {
        await kube.delete({ kind: "persistentVolumes", name: "a" });
      } else if (seen.length === 3) {
        kube.bookmark();
      } else {
        controller.abort();
      }
    }
  })();
  await done;
  assert.deepEqual(seen.map((e) => e.type), [
    "ADDED",
    "MODIFIED",
    "DELETED",
    "BOOKMARK",
  ]);
  assert.equal(kube.openWatches, 0);
});

Deno.test("FakeKube.recordEvent() aggregates repeats into a series", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", uid: "u1" },
  };
  const event = {
    type: "Warning" as const,
    reason: "VolumeWithoutQuorum",
    message: "lost quorum",
    action: "EvictedPod",
  };
  await kube.recordEvent(pod, event);
  await clock.advance(60_000);
  await kube.recordEvent(pod, event);
  await kube.recordEvent(pod, { ...event, message: "other" });
  const events = kube.events();
  assert.equal(events.length, 2);
  assert.equal(events[0]!.series?.count, 2);
  assert.equal(events[0]!.regarding?.uid, "u1");
  assert.equal(events[0]!.metadata?.namespace, "ns");
  assert.equal(events[1]!.note, "other");
});

Deno.test("FakeKube.evict() deletes the pod unless a disruption budget blocks it", async () => {
  const kube = new FakeKube({ clock: new FakeClock() });
  const pod = kube.seed("pods", {
    metadata: { name: "p", namespace: "ns" },
    spec: { containers: [] },
  });
  kube.blockEviction("ns/p");
  await assert.rejects(
    kube.evict({ namespace: "ns", name: "p" }),
    isTooManyRequests,
  );
  kube.blockEviction("ns/p", false);
  await assert.rejects(
    kube.evict({ namespace: "ns", name: "p" }, { uid: "wrong" }),
    isConflict,
  );
  await kube.evict({ namespace: "ns", name: "p" }, {
    uid: pod.metadata!.uid!,
    gracePeriodSeconds: 0,
  });
  assert.equal(kube.peek("pods", "ns/p"), undefined);
  assert.deepEqual(kube.actions().at(-1), {
    verb: "evict",
    kind: "pods",
    key: "ns/p",
    dryRun: false,
    gracePeriodSeconds: 0,
  });
  await assert.rejects(
    kube.evict({ namespace: "ns", name: "p" }),
    isNotFound,
  );
});

Deno.test("FakeKube.patch() with apply creates, then merges", async () => {
  const kube = new FakeKube({ clock: new FakeClock() });
  await kube.patch({ kind: "storageClasses", name: "sc" }, {
    type: "apply",
    body: {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      provisioner: "linstor.csi.linbit.com",
      parameters: { a: "1" },
    },
    force: true,
  });
  const updated = await kube.patch({ kind: "storageClasses", name: "sc" }, {
    type: "apply",
    body: { metadata: { labels: { x: "y" } } },
  });
  assert.equal(updated.provisioner, "linstor.csi.linbit.com");
  assert.deepEqual(updated.metadata!.labels, { x: "y" });
  await assert.rejects(
    kube.patch({ kind: "storageClasses", name: "sc" }, {
      type: "merge",
      body: { parameters: { a: "2" } },
    }),
    isInvalid,
  );
});

Deno.test("FakeKube leases use optimistic concurrency", async () => {
  const kube = new FakeKube({ clock: new FakeClock() });
  const lease = await kube.create("leases", {
    metadata: { name: "l", namespace: "ns" },
    spec: { holderIdentity: "a" },
  });
  const updated = await kube.replace("leases", {
    ...lease,
    spec: { holderIdentity: "b" },
  });
  assert.equal(updated.spec!.holderIdentity, "b");
  await assert.rejects(
    kube.replace("leases", { ...lease, spec: { holderIdentity: "c" } }),
    isConflict,
  );
  await assert.rejects(
    kube.get({ kind: "leases", namespace: "ns", name: "other" }),
    isNotFound,
  );
});

Deno.test("FakeKube.failNext() injects a fault once", async () => {
  const kube = new FakeKube({ clock: new FakeClock() });
  kube.failNext("list", new Error("boom"), { kind: "nodes" });
  await assert.rejects(kube.list("nodes"), /boom/);
  assert.deepEqual((await kube.list("nodes")).items, []);
});

Deno.test("FakeKube keeps a PVC spec immutable except resources and a first volumeName", async (t) => {
  const kube = new FakeKube({ clock: new FakeClock(), pvBinder: false });
  kube.seed("persistentVolumeClaims", {
    metadata: { name: "c", namespace: "ns" },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: "linstor",
      resources: { requests: { storage: "1Gi" } },
    },
  } as V1PersistentVolumeClaim);
  const ref = { namespace: "ns", name: "c" };
  const cases: [string, Record<string, unknown>, boolean][] = [
    ["grow the request", {
      spec: { resources: { requests: { storage: "2Gi" } } },
    }, true],
    ["set volumeName the first time", { spec: { volumeName: "pv-1" } }, true],
    ["change volumeName", { spec: { volumeName: "pv-2" } }, false],
    [
      "change the storage class",
      { spec: { storageClassName: "other" } },
      false,
    ],
    ["add a label", { metadata: { labels: { a: "b" } } }, true],
  ];
  for (const [name, body, ok] of cases) {
    await t.step(name, async () => {
      const run = kube.patch({ ...ref, kind: "persistentVolumeClaims" }, {
        type: "merge",
        body,
      });
      if (ok) await run;
      else await assert.rejects(run, isInvalid);
    });
  }
  const pvc = kube.peek("persistentVolumeClaims", "ns/c")!;
  assert.equal(pvc.spec!.volumeName, "pv-1");
  assert.equal(pvc.spec!.resources!.requests!.storage, "2Gi");
  assert.equal(pvc.spec!.storageClassName, "linstor");
});

Deno.test("FakeKube.create() honours generateName", async () => {
  const kube = new FakeKube({ clock: new FakeClock() });
  const a = await kube.create("persistentVolumes", {
    ...pv(""),
    metadata: { generateName: "pvc-" },
  });
  const b = await kube.create("persistentVolumes", {
    ...pv(""),
    metadata: { generateName: "pvc-" },
  });
  assert.match(a.metadata!.name!, /^pvc-.{5}$/);
  assert.notEqual(a.metadata!.name, b.metadata!.name);
});

Deno.test("FakeKube leaves pods Terminating on a node whose kubelet is down until a forced delete", async () => {
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  const seedPod = (name: string, node: string) =>
    kube.seed("pods", {
      metadata: { name, namespace: "ns" },
      spec: { nodeName: node, containers: [] },
    });
  const stuck = seedPod("stuck", "lost");
  seedPod("evicted", "lost");
  seedPod("fine", "healthy");
  seedPod("later", "lost");
  kube.setKubeletDown("lost");
  await kube.delete({ kind: "pods", namespace: "ns", name: "fine" });
  assert.equal(kube.peek("pods", "ns/fine"), undefined, "healthy kubelet");
  await kube.delete({ kind: "pods", namespace: "ns", name: "stuck" });
  const terminating = kube.peek("pods", "ns/stuck")!;
  assert.deepEqual(
    terminating.metadata!.deletionTimestamp,
    new Date(clock.now() + 30_000),
  );
  assert.equal(terminating.metadata!.deletionGracePeriodSeconds, 30);
  await kube.evict({ namespace: "ns", name: "evicted" });
  assert.ok(kube.peek("pods", "ns/evicted")!.metadata!.deletionTimestamp);
  // Force: grace period 0 with the UID precondition.
  await kube.delete({ kind: "pods", namespace: "ns", name: "stuck" }, {
    preconditions: { uid: stuck.metadata!.uid! },
    gracePeriodSeconds: 0,
  });
  assert.equal(kube.peek("pods", "ns/stuck"), undefined);
  await kube.delete({ kind: "pods", namespace: "ns", name: "later" });
  assert.ok(kube.peek("pods", "ns/later"));
  kube.setKubeletDown("lost", false);
  assert.equal(kube.peek("pods", "ns/later"), undefined, "kubelet finished it");
  assert.equal(kube.peek("pods", "ns/evicted"), undefined);
});

Deno.test("FakeKube.watch() answers 410 Gone once its bounded history dropped the resourceVersion", async () => {
  const kube = new FakeKube({ clock: new FakeClock(), historyLimit: 3 });
  kube.seed("nodes", { metadata: { name: "n0" } });
  const { resourceVersion } = await kube.list("nodes");
  for (let i = 1; i <= 3; i++) {
    kube.seed("nodes", { metadata: { name: `n${i}` } });
  }
  // Still within the window: the three changes are replayed.
  const controller = new AbortController();
  const seen: string[] = [];
  for await (
    const event of kube.watch("nodes", {
      resourceVersion,
      signal: controller.signal,
    })
  ) {
    if (event.type !== "BOOKMARK") seen.push(event.object.metadata!.name!);
    if (seen.length === 3) controller.abort();
  }
  assert.deepEqual(seen, ["n1", "n2", "n3"]);
  kube.seed("nodes", { metadata: { name: "n4" } });
  const iterator = kube.watch("nodes", {
    resourceVersion,
    signal: new AbortController().signal,
  })[Symbol.asyncIterator]();
  await assert.rejects(iterator.next(), isGone);
});
