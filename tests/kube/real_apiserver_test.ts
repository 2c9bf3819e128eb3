/**
 * Proof that `@kubernetes/client-node` under Deno works against a real
 * kube-apiserver: bearer-token and client-certificate auth, list, watch
 * (reconnect after an apiserver restart, relist after 410 Gone), server-side
 * apply, delete with a UID precondition, eviction, Lease create/renew.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type V1ConfigMap,
  type V1Lease,
  Watch,
} from "@kubernetes/client-node";
import {
  type ControlPlane,
  ignoreWithoutControlPlane,
  startControlPlane,
} from "../_harness/control_plane.ts";
import { pollUntil } from "../_harness/_process.ts";

const NS = "client";

function load(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * A `Date` that serializes with six fractional digits. `metav1.MicroTime`
 * (Lease acquireTime/renewTime, events.k8s.io eventTime) only parses
 * RFC3339Micro, while client-node sends `Date.toJSON()` (three digits) and
 * hands MicroTime fields back as plain strings.
 */
function microTime(ms: number): Date {
  const date = new Date(ms);
  const text = date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
  date.toJSON = () => text;
  return date;
}

function isStatus(code: number) {
  return (e: unknown) => e instanceof ApiException && e.code === code;
}

interface WatchEvent {
  type: string;
  object: {
    metadata?: { name?: string; resourceVersion?: string };
    code?: number;
  };
}

/** A watch on ConfigMaps of {@linkcode NS} that records events and its end. */
async function watchConfigMaps(kc: KubeConfig, resourceVersion: string) {
  const events: WatchEvent[] = [];
  let ended: { error: unknown } | undefined;
  const controller = await new Watch(kc).watch(
    `/api/v1/namespaces/${NS}/configmaps`,
    { resourceVersion, allowWatchBookmarks: false },
    (type, object) => events.push({ type, object }),
    (error) => {
      ended = { error };
    },
  );
  return {
    events,
    get ended() {
      return ended;
    },
    stop: async () => {
      controller.abort();
      await pollUntil(
        "watch closed",
        () => Promise.resolve(ended ? true : undefined),
      );
    },
  };
}

/** Waits until `watch` has delivered ADDED for `name`; explains a timeout. */
async function waitForAdded(
  watch: { events: WatchEvent[]; ended: { error: unknown } | undefined },
  name: string,
): Promise<void> {
  try {
    await pollUntil(`ADDED ${name}`, () =>
      Promise.resolve(
        watch.events.some((e) =>
          e.type === "ADDED" && e.object.metadata?.name === name
        ) ||
          undefined,
      ));
  } catch (error) {
    const seen = watch.events.map((e) =>
      `${e.type} ${e.object.metadata?.name ?? e.object.code}`
    );
    throw new Error(
      `Cannot see ADDED "${name}": events ${JSON.stringify(seen)}, ended ${
        watch.ended
          ? String(
            (watch.ended.error as Error | null)?.message ?? watch.ended.error,
          )
          : "no"
      }`,
      { cause: error },
    );
  }
}

async function createConfigMap(
  core: CoreV1Api,
  name: string,
): Promise<V1ConfigMap> {
  return await core.createNamespacedConfigMap({
    namespace: NS,
    body: { metadata: { name }, data: { k: name } },
  });
}

async function withControlPlane(
  fn: (cp: ControlPlane) => Promise<void>,
): Promise<void> {
  await using cp = await startControlPlane();
  await cp.createNamespace(NS);
  await fn(cp);
}

Deno.test({
  name:
    "`@kubernetes/client-node` works under Deno against a real kube-apiserver",
  ignore: ignoreWithoutControlPlane(),
  fn: (t) =>
    withControlPlane(async (cp) => {
      const kc = load(cp.adminKubeconfig);
      const core = kc.makeApiClient(CoreV1Api);

      await t.step("`CoreV1Api` lists with a bearer token", async () => {
        const list = await core.listNamespace();
        assert.ok(list.items.some((n) => n.metadata?.name === NS));
      });

      await t.step("`CoreV1Api` lists with a client certificate", async () => {
        const certCore = load(cp.adminCertKubeconfig).makeApiClient(CoreV1Api);
        const list = await certCore.listNamespace();
        assert.ok(list.items.some((n) => n.metadata?.name === NS));
      });

      await t.step("a mode user's token is refused without RBAC", async () => {
        const agent = load(cp.kubeconfigFor("agent")).makeApiClient(CoreV1Api);
        await assert.rejects(agent.listNamespace(), isStatus(403));
      });

      await t.step(
        "`Watch` resumes, or relists on 410 Gone, after the apiserver restarts",
        async () => {
          const list = await core.listNamespacedConfigMap({ namespace: NS });
          const rv = list.metadata?.resourceVersion ?? "";
          const first = await watchConfigMaps(kc, rv);
          try {
            await createConfigMap(core, "before-restart");
            await waitForAdded(first, "before-restart");
            await cp.restartApiserver();
            await pollUntil(
              "watch ended by the restart",
              () => Promise.resolve(first.ended ? true : undefined),
            );
          } finally {
            await first.stop();
          }
          // Resume from the last delivered resourceVersion, as a reflector
          // does. The restarted apiserver's watch cache starts at a newer
          // revision, so it may answer 410 Gone: then relist and watch anew.
          const lastRv =
            first.events.at(-1)?.object.metadata?.resourceVersion ?? rv;
          await createConfigMap(core, "after-restart");
          const resumed = await watchConfigMaps(kc, lastRv);
          let outcome: "resumed" | "gone";
          try {
            outcome = await pollUntil("resumed watch answers", () => {
              const { events } = resumed;
              if (
                events.some((e) => e.type === "ERROR" && e.object.code === 410)
              ) {
                return Promise.resolve("gone" as const);
              }
              if (
                events.some((e) => e.object.metadata?.name === "after-restart")
              ) {
                return Promise.resolve("resumed" as const);
              }
              return Promise.resolve(undefined);
            });
            assert.ok(
              !resumed.events.some((e) =>
                e.object.metadata?.name === "before-restart"
              ),
              "the resumed watch replayed an event it had already delivered",
            );
          } finally {
            await resumed.stop();
          }
          if (outcome === "resumed") return;
          const relist = await core.listNamespacedConfigMap({ namespace: NS });
          const names = relist.items.map((c) => c.metadata?.name);
          assert.ok(
            names.includes("before-restart") && names.includes("after-restart"),
          );
          const fresh = await watchConfigMaps(
            kc,
            relist.metadata?.resourceVersion ?? "",
          );
          try {
            await createConfigMap(core, "after-relist");
            await waitForAdded(fresh, "after-relist");
          } finally {
            await fresh.stop();
          }
        },
      );

      await t.step(
        "`Watch` reports 410 Gone for an expired resourceVersion",
        async () => {
          const stale = await watchConfigMaps(kc, "1");
          let gone: boolean;
          try {
            gone = await pollUntil("410 Gone", () => {
              const error = stale.ended?.error as
                | { statusCode?: number }
                | undefined;
              const event = stale.events.find((e) => e.type === "ERROR");
              if (event) return Promise.resolve(event.object.code === 410);
              if (error?.statusCode) {
                return Promise.resolve(error.statusCode === 410);
              }
              return Promise.resolve(undefined);
            });
          } finally {
            await stale.stop();
          }
          assert.ok(gone, "expected 410 Gone");
          // Relist, then watch from the fresh resourceVersion.
          const list = await core.listNamespacedConfigMap({ namespace: NS });
          assert.ok(
            list.items.some((c) => c.metadata?.name === "after-restart"),
          );
          const fresh = await watchConfigMaps(
            kc,
            list.metadata?.resourceVersion ?? "",
          );
          try {
            await createConfigMap(core, "after-gone");
            await waitForAdded(fresh, "after-gone");
          } finally {
            await fresh.stop();
          }
        },
      );

      await t.step(
        "`KubernetesObjectApi.patch()` does server-side apply",
        async () => {
          const objects = KubernetesObjectApi.makeApiClient(kc);
          const desired = {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "applied", namespace: NS },
            data: { owner: "linstor-suite" },
          };
          const created = await objects.patch(
            desired,
            undefined,
            undefined,
            "linstor-suite-test",
            true,
            PatchStrategy.ServerSideApply,
          ) as V1ConfigMap;
          assert.equal(created.data?.owner, "linstor-suite");
          assert.equal(
            created.metadata?.managedFields?.[0]?.manager,
            "linstor-suite-test",
          );
          assert.equal(
            created.metadata?.managedFields?.[0]?.operation,
            "Apply",
          );
          const updated = await objects.patch(
            { ...desired, data: { owner: "linstor-suite", extra: "1" } },
            undefined,
            undefined,
            "linstor-suite-test",
            true,
            PatchStrategy.ServerSideApply,
          ) as V1ConfigMap;
          assert.equal(updated.data?.extra, "1");
          assert.equal(updated.metadata?.uid, created.metadata?.uid);
        },
      );

      await t.step(
        "delete with a UID precondition refuses a stale UID",
        async () => {
          const cm = await createConfigMap(core, "precondition");
          await assert.rejects(
            core.deleteNamespacedConfigMap({
              name: "precondition",
              namespace: NS,
              body: {
                preconditions: { uid: "00000000-0000-0000-0000-000000000000" },
              },
            }),
            isStatus(409),
          );
          await core.deleteNamespacedConfigMap({
            name: "precondition",
            namespace: NS,
            body: { preconditions: { uid: cm.metadata?.uid ?? "" } },
          });
          await assert.rejects(
            core.readNamespacedConfigMap({
              name: "precondition",
              namespace: NS,
            }),
            isStatus(404),
          );
        },
      );

      await t.step("`createNamespacedPodEviction()` evicts a pod", async () => {
        await core.createNamespacedPod({
          namespace: NS,
          body: {
            metadata: { name: "victim" },
            spec: {
              // No scheduler has this name: the pod stays unbound, so the
              // eviction deletes it at once (no kubelet would confirm).
              schedulerName: "nobody",
              automountServiceAccountToken: false,
              containers: [{ name: "c", image: "registry.invalid/pause:1" }],
            },
          },
        });
        await core.createNamespacedPodEviction({
          name: "victim",
          namespace: NS,
          body: {
            apiVersion: "policy/v1",
            kind: "Eviction",
            metadata: { name: "victim", namespace: NS },
          },
        });
        await pollUntil("victim deleted", async () => {
          try {
            await core.readNamespacedPod({ name: "victim", namespace: NS });
            return undefined;
          } catch (e) {
            if (isStatus(404)(e)) return true;
            throw e;
          }
        });
      });

      await t.step(
        "`CoordinationV1Api` creates and renews a Lease",
        async () => {
          const leases = kc.makeApiClient(CoordinationV1Api);
          const now = Date.now();
          const lease = await leases.createNamespacedLease({
            namespace: NS,
            body: {
              metadata: { name: "linstor-suite-test" },
              spec: {
                holderIdentity: "pod-a",
                leaseDurationSeconds: 15,
                acquireTime: microTime(now),
                renewTime: microTime(now),
              },
            },
          });
          const renewed: V1Lease = await leases.replaceNamespacedLease({
            name: "linstor-suite-test",
            namespace: NS,
            body: {
              ...lease,
              spec: { ...lease.spec, renewTime: microTime(now + 2_000) },
            },
          });
          assert.notEqual(
            renewed.metadata?.resourceVersion,
            lease.metadata?.resourceVersion,
          );
          // client-node returns MicroTime fields as strings, not Dates.
          assert.equal(
            Date.parse(String(renewed.spec?.renewTime)),
            now + 2_000,
          );
          // A renewal from a stale copy (another holder won) conflicts.
          await assert.rejects(
            leases.replaceNamespacedLease({
              name: "linstor-suite-test",
              namespace: NS,
              body: {
                ...lease,
                spec: { ...lease.spec, holderIdentity: "pod-b" },
              },
            }),
            isStatus(409),
          );
        },
      );
    }),
});
