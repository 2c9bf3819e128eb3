/**
 * The start-up race of `main.ts affinity` on a fresh control plane, with the
 * window held open: the process starts before its RBAC exists, so its first
 * reads (the cluster identity, the Lease) are refused with 403, as they can
 * be for a moment when RBAC was applied just before. It must keep running,
 * report not ready, and become ready once the RBAC is there.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  ignoreWithoutControlPlane,
  startControlPlane,
} from "../_harness/control_plane.ts";
import {
  createSimulator,
  parseScenario,
  serveSimulator,
} from "../../src/sim/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/mod.ts";
import { applyManifest, poll, startSuite } from "../modes/affinity/_e2e.ts";
import { scenarioYaml } from "../modes/affinity/_world.ts";
import {
  serviceAccountKubeconfig,
  shippedServiceAccountName,
} from "../_harness/service_account.ts";

Deno.test({
  name:
    "main.ts affinity started before its RBAC exists retries, stays not ready, and becomes ready without exiting",
  ignore: ignoreWithoutControlPlane(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stopSim = new AbortController();
    const server = await serveSimulator(
      createSimulator({
        clock: SYSTEM_CLOCK,
        scenario: parseScenario(scenarioYaml([]), "startup"),
      }),
      { hostname: "127.0.0.1", port: 0, signal: stopSim.signal },
    );
    await using cp = await startControlPlane();
    // Only the ServiceAccount exists (its token from the TokenRequest API);
    // its RBAC comes later.
    const account = await shippedServiceAccountName("affinity");
    await cp.createNamespace(account.namespace);
    await cp.request(
      "POST",
      `/api/v1/namespaces/${account.namespace}/serviceaccounts`,
      { body: { apiVersion: "v1", kind: "ServiceAccount", metadata: account } },
    );
    const { kubeconfig } = await serviceAccountKubeconfig(cp, account);
    const suite = startSuite(server, { kubeconfig });
    try {
      const health = await poll("the health address", () => {
        const match = /Serving \/healthz.*?(http:\/\/127\.0\.0\.1:\d+)/.exec(
          suite.log(),
        );
        return Promise.resolve(match?.[1]);
      });
      // Hold the window open until the refusal was seen: a slow start could
      // otherwise make its first read only after the RBAC below exists.
      await poll("the refused cluster-identity read", () =>
        Promise.resolve(
          /Cannot read .*cluster identity.* yet/.test(suite.log()) || undefined,
        ), 90_000);
      const notReady = await poll("not ready with a reason", async () => {
        const response = await fetch(`${health}/readyz`);
        const text = await response.text();
        return response.status === 503 ? text : undefined;
      });
      // Informers are refused too, so the first reason is the caches.
      assert.match(notReady, /not synced yet|not read yet/);
      await applyManifest(cp, "deploy/affinity/rbac.yaml");
      await poll("ready once RBAC exists", async () => {
        const response = await fetch(`${health}/readyz`);
        await response.body?.cancel();
        return response.status === 200 ? true : undefined;
      }, 90_000);
      const exited = await Promise.race([
        suite.exited.then(() => true),
        Promise.resolve(false),
      ]);
      assert.equal(exited, false, suite.log());
    } finally {
      await suite.stop();
      stopSim.abort();
      await server.finished;
    }
    assert.equal((await suite.exited).code, 0, suite.log());
    assert.match(suite.log(), /Cannot read .*cluster identity.* yet/);
    assert.match(suite.log(), /403|[Ff]orbidden/);
  },
});
