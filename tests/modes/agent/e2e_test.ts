/**
 * The agent end to end: `main.ts agent` as a process, with a fake `lvm`
 * executable (a shell script answering `vgs`/`lvs` from files the test
 * edits), the LINSTOR simulator over HTTP, and the real control plane, the
 * agent running as the ServiceAccount of `deploy/agent/rbac.yaml` (a token
 * from the TokenRequest API) for StorageClasses, Events and the Lease.
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
} from "../../../src/sim/mod.ts";
import { SYSTEM_CLOCK } from "../../../src/system/mod.ts";
import { latencyBoundMs, poll, waitForEvents } from "../../_harness/wait.ts";
import { shippedServiceAccount } from "../../_harness/service_account.ts";
import { lvsJson, vgRow, vgsJson } from "./_fixtures.ts";

const ROOT = new URL("../../../", import.meta.url);

interface Json {
  // deno-lint-ignore no-explicit-any
  [key: string]: any;
}

/** A fake lvm: `vgs`/`lvs` print the files next to it; `hang` makes it sleep. */
async function fakeLvm(dir: string): Promise<string> {
  const path = `${dir}/lvm`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh
if [ -e "${dir}/hang" ]; then exec sleep 30; fi
case "$1" in
  vgs) cat "${dir}/vgs.json" ;;
  lvs) cat "${dir}/lvs.json" ;;
  *) echo "unexpected lvm $1" >&2; exit 3 ;;
esac
`,
  );
  await Deno.chmod(path, 0o755);
  await Deno.writeTextFile(`${dir}/lvs.json`, lvsJson([]));
  return path;
}

function poolOf(sim: Simulator, node: string, name: string) {
  return sim.state().storagePools.find((p) =>
    p.node_name === node && p.storage_pool_name === name
  );
}

async function storageClass(
  cp: ControlPlane,
  name: string,
): Promise<Json | undefined> {
  try {
    return await cp.request<Json>(
      "GET",
      `/apis/storage.k8s.io/v1/storageclasses/${name}`,
    );
  } catch {
    return undefined;
  }
}

Deno.test({
  name:
    "main.ts agent registers a tagged VG, offers r1..rN, re-creates a drifted class and removes the pool after the grace",
  ignore: ignoreWithoutControlPlane(),
  async fn() {
    const stop = new AbortController();
    const dir = await Deno.makeTempDir({ prefix: "agent-e2e-" });
    const cp = await startControlPlane({});
    let child: Deno.ChildProcess | undefined;
    let log = "";
    try {
      const account = await shippedServiceAccount(cp, "agent");
      await cp.createNodes([{ name: "n1" }, { name: "n2" }]);
      const sim = createSimulator({
        clock: SYSTEM_CLOCK,
        scenario: parseScenario("nodes:\n  - name: n1\n  - name: n2\n", "e2e"),
      });
      const server = await serveSimulator(sim, {
        hostname: "127.0.0.1",
        port: 0,
        signal: stop.signal,
      });
      const lvm = await fakeLvm(dir);
      await Deno.writeTextFile(`${dir}/vgs.json`, vgsJson([vgRow("vg1", "")]));
      child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          "main.ts",
          "agent",
          `--kubeconfig=${account.kubeconfig}`,
          "--node-name=n1",
          `--lvm-path=${lvm}`,
          "--lvm-timeout=1s",
          "--scan-interval=1s",
          "--removal-grace=3s",
          "--lease-lock-namespace=linstor-suite",
          "--leader-election-id=agent-n1",
          "--health-address=127.0.0.1:0",
          "-v=1",
        ],
        cwd: ROOT,
        env: { LS_CONTROLLERS: server.url, NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const drain = async (stream: ReadableStream<Uint8Array>) => {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
          log += chunk;
        }
      };
      const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
      await poll(
        "the agent's first scan",
        () =>
          Promise.resolve(log.includes("Scan: 0 candidate(s)") || undefined),
      );

      // Tag added later: the pool appears within one scan interval (+1 s).
      const tagged = Date.now();
      await Deno.writeTextFile(
        `${dir}/vgs.json`,
        vgsJson([vgRow("vg1", "linstor-data")]),
      );
      const pool = await poll(
        "pool data on n1",
        () => Promise.resolve(poolOf(sim, "n1", "data")),
        10_000,
      );
      const latencyMs = Date.now() - tagged;
      // One scan interval (1 s) plus the slack of the machine's load.
      const boundMs = await latencyBoundMs(1_000, 1_500);
      assert.ok(
        latencyMs <= boundMs,
        `pool after ${latencyMs} ms (bound ${boundMs} ms)`,
      );
      assert.equal(pool.props?.["StorDriver/LvmVg"], "vg1");
      assert.equal(
        pool.props?.["Aux/linstor-suite.io/managed-by"],
        "linstor-suite-agent",
      );

      // StorageClass r1, with an explicit resource group.
      const r1 = await poll(
        "StorageClass linstor-data-r1",
        () => storageClass(cp, "linstor-data-r1"),
      );
      assert.equal(
        r1.parameters["linstor.csi.linbit.com/resourceGroup"],
        "linstor-data-r1",
      );
      assert.equal(r1.volumeBindingMode, "WaitForFirstConsumer");

      // A second node with the pool raises N to 2.
      const created = await fetch(`${server.url}/v1/nodes/n2/storage-pools`, {
        method: "POST",
        body: JSON.stringify({
          storage_pool_name: "data",
          provider_kind: "LVM",
          props: {
            "StorDriver/LvmVg": "vg1",
            "Aux/linstor-suite.io/managed-by": "linstor-suite-agent",
            "Aux/linstor-suite.io/lvm-uuid": "uuid-n2",
          },
        }),
      });
      await created.body?.cancel();
      assert.equal(created.status, 201);
      await poll(
        "StorageClass linstor-data-r2",
        () => storageClass(cp, "linstor-data-r2"),
      );

      // Drift (expansion switched off by hand) re-creates the class and keeps
      // the default-class annotation a user set.
      await cp.request(
        "PATCH",
        "/apis/storage.k8s.io/v1/storageclasses/linstor-data-r1",
        {
          body: {
            metadata: {
              annotations: {
                "storageclass.kubernetes.io/is-default-class": "true",
              },
            },
            allowVolumeExpansion: false,
          },
          contentType: "application/merge-patch+json",
        },
      );
      const recreated = await poll("re-created linstor-data-r1", async () => {
        const sc = await storageClass(cp, "linstor-data-r1");
        return sc && sc.metadata.uid !== r1.metadata.uid &&
            sc.allowVolumeExpansion === true
          ? sc
          : undefined;
      });
      assert.equal(
        recreated.metadata.annotations[
          "storageclass.kubernetes.io/is-default-class"
        ],
        "true",
      );

      // lvm hangs: nothing is deleted, however long it lasts.
      await Deno.writeTextFile(`${dir}/hang`, "");
      await Deno.writeTextFile(`${dir}/vgs.json`, vgsJson([vgRow("vg1", "")]));
      await poll(
        "a failed scan",
        () => Promise.resolve(log.includes("LVM scan failed") || undefined),
      );
      const failedScans = () => log.split("LVM scan failed").length - 1;
      const before = failedScans();
      await poll(
        "four more failed scans",
        () => Promise.resolve(failedScans() >= before + 4 || undefined),
        30_000,
      );
      assert.ok(poolOf(sim, "n1", "data"), "pool kept while lvm hangs");

      // Tag removed and lvm back: the unused pool goes after the grace.
      await Deno.remove(`${dir}/hang`);
      const removed = Date.now();
      await poll(
        "pool data on n1 removed",
        () => Promise.resolve(poolOf(sim, "n1", "data") ? undefined : true),
        15_000,
      );
      assert.ok(Date.now() - removed >= 2_500, "removed before the grace");

      // Each Event follows its LINSTOR change: wait for it, not just list.
      await waitForEvents(cp, [
        { reason: "StoragePoolCreated", kind: "Node", name: "n1" },
        { reason: "StoragePoolDeleted", kind: "Node", name: "n1" },
      ]);

      child.kill("SIGTERM");
      const status = await child.status;
      await drained;
      child = undefined;
      assert.equal(status.code, 0, log);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n--- agent log ---\n${log}`,
        {
          cause: error,
        },
      );
    } finally {
      if (child) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Gone.
        }
        await child.status;
        await child.stdout.cancel().catch(() => {});
        await child.stderr.cancel().catch(() => {});
      }
      stop.abort();
      await cp.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
