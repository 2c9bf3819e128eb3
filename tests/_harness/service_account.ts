/**
 * Runs a mode under the ServiceAccount and RBAC it ships with, not as admin:
 * applies `deploy/<mode>/rbac.yaml` (the same files `deploy/all.yaml` is
 * generated from), asks the TokenRequest API for a token of the
 * ServiceAccount the mode's workload manifest names, and writes a kubeconfig
 * with that bearer token and the API server's CA.
 *
 * ```ts
 * await using cp = await startControlPlane();
 * const account = await shippedServiceAccount(cp, "agent");
 * // main.ts agent --kubeconfig=${account.kubeconfig} …
 * assert.deepEqual(
 *   await notRefused(cp, account, [{ method: "DELETE", path: "/api/v1/persistentvolumes/x" }]),
 *   [],
 * );
 * ```
 *
 * @module
 */
import { parseAllDocuments } from "yaml";
import {
  type ControlPlane,
  KubeRequestError,
  type SuiteMode,
} from "./control_plane.ts";

/** The repository root. */
const ROOT = new URL("../../", import.meta.url);

/** A manifest object, as parsed. */
// deno-lint-ignore no-explicit-any
type Json = any;

/**
 * Where each mode's shipped RBAC and workload live. The extender's is the
 * standalone Deployment (default-scheduler.yaml): in the second-scheduler
 * variant the sidecar shares the pod's ServiceAccount with kube-scheduler,
 * which has every right the extender's has and more.
 */
export const SHIPPED_MANIFESTS: Readonly<
  Record<SuiteMode, { rbac: string; workload: string }>
> = {
  extender: {
    rbac: "deploy/extender/rbac.yaml",
    workload: "deploy/extender/default-scheduler.yaml",
  },
  affinity: {
    rbac: "deploy/affinity/rbac.yaml",
    workload: "deploy/affinity/deployment.yaml",
  },
  agent: {
    rbac: "deploy/agent/rbac.yaml",
    workload: "deploy/agent/daemonset.yaml",
  },
  fencing: {
    rbac: "deploy/fencing/rbac.yaml",
    workload: "deploy/fencing/daemonset.yaml",
  },
};

/** A ServiceAccount with a token from the TokenRequest API. */
export interface ServiceAccountCredentials {
  /** Namespace of the ServiceAccount. */
  namespace: string;
  /** Name of the ServiceAccount. */
  name: string;
  /** The user it authenticates as: `system:serviceaccount:<ns>:<name>`. */
  user: string;
  /** The bearer token. */
  token: string;
  /** When the token expires (RFC 3339). */
  expirationTimestamp: string;
  /** Path of a kubeconfig with the token and the API server's CA. */
  kubeconfig: string;
}

/** One request for {@linkcode notRefused}. */
export interface ProbeRequest {
  /** HTTP method. */
  method: string;
  /** Path (with query), e.g. "/api/v1/persistentvolumes/x?dryRun=All". */
  path: string;
  /** JSON body. */
  body?: unknown;
  /** Content type of the body. @default {"application/json"} */
  contentType?: string;
}

/** Reads every document of a manifest file of the repository. */
export async function readManifest(path: string): Promise<Json[]> {
  const text = await Deno.readTextFile(new URL(path, ROOT));
  return parseAllDocuments(text).map((doc) => doc.toJS()).filter(Boolean);
}

/** The collection path of a manifest object, e.g. "/api/v1/namespaces/x/serviceaccounts". */
export function collectionPath(object: Json): string {
  const [group, version] = object.apiVersion.includes("/")
    ? object.apiVersion.split("/")
    : ["", object.apiVersion];
  const plural = `${object.kind.toLowerCase()}s`.replace(/ys$/, "ies");
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const namespace = object.metadata.namespace
    ? `/namespaces/${object.metadata.namespace}`
    : "";
  return `${base}${namespace}/${plural}`;
}

/** Creates every object of a manifest file as the admin; existing ones stay. */
export async function applyManifest(
  cp: ControlPlane,
  path: string,
): Promise<void> {
  for (const object of await readManifest(path)) {
    try {
      await cp.request("POST", collectionPath(object), { body: object });
    } catch (error) {
      if (!(error instanceof KubeRequestError && error.status === 409)) {
        throw error;
      }
    }
  }
}

/**
 * The ServiceAccount (namespace, name) the workload manifest of `mode` runs
 * its pods as.
 */
export async function shippedServiceAccountName(
  mode: SuiteMode,
): Promise<{ namespace: string; name: string }> {
  const path = SHIPPED_MANIFESTS[mode].workload;
  const workloads = (await readManifest(path)).filter((o) =>
    o.kind === "Deployment" || o.kind === "DaemonSet"
  );
  if (workloads.length !== 1) {
    throw new SyntaxError(
      `Cannot find the workload of "${mode}" in "${path}": ${workloads.length} Deployments/DaemonSets`,
    );
  }
  const [workload] = workloads;
  const name = workload.spec.template.spec.serviceAccountName;
  if (typeof name !== "string" || name === "") {
    throw new SyntaxError(
      `Cannot find the ServiceAccount of "${mode}" in "${path}": no serviceAccountName`,
    );
  }
  return { namespace: workload.metadata.namespace, name };
}

/**
 * Asks the TokenRequest API (`POST serviceaccounts/<name>/token`) for a
 * token of an existing ServiceAccount (audience: the API server's) and
 * writes `<workDir>/sa-<namespace>-<name>.kubeconfig` with it.
 */
export async function serviceAccountKubeconfig(
  cp: ControlPlane,
  account: { namespace: string; name: string },
  options: { expirationSeconds?: number } = {},
): Promise<ServiceAccountCredentials> {
  const { namespace, name } = account;
  const answer = await cp.request<Json>(
    "POST",
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${
      encodeURIComponent(name)
    }/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: options.expirationSeconds ?? 3_600 },
      },
    },
  );
  const token = answer.status?.token;
  if (typeof token !== "string" || token === "") {
    throw new Error(
      `Cannot get a token for ServiceAccount "${namespace}/${name}": the TokenRequest answer has none`,
    );
  }
  const kubeconfig = await cp.writeKubeconfig(`sa-${namespace}-${name}`, {
    token,
  });
  return {
    namespace,
    name,
    user: `system:serviceaccount:${namespace}:${name}`,
    token,
    expirationTimestamp: answer.status.expirationTimestamp,
    kubeconfig,
  };
}

/**
 * Applies `deploy/<mode>/rbac.yaml` and returns a TokenRequest token and
 * kubeconfig for the ServiceAccount the mode's workload manifest names.
 */
export async function shippedServiceAccount(
  cp: ControlPlane,
  mode: SuiteMode,
): Promise<ServiceAccountCredentials> {
  await applyManifest(cp, SHIPPED_MANIFESTS[mode].rbac);
  return await serviceAccountKubeconfig(
    cp,
    await shippedServiceAccountName(mode),
  );
}

/**
 * The HTTP status the API server answers `request` with when sent with
 * `token` (2xx included; never throws for an HTTP answer).
 */
export async function statusOf(
  cp: ControlPlane,
  token: string,
  request: ProbeRequest,
): Promise<number> {
  const options: { token: string; body?: unknown; contentType?: string } = {
    token,
  };
  if (request.body !== undefined) options.body = request.body;
  if (request.contentType) options.contentType = request.contentType;
  try {
    await cp.request(request.method, request.path, options);
    return 200;
  } catch (error) {
    if (error instanceof KubeRequestError) return error.status;
    throw error;
  }
}

/**
 * Sends each request with the account's token and returns a line for each
 * one that was NOT refused with 403 Forbidden (so `[]` means every request
 * was refused). Send writes with `?dryRun=All`: authorization is checked
 * the same, and nothing changes should one be allowed.
 */
export async function notRefused(
  cp: ControlPlane,
  account: { token: string },
  requests: readonly ProbeRequest[],
): Promise<string[]> {
  const lines: string[] = [];
  for (const request of requests) {
    const status = await statusOf(cp, account.token, request);
    if (status !== 403) {
      lines.push(`${request.method} ${request.path}: HTTP ${status}`);
    }
  }
  return lines;
}
