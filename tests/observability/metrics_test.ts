import assert from "node:assert/strict";
import {
  METRIC_LOOP_LAST_SUCCESS,
  METRIC_LOOP_PASSES_TOTAL,
} from "../../src/constants.ts";
import { createLoopMetrics, Registry } from "../../src/observability/mod.ts";

async function valuesOf(
  registry: Registry,
  name: string,
): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  return Object.fromEntries(
    (await metric.get()).values.map((v) => [
      Object.values(v.labels).join("/"),
      v.value,
    ]),
  );
}

Deno.test("createLoopMetrics() counts passes by result and keeps the last success time", async () => {
  const registry = new Registry();
  const loop = createLoopMetrics(registry, { mode: "affinity" });
  assert.deepEqual(await valuesOf(registry, METRIC_LOOP_PASSES_TOTAL), {
    "affinity/ok": 0,
    "affinity/error": 0,
  });
  assert.deepEqual(await valuesOf(registry, METRIC_LOOP_LAST_SUCCESS), {});
  loop.record({ endedAt: 10_000, ok: true });
  loop.record({ endedAt: 20_000, ok: false });
  assert.deepEqual(await valuesOf(registry, METRIC_LOOP_PASSES_TOTAL), {
    "affinity/ok": 1,
    "affinity/error": 1,
  });
  // A failed pass leaves the last success where it was.
  assert.deepEqual(await valuesOf(registry, METRIC_LOOP_LAST_SUCCESS), {
    affinity: 10,
  });
});
