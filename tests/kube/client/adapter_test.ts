import assert from "node:assert/strict";
import type {
  V1Node,
  V1PersistentVolume,
  V1StorageClass,
} from "@kubernetes/client-node";
import {
  createKubeApi,
  currentNamespace,
  KubeConfig,
  loadKubeConfig,
} from "../../../src/kube/client/mod.ts";
import {
  isConflict,
  isInvalid,
  isNotFound,
  isTooManyRequests,
  type KubeApi,
  KubeApiError,
  startInformer,
  type WatchEvent,
} from "../../../src/kube/mod.ts";
import { startFakeApiServer } from "../../_support/fake_apiserver.ts";
import { FakeClock, flushMicrotasks } from "../../_fakes/fake_clock.ts";
import { SYSTEM_CLOCK } from "../../../src/system/clock.ts";

function pv(name: string): V1PersistentVolume {
  return {
    metadata: { name },
    spec: {
      capacity: { storage: "1Gi" },
      csi: { driver: "linstor.csi.linbit.com", volumeHandle: name },
    },
  };
}

/** Waits (at most 5 s) until `check` holds, letting real I/O progress. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (check()) return;
    await SYSTEM_CLOCK.sleep(5);
  }
  throw new Error(`Cannot see ${what}: timed out`);
}

async function withServer(
  fn: (
    kube: KubeApi,
    server: ReturnType<typeof startFakeApiServer>,
    clock: FakeClock,
  ) => Promise<void>,
  options: { token?: string } = {},
): Promise<void> {
  const clock = new FakeClock();
  await using server = startFakeApiServer({ clock, ...options });
  const kube = createKubeApi(server.kubeConfig(), { clock });
  try {
    await fn(kube, server, clock);
  } finally {
    await kube.close();
  }
}

Deno.test("createKubeApi().list() pages through the collection and returns typed objects", async () => {
  await withServer(async (kube, server) => {
    for (let i = 0; i < 501; i++) {
      server.kube.seed("nodes", {
        metadata: { name: `n${String(i).padStart(3, "0")}` },
      });
    }
    const { items, resourceVersion } = await kube.list("nodes");
    assert.equal(items.length, 501);
    assert.equal(resourceVersion, server.kube.resourceVersion);
    assert.ok(items[0]!.metadata!.creationTimestamp instanceof Date);
    const lists = server.requests.filter((r) =>
      r.url.startsWith("/api/v1/nodes")
    );
    assert.deepEqual(lists.map((r) => r.url), [
      "/api/v1/nodes?limit=500",
      "/api/v1/nodes?limit=500&continue=500",
    ]);
    assert.match(lists[0]!.headers.get("user-agent")!, /^linstor-suite\//);
  });
});

Deno.test("createKubeApi() sends the kubeconfig's bearer token", async () => {
  await withServer(async (kube, server) => {
    await kube.list("persistentVolumes");
    assert.equal(
      server.requests[0]!.headers.get("authorization"),
      "Bearer s3cret",
    );
    const kc = server.kubeConfig();
    kc.loadFromOptions({
      clusters: kc.clusters,
      users: [{ name: "fake", token: "wrong" }],
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    const wrong = createKubeApi(kc);
    try {
      await assert.rejects(wrong.list("nodes"), (e: unknown) => {
        assert.ok(e instanceof KubeApiError);
        assert.equal(e.status, 401);
        assert.equal(e.verb, "list");
        assert.match(e.message, /^Cannot list nodes: Unauthorized/);
        return true;
      });
    } finally {
      await wrong.close();
    }
  }, { token: "s3cret" });
});

Deno.test("createKubeApi().watch() streams ADDED, MODIFIED, DELETED and BOOKMARK events", async () => {
  await withServer(async (kube, server) => {
    const { resourceVersion } = await kube.list("persistentVolumes");
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
        if (seen.length === 4) controller.abort();
      }
    })();
    await server.kube.create("persistentVolumes", pv("a"));
    await server.kube.patch({ kind: "persistentVolumes", name: "a" }, {
      type: "merge",
      body: { metadata: { labels: { x: "1" } } },
    });
    await server.kube.delete({ kind: "persistentVolumes", name: "a" });
    await until("three events", () => seen.length === 3);
    server.kube.bookmark();
    await done;
    assert.deepEqual(seen.map((e) => e.type), [
      "ADDED",
      "MODIFIED",
      "DELETED",
      "BOOKMARK",
    ]);
    const added = seen[0]! as { object: V1PersistentVolume };
    assert.ok(added.object.metadata!.creationTimestamp instanceof Date);
    const watchRequest = server.requests.find((r) => r.url.includes("watch="))!;
    const query = new URL(watchRequest.url, server.url).searchParams;
    assert.equal(query.get("resourceVersion"), resourceVersion);
    assert.equal(query.get("allowWatchBookmarks"), "true");
    await until("stream closed", () => server.openWatches === 0);
  });
});

Deno.test("startInformer() over HTTP relists after 410 and reconnects after the server closes the stream", async () => {
  await withServer(async (kube, server, clock) => {
    server.kube.seed("nodes", { metadata: { name: "a" } });
    const names = new Set<string>();
    let replaces = 0;
    const controller = new AbortController();
    const informer = startInformer(kube, "nodes", {
      sink: {
        replace(items: V1Node[]) {
          replaces++;
          names.clear();
          for (const n of items) names.add(n.metadata!.name!);
        },
        upsert: (n: V1Node) => names.add(n.metadata!.name!),
        remove: (n: V1Node) => names.delete(n.metadata!.name!),
      },
      signal: controller.signal,
      clock,
    });
    await informer.synced;
    server.kube.seed("nodes", { metadata: { name: "b" } });
    await until("b", () => names.has("b"));
    // The server ends the stream: the informer resumes at once (the stream
    // delivered an event) and sees later changes.
    const watchCount = () =>
      server.requests.filter((r) => r.url.includes("watch=1")).length;
    const before = watchCount();
    server.closeWatches();
    await until("a new watch", () => watchCount() === before + 1);
    server.kube.seed("nodes", { metadata: { name: "c" } });
    await until("c", () => names.has("c"));
    assert.equal(replaces, 1, "resumed, not relisted");
    const resumed = new URL(
      server.requests.filter((r) => r.url.includes("watch=1")).at(-1)!.url,
      server.url,
    );
    assert.notEqual(resumed.searchParams.get("resourceVersion"), "");
    // The next watch is answered 410 Gone: the informer relists at once.
    server.failNext({ method: "GET", pathPrefix: "/api/v1/nodes" }, 410, {
      reason: "Expired",
    });
    server.kube.seed("nodes", { metadata: { name: "d" } });
    await until("d", () => names.has("d"));
    server.closeWatches();
    await until("relist", () => replaces === 2);
    assert.deepEqual([...names].sort(), ["a", "b", "c", "d"]);
    // Only the watch's stall deadline remains (a backoff would add one).
    await until("watching, no backoff for 410", () => clock.pending === 1);
    controller.abort();
    await informer.stopped;
    await until("no watches", () => server.openWatches === 0);
    await flushMicrotasks();
  });
});

// NotFound, AlreadyExists, stale resourceVersions and 410 Gone over HTTP are
// in the KubeApi contract (tests/kube/_contract.ts).
Deno.test("createKubeApi() maps apiserver errors to KubeApiError predicates", async (t) => {
  await withServer(async (kube, server) => {
    await kube.create("persistentVolumes", pv("a"));
    const cases: [string, () => Promise<unknown>, (e: unknown) => boolean][] = [
      [
        "delete with a wrong uid",
        () =>
          kube.delete({ kind: "persistentVolumes", name: "a" }, {
            preconditions: { uid: "x" },
          }),
        isConflict,
      ],
      ["patch an immutable field", async () => {
        await kube.patch({ kind: "persistentVolumes", name: "a" }, {
          type: "merge",
          body: {
            spec: {
              nodeAffinity: {
                required: {
                  nodeSelectorTerms: [{
                    matchExpressions: [{ key: "k", operator: "Exists" }],
                  }],
                },
              },
            },
          },
        });
        return kube.patch({ kind: "persistentVolumes", name: "a" }, {
          type: "json",
          body: [{ op: "remove", path: "/spec/nodeAffinity" }],
        });
      }, isInvalid],
    ];
    for (const [name, run, check] of cases) {
      await t.step(name, async () => {
        await assert.rejects(run(), (e: unknown) => {
          assert.ok(e instanceof KubeApiError, String(e));
          assert.ok(check(e), e.message);
          return true;
        });
      });
    }
    const del = server.requests.find((r) =>
      r.method === "DELETE" &&
      (r.body as { preconditions?: unknown })?.preconditions
    )!;
    assert.deepEqual(del.body, {
      apiVersion: "v1",
      kind: "DeleteOptions",
      preconditions: { uid: "x" },
    });
  });
});

Deno.test("createKubeApi() sends dry-run, field manager and patch content types", async () => {
  await withServer(async (kube, server) => {
    const created = await kube.create("persistentVolumes", pv("a"));
    const dry = await kube.replace("persistentVolumes", {
      ...created,
      metadata: { ...created.metadata, labels: { dry: "1" } },
    }, { dryRun: "All" });
    assert.deepEqual(dry.metadata!.labels, { dry: "1" });
    assert.equal(
      (await kube.get({ kind: "persistentVolumes", name: "a" })).metadata!
        .labels,
      undefined,
    );
    const put = server.requests.find((r) => r.method === "PUT")!;
    assert.match(put.url, /dryRun=All/);
    assert.match(put.url, /fieldManager=linstor-suite/);
    const sc: V1StorageClass = await kube.patch({
      kind: "storageClasses",
      name: "sc",
    }, {
      type: "apply",
      body: { provisioner: "linstor.csi.linbit.com" },
      force: true,
    });
    assert.equal(sc.provisioner, "linstor.csi.linbit.com");
    const apply = server.requests.find((r) => r.method === "PATCH")!;
    assert.equal(
      apply.headers.get("content-type"),
      "application/apply-patch+yaml",
    );
    assert.match(apply.url, /force=true/);
    assert.deepEqual(apply.body, {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      provisioner: "linstor.csi.linbit.com",
      metadata: { name: "sc" },
    });
    await kube.patch({ kind: "persistentVolumes", name: "a" }, {
      type: "json",
      body: [{ op: "add", path: "/metadata/labels", value: { j: "1" } }],
    });
    assert.equal(
      server.requests.at(-1)!.headers.get("content-type"),
      "application/json-patch+json",
    );
    assert.deepEqual(
      (await kube.get({ kind: "persistentVolumes", name: "a" })).metadata!
        .labels,
      { j: "1" },
    );
  });
});

Deno.test("createKubeApi().evict() posts a policy/v1 Eviction", async () => {
  await withServer(async (kube, server) => {
    const pod = server.kube.seed("pods", {
      metadata: { name: "p", namespace: "ns" },
      spec: { containers: [] },
    });
    server.kube.blockEviction("ns/p");
    await assert.rejects(
      kube.evict({ namespace: "ns", name: "p" }),
      isTooManyRequests,
    );
    server.kube.blockEviction("ns/p", false);
    await kube.evict({ namespace: "ns", name: "p" }, {
      uid: pod.metadata!.uid!,
      gracePeriodSeconds: 5,
    });
    assert.equal(server.kube.peek("pods", "ns/p"), undefined);
    const post = server.requests.at(-1)!;
    assert.equal(post.url, "/api/v1/namespaces/ns/pods/p/eviction");
    assert.deepEqual(post.body, {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "p", namespace: "ns" },
      deleteOptions: {
        preconditions: { uid: pod.metadata!.uid },
        gracePeriodSeconds: 5,
      },
    });
  });
});

Deno.test("createKubeApi().recordEvent() creates an events.k8s.io/v1 Event and patches its series on repeats", async () => {
  await withServer(async (kube, server, clock) => {
    const involved = {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pv-1", uid: "u-1" },
    };
    const details = {
      type: "Normal" as const,
      reason: "VolumeAffinityUpdated",
      message: "moved",
      action: "ReplacedPersistentVolume",
    };
    await kube.recordEvent(involved, details);
    await clock.advance(1_000);
    await kube.recordEvent(involved, details);
    const events = server.kube.all("events");
    assert.equal(events.length, 1);
    const event = events[0]!;
    assert.equal(event.metadata!.namespace, "default");
    assert.equal(event.reportingController, "linbit.com/linstor-suite");
    assert.equal(event.regarding!.uid, "u-1");
    assert.equal(event.series!.count, 2);
    const create = server.requests.find((r) => r.method === "POST")!;
    assert.equal(
      create.url.split("?")[0],
      "/apis/events.k8s.io/v1/namespaces/default/events",
    );
    // MicroTime: six fractional digits.
    assert.match(
      (create.body as { eventTime: string }).eventTime,
      /\.\d{6}Z$/,
    );
    // Notes are cut to 1024 UTF-8 bytes, on a character boundary.
    await kube.recordEvent(involved, { ...details, message: "ä".repeat(600) });
    const long = server.kube.all("events").find((e) =>
      e.note?.startsWith("ä")
    )!;
    assert.ok(new TextEncoder().encode(long.note).length <= 1024);
    assert.ok(long.note!.endsWith("ä..."));
    // Failures are logged, not thrown.
    server.failNext({ method: "POST" }, 500);
    await kube.recordEvent(involved, { ...details, message: "other" });
  });
});

Deno.test("createKubeApi() rejects with the abort reason and maps network failures", async () => {
  const clock = new FakeClock();
  const server = startFakeApiServer({ clock });
  const kube = createKubeApi(server.kubeConfig());
  try {
    const reason = new Error("stop");
    await assert.rejects(
      kube.list("nodes", { signal: AbortSignal.abort(reason) }),
      (e: unknown) => e === reason,
    );
    await server.close();
    await assert.rejects(
      kube.get({ kind: "nodes", name: "n" }),
      (e: unknown) => {
        assert.ok(e instanceof KubeApiError);
        assert.equal(e.status, 0);
        assert.equal(e.reason, "NetworkError");
        return true;
      },
    );
  } finally {
    await kube.close();
  }
});

Deno.test("createKubeApi() refuses unusable kubeconfigs", async (t) => {
  const config = (server: string, skipTLSVerify = false) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server, skipTLSVerify }],
      users: [{ name: "u" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    return kc;
  };
  await t.step("insecure-skip-tls-verify", () =>
    assert.throws(
      () => createKubeApi(config("https://127.0.0.1:6443", true)),
      /insecure-skip-tls-verify is not supported/,
    ));
  await t.step("bad scheme", () =>
    assert.throws(
      () => createKubeApi(config("ftp://x")),
      /scheme must be https or http/,
    ));
  await t.step(
    "no cluster",
    () => assert.throws(() => createKubeApi(new KubeConfig()), TypeError),
  );
});

Deno.test("loadKubeConfig() prefers --kubeconfig, then KUBECONFIG, then the service account", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const file = (name: string, server: string, namespace: string) => {
      const path = `${dir}/${name}`;
      Deno.writeTextFileSync(
        path,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: "c", cluster: { server } }],
          users: [{ name: "u", user: { token: "t" } }],
          contexts: [{
            name: name,
            context: { cluster: "c", user: "u", namespace },
          }],
          "current-context": name,
        }),
      );
      return path;
    };
    const a = file("a", "https://a:6443", "ns-a");
    const b = file("b", "https://b:6443", "ns-b");
    const sa = `${dir}/sa`;
    await Deno.mkdir(sa);
    await Deno.writeTextFile(`${sa}/token`, "token");
    await Deno.writeTextFile(`${sa}/namespace`, "linstor\n");
    const inCluster = {
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
      KUBERNETES_SERVICE_PORT: "443",
    };
    await t.step("--kubeconfig wins", () => {
      const kc = loadKubeConfig({
        path: a,
        env: { KUBECONFIG: b, ...inCluster },
        serviceAccountDir: sa,
      });
      assert.equal(kc.getCurrentCluster()!.server, "https://a:6443");
      assert.equal(currentNamespace(kc), "ns-a");
    });
    await t.step("KUBECONFIG list: first existing file's context wins", () => {
      const kc = loadKubeConfig({
        env: { KUBECONFIG: `${dir}/missing:${b}:${a}`, ...inCluster },
        serviceAccountDir: sa,
      });
      assert.equal(kc.getCurrentCluster()!.server, "https://b:6443");
    });
    await t.step("in-cluster", () => {
      const kc = loadKubeConfig({ env: inCluster, serviceAccountDir: sa });
      assert.equal(kc.getCurrentCluster()!.server, "https://10.0.0.1:443");
      assert.equal(kc.getCurrentCluster()!.caFile, `${sa}/ca.crt`);
      assert.equal(currentNamespace(kc), "linstor");
    });
    await t.step("in-cluster IPv6", () => {
      const kc = loadKubeConfig({
        env: {
          KUBERNETES_SERVICE_HOST: "fd00::1",
          KUBERNETES_SERVICE_PORT: "443",
        },
        serviceAccountDir: sa,
      });
      assert.equal(kc.getCurrentCluster()!.server, "https://[fd00::1]:443");
    });
    await t.step("missing --kubeconfig file", () =>
      assert.throws(
        () => loadKubeConfig({ path: `${dir}/nope`, env: {} }),
        /Cannot load kubeconfig ".*nope" \(--kubeconfig\)/,
      ));
    await t.step("no KUBECONFIG file exists", () =>
      assert.throws(
        () => loadKubeConfig({ env: { KUBECONFIG: `${dir}/nope` } }),
        /none of the KUBECONFIG files exists/,
      ));
    await t.step("nothing configured", () =>
      assert.throws(
        () => loadKubeConfig({ env: {} }),
        /give --kubeconfig, set KUBECONFIG, or run in a pod/,
      ));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createKubeApi() keeps fields its models do not know across get and replace", async () => {
  await withServer(async (kube, server) => {
    server.kube.seed("persistentVolumes", {
      ...pv("a"),
      spec: { ...pv("a").spec, futureField: { nested: [1, 2] } },
      metadata: { name: "a", labels: { keep: "me" } },
    } as V1PersistentVolume);
    const got = await kube.get({ kind: "persistentVolumes", name: "a" });
    assert.ok(got.metadata!.creationTimestamp instanceof Date);
    assert.deepEqual(
      (got.spec as Record<string, unknown>).futureField,
      { nested: [1, 2] },
    );
    await kube.replace("persistentVolumes", {
      ...got,
      metadata: { ...got.metadata, labels: { keep: "me", more: "1" } },
    });
    const stored = server.kube.peek("persistentVolumes", "a")!;
    assert.deepEqual(
      (stored.spec as Record<string, unknown>).futureField,
      { nested: [1, 2] },
    );
    assert.deepEqual(stored.metadata!.labels, { keep: "me", more: "1" });
  });
});

Deno.test("createKubeApi().delete() deletes a VolumeAttachment with a UID precondition", async () => {
  await withServer(async (kube, server) => {
    const va = server.kube.seed("volumeAttachments", {
      metadata: { name: "csi-1" },
      spec: {
        attacher: "linstor.csi.linbit.com",
        nodeName: "n1",
        source: { persistentVolumeName: "pv-1" },
      },
    });
    await assert.rejects(
      kube.delete({ kind: "volumeAttachments", name: "csi-1" }, {
        preconditions: { uid: "x" },
      }),
      isConflict,
    );
    await kube.delete({ kind: "volumeAttachments", name: "csi-1" }, {
      preconditions: { uid: va.metadata!.uid! },
    });
    assert.equal(server.kube.peek("volumeAttachments", "csi-1"), undefined);
    assert.equal(
      server.requests.at(-1)!.url,
      "/apis/storage.k8s.io/v1/volumeattachments/csi-1",
    );
    await assert.rejects(
      kube.delete({ kind: "volumeAttachments", name: "csi-1" }),
      isNotFound,
    );
  });
});

Deno.test("createKubeApi().delete() deletes a StorageClass with UID and resourceVersion preconditions", async () => {
  await withServer(async (kube, server) => {
    const sc = server.kube.seed("storageClasses", {
      metadata: { name: "linstor-data-r1" },
      provisioner: "linstor.csi.linbit.com",
    });
    await assert.rejects(
      kube.delete({ kind: "storageClasses", name: "linstor-data-r1" }, {
        preconditions: { uid: sc.metadata!.uid!, resourceVersion: "0" },
      }),
      isConflict,
    );
    await kube.delete({ kind: "storageClasses", name: "linstor-data-r1" }, {
      preconditions: {
        uid: sc.metadata!.uid!,
        resourceVersion: sc.metadata!.resourceVersion!,
      },
    });
    assert.equal(
      server.kube.peek("storageClasses", "linstor-data-r1"),
      undefined,
    );
    assert.equal(
      server.requests.at(-1)!.url,
      "/apis/storage.k8s.io/v1/storageclasses/linstor-data-r1",
    );
    await assert.rejects(
      kube.delete({ kind: "storageClasses", name: "linstor-data-r1" }),
      isNotFound,
    );
  });
});

Deno.test("createKubeApi().delete() of a pod sends the UID precondition and grace period", async () => {
  await withServer(async (kube, server) => {
    const pod = server.kube.seed("pods", {
      metadata: { name: "p", namespace: "ns" },
      spec: { containers: [] },
    });
    await kube.delete({ kind: "pods", namespace: "ns", name: "p" }, {
      preconditions: { uid: pod.metadata!.uid! },
      gracePeriodSeconds: 0,
    });
    assert.equal(server.kube.peek("pods", "ns/p"), undefined);
    const request = server.requests.at(-1)!;
    assert.equal(request.method, "DELETE");
    assert.equal(request.url, "/api/v1/namespaces/ns/pods/p");
    assert.deepEqual(request.body, {
      apiVersion: "v1",
      kind: "DeleteOptions",
      preconditions: { uid: pod.metadata!.uid },
      gracePeriodSeconds: 0,
    });
    assert.deepEqual(server.kube.actions().at(-1), {
      verb: "delete",
      kind: "pods",
      key: "ns/p",
      dryRun: false,
      gracePeriodSeconds: 0,
    });
  });
});

Deno.test("createKubeApi() times out a request the server never answers", async () => {
  await withServer(async (kube, server, clock) => {
    server.hangNext({ method: "GET", pathPrefix: "/api/v1/nodes/n" });
    const pending = kube.get({ kind: "nodes", name: "n" });
    let settled = false;
    pending.catch(() => {}).finally(() => settled = true);
    await until("request sent", () => server.requests.length === 1);
    await clock.advance(29_999);
    await flushMicrotasks();
    assert.equal(settled, false);
    await clock.advance(1);
    await assert.rejects(pending, (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.status, 0);
      assert.equal(e.reason, "Timeout");
      assert.match(
        e.message,
        /^Cannot get nodes "n": GET .* no answer within 30000 ms/,
      );
      return true;
    });
    // A watch's timeout covers only its headers.
    server.hangNext({ method: "GET", pathPrefix: "/api/v1/nodes" });
    const iterator = kube.watch("nodes", {
      resourceVersion: server.kube.resourceVersion,
      signal: new AbortController().signal,
    })[Symbol.asyncIterator]();
    const next = iterator.next();
    await until("watch sent", () => server.requests.length === 2);
    await clock.advance(30_000);
    await assert.rejects(
      next,
      (e: unknown) => e instanceof KubeApiError && e.reason === "Timeout",
    );
    assert.equal(clock.pending, 0, "no timers left");
  });
});
