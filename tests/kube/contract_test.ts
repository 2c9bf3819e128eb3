/**
 * The `KubeApi` contract (`_contract.ts`) against `FakeKube`, the real
 * adapter over the in-test API server, and the real adapter against a real
 * kube-apiserver.
 *
 * @module
 */
import { createKubeApi, loadKubeConfig } from "../../src/kube/client/mod.ts";
import type { KubeApi } from "../../src/kube/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/clock.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";
import {
  ignoreWithoutControlPlane,
  startControlPlane,
} from "../_harness/control_plane.ts";
import { startFakeApiServer } from "../_support/fake_apiserver.ts";
import { CONTRACT, type ContractTarget, GONE_SCENARIO } from "./_contract.ts";

/** Waits (at most 10 s) until `check` holds, letting real I/O progress. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (check()) return;
    await SYSTEM_CLOCK.sleep(5);
  }
  throw new Error(`Cannot see ${what}: timed out`);
}

/** History of `fake` dropped: the current resourceVersion is then too old. */
async function compacted(fake: FakeKube, kube: KubeApi): Promise<string> {
  const { resourceVersion } = await kube.list("storageClasses");
  fake.seed("nodes", { metadata: { name: `bump-${resourceVersion}` } });
  fake.compact();
  return resourceVersion;
}

async function runContract(
  t: Deno.TestContext,
  target: ContractTarget,
): Promise<void> {
  for (const [name, scenario] of Object.entries(CONTRACT)) {
    await t.step({
      name,
      ignore: name === GONE_SCENARIO && !target.staleResourceVersion,
      fn: () => scenario(target),
    });
  }
}

Deno.test("the KubeApi contract holds for FakeKube", async (t) => {
  const fake = new FakeKube({ clock: new FakeClock() });
  try {
    await runContract(t, {
      kube: fake,
      staleResourceVersion: () => compacted(fake, fake),
      until,
    });
  } finally {
    await fake.close();
  }
});

Deno.test("the KubeApi contract holds for createKubeApi() over the in-test API server", async (t) => {
  const clock = new FakeClock();
  await using server = startFakeApiServer({ clock });
  const kube = createKubeApi(server.kubeConfig(), { clock });
  try {
    await runContract(t, {
      kube,
      staleResourceVersion: () => compacted(server.kube, kube),
      until,
    });
  } finally {
    await kube.close();
  }
});

Deno.test({
  name:
    "the KubeApi contract holds for createKubeApi() against a real kube-apiserver",
  ignore: ignoreWithoutControlPlane(),
  fn: async (t) => {
    await using cp = await startControlPlane();
    const kube = createKubeApi(
      loadKubeConfig({ path: cp.adminKubeconfig, env: {} }),
    );
    try {
      await runContract(t, {
        kube,
        until,
      });
    } finally {
      await kube.close();
    }
  },
});
