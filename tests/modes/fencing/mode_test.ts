import assert from "node:assert/strict";
import {
  createFencingMode,
  FENCING_KINDS,
} from "../../../src/modes/fencing/mod.ts";
import { createCommandRunner } from "../../../src/system/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { FakeKube } from "../../_fakes/fake_kube.ts";
import { T0 } from "./_world.ts";

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
