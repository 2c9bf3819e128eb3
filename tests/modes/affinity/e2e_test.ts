/**
 * The affinity mode end to end: the real control plane (kube-apiserver,
 * kube-controller-manager's PV binder, kube-scheduler), the LINSTOR
 * simulator over HTTP, and `linstor-suite affinity` started from `main.ts`
 * as the ServiceAccount of `deploy/affinity/rbac.yaml` (a TokenRequest
 * token, no admin rights).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type ControlPlane,
  ignoreWithoutControlPlane,
  startControlPlane,
} from "../../_harness/control_plane.ts";
import {
  createSimulator,
  parseScenario,
  serveSimulator,
  type Simulator,
  type SimulatorServer,
} from "../../../src/sim/mod.ts";
import { SYSTEM_CLOCK } from "../../../src/system/mod.ts";
import { AFFINITY_TEST_FAULT_ENV } from "../../../src/cli/affinity.ts";
import { REPLACE_STEPS } from "../../../src/modes/affinity/mod.ts";
import { scenarioYaml } from "./_world.ts";
import { waitForEvents } from "../../_harness/wait.ts";
import {
  createVolume,
  getPv,
  hosts,
  type Json,
  NODES,
  poll,
  RECORD_ANNOTATION,
  RECORD_PROP,
  shippedServiceAccount,
  startSuite,
  waitBound,
} from "./_e2e.ts";

interface Env {
  cp: ControlPlane;
  /** Kubeconfig of the shipped ServiceAccount (TokenRequest token). */
  kubeconfig: string;
  sim: Simulator;
  server: SimulatorServer;
}

async function setUp(
  featureGates: Record<string, boolean>,
  volumes: string[],
  stop: AbortSignal,
): Promise<Env> {
  const cp = await startControlPlane({ featureGates });
  try {
    const { kubeconfig } = await shippedServiceAccount(cp, "affinity");
    await cp.createNamespace("app");
    await cp.createNodes(
      NODES.map((n) => ({ name: n, labels: { "linbit.com/hostname": n } })),
    );
    await cp.request("POST", "/apis/storage.k8s.io/v1/storageclasses", {
      body: {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "linstor" },
        provisioner: "linstor.csi.linbit.com",
        parameters: { allowRemoteVolumeAccess: "false" },
        volumeBindingMode: "WaitForFirstConsumer",
      },
    });
    const sim = createSimulator({
      clock: SYSTEM_CLOCK,
      scenario: parseScenario(scenarioYaml(volumes), "e2e"),
    });
    const server = await serveSimulator(sim, {
      hostname: "127.0.0.1",
      port: 0,
      signal: stop,
    });
    return { cp, kubeconfig, sim, server };
  } catch (error) {
    await cp.stop();
    throw error;
  }
}

/** Asserts the end state of a finished replace of `name` onto `node`. */
async function assertConverged(
  env: Env,
  name: string,
  node: string,
): Promise<Json> {
  const pv = await poll(`PV ${name} on ${node}`, async () => {
    const live = await getPv(env.cp, name);
    return live && hosts(live).join() === node &&
        !live.metadata.annotations?.["affinity.linstor-suite.io/replacing"] &&
        live.status?.phase === "Bound"
      ? live
      : undefined;
  });
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Delete");
  assert.deepEqual(pv.spec.mountOptions, ["noatime", "discard"]);
  assert.deepEqual(pv.spec.csi.nodeExpandSecretRef, {
    name: "ne",
    namespace: "ns",
  });
  assert.deepEqual(pv.spec.csi.nodeStageSecretRef, {
    name: "ns",
    namespace: "ns",
  });
  assert.equal(
    pv.metadata.annotations?.["linstor.csi.linbit.com/skip-reclaim"],
    undefined,
  );
  assert.deepEqual(pv.metadata.labels, { team: "data" });
  const claim = await waitBound(env.cp, name);
  assert.equal(pv.spec.claimRef.uid, claim.metadata.uid, "bound to its claim");
  assert.equal(
    claim.metadata.annotations?.["pv.kubernetes.io/bind-completed"],
    "yes",
  );
  // After a crash right after step 6 the PV already looks final: the
  // restarted process still has to drop the record, so wait for that too.
  await poll(`record of ${name} dropped on the PVC`, async () => {
    const pvc = await waitBound(env.cp, name);
    return pvc.metadata.annotations?.[RECORD_ANNOTATION] === undefined
      ? true
      : undefined;
  });
  await poll(`record of ${name} dropped in LINSTOR`, () => {
    const rd = env.sim.state().resourceDefinitions.find((d) => d.name === name);
    assert.ok(rd, "the LINSTOR volume is kept");
    return Promise.resolve(
      rd.volume_definitions?.[0]?.props?.[RECORD_PROP] === undefined
        ? true
        : undefined,
    );
  });
  return pv;
}

Deno.test({
  name:
    "affinity (real control plane): a migrated volume's PV follows, stays bound, and pods go to the new node",
  ignore: ignoreWithoutControlPlane(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const stop = new AbortController();
    const env = await setUp({}, [
      "pvc-e2e",
      "pvc-crash",
      "pvc-bare",
      ...Array.from({ length: 200 }, (_, i) => `pvc-many-${i}`),
    ], stop.signal);
    try {
      await createVolume(env.cp, "pvc-e2e", "a");
      await createVolume(env.cp, "pvc-crash", "a");
      const first = await waitBound(env.cp, "pvc-e2e");
      await waitBound(env.cp, "pvc-crash");

      await t.step(
        "replace: PV follows, PVC keeps its PV, pod lands on b",
        async () => {
          const suite = startSuite(env.server, {
            kubeconfig: env.kubeconfig,
          });
          try {
            const before = await getPv(env.cp, "pvc-e2e");
            env.sim.apply({
              action: "move-replica",
              resource: "pvc-e2e",
              from: "a",
              to: "b",
            });
            const after = await assertConverged(env, "pvc-e2e", "b");
            assert.notEqual(after.metadata.uid, before.metadata.uid);
            const pvc = await waitBound(env.cp, "pvc-e2e");
            assert.equal(pvc.metadata.uid, first.metadata.uid, "same PVC");
            await env.cp.request("POST", "/api/v1/namespaces/app/pods", {
              body: {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "user", namespace: "app" },
                spec: {
                  containers: [{ name: "c", image: "busybox" }],
                  volumes: [{
                    name: "data",
                    persistentVolumeClaim: { claimName: "claim-pvc-e2e" },
                  }],
                },
              },
            });
            const node = await poll("pod scheduled", async () => {
              const pod: Json = await env.cp.request(
                "GET",
                "/api/v1/namespaces/app/pods/user",
              );
              return pod.spec.nodeName;
            });
            assert.equal(node, "b", "scheduled only onto the new replica node");
          } catch (error) {
            throw new Error(`affinity log:\n${suite.log()}`, { cause: error });
          } finally {
            await suite.stop();
          }
        },
      );

      let at = "a";
      for (let step = 1; step < REPLACE_STEPS.length; step++) {
        await t.step(
          `crash right after step ${step} (${REPLACE_STEPS[step]})`,
          async () => {
            const to = NODES[(NODES.indexOf(at) + 1) % NODES.length]!;
            env.sim.apply({
              action: "move-replica",
              resource: "pvc-crash",
              from: at,
              to,
            });
            at = to;
            // Let the grace period (--timeout) of the last re-created PV pass.
            await new Promise((resolve) => setTimeout(resolve, 3_500));
            const crashing = startSuite(env.server, {
              kubeconfig: env.kubeconfig,
              env: { [AFFINITY_TEST_FAULT_ENV]: String(step) },
            });
            const status = await Promise.race([
              crashing.exited,
              new Promise<undefined>((resolve) =>
                setTimeout(() => resolve(undefined), 90_000)
              ),
            ]);
            if (status?.code !== 86) {
              await crashing.stop();
              throw new Error(
                `expected exit 86 after step ${step}, got ${
                  JSON.stringify(status)
                }\n${crashing.log()}`,
              );
            }
            if (REPLACE_STEPS[step] === "remove finalizers") {
              // The old PV is gone: the real PV controller marks the claim
              // Lost, so the Bound below proves it re-bound the new PV.
              await poll("PVC claim-pvc-crash Lost", async () => {
                const pvc: Json = await env.cp.request(
                  "GET",
                  "/api/v1/namespaces/app/persistentvolumeclaims/claim-pvc-crash",
                );
                return pvc.status?.phase === "Lost" ? true : undefined;
              });
            }
            const restarted = startSuite(env.server, {
              kubeconfig: env.kubeconfig,
            });
            try {
              await assertConverged(env, "pvc-crash", to);
            } catch (error) {
              throw new Error(
                `crashed log:\n${crashing.log()}\nrestarted log:\n${restarted.log()}`,
                { cause: error },
              );
            } finally {
              await restarted.stop();
            }
          },
        );
      }

      await t.step(
        "a PV without nodeAffinity gets it in place (same UID)",
        async () => {
          await createVolume(env.cp, "pvc-bare", undefined);
          await waitBound(env.cp, "pvc-bare");
          const before = await getPv(env.cp, "pvc-bare");
          const suite = startSuite(env.server, {
            kubeconfig: env.kubeconfig,
          });
          try {
            const after = await poll("pvc-bare affinity set", async () => {
              const live = await getPv(env.cp, "pvc-bare");
              return hosts(live).join() === "a" ? live : undefined;
            });
            assert.equal(after.metadata.uid, before.metadata.uid);
            assert.deepEqual(after.spec.mountOptions, ["noatime", "discard"]);
          } catch (error) {
            throw new Error(`affinity log:\n${suite.log()}`, { cause: error });
          } finally {
            await suite.stop();
          }
        },
      );

      await t.step("200 drifted PVs converge", async () => {
        const names = Array.from({ length: 200 }, (_, i) => `pvc-many-${i}`);
        for (const name of names) await createVolume(env.cp, name, "a");
        for (const name of names) await waitBound(env.cp, name);
        // Let the grace period pass, then migrate every volume at once.
        await new Promise((resolve) => setTimeout(resolve, 3_500));
        for (const name of names) {
          env.sim.apply({
            action: "move-replica",
            resource: name,
            from: "a",
            to: "c",
          });
        }
        const started = Date.now();
        const suite = startSuite(env.server, {
          kubeconfig: env.kubeconfig,
          args: ["--max-replacements-per-pass=200", "--workers=10"],
        });
        try {
          await poll("200 PVs on c", async () => {
            const list: Json = await env.cp.request(
              "GET",
              "/api/v1/persistentvolumes",
            );
            const done = list.items.filter((pv: Json) =>
              pv.metadata.name.startsWith("pvc-many-") &&
              hosts(pv).join() === "c" && pv.status?.phase === "Bound"
            ).length;
            return done === names.length ? true : undefined;
          }, 180_000);
          const seconds = (Date.now() - started) / 1000;
          Deno.stderr.writeSync(
            new TextEncoder().encode(
              `\n200 drifted PVs converged in ${
                seconds.toFixed(1)
              } s (process start included)\n`,
            ),
          );
          for (const name of names) await waitBound(env.cp, name);
        } catch (error) {
          throw new Error(`affinity log:\n${suite.log().slice(-20_000)}`, {
            cause: error,
          });
        } finally {
          await suite.stop();
        }
      });
    } finally {
      stop.abort();
      await env.server.finished?.catch(() => {});
      await env.cp.stop();
    }
  },
});

Deno.test({
  name:
    "affinity (real control plane, MutablePVNodeAffinity): drift is fixed in place, the PV object stays",
  ignore: ignoreWithoutControlPlane(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stop = new AbortController();
    const env = await setUp(
      { MutablePVNodeAffinity: true },
      ["pvc-mut"],
      stop.signal,
    );
    try {
      await createVolume(env.cp, "pvc-mut", "a");
      const claim = await waitBound(env.cp, "pvc-mut");
      const before = await getPv(env.cp, "pvc-mut");
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      const suite = startSuite(env.server, {
        kubeconfig: env.kubeconfig,
      });
      try {
        for (const [from, to] of [["a", "b"], ["b", "c"]] as const) {
          env.sim.apply({
            action: "move-replica",
            resource: "pvc-mut",
            from,
            to,
          });
          const after = await poll(`pvc-mut on ${to}`, async () => {
            const live = await getPv(env.cp, "pvc-mut");
            return hosts(live).join() === to ? live : undefined;
          });
          assert.equal(after.metadata.uid, before.metadata.uid, "same PV");
          assert.equal(after.spec.persistentVolumeReclaimPolicy, "Delete");
          const pvc = await waitBound(env.cp, "pvc-mut");
          assert.equal(pvc.metadata.uid, claim.metadata.uid);
        }
        // The Event follows the PV update: wait for it, not just list.
        await waitForEvents(env.cp, [{
          reason: "VolumeAffinityUpdated",
          action: "UpdatedNodeAffinityInPlace",
        }]);
        assert.match(suite.log(), /allows in-place PV nodeAffinity changes/);
      } catch (error) {
        throw new Error(`affinity log:\n${suite.log()}`, { cause: error });
      } finally {
        await suite.stop();
      }
    } finally {
      stop.abort();
      await env.server.finished.catch(() => {});
      await env.cp.stop();
    }
  },
});

Deno.test({
  name:
    "affinity (two real control planes sharing one LINSTOR): a record of cluster A is never acted on by cluster B",
  ignore: ignoreWithoutControlPlane(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stop = new AbortController();
    const a = await setUp({}, ["pvc-shared"], stop.signal);
    let b: ControlPlane | undefined;
    try {
      await createVolume(a.cp, "pvc-shared", "a");
      await waitBound(a.cp, "pvc-shared");
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      a.sim.apply({
        action: "move-replica",
        resource: "pvc-shared",
        from: "a",
        to: "b",
      });
      // Cluster A crashes right after deleting the PV: only the record
      // (with A's kube-system UID) knows what to re-create.
      const crashing = startSuite(a.server, {
        kubeconfig: a.kubeconfig,
        env: { [AFFINITY_TEST_FAULT_ENV]: "5" },
      });
      const status = await crashing.exited;
      assert.equal(status.code, 86, crashing.log());
      assert.equal(await getPv(a.cp, "pvc-shared"), undefined);
      const record = () =>
        a.sim.state().resourceDefinitions.find((d) => d.name === "pvc-shared")
          ?.volume_definitions?.[0]?.props?.[RECORD_PROP];
      assert.ok(record(), "A's record is in LINSTOR");

      // Cluster B: its own control plane, same LINSTOR.
      b = await startControlPlane();
      const other = startSuite(a.server, {
        kubeconfig: (await shippedServiceAccount(b, "affinity")).kubeconfig,
      });
      try {
        await poll(
          "cluster B ignores the foreign record",
          () =>
            Promise.resolve(
              /ForeignRecoveryRecord/.test(other.log()) ? true : undefined,
            ),
        );
        // Several more passes: B never creates the PV, the record stays.
        await new Promise((resolve) => setTimeout(resolve, 4_000));
        assert.equal(await getPv(b, "pvc-shared"), undefined);
        assert.ok(record(), "B leaves A's record alone");
      } catch (error) {
        throw new Error(`cluster B log:\n${other.log()}`, { cause: error });
      } finally {
        await other.stop();
      }

      // Cluster A comes back and finishes its replace.
      const restarted = startSuite(a.server, {
        kubeconfig: a.kubeconfig,
      });
      try {
        await assertConverged(a, "pvc-shared", "b");
      } catch (error) {
        throw new Error(`cluster A log:\n${restarted.log()}`, { cause: error });
      } finally {
        await restarted.stop();
      }
    } finally {
      stop.abort();
      await a.server.finished.catch(() => {});
      await b?.stop();
      await a.cp.stop();
    }
  },
});
