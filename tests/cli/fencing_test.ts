import assert from "node:assert/strict";
import {
  FENCING_FLAGS,
  fencingOptionsFromFlags,
} from "../../src/cli/fencing.ts";
import {
  createFencingCommand,
  type FencingWiring,
} from "../../src/cli/fencing.ts";
import { parseFlags, runCli, UsageError } from "../../src/cli/mod.ts";
import {
  ANNOTATION_FENCING_LOST_PEERS,
  TAINT_LOST_QUORUM,
} from "../../src/constants.ts";
import { encodeLostPeers } from "../../src/modes/fencing/mod.ts";
import { resetLogging } from "../../src/observability/mod.ts";
import { createCommandRunner, SYSTEM_CLOCK } from "../../src/system/mod.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";
import { kubeNode, pv, pvc, volumeAttachment } from "../_builders/kube.ts";
import { webPod } from "../modes/fencing/_world.ts";

function parse(args: string[], env: Record<string, string> = {}) {
  return parseFlags(args, { flags: FENCING_FLAGS, env }).flags;
}

Deno.test("fencingOptionsFromFlags() accepts what piraeus-ha-controller's chart renders", () => {
  const flags = parse([
    "--v=1",
    "--drbd-status-interval=5s",
    "--fail-over-timeout=5s",
    "--operations-timeout=1m",
    "--reconcile-interval=5s",
    "--resync-interval=5m",
    "--grace-period-seconds=10",
    "--fail-over-unsafe-pods=false",
    "--disable-node-taints=true",
    "--satellite-pod-label=app.kubernetes.io/component=linstor-satellite",
    "--health-bind-address=:8000",
  ], { NODE_NAME: "worker-1" });
  assert.deepEqual(fencingOptionsFromFlags(flags), {
    nodeName: "worker-1",
    failOverTimeoutMs: 5_000,
    gracePeriodSeconds: 10,
    operationsTimeoutMs: 60_000,
    reconcileIntervalMs: 5_000,
    maxFencedNodes: 2,
    minFencingIntervalMs: 30_000,
    disableNodeTaints: true,
    drbdsetup: "drbdsetup",
    drbdSource: "drbdsetup",
  });
  assert.equal(flags.string("health-address"), ":8000");
  assert.equal(flags.number("resync-interval"), 300_000);
  assert.equal(flags.number("verbosity"), 1);
});

Deno.test("fencingOptionsFromFlags() reads --drbd-source and its environment variable", () => {
  assert.equal(
    fencingOptionsFromFlags(parse(["--node-name=a", "--drbd-source=linstor"]))
      .drbdSource,
    "linstor",
  );
  assert.equal(
    fencingOptionsFromFlags(
      parse(["--node-name=a"], { LINSTOR_SUITE_DRBD_SOURCE: "linstor" }),
    ).drbdSource,
    "linstor",
  );
  assert.throws(
    () => parse(["--node-name=a", "--drbd-source=poll"]),
    UsageError,
  );
});

Deno.test("fencingOptionsFromFlags() rejects values that cannot work", async (t) => {
  await t.step("no node name", () => {
    assert.throws(() => fencingOptionsFromFlags(parse([])), UsageError);
  });
  await t.step("zero storm limit", () => {
    assert.throws(
      () =>
        fencingOptionsFromFlags(
          parse(["--node-name=a", "--max-fenced-nodes=0"]),
        ),
      /--max-fenced-nodes must be positive/,
    );
  });
});

/** A cluster where node-a (NotReady) lost pvc-1 and node-c confirms it. */
function seededKube(): FakeKube {
  const kube = new FakeKube({ clock: SYSTEM_CLOCK });
  const a = kubeNode("node-a");
  a.status = { conditions: [{ type: "Ready", status: "Unknown" }] };
  kube.seed("nodes", a);
  kube.seed("nodes", kubeNode("node-b"));
  const c = kubeNode("node-c");
  c.metadata!.annotations = {
    [ANNOTATION_FENCING_LOST_PEERS]: encodeLostPeers({
      at: Date.now(),
      lost: ["node-a"],
    }),
  };
  kube.seed("nodes", c);
  kube.seed("persistentVolumes", pv("pvc-1", { claim: "apps/data-web-0" }));
  kube.seed(
    "persistentVolumeClaims",
    pvc("apps", "data-web-0", { volumeName: "pvc-1" }),
  );
  kube.seed("pods", webPod());
  kube.seed(
    "volumeAttachments",
    volumeAttachment("csi-va-1", { pvName: "pvc-1", nodeName: "node-a" }),
  );
  return kube;
}

/** A directory with the drbdsetup double replaying the recorded peer-lost stream, then hanging. */
async function drbdsetupDouble(): Promise<string> {
  const fixtures = new URL("../_fixtures/drbdsetup/", import.meta.url);
  const dir = await Deno.makeTempDir({ prefix: "fencing-cli-" });
  await Deno.copyFile(
    new URL("drbdsetup_double.sh", fixtures),
    `${dir}/drbdsetup`,
  );
  await Deno.chmod(`${dir}/drbdsetup`, 0o755);
  await Deno.writeTextFile(
    `${dir}/show.json`,
    JSON.stringify([{ resource: "pvc-1", options: { quorum: "majority" } }]),
  );
  await Deno.copyFile(
    new URL("events2_peer_lost.txt", fixtures),
    `${dir}/events2.1`,
  );
  await Deno.writeTextFile(`${dir}/events2.1.end`, "hang");
  return dir;
}

async function runFencing(
  kube: FakeKube,
  args: string[],
  done: (out: string) => boolean,
): Promise<{ code: number; out: string; err: string }> {
  const dir = await drbdsetupDouble();
  const controller = new AbortController();
  const out: string[] = [];
  const err: string[] = [];
  const wiring: FencingWiring = {
    createKube: () => Promise.resolve(kube),
    hostname: () => "node-b",
    commands: createCommandRunner,
  };
  const guard = setTimeout(() => controller.abort(), 20_000);
  const poll = setInterval(() => {
    if (done(out.join(""))) controller.abort();
  }, 20);
  try {
    const code = await runCli([
      "fencing",
      "--node-name=node-b",
      `--drbdsetup=${dir}/drbdsetup`,
      "--health-address=127.0.0.1:0",
      "--min-fencing-interval=0s",
      ...args,
    ], {
      env: {},
      stdout: (text) => out.push(text),
      stderr: (text) => err.push(text),
      signal: controller.signal,
      commands: [createFencingCommand(wiring)],
    });
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    clearTimeout(guard);
    clearInterval(poll);
    await resetLogging();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runCli() fencing --dry-run prints the decision and changes nothing", async () => {
  const kube = seededKube();
  const { code, out, err } = await runFencing(
    kube,
    ["--dry-run"],
    (text) => text.includes("DeleteVolumeAttachment"),
  );
  assert.equal(code, 0, err);
  assert.match(out, /dry-run: TaintNode node\/node-a: taint node node-a/);
  assert.match(out, /dry-run: ForceDeletePod pod\/apps\/web-0@/);
  assert.match(
    out,
    /dry-run: DeleteVolumeAttachment volumeattachment\/csi-va-1@/,
  );
  assert.ok(kube.get("pods", "apps/web-0"), "the pod is still there");
  assert.ok(kube.get("volumeAttachments", "csi-va-1"));
  assert.equal(kube.get("nodes", "node-a")!.spec?.taints, undefined);
});

Deno.test("runCli() fencing taints, force-deletes and detaches on a NotReady lost node", async () => {
  const kube = seededKube();
  const { code, err } = await runFencing(
    kube,
    [],
    () =>
      kube.get("volumeAttachments", "csi-va-1") === undefined &&
      kube.get("pods", "apps/web-0") === undefined,
  );
  assert.equal(code, 0, err);
  const taints = kube.get("nodes", "node-a")!.spec?.taints ?? [];
  assert.deepEqual(taints.map((t) => `${t.key}:${t.effect}`), [
    `${TAINT_LOST_QUORUM}:NoSchedule`,
  ]);
  assert.equal(kube.get("pods", "apps/web-0"), undefined);
  assert.equal(kube.get("volumeAttachments", "csi-va-1"), undefined);
  const report = kube.get("nodes", "node-b")!.metadata?.annotations
    ?.[ANNOTATION_FENCING_LOST_PEERS];
  assert.match(report ?? "", /"lost":\["node-a"\]/);
});
