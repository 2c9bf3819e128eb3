import assert from "node:assert/strict";
import { Registry } from "../../../src/observability/mod.ts";
import {
  DEFAULT_EXTENDER_CONFIG,
  startExtender,
} from "../../../src/modes/extender/mod.ts";
import { SYSTEM_CLOCK } from "../../../src/system/mod.ts";
import { buildSnapshot, makePod } from "./_snapshot.ts";

Deno.test("`startExtender()` serves filter, prioritize and metrics over loopback HTTP", async () => {
  const now = SYSTEM_CLOCK.now();
  const snapshot = buildSnapshot({
    now,
    linstorNodes: [{ name: "n1" }, { name: "n2" }],
    kubeNodes: [{ name: "n1" }, { name: "n2" }],
    replicas: [{ resource: "pvc-data", node: "n2" }],
    storageClasses: [{ name: "r1", params: { storagePool: "pool1" } }],
    pvcs: [{ name: "data", sc: "r1", volumeName: "pv-data" }],
    pvs: [{ name: "pv-data", resource: "pvc-data", sc: "r1" }],
  });
  const controller = new AbortController();
  const registry = new Registry();
  const { server } = startExtender({
    clock: SYSTEM_CLOCK,
    snapshot: () => snapshot,
    registry,
  }, {
    config: DEFAULT_EXTENDER_CONFIG,
    listen: { hostname: "127.0.0.1", port: 0 },
    signal: controller.signal,
  });
  try {
    const base = `http://127.0.0.1:${server.address.port}`;
    const args = {
      Pod: makePod("p", { claims: ["data"] }),
      Nodes: null,
      NodeNames: ["n1", "n2", "n3"],
    };
    const filter = await fetch(`${base}/filter`, {
      method: "POST",
      body: JSON.stringify(args),
    });
    assert.equal(filter.status, 200);
    const body = await filter.json();
    assert.deepEqual(body.NodeNames, ["n1", "n2"]);
    assert.deepEqual(Object.keys(body.FailedAndUnresolvableNodes), ["n3"]);
    const prioritize = await fetch(`${base}/prioritize`, {
      method: "POST",
      body: JSON.stringify(args),
    });
    assert.deepEqual(await prioritize.json(), [{ Host: "n1", Score: 0 }, {
      Host: "n2",
      Score: 10,
    }, {
      Host: "n3",
      Score: 0,
    }]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /linstor_suite_extender_linstor_data_age_seconds \d/);
  } finally {
    controller.abort();
    await server.finished;
  }
});
