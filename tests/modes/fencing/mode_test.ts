import assert from "node:assert/strict";
import {
  createFencingMode,
  FENCING_KINDS,
} from "../../../src/modes/fencing/mod.ts";
import { createCommandRunner } from "../../../src/system/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { FakeKube } from "../../_fakes/fake_kube.ts";
import { drbdState, T0, world } from "./_world.ts";
import { Registry } from "../../../src/observability/mod.ts";
import { METRIC_FENCING_NODE_TAINT_TIMESTAMP_SECONDS } from "../../../src/constants.ts";
import { buildSnapshot } from "../../_builders/snapshot.ts";
import { worldObjects } from "./_world.ts";

Deno.test("createFencingMode() is a per-node mode without LINSTOR that is unready while blind", async () => {
  const clock = new FakeClock(T0);
  const kube = new FakeKube({ clock });
  const dir = await Deno.makeTempDir({ prefix: "fencing-mode-" });
  try {
    await Deno.writeTextFile(
      `${dir}/drbdsetup`,
      `#!/bin/sh\ncase "$1" in show) echo '[]';; events2) echo 'exists -'; exec sleep 3600;; esac\n`,
    );
    await Deno.chmod(`${dir}/drbdsetup`, 0o755);
    const mode = createFencingMode({
      kube,
      runner: createCommandRunner(),
      clock,
    }, { nodeName: "node-b", drbdsetup: `${dir}/drbdsetup` });
    assert.equal(mode.name, "fencing");
    assert.equal(mode.readsLinstor, false);
    assert.deepEqual(mode.kinds, FENCING_KINDS);
    const source = mode.sources!.drbd!;
    assert.equal(source.ready!().ok, false, "blind before the stream");
    assert.equal(source.current()!.synced, false);
    const controller = new AbortController();
    let ready = false;
    const running = source.run(controller.signal, () => {
      if (!ready && source.ready!().ok) {
        ready = true;
        controller.abort();
      }
    });
    await running;
    assert.ok(ready, "ready once exists - was read");
    assert.equal(source.ready!().ok, false, "blind again once stopped");
    assert.throws(
      () =>
        createFencingMode({ kube, runner: createCommandRunner(), clock }, {
          nodeName: "",
        }),
      RangeError,
    );
  } finally {
    await kube.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createFencingMode() exports when each node got the lost-quorum taint, first-seen time when it has none", async () => {
  const clock = new FakeClock(T0 + 3_600_000);
  const kube = new FakeKube({ clock });
  const registry = new Registry();
  try {
    const mode = createFencingMode({
      kube,
      runner: createCommandRunner(),
      clock,
      registry,
    }, { nodeName: "node-b" });
    const series = async () =>
      Object.fromEntries(
        (await registry.getSingleMetric(
          METRIC_FENCING_NODE_TAINT_TIMESTAMP_SECONDS,
        )!.get()).values.map((v) => [v.labels.node, v.value]),
      );
    const inputs = { drbd: drbdState().view() };
    // node-a carries the taint with timeAdded T0.
    mode.plan!(world({ tainted: ["node-a"] }), {
      now: clock.now(),
      memory: mode.memory,
      inputs,
    });
    assert.deepEqual(await series(), { "node-a": T0 / 1000 });
    // node-c's taint has no timeAdded: the first time a pass saw it counts.
    const objects = worldObjects({ tainted: ["node-a", "node-c"] });
    delete objects.nodes![2]!.spec!.taints![0]!.timeAdded;
    const firstSeen = clock.now();
    mode.plan!(buildSnapshot({ kube: objects, takenAt: firstSeen }), {
      now: firstSeen,
      memory: mode.memory,
      inputs,
    });
    clock.advance(60_000);
    mode.plan!(buildSnapshot({ kube: objects, takenAt: clock.now() }), {
      now: clock.now(),
      memory: mode.memory,
      inputs,
    });
    assert.deepEqual(await series(), {
      "node-a": T0 / 1000,
      "node-c": firstSeen / 1000,
    });
    // Taints removed: no series left.
    mode.plan!(world(), { now: clock.now(), memory: mode.memory, inputs });
    assert.deepEqual(await series(), {});
  } finally {
    await kube.close();
  }
});
