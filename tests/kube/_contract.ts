/**
 * One contract of `KubeApi` behaviours, run against every implementation:
 * `FakeKube` in memory, the real adapter over the in-test API server, and the
 * real adapter against a real kube-apiserver (`contract_test.ts`). A
 * behaviour the modes rely on is pinned here once, so the fake cannot drift
 * from the apiserver.
 *
 * Every scenario uses its own object names, so they share one cluster.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { V1StorageClass } from "@kubernetes/client-node";
import {
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  type KubeApi,
  type WatchEvent,
} from "../../src/kube/mod.ts";

/** What the contract needs besides the API. */
export interface ContractTarget {
  /** The implementation under test. */
  readonly kube: KubeApi;
  /**
   * A resourceVersion of the StorageClass collection that the server no
   * longer keeps history for (a watch from it must fail with 410 Gone);
   * `undefined` when the target cannot be made to forget history on demand
   * (a real apiserver does after etcd compaction, every 5 minutes).
   */
  staleResourceVersion?: () => Promise<string>;
  /** Waits (bounded) until `check` holds, letting the implementation's I/O progress. */
  until(what: string, check: () => boolean): Promise<void>;
}

/**
 * StorageClasses: no controller of a real cluster writes them (PVs get
 * finalizers and status from the PV controllers while a scenario runs).
 */
function sc(name: string, extra: Partial<V1StorageClass> = {}) {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name, ...extra.metadata },
    provisioner: "linstor.csi.linbit.com",
  } as V1StorageClass;
}

const ref = (name: string) => ({ kind: "storageClasses" as const, name });

/** Name of the scenario that needs {@linkcode ContractTarget.staleResourceVersion}. */
export const GONE_SCENARIO =
  "a watch from a resourceVersion without history fails with 410 Gone";

/** The scenarios, by name. */
export const CONTRACT: Readonly<
  Record<string, (target: ContractTarget) => Promise<void>>
> = Object.freeze({
  "get, patch and delete of a missing object are NotFound": async (
    { kube },
  ) => {
    await assert.rejects(kube.get(ref("c-missing")), isNotFound);
    await assert.rejects(
      kube.patch(ref("c-missing"), { type: "merge", body: {} }),
      isNotFound,
    );
    await assert.rejects(kube.delete(ref("c-missing")), isNotFound);
  },

  "create assigns uid and resourceVersion; a taken name is AlreadyExists":
    async ({ kube }) => {
      const created = await kube.create("storageClasses", sc("c-create"));
      assert.match(created.metadata?.uid ?? "", /^[0-9a-f-]{36}$/);
      assert.ok(created.metadata?.resourceVersion);
      assert.ok(created.metadata?.creationTimestamp instanceof Date);
      await assert.rejects(
        kube.create("storageClasses", sc("c-create")),
        (e: unknown) => isAlreadyExists(e) && !isConflict(e),
      );
      await kube.delete(ref("c-create"));
    },

  "every write changes the resourceVersion; a stale one is a Conflict": async (
    { kube },
  ) => {
    const created = await kube.create("storageClasses", sc("c-rv"));
    const labelled = await kube.replace("storageClasses", {
      ...created,
      metadata: { ...created.metadata, labels: { step: "1" } },
    });
    assert.notEqual(
      labelled.metadata?.resourceVersion,
      created.metadata?.resourceVersion,
    );
    assert.equal(labelled.metadata?.uid, created.metadata?.uid);
    await assert.rejects(
      kube.replace("storageClasses", {
        ...created,
        metadata: { ...created.metadata, labels: { step: "2" } },
      }),
      isConflict,
    );
    await assert.rejects(
      kube.patch(ref("c-rv"), {
        type: "merge",
        body: {
          metadata: {
            resourceVersion: created.metadata?.resourceVersion,
            labels: { step: "3" },
          },
        },
      }),
      isConflict,
    );
    const patched = await kube.patch(ref("c-rv"), {
      type: "merge",
      body: {
        metadata: {
          resourceVersion: labelled.metadata?.resourceVersion,
          labels: { step: "4" },
        },
      },
    });
    assert.equal(patched.metadata?.labels?.step, "4");
    await kube.delete(ref("c-rv"));
  },

  "delete preconditions on uid and resourceVersion are Conflicts when stale":
    async ({ kube }) => {
      const created = await kube.create("storageClasses", sc("c-pre"));
      await assert.rejects(
        kube.delete(ref("c-pre"), {
          preconditions: { uid: "00000000-0000-4000-8000-00000000dead" },
        }),
        isConflict,
      );
      await kube.patch(ref("c-pre"), {
        type: "merge",
        body: { metadata: { labels: { moved: "on" } } },
      });
      await assert.rejects(
        kube.delete(ref("c-pre"), {
          preconditions: {
            uid: created.metadata!.uid!,
            resourceVersion: created.metadata!.resourceVersion!,
          },
        }),
        isConflict,
      );
      await kube.get(ref("c-pre"));
      await kube.delete(ref("c-pre"), {
        preconditions: { uid: created.metadata!.uid! },
      });
      await assert.rejects(kube.get(ref("c-pre")), isNotFound);
    },

  "dry-run writes are validated and answered, not stored": async (
    { kube },
  ) => {
    const answered = await kube.create("storageClasses", sc("c-dry"), {
      dryRun: "All",
    });
    assert.equal(answered.metadata?.name, "c-dry");
    await assert.rejects(kube.get(ref("c-dry")), isNotFound);
    await kube.create("storageClasses", sc("c-dry"));
    await kube.delete(ref("c-dry"), { dryRun: "All" });
    await kube.get(ref("c-dry"));
    await kube.delete(ref("c-dry"));
  },

  "a delete with finalizers only marks the object until the last one goes":
    async ({ kube }) => {
      await kube.create(
        "storageClasses",
        sc("c-fin", { metadata: { finalizers: ["example.com/hold"] } }),
      );
      await kube.delete(ref("c-fin"));
      const marked = await kube.get(ref("c-fin"));
      assert.ok(marked.metadata?.deletionTimestamp instanceof Date);
      await kube.patch(ref("c-fin"), {
        type: "merge",
        body: { metadata: { finalizers: null } },
      });
      await assert.rejects(kube.get(ref("c-fin")), isNotFound);
    },

  "list() hands every object to its transform and returns what it returned":
    async ({ kube }) => {
      await kube.create("storageClasses", sc("c-list-a"));
      await kube.create("storageClasses", sc("c-list-b"));
      const seen: string[] = [];
      const { items } = await kube.list("storageClasses", {
        transform: (obj) => {
          seen.push(obj.metadata?.name ?? "");
          return { ...sc(obj.metadata?.name ?? ""), provisioner: "x" };
        },
      });
      const mine = items.filter((o) => o.metadata?.name?.startsWith("c-list-"));
      assert.deepEqual(mine.map((o) => o.metadata?.name).sort(), [
        "c-list-a",
        "c-list-b",
      ]);
      for (const obj of mine) {
        assert.deepEqual(obj, {
          ...sc(obj.metadata?.name ?? ""),
          provisioner: "x",
        });
      }
      assert.equal(seen.length, items.length, "each object once");
      await kube.delete(ref("c-list-a"));
      await kube.delete(ref("c-list-b"));
    },

  "a watch from a list's resourceVersion sees ADDED, MODIFIED and DELETED":
    async ({ kube, until }) => {
      const { resourceVersion } = await kube.list("storageClasses");
      const controller = new AbortController();
      const seen: WatchEvent<V1StorageClass>[] = [];
      const done = (async () => {
        for await (
          const event of kube.watch("storageClasses", {
            resourceVersion,
            signal: controller.signal,
            timeoutSeconds: 60,
          })
        ) {
          if (
            event.type !== "BOOKMARK" && event.object.metadata?.name === "c-w"
          ) {
            seen.push(event);
          }
        }
      })();
      try {
        await kube.create("storageClasses", sc("c-w"));
        await kube.patch(ref("c-w"), {
          type: "merge",
          body: { metadata: { labels: { x: "1" } } },
        });
        await kube.delete(ref("c-w"));
        await until("ADDED, MODIFIED and DELETED", () => seen.length >= 3);
      } finally {
        controller.abort();
        await done;
      }
      assert.deepEqual(seen.map((e) => e.type), [
        "ADDED",
        "MODIFIED",
        "DELETED",
      ]);
      const deleted = seen[2]!;
      assert.ok(deleted.type !== "BOOKMARK");
      assert.equal(deleted.object.metadata?.labels?.x, "1");
    },

  [GONE_SCENARIO]: async (
    { kube, staleResourceVersion },
  ) => {
    if (!staleResourceVersion) {
      throw new TypeError(
        "Cannot run: the target has no stale resourceVersion",
      );
    }
    const resourceVersion = await staleResourceVersion();
    await assert.rejects(
      (async () => {
        for await (
          const _ of kube.watch("storageClasses", {
            resourceVersion,
            signal: new AbortController().signal,
            timeoutSeconds: 10,
          })
        ) { /* consume */ }
      })(),
      isGone,
    );
  },
});
