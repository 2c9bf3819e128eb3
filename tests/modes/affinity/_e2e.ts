/**
 * Helpers for driving `linstor-suite affinity` against the real control
 * plane and the LINSTOR simulator: manifests, the process started from
 * `main.ts`, PV/PVC setup and polling. Used by the e2e tests and the demo.
 *
 * @module
 */
import {
  type ControlPlane,
  KubeRequestError,
} from "../../_harness/control_plane.ts";
import type { SimulatorServer } from "../../../src/sim/mod.ts";
import { fullPv } from "./_world.ts";

export {
  applyManifest,
  shippedServiceAccount,
} from "../../_harness/service_account.ts";
import { poll } from "../../_harness/wait.ts";
export { poll };
export {
  affinityHosts as hosts,
  RECORD_ANNOTATION,
  RECORD_PROP,
} from "./_world.ts";

/** The repository root. */
export const ROOT: URL = new URL("../../../", import.meta.url);
/** Nodes of the test scenario. */
export const NODES: readonly string[] = ["a", "b", "c"];

/** Parsed JSON of the apiserver. */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** A running `linstor-suite affinity` process. */
export interface Suite {
  readonly exited: Promise<Deno.CommandStatus>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `main.ts affinity` against the simulator at `sim` and the API
 * server of `options.kubeconfig` (from `shippedServiceAccount()`: the
 * shipped ServiceAccount and RBAC, never the admin).
 */
export function startSuite(
  sim: SimulatorServer,
  options: {
    kubeconfig: string;
    env?: Record<string, string>;
    args?: string[];
  },
): Suite {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "main.ts",
      "affinity",
      `--kubeconfig=${options.kubeconfig}`,
      "--reconcile-rate=1s",
      "--timeout=3s",
      "--linstor-poll-interval=300ms",
      "--lease-lock-namespace=linstor-suite",
      "--leader-election-id=affinity-e2e",
      "--health-address=127.0.0.1:0",
      "--in-place=auto",
      "--settle-time=0s",
      "-v=4",
      ...(options.args ?? []),
    ],
    cwd: ROOT,
    env: { LS_CONTROLLERS: sim.url, ...(options.env ?? {}) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const exited = child.status.then(async (status) => {
    await drained;
    return status;
  });
  return {
    exited,
    log: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await exited;
    },
  };
}

/** Reads a PV; `undefined` when absent. */
export async function getPv(
  cp: ControlPlane,
  name: string,
): Promise<Json | undefined> {
  try {
    return await cp.request("GET", `/api/v1/persistentvolumes/${name}`);
  } catch (error) {
    if (error instanceof KubeRequestError && error.status === 404) {
      return undefined;
    }
    throw error;
  }
}

/** `createBoundVolume()` in namespace `app` with affinity to `node`, if any. */
export async function createVolume(
  cp: ControlPlane,
  name: string,
  node: string | undefined,
): Promise<void> {
  await createBoundVolume(cp, {
    name,
    namespace: "app",
    nodes: node === undefined ? [] : [node],
  });
}

/**
 * Creates a bound PVC `claim-<name>` + PV `name` pair like external-provisioner
 * would, with one affinity term per node (none when `nodes` is empty).
 */
export async function createBoundVolume(
  cp: ControlPlane,
  volume: { name: string; namespace: string; nodes: readonly string[] },
): Promise<void> {
  const { name, namespace, nodes } = volume;
  const claim: Json = await cp.request(
    "POST",
    `/api/v1/namespaces/${namespace}/persistentvolumeclaims`,
    {
      body: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: `claim-${name}`, namespace },
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: "linstor",
          volumeName: name,
          resources: { requests: { storage: "1Gi" } },
        },
      },
    },
  );
  const pv: Json = fullPv(name, undefined);
  pv.spec.claimRef.namespace = namespace;
  pv.spec.claimRef.uid = claim.metadata.uid;
  delete pv.spec.volumeAttributesClassName; // needs the VolumeAttributesClass API
  if (nodes.length > 0) {
    pv.spec.nodeAffinity = {
      required: {
        nodeSelectorTerms: nodes.map((node) => ({
          matchExpressions: [{
            key: "linbit.com/hostname",
            operator: "In",
            values: [node],
          }],
        })),
      },
    };
  }
  await cp.request("POST", "/api/v1/persistentvolumes", { body: pv });
}

/** Waits until PVC `claim-<name>` is Bound to PV `name`. */
export async function waitBound(cp: ControlPlane, name: string): Promise<Json> {
  return await poll(`PVC claim-${name} Bound`, async () => {
    const pvc: Json = await cp.request(
      "GET",
      `/api/v1/namespaces/app/persistentvolumeclaims/claim-${name}`,
    );
    return pvc.status?.phase === "Bound" && pvc.spec.volumeName === name
      ? pvc
      : undefined;
  });
}
