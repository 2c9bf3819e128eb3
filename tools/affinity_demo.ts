/**
 * `deno run --allow-all tools/affinity_demo.ts`: the affinity mode on a real
 * Kubernetes control plane and the LINSTOR simulator's demo scenario. Four
 * bound PVs carry the nodeAffinity linstor-csi gave them; then the simulator
 * moves `pvc-cache` from node-a2 to node-a1 and `linstor-suite affinity`
 * (started from main.ts) makes its PV follow: same name, still Bound, new
 * affinity. Needs the control-plane binaries (`tests/control_plane/build.sh`,
 * or one `deno task test` run).
 *
 * @module
 */
import {
  ControlPlaneUnavailableError,
  startControlPlane,
} from "../tests/_harness/control_plane.ts";
import {
  createBoundVolume,
  getPv,
  hosts,
  type Json,
  poll,
  shippedServiceAccount,
  startSuite,
} from "../tests/modes/affinity/_e2e.ts";
import {
  createSimulator,
  demoScenario,
  serveSimulator,
} from "../src/sim/mod.ts";
import { SYSTEM_CLOCK } from "../src/system/mod.ts";

const encoder = new TextEncoder();
function out(line = ""): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

/** Where linstor-csi placed each demo volume (diskful, UpToDate replicas). */
const VOLUMES: Record<string, string[]> = {
  "pvc-web": ["node-a1", "node-b1"],
  "pvc-db": ["node-a1", "node-b2"],
  "pvc-cache": ["node-a2"],
  "pvc-logs": ["node-a1", "node-a2"],
};

async function table(
  cp: Awaited<ReturnType<typeof startControlPlane>>,
): Promise<void> {
  out(
    `${"PV".padEnd(11)}${"nodeAffinity (linbit.com/hostname)".padEnd(36)}${
      "PV UID".padEnd(10)
    }PVC`,
  );
  for (const name of Object.keys(VOLUMES)) {
    const pv = await getPv(cp, name);
    const pvc: Json = await cp.request(
      "GET",
      `/api/v1/namespaces/demo/persistentvolumeclaims/claim-${name}`,
    );
    out(
      `${name.padEnd(11)}${hosts(pv).join(", ").padEnd(36)}${
        String(pv?.metadata?.uid ?? "-").slice(0, 8).padEnd(10)
      }${pvc.status?.phase} → ${pvc.spec?.volumeName}`,
    );
  }
}

async function main(): Promise<number> {
  out("Starting a real Kubernetes control plane and the LINSTOR simulator…");
  let cp;
  try {
    cp = await startControlPlane();
  } catch (error) {
    if (error instanceof ControlPlaneUnavailableError) {
      out(error.message);
      return 1;
    }
    throw error;
  }
  const stop = new AbortController();
  const sim = createSimulator({
    clock: SYSTEM_CLOCK,
    scenario: demoScenario(),
  });
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
  });
  try {
    const { kubeconfig } = await shippedServiceAccount(cp, "affinity");
    await cp.createNamespace("demo");
    await cp.createNodes(
      ["node-a1", "node-a2", "node-b1", "node-b2"].map((name) => ({
        name,
        labels: { "linbit.com/hostname": name },
      })),
    );
    await cp.request("POST", "/apis/storage.k8s.io/v1/storageclasses", {
      body: {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "linstor" },
        provisioner: "linstor.csi.linbit.com",
        parameters: { allowRemoteVolumeAccess: "false" },
      },
    });
    for (const [name, nodes] of Object.entries(VOLUMES)) {
      await createBoundVolume(cp, { name, namespace: "demo", nodes });
    }
    await poll("every PVC Bound", async () => {
      const list: Json = await cp.request(
        "GET",
        "/api/v1/namespaces/demo/persistentvolumeclaims",
      );
      return list.items.every((c: Json) => c.status?.phase === "Bound")
        ? true
        : undefined;
    });
    const suite = startSuite(server, {
      kubeconfig,
      args: ["--grace-period=0s", "-v=0"],
    });
    try {
      out();
      out("== PVs as provisioned (affinity = diskful replicas)");
      await table(cp);
      out();
      out("== LINSTOR moves pvc-cache from node-a2 to node-a1 (simulator)");
      sim.apply({
        action: "move-replica",
        resource: "pvc-cache",
        from: "node-a2",
        to: "node-a1",
        pool: "thin",
      });
      await poll("pvc-cache follows", async () => {
        const pv = await getPv(cp!, "pvc-cache");
        return hosts(pv).join() === "node-a1" && pv.status?.phase === "Bound"
          ? true
          : undefined;
      });
      out(
        "== linstor-suite affinity replaced the PV (same name, claim still Bound)",
      );
      await table(cp);
      out();
      out("Demo finished.");
      return 0;
    } catch (error) {
      out(suite.log());
      throw error;
    } finally {
      await suite.stop();
    }
  } finally {
    stop.abort();
    await server.finished.catch(() => {});
    sim.close();
    await cp.stop();
  }
}

if (import.meta.main) Deno.exit(await main());
