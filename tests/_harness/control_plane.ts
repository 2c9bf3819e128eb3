/**
 * A real Kubernetes control plane for integration tests: etcd,
 * kube-apiserver (RBAC, static tokens, client certificates), the
 * kube-controller-manager without node lifecycle, and a kube-scheduler with a
 * `linstor` profile that calls an extender of the caller's choosing. All of it
 * on free 127.0.0.1 ports, built by `tests/control_plane/build.sh`.
 *
 * ```ts
 * await using cp = await startControlPlane({ extenderUrl });
 * await cp.createNodes([{ name: "n1", zone: "a" }]);
 * const kc = new KubeConfig();
 * kc.loadFromFile(cp.kubeconfigFor("extender"));
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { homedir } from "node:os";
import { generatePki, type Pki } from "./_certs.ts";
import {
  type Component,
  freePort,
  pollUntil,
  spawnComponent,
  tailLog,
} from "./_process.ts";

/** The modes of linstor-suite; each gets its own API user. */
export const SUITE_MODES = [
  "extender",
  "affinity",
  "agent",
  "fencing",
] as const;

/** One mode of linstor-suite. */
export type SuiteMode = typeof SUITE_MODES[number];

/** A user the control plane knows: the admin or one suite mode. */
export type ControlPlaneUser = "admin" | SuiteMode;

/** Name of the scheduler profile that calls the extender. */
export const LINSTOR_SCHEDULER_NAME = "linstor";

/** Namespace of the service accounts the mode users impersonate by default. */
export const DEFAULT_MODE_NAMESPACE = "linstor-suite";

/** Locations of the four control-plane binaries. */
export interface ControlPlaneBinaries {
  /** Kubernetes version, e.g. "v1.35.8" (from tests/control_plane/go.mod). */
  version: string;
  /** Directory holding the binaries. */
  dir: string;
  /** Path of etcd. */
  etcd: string;
  /** Path of kube-apiserver. */
  kubeApiserver: string;
  /** Path of kube-controller-manager. */
  kubeControllerManager: string;
  /** Path of kube-scheduler. */
  kubeScheduler: string;
}

/** Thrown when the binaries are not built yet. */
export class ControlPlaneUnavailableError extends Error {
  /** Directory that was searched. */
  readonly dir: string;

  /** Creates the error for the missing cache directory `dir`. */
  constructor(dir: string, missing: string[]) {
    super(
      `Cannot find the control-plane binaries in "${dir}": missing ${
        missing.join(", ")
      }; build them with "bash tests/control_plane/build.sh" ` +
        "(needs Go >= 1.25 and the Go module proxy; about 30 min cold, " +
        "seconds when GOCACHE is warm)",
    );
    this.name = "ControlPlaneUnavailableError";
    this.dir = dir;
  }
}

const GO_MOD = new URL("../control_plane/go.mod", import.meta.url);

/** Reads the pinned Kubernetes version from tests/control_plane/go.mod. */
export function pinnedKubernetesVersion(): string {
  const text = Deno.readTextFileSync(GO_MOD);
  const match = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v1\.\d+\.\d+)/m
    .exec(text);
  if (!match?.[1]) {
    throw new SyntaxError(
      `Cannot read "k8s.io/kubernetes" from "${GO_MOD.pathname}": no require line`,
    );
  }
  return match[1];
}

/** The cache root: $LINSTOR_SUITE_CACHE or ~/.cache/linstor-suite. */
export function cacheRoot(): string {
  return Deno.env.get("LINSTOR_SUITE_CACHE") ??
    join(homedir(), ".cache", "linstor-suite");
}

/** True when running in CI (`CI=true` or `CI=1`). */
export function isCi(): boolean {
  const ci = Deno.env.get("CI")?.toLowerCase();
  return ci === "true" || ci === "1";
}

/**
 * Locates the binaries in `<cache>/k8s-<version>/`; throws
 * {@linkcode ControlPlaneUnavailableError} when any is missing.
 */
export function controlPlaneBinaries(
  options: { cacheDir?: string; version?: string } = {},
): ControlPlaneBinaries {
  const version = options.version ?? pinnedKubernetesVersion();
  const dir = join(options.cacheDir ?? cacheRoot(), `k8s-${version}`);
  const names = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
  ];
  const missing = names.filter((name) => {
    try {
      const info = Deno.statSync(join(dir, name));
      return !info.isFile || ((info.mode ?? 0o755) & 0o111) === 0;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw new ControlPlaneUnavailableError(dir, missing);
  return {
    version,
    dir,
    etcd: join(dir, "etcd"),
    kubeApiserver: join(dir, "kube-apiserver"),
    kubeControllerManager: join(dir, "kube-controller-manager"),
    kubeScheduler: join(dir, "kube-scheduler"),
  };
}

/**
 * For `Deno.test({ ignore })`: `true` (after printing how to build the
 * binaries) when they are missing outside CI. In CI (`CI=true`) it returns
 * `false` so the test runs and fails loudly: a missing control plane is never
 * a silent skip there.
 */
export function ignoreWithoutControlPlane(): boolean {
  try {
    controlPlaneBinaries();
    return false;
  } catch (error) {
    if (isCi() || !(error instanceof ControlPlaneUnavailableError)) {
      return false;
    }
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `\nSkipping real control-plane tests: ${error.message}\n`,
      ),
    );
    return true;
  }
}

/** A Node to create through the API (there is no kubelet). */
export interface NodeSpec {
  /** Node name; also the `kubernetes.io/hostname` label. */
  name: string;
  /** Extra labels. */
  labels?: Record<string, string>;
  /** Sets `topology.kubernetes.io/zone`. */
  zone?: string;
  /** Sets `topology.kubernetes.io/region`. */
  region?: string;
  /** Allocatable CPU. @default {"4"} */
  cpu?: string;
  /** Allocatable memory. @default {"8Gi"} */
  memory?: string;
  /** Allocatable pods. @default {"110"} */
  pods?: string;
  /** Taints; none by default. */
  taints?: { key: string; value?: string; effect: string }[];
  /** Ready condition status. @default {true} */
  ready?: boolean;
}

/** Identity behind a mode user's bearer token. */
export interface ModeIdentity {
  /** User name, e.g. "system:serviceaccount:linstor-suite:linstor-suite-agent". */
  user: string;
  /** Groups. */
  groups: string[];
}

/** Options of {@linkcode startControlPlane}. */
export interface ControlPlaneOptions {
  /**
   * Extender base URL for the `linstor` scheduler profile, e.g.
   * "http://127.0.0.1:8099/scheduler". Without it the profile has no extender.
   */
  extenderUrl?: string;
  /** Extender weight. @default {5} */
  extenderWeight?: number;
  /** Extender HTTP timeout (Go duration). @default {"5s"} */
  extenderHttpTimeout?: string;
  /**
   * Whether kube-scheduler sends the extender node names only (`true`) or
   * full Node objects (`false`). @default {true}
   */
  extenderNodeCacheCapable?: boolean;
  /** Feature gates for every component, e.g. `{ MutablePVNodeAffinity: true }`. */
  featureGates?: Record<string, boolean>;
  /**
   * Namespace of the service accounts the mode users stand for: the token of
   * mode `m` authenticates as `system:serviceaccount:<ns>:linstor-suite-<m>`,
   * so RBAC manifests written for service accounts apply unchanged.
   *
   * @default {"linstor-suite"}
   */
  modeNamespace?: string;
  /** Working directory (certs, kubeconfigs, logs); a temp dir by default. */
  workDir?: string;
  /** Remove `workDir` on stop. @default {true} for a temp dir */
  removeWorkDir?: boolean;
  /** Binaries; found with {@linkcode controlPlaneBinaries} by default. */
  binaries?: ControlPlaneBinaries;
  /**
   * Let the components outlive this process (`deno task cluster up`): no
   * parent-death signal, no unload/signal handlers. @default {false}
   */
  detached?: boolean;
  /** Deadline for each component to become ready, ms. @default {90000} */
  readyTimeoutMs?: number;
}

/** Pids and paths of a running control plane (for `cluster down`). */
export interface ControlPlaneState {
  /** API server URL. */
  server: string;
  /** Working directory. */
  workDir: string;
  /** etcd data directory (often on /dev/shm). */
  dataDir: string;
  /** Component name → pid (= process group id). */
  pids: Record<string, number>;
  /** Component name → binary path, to check a pid was not reused. */
  binaries: Record<string, string>;
}

/** A component for {@linkcode ControlPlane.addComponent}. */
export interface ComponentSpec {
  /** Name; also the log file name. */
  name: string;
  /** Path of the binary. */
  binary: string;
  /** Its arguments. */
  args: string[];
  /** Readiness probe: `true` when ready, `undefined` or a throw otherwise. */
  ready: () => Promise<true | undefined>;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

const OWNER_FILE = ".linstor-suite-owner";

/**
 * Removes temp dirs of earlier harness runs whose owning process is gone (a
 * `kill -9` of the test runner leaves its etcd data on /dev/shm behind).
 */
async function sweepStaleDirs(): Promise<void> {
  const parents = ["/dev/shm", Deno.env.get("TMPDIR") ?? "/tmp"];
  for (const parent of parents) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(parent));
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.isDirectory || !/^linstor-suite-(cp|etcd)-/.test(entry.name)) {
        continue;
      }
      const dir = join(parent, entry.name);
      let owner: number;
      try {
        owner = Number(await Deno.readTextFile(join(dir, OWNER_FILE)));
      } catch {
        continue; // Not ours to judge (or still being created).
      }
      try {
        await Deno.stat(`/proc/${owner}`);
      } catch {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  }
}

/**
 * A temp dir marked with this process as owner, so a later run may sweep it
 * once this process is gone. `detached` dirs (cluster up) stay unmarked.
 */
async function makeOwnedTempDir(
  prefix: string,
  options: { dir?: string; detached?: boolean } = {},
): Promise<string> {
  const path = await Deno.makeTempDir(
    options.dir ? { dir: options.dir, prefix } : { prefix },
  );
  if (!options.detached) {
    await Deno.writeTextFile(join(path, OWNER_FILE), String(Deno.pid));
  }
  return path;
}

async function makeDataDir(detached: boolean): Promise<string> {
  // etcd on tmpfs when there is one: fsync-free and fast.
  try {
    if ((await Deno.stat("/dev/shm")).isDirectory) {
      return await makeOwnedTempDir("linstor-suite-etcd-", {
        dir: "/dev/shm",
        detached,
      });
    }
  } catch {
    // Fall through to the default temp dir.
  }
  return await makeOwnedTempDir("linstor-suite-etcd-", { detached });
}

/** A running control plane. Stop it with `stop()` or `await using`. */
export class ControlPlane {
  /** API server URL, "https://127.0.0.1:<port>". */
  readonly server: string;
  /** Working directory with certs, kubeconfigs and `logs/`. */
  readonly workDir: string;
  /** CA certificate (PEM text) every serving certificate chains to. */
  readonly caPem: string;
  /** Path of the CA certificate. */
  readonly caFile: string;
  /** Bearer tokens per user. */
  readonly tokens: Readonly<Record<ControlPlaneUser, string>>;
  /** Identities the mode tokens authenticate as. */
  readonly identities: Readonly<Record<SuiteMode, ModeIdentity>>;
  /** Kubeconfig of the admin (bearer token, group system:masters). */
  readonly adminKubeconfig: string;
  /** Kubeconfig of the admin with a client certificate instead of a token. */
  readonly adminCertKubeconfig: string;
  /** The binaries in use. */
  readonly binaries: ControlPlaneBinaries;
  /** The PKI files. */
  readonly pki: Pki;

  #components = new Map<string, Component>();
  #specs = new Map<string, ComponentSpec>();
  #http: Deno.HttpClient;
  #detached: boolean;
  #removeDirs: string[];
  #dataDir: string;
  #readyTimeoutMs: number;
  #stopped = false;
  #unload: (() => void) | undefined;
  #onSignal: (() => void) | undefined;

  /** Use {@linkcode startControlPlane}. */
  constructor(init: {
    server: string;
    workDir: string;
    pki: Pki;
    caPem: string;
    tokens: Record<ControlPlaneUser, string>;
    identities: Record<SuiteMode, ModeIdentity>;
    binaries: ControlPlaneBinaries;
    detached: boolean;
    removeDirs: string[];
    dataDir: string;
    readyTimeoutMs: number;
  }) {
    this.server = init.server;
    this.workDir = init.workDir;
    this.pki = init.pki;
    this.caPem = init.caPem;
    this.caFile = init.pki.caCert;
    this.tokens = init.tokens;
    this.identities = init.identities;
    this.binaries = init.binaries;
    this.adminKubeconfig = join(init.workDir, "admin.kubeconfig");
    this.adminCertKubeconfig = join(init.workDir, "admin-cert.kubeconfig");
    this.#detached = init.detached;
    this.#removeDirs = init.removeDirs;
    this.#dataDir = init.dataDir;
    this.#readyTimeoutMs = init.readyTimeoutMs;
    this.#http = Deno.createHttpClient({ caCerts: [init.caPem] });
    if (!init.detached) this.#installCleanupHooks();
  }

  /** Path of the kubeconfig of `user` (bearer token). */
  kubeconfigFor(user: ControlPlaneUser): string {
    return user === "admin"
      ? this.adminKubeconfig
      : join(this.workDir, `${user}.kubeconfig`);
  }

  /**
   * Writes `<workDir>/<name>.kubeconfig` for this API server (its CA) with
   * the given user credentials (e.g. `{ token }`) and returns its path.
   */
  async writeKubeconfig(
    name: string,
    credentials: Record<string, string>,
  ): Promise<string> {
    const path = join(this.workDir, `${name}.kubeconfig`);
    await Deno.writeTextFile(
      path,
      kubeconfig(this.server, this.caPem, name, credentials),
      { mode: 0o600 },
    );
    return path;
  }

  /** Directory holding one log file per component. */
  get logDir(): string {
    return join(this.workDir, "logs");
  }

  /** Pids and paths, for `cluster down`. */
  state(): ControlPlaneState {
    const pids: Record<string, number> = {};
    const binaries: Record<string, string> = {};
    for (const [name, component] of this.#components) {
      pids[name] = component.pid;
      binaries[name] = this.#specs.get(name)?.binary ?? "";
    }
    return {
      server: this.server,
      workDir: this.workDir,
      dataDir: this.#dataDir,
      pids,
      binaries,
    };
  }

  /**
   * Sends one request as the admin (or `options.user`) and returns the
   * parsed JSON body; throws {@linkcode KubeRequestError} on a non-2xx
   * status. For setup and assertions; the code under test brings its own
   * client.
   */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: {
      body?: unknown;
      contentType?: string;
      user?: ControlPlaneUser;
      /** A bearer token to send instead of `user`'s. */
      token?: string;
    } = {},
  ): Promise<T> {
    const token = options.token ?? this.tokens[options.user ?? "admin"];
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: "application/json",
    };
    if (options.body !== undefined) {
      headers["content-type"] = options.contentType ?? "application/json";
    }
    const init: RequestInit & { client: Deno.HttpClient } = {
      method,
      headers,
      client: this.#http,
      signal: AbortSignal.timeout(30_000),
    };
    if (options.body !== undefined) init.body = JSON.stringify(options.body);
    const response = await fetch(`${this.server}${path}`, init);
    const text = await response.text();
    if (!response.ok) {
      throw new KubeRequestError(method, path, response.status, text);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * Creates Nodes with allocatable cpu/memory/pods, topology labels, the
   * Ready condition (written through the status subresource: no kubelet
   * exists) and exactly the requested taints (the apiserver's
   * TaintNodesByCondition admission adds `not-ready` on create; it is
   * removed here because the node-lifecycle controller, which would do it,
   * is off).
   */
  async createNodes(specs: NodeSpec[]): Promise<void> {
    for (const spec of specs) {
      const labels: Record<string, string> = {
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        ...spec.labels,
      };
      if (spec.zone) labels["topology.kubernetes.io/zone"] = spec.zone;
      if (spec.region) labels["topology.kubernetes.io/region"] = spec.region;
      const resources = {
        cpu: spec.cpu ?? "4",
        memory: spec.memory ?? "8Gi",
        pods: spec.pods ?? "110",
      };
      const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const status = {
        capacity: resources,
        allocatable: resources,
        conditions: [{
          type: "Ready",
          status: spec.ready === false ? "False" : "True",
          reason: spec.ready === false ? "TestNotReady" : "KubeletReady",
          message: "set by the linstor-suite test harness",
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        }],
        addresses: [
          { type: "InternalIP", address: "127.0.0.1" },
          { type: "Hostname", address: spec.name },
        ],
      };
      await this.request("POST", "/api/v1/nodes", {
        body: {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name: spec.name, labels },
          spec: { taints: spec.taints ?? [] },
          status,
        },
      });
      const path = `/api/v1/nodes/${encodeURIComponent(spec.name)}`;
      await this.request("PATCH", path, {
        body: { spec: { taints: spec.taints ?? null } },
        contentType: "application/merge-patch+json",
      });
      await this.request("PATCH", `${path}/status`, {
        body: { status },
        contentType: "application/merge-patch+json",
      });
    }
  }

  /** Deletes Nodes by name; missing ones are ignored. */
  async deleteNodes(names: string[]): Promise<void> {
    for (const name of names) {
      try {
        await this.request(
          "DELETE",
          `/api/v1/nodes/${encodeURIComponent(name)}`,
        );
      } catch (error) {
        if (!(error instanceof KubeRequestError && error.status === 404)) {
          throw error;
        }
      }
    }
  }

  /**
   * Creates a namespace and waits until its `default` ServiceAccount exists
   * (the ServiceAccount admission plugin refuses pods before that).
   */
  async createNamespace(
    name: string,
    labels: Record<string, string> = {},
  ): Promise<void> {
    await this.request("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } },
    });
    await pollUntil(`namespace "${name}" default service account`, async () => {
      await this.request(
        "GET",
        `/api/v1/namespaces/${
          encodeURIComponent(name)
        }/serviceaccounts/default`,
      );
      return true;
    }, { timeoutMs: this.#readyTimeoutMs });
  }

  /**
   * Stops kube-apiserver and starts it again on the same port (same etcd),
   * resolving once it is ready. Clients see their connections and watches
   * break.
   */
  async restartApiserver(): Promise<void> {
    const component = this.#components.get("kube-apiserver");
    await component?.stop();
    await this.#start("kube-apiserver");
  }

  /** Stops every component (reverse start order) and removes temp dirs. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#removeCleanupHooks();
    const components = [...this.#components.values()].reverse();
    for (const component of components) await component.stop();
    this.#http.close();
    for (const dir of this.#removeDirs) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /** Same as `stop()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Forgets the components without stopping them and releases local
   * resources, for `cluster up` which exits while they run on.
   */
  release(): void {
    this.#stopped = true;
    this.#removeCleanupHooks();
    for (const component of this.#components.values()) component.unref();
    this.#http.close();
  }

  /** Registers and starts a component, waiting until it is ready. */
  async addComponent(spec: ComponentSpec): Promise<void> {
    this.#specs.set(spec.name, spec);
    await this.#start(spec.name);
  }

  async #start(name: string): Promise<void> {
    const spec = this.#specs.get(name);
    if (!spec) throw new RangeError(`Cannot start "${name}": unknown`);
    const logFile = join(this.logDir, `${name}.log`);
    const component = await spawnComponent(name, spec.binary, {
      args: spec.args,
      logFile,
      dieWithParent: !this.#detached,
    });
    this.#components.set(name, component);
    const exited = new AbortController();
    component.exited.then(() => exited.abort(), () => exited.abort());
    try {
      await pollUntil(`${name} ready`, spec.ready, {
        timeoutMs: this.#readyTimeoutMs,
        intervalMs: 200,
        signal: exited.signal,
      });
    } catch (error) {
      const reason = component.done ? "exited" : "is not ready";
      const tail = await tailLog(logFile);
      await component.stop();
      throw new Error(
        `Cannot start "${name}": it ${reason}; last log lines of ${logFile}:\n${tail}`,
        { cause: error },
      );
    }
  }

  /** Probes `url` (GET) with the admin token; true on HTTP 200. */
  async probe(url: string, token?: string): Promise<true | undefined> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(url, {
      headers,
      client: this.#http,
      signal: AbortSignal.timeout(5_000),
    });
    await response.body?.cancel();
    return response.status === 200 ? true : undefined;
  }

  #installCleanupHooks(): void {
    const killAll = () => {
      for (const component of this.#components.values()) component.killNow();
      for (const dir of this.#removeDirs) {
        try {
          Deno.removeSync(dir, { recursive: true });
        } catch {
          // Best effort on the way out.
        }
      }
    };
    this.#unload = killAll;
    globalThis.addEventListener("unload", killAll);
    const onSignal = () => {
      killAll();
      Deno.exit(130);
    };
    this.#onSignal = onSignal;
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);
  }

  #removeCleanupHooks(): void {
    if (this.#unload) globalThis.removeEventListener("unload", this.#unload);
    if (this.#onSignal) {
      Deno.removeSignalListener("SIGINT", this.#onSignal);
      Deno.removeSignalListener("SIGTERM", this.#onSignal);
    }
    this.#unload = undefined;
    this.#onSignal = undefined;
  }
}

/** A non-2xx answer of the API server. */
export class KubeRequestError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** Response body (usually a Status object as JSON). */
  readonly body: string;

  /** Creates the error for `method path` answered with `status`. */
  constructor(method: string, path: string, status: number, body: string) {
    super(`Cannot ${method} "${path}": HTTP ${status} ${body.slice(0, 500)}`);
    this.name = "KubeRequestError";
    this.status = status;
    this.body = body;
  }
}

function kubeconfig(
  server: string,
  caPem: string,
  user: string,
  credentials: Record<string, string>,
): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "linstor-suite-test",
        cluster: { server, "certificate-authority-data": base64(caPem) },
      }],
      users: [{ name: user, user: credentials }],
      contexts: [{
        name: user,
        context: { cluster: "linstor-suite-test", user },
      }],
      "current-context": user,
    },
    null,
    2,
  );
}

function featureGateFlag(gates: Record<string, boolean> | undefined): string[] {
  if (!gates || Object.keys(gates).length === 0) return [];
  const value = Object.entries(gates).map(([k, v]) => `${k}=${v}`).join(",");
  return [`--feature-gates=${value}`];
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler on
 * free loopback ports and waits until each is ready. On failure everything
 * started so far is stopped again.
 */
export async function startControlPlane(
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  await sweepStaleDirs();
  // A port picked by binding port 0 can be taken (by another test's
  // outgoing connection, say) before the component binds it: start again
  // with fresh ports.
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      const text = error instanceof Error ? error.message : "";
      if (attempt >= 3 || !text.includes("address already in use")) throw error;
    }
  }
}

async function startOnce(options: ControlPlaneOptions): Promise<ControlPlane> {
  const binaries = options.binaries ?? controlPlaneBinaries();
  const detached = options.detached ?? false;
  const removeDirs: string[] = [];
  let workDir = options.workDir;
  if (workDir) {
    await Deno.mkdir(workDir, { recursive: true });
    if (options.removeWorkDir) removeDirs.push(workDir);
  } else {
    workDir = await makeOwnedTempDir("linstor-suite-cp-", { detached });
    if (options.removeWorkDir !== false) removeDirs.push(workDir);
  }
  await Deno.mkdir(join(workDir, "logs"), { recursive: true });
  const dataDir = await makeDataDir(detached);
  removeDirs.push(dataDir);

  const pki = await generatePki(workDir);
  const caPem = await Deno.readTextFile(pki.caCert);
  const adminCertPem = await Deno.readTextFile(pki.adminCert);
  const adminKeyPem = await Deno.readTextFile(pki.adminKey);

  const modeNamespace = options.modeNamespace ?? DEFAULT_MODE_NAMESPACE;
  const tokens = { admin: randomToken() } as Record<ControlPlaneUser, string>;
  const identities = {} as Record<SuiteMode, ModeIdentity>;
  const schedulerToken = randomToken();
  const controllerManagerToken = randomToken();
  const rows = [
    `${tokens.admin},linstor-suite:admin,uid-admin,"system:masters"`,
    `${schedulerToken},system:kube-scheduler,uid-kube-scheduler`,
    // KCM runs with one identity and needs every controller's rights.
    `${controllerManagerToken},system:kube-controller-manager,uid-kcm,"system:masters"`,
  ];
  for (const mode of SUITE_MODES) {
    tokens[mode] = randomToken();
    identities[mode] = {
      user: `system:serviceaccount:${modeNamespace}:linstor-suite-${mode}`,
      groups: [
        "system:serviceaccounts",
        `system:serviceaccounts:${modeNamespace}`,
      ],
    };
    rows.push(
      `${tokens[mode]},${identities[mode].user},uid-${mode},"${
        identities[mode].groups.join(",")
      }"`,
    );
  }
  const tokenFile = join(workDir, "tokens.csv");
  await Deno.writeTextFile(tokenFile, rows.join("\n") + "\n", { mode: 0o600 });

  const etcdPort = freePort();
  const etcdPeerPort = freePort();
  const apiPort = freePort();
  const kcmPort = freePort();
  const schedulerPort = freePort();
  const server = `https://127.0.0.1:${apiPort}`;

  const writeKubeconfig = (
    name: string,
    user: string,
    creds: Record<string, string>,
  ) =>
    Deno.writeTextFile(
      join(workDir, `${name}.kubeconfig`),
      kubeconfig(server, caPem, user, creds),
      { mode: 0o600 },
    );
  await writeKubeconfig("admin", "admin", { token: tokens.admin });
  await writeKubeconfig("admin-cert", "admin-cert", {
    "client-certificate-data": base64(adminCertPem),
    "client-key-data": base64(adminKeyPem),
  });
  for (const mode of SUITE_MODES) {
    await writeKubeconfig(mode, mode, { token: tokens[mode] });
  }
  await writeKubeconfig("kube-scheduler", "kube-scheduler", {
    token: schedulerToken,
  });
  await writeKubeconfig("kube-controller-manager", "kube-controller-manager", {
    token: controllerManagerToken,
  });

  const schedulerConfig = join(workDir, "kube-scheduler.yaml");
  const config: Record<string, unknown> = {
    apiVersion: "kubescheduler.config.k8s.io/v1",
    kind: "KubeSchedulerConfiguration",
    clientConnection: {
      kubeconfig: join(workDir, "kube-scheduler.kubeconfig"),
      qps: 200,
      burst: 400,
    },
    leaderElection: { leaderElect: false },
    percentageOfNodesToScore: 100,
    podInitialBackoffSeconds: 1,
    podMaxBackoffSeconds: 1,
    profiles: [
      { schedulerName: "default-scheduler" },
      { schedulerName: LINSTOR_SCHEDULER_NAME },
    ],
  };
  if (options.extenderUrl) {
    // kube-scheduler has one extender list for all profiles; ignorable keeps
    // default-scheduler pods schedulable when the extender is down.
    config.extenders = [{
      urlPrefix: options.extenderUrl,
      filterVerb: "filter",
      prioritizeVerb: "prioritize",
      weight: options.extenderWeight ?? 5,
      nodeCacheCapable: options.extenderNodeCacheCapable ?? true,
      ignorable: true,
      httpTimeout: options.extenderHttpTimeout ?? "5s",
    }];
  }
  await Deno.writeTextFile(schedulerConfig, JSON.stringify(config, null, 2));

  const gates = featureGateFlag(options.featureGates);
  const cp = new ControlPlane({
    server,
    workDir,
    pki,
    caPem,
    tokens,
    identities,
    binaries,
    detached,
    removeDirs,
    dataDir,
    readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
  });
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  try {
    await cp.addComponent({
      name: "etcd",
      binary: binaries.etcd,
      args: [
        "--name=test",
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=test=${peerUrl}`,
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      ready: async () => {
        const response = await fetch(`${etcdUrl}/health`, {
          signal: AbortSignal.timeout(2_000),
        });
        const body = await response.json() as { health?: string };
        return body.health === "true" ? true : undefined;
      },
    });
    await cp.addComponent({
      name: "kube-apiserver",
      binary: binaries.kubeApiserver,
      args: [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(workDir, "apiserver-certs")}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--token-auth-file=${tokenFile}`,
        "--authorization-mode=RBAC",
        "--endpoint-reconciler-type=none",
        "--service-account-issuer=https://kubernetes.default.svc",
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
        ...gates,
      ],
      ready: () => cp.probe(`${server}/readyz`, tokens.admin),
    });
    const kcmKubeconfig = join(workDir, "kube-controller-manager.kubeconfig");
    await cp.addComponent({
      name: "kube-controller-manager",
      binary: binaries.kubeControllerManager,
      args: [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        "--leader-elect=false",
        "--controllers=*,-node-lifecycle-controller",
        `--root-ca-file=${pki.caCert}`,
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${kcmPort}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        "--profiling=false",
        ...gates,
      ],
      ready: () => cp.probe(`https://127.0.0.1:${kcmPort}/healthz`),
    });
    const schedulerKubeconfig = join(workDir, "kube-scheduler.kubeconfig");
    await cp.addComponent({
      name: "kube-scheduler",
      binary: binaries.kubeScheduler,
      args: [
        `--config=${schedulerConfig}`,
        `--authentication-kubeconfig=${schedulerKubeconfig}`,
        `--authorization-kubeconfig=${schedulerKubeconfig}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${schedulerPort}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        ...gates,
      ],
      ready: () => cp.probe(`https://127.0.0.1:${schedulerPort}/readyz`),
    });
  } catch (error) {
    await cp.stop();
    throw error;
  }
  return cp;
}
