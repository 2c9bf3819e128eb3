/**
 * The real {@linkcode KubeApi} over a kubeconfig, and kubeconfig loading.
 * This folder is the only importer of `@kubernetes/client-node`'s runtime
 * (deep modules only, never the package index).
 *
 * @module
 */
import type { EventsV1Event, V1Lease } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import {
  EVENT_NOTE_MAX_LENGTH,
  EVENT_REPORTING_CONTROLLER,
  EVENT_SERIES_CACHE_SIZE,
  EVENT_SERIES_WINDOW_MS,
  FIELD_MANAGER,
  KUBE_LIST_PAGE_SIZE,
  KUBE_REQUEST_TIMEOUT_MS,
  KUBE_SERVICE_ACCOUNT_DIR,
  LOG_CATEGORY,
  PROGRAM_NAME,
  VERSION,
} from "../../constants.ts";
import { type Clock, SYSTEM_CLOCK } from "../../system/clock.ts";
import {
  type DeleteOptions,
  type EventDetails,
  type EvictOptions,
  type GetOptions,
  type InvolvedObject,
  isNotFound,
  type KubeApi,
  KubeApiBase,
  type KubeKind,
  type KubeObjectOf,
  type KubeResource,
  type KubeResourceOf,
  type ListOptions,
  type ListResult,
  type ObjectName,
  objectReference,
  type Patch,
  type ResourceRef,
  truncateUtf8,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from "../mod.ts";
import { KubeConfig } from "./_kubeconfig.ts";
import {
  deserialize,
  type FetchFunction,
  KubeTransport,
  microTime,
  resourcePath,
  RESOURCES,
  watchEvents,
} from "./_http.ts";
import { StringTable } from "./_strings.ts";

/** Options of {@linkcode loadKubeConfig}. */
export interface LoadKubeConfigOptions {
  /** `--kubeconfig`; wins over everything else. */
  path?: string | undefined;
  /** The process environment (`KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT`). */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Directory of the in-cluster service account (`token`, `ca.crt`, `namespace`).
   *
   * @default {KUBE_SERVICE_ACCOUNT_DIR}
   */
  serviceAccountDir?: string;
  /** Use this context instead of the current one (kubectl's `--context`). */
  context?: string | undefined;
}

/**
 * Loads the kubeconfig from `path`, else from `KUBECONFIG` (a `:`-separated
 * list, merged like kubectl: the first file's current context wins), else the
 * in-cluster service account. Throws a `TypeError` naming what it tried.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions): KubeConfig {
  const kubeConfig = loadKubeConfigFiles(options);
  const name = options.context;
  if (name === undefined || name === "") return kubeConfig;
  if (!kubeConfig.getContextObject(name)) {
    throw new TypeError(
      `Cannot use context "${name}": the kubeconfig has no such context (it has ${
        kubeConfig.contexts.map((c) => `"${c.name}"`).join(", ") || "none"
      })`,
    );
  }
  kubeConfig.loadFromOptions({
    clusters: kubeConfig.clusters,
    users: kubeConfig.users,
    contexts: kubeConfig.contexts,
    currentContext: name,
  });
  return kubeConfig;
}

function loadKubeConfigFiles(options: LoadKubeConfigOptions): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (options.path !== undefined && options.path !== "") {
    loadFile(kubeConfig, options.path, "--kubeconfig");
    return kubeConfig;
  }
  const list = (options.env.KUBECONFIG ?? "").split(":").filter((p) =>
    p !== ""
  );
  if (list.length > 0) {
    let loaded = false;
    for (const path of list) {
      if (!exists(path)) continue;
      const one = new KubeConfig();
      loadFile(one, path, "KUBECONFIG");
      if (!loaded) {
        kubeConfig.loadFromOptions({
          clusters: one.clusters,
          users: one.users,
          contexts: one.contexts,
          currentContext: one.currentContext,
        });
        loaded = true;
      } else {
        // kubectl's rule: the first file that defines a name wins.
        for (const cluster of one.clusters) {
          if (!kubeConfig.getCluster(cluster.name)) {
            kubeConfig.addCluster(cluster);
          }
        }
        for (const user of one.users) {
          if (!kubeConfig.getUser(user.name)) kubeConfig.addUser(user);
        }
        for (const context of one.contexts) {
          if (!kubeConfig.getContextObject(context.name)) {
            kubeConfig.addContext(context);
          }
        }
      }
    }
    if (!loaded) {
      throw new TypeError(
        `Cannot load kubeconfig "${options.env.KUBECONFIG}": none of the KUBECONFIG files exists`,
      );
    }
    return kubeConfig;
  }
  const host = options.env.KUBERNETES_SERVICE_HOST;
  const port = options.env.KUBERNETES_SERVICE_PORT;
  if (host && port) {
    const dir = options.serviceAccountDir ?? KUBE_SERVICE_ACCOUNT_DIR;
    const tokenFile = `${dir}/token`;
    if (!exists(tokenFile)) {
      throw new TypeError(
        `Cannot load in-cluster config "${tokenFile}": the service account token is missing`,
      );
    }
    const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
    let namespace: string | undefined;
    try {
      namespace = Deno.readTextFileSync(`${dir}/namespace`).trim();
    } catch {
      namespace = undefined;
    }
    kubeConfig.loadFromOptions({
      clusters: [{
        name: "in-cluster",
        server,
        caFile: `${dir}/ca.crt`,
        skipTLSVerify: false,
      }],
      users: [{
        name: "in-cluster",
        authProvider: { name: "tokenFile", config: { tokenFile } },
      }],
      contexts: [{
        name: "in-cluster",
        cluster: "in-cluster",
        user: "in-cluster",
        ...(namespace ? { namespace } : {}),
      }],
      currentContext: "in-cluster",
    });
    return kubeConfig;
  }
  throw new TypeError(
    "Cannot load kubeconfig: give --kubeconfig, set KUBECONFIG, or run in a pod (KUBERNETES_SERVICE_HOST)",
  );
}

/** The namespace of the kubeconfig's current context (the pod's namespace in-cluster), if any. */
export function currentNamespace(kubeConfig: KubeConfig): string | undefined {
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  return context?.namespace || undefined;
}

function loadFile(kubeConfig: KubeConfig, path: string, source: string) {
  try {
    kubeConfig.loadFromFile(path);
  } catch (error) {
    throw new TypeError(
      `Cannot load kubeconfig "${path}" (${source}): ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@linkcode createKubeApi}. */
export interface CreateKubeApiOptions {
  /** Replaces Deno's `fetch` (a custom transport); TLS material then is the function's business. */
  fetch?: FetchFunction;
  /**
   * `reportingInstance` of recorded Events (usually the pod name).
   *
   * @default {PROGRAM_NAME}
   */
  reportingInstance?: string;
  /**
   * Default field manager of writes.
   *
   * @default {FIELD_MANAGER}
   */
  fieldManager?: string;
  /**
   * Time of Events and request timeouts.
   *
   * @default {SYSTEM_CLOCK}
   */
  clock?: Clock;
  /**
   * Deadline of one request (for a watch: until the response headers).
   *
   * @default {KUBE_REQUEST_TIMEOUT_MS}
   */
  requestTimeoutMs?: number;
  /**
   * Logger.
   *
   * @default {getLogger(["linstor-suite", "kube"])}
   */
  logger?: Logger;
}

/**
 * The real {@linkcode KubeApi}: REST over the kubeconfig's current context.
 * Objects come back as client-node models (timestamps as `Date`s); lists are
 * paged; `close()` releases the TLS client.
 */
export function createKubeApi(
  kubeConfig: KubeConfig,
  options: CreateKubeApiOptions = {},
): KubeApi {
  return new RestKubeApi(kubeConfig, options);
}

interface SeriesEntry {
  name: string;
  namespace: string;
  count: number;
  lastObservedAt: number;
}

class RestKubeApi extends KubeApiBase {
  #transport: KubeTransport;
  #fieldManager: string;
  #reportingInstance: string;
  #clock: Clock;
  #logger: Logger;
  #series = new Map<string, SeriesEntry>();
  #eventCounter = 0;
  /** Shares string values between the objects of lists and watches (caches keep them). */
  #strings = new StringTable();

  constructor(kubeConfig: KubeConfig, options: CreateKubeApiOptions) {
    super();
    this.#logger = options.logger ?? getLogger([LOG_CATEGORY, "kube"]);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    const timeoutMs = options.requestTimeoutMs ?? KUBE_REQUEST_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(
        `Cannot create Kubernetes client: requestTimeoutMs must be positive, got ${timeoutMs}`,
      );
    }
    this.#transport = new KubeTransport(kubeConfig, {
      ...(options.fetch ? { fetch: options.fetch } : {}),
      clock: this.#clock,
      timeoutMs,
      userAgent: `${PROGRAM_NAME}/${VERSION}`,
      logger: this.#logger,
    });
    this.#fieldManager = options.fieldManager ?? FIELD_MANAGER;
    this.#reportingInstance = options.reportingInstance ?? PROGRAM_NAME;
  }

  async list<K extends KubeKind>(
    kind: K,
    options: ListOptions<KubeObjectOf<K>> = {},
  ): Promise<ListResult<KubeObjectOf<K>>> {
    const transform = options.transform;
    const info = RESOURCES[kind];
    const items: KubeObjectOf<K>[] = [];
    let resourceVersion = "";
    let token: string | undefined;
    do {
      const page = await this.#transport.json(
        { verb: "list", resource: info.resource, name: "" },
        {
          method: "GET",
          path: resourcePath(info),
          query: { limit: String(KUBE_LIST_PAGE_SIZE), continue: token },
          signal: options.signal,
        },
      ) as {
        items?: unknown[];
        metadata?: { resourceVersion?: string; continue?: string };
      };
      for (const item of page?.items ?? []) {
        const obj = deserialize<KubeObjectOf<K>>(info, item, this.#strings);
        items.push(transform === undefined ? obj : transform(obj));
      }
      resourceVersion = page?.metadata?.resourceVersion ?? resourceVersion;
      token = page?.metadata?.continue || undefined;
    } while (token !== undefined);
    return { items, resourceVersion };
  }

  watch<K extends KubeKind>(
    kind: K,
    options: WatchOptions,
  ): AsyncIterable<WatchEvent<KubeObjectOf<K>>> {
    return this.#watch<K>(kind, options);
  }

  async *#watch<K extends KubeKind>(
    kind: K,
    options: WatchOptions,
  ): AsyncGenerator<WatchEvent<KubeObjectOf<K>>> {
    const info = RESOURCES[kind];
    const target = { verb: "watch", resource: info.resource, name: "" };
    let sent: { response: Response; release: () => void };
    try {
      sent = await this.#transport.stream(target, {
        method: "GET",
        path: resourcePath(info),
        query: {
          watch: "1",
          resourceVersion: options.resourceVersion,
          allowWatchBookmarks: String(options.allowBookmarks ?? true),
          timeoutSeconds: options.timeoutSeconds === undefined
            ? undefined
            : String(options.timeoutSeconds),
        },
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal.aborted) return;
      throw error;
    }
    yield* watchEvents<KubeObjectOf<K>>(sent.response, {
      info,
      target,
      signal: options.signal,
      onClose: sent.release,
      strings: this.#strings,
    });
  }

  async recordEvent(
    involved: InvolvedObject,
    event: EventDetails,
  ): Promise<void> {
    try {
      await this.#recordEvent(involved, event);
    } catch (error) {
      this.#logger.warn(
        "Cannot record event {reason} on {kind} {name}: {error}",
        {
          reason: event.reason,
          kind: involved.kind,
          name: involved.metadata?.name,
          error,
        },
      );
    }
  }

  async #recordEvent(
    involved: InvolvedObject,
    details: EventDetails,
  ): Promise<void> {
    const meta = involved.metadata ?? {};
    const namespace = meta.namespace || "default";
    const note = truncateUtf8(details.message, EVENT_NOTE_MAX_LENGTH);
    const now = this.#clock.now();
    const key = JSON.stringify([
      involved.apiVersion,
      involved.kind,
      meta.namespace,
      meta.name,
      meta.uid,
      details.type,
      details.reason,
      details.action,
      note,
    ]);
    const known = this.#series.get(key);
    if (known && now - known.lastObservedAt <= EVENT_SERIES_WINDOW_MS) {
      known.count++;
      known.lastObservedAt = now;
      try {
        await this.patch(
          { kind: "events", namespace: known.namespace, name: known.name },
          {
            type: "merge",
            body: {
              series: {
                count: known.count,
                lastObservedTime: microTime(new Date(now)),
              },
            },
          },
          {},
        );
        // Refresh its position in the insertion-ordered cache.
        this.#series.delete(key);
        this.#series.set(key, known);
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        this.#series.delete(key); // Expired or deleted: start a new one.
      }
    }
    const name = `${meta.name || "unknown"}.${
      (BigInt(now) * 1_000_000n + BigInt(this.#eventCounter++ % 1_000_000))
        .toString(16)
    }`;
    const body: EventsV1Event = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name, namespace },
      eventTime: microTime(new Date(now)) as Date,
      reportingController: EVENT_REPORTING_CONTROLLER,
      reportingInstance: this.#reportingInstance,
      type: details.type,
      reason: details.reason,
      action: details.action,
      note,
      regarding: objectReference(involved),
      ...(details.related ? { related: objectReference(details.related) } : {}),
    };
    await this.create("events", body);
    this.#series.set(key, { name, namespace, count: 1, lastObservedAt: now });
    while (this.#series.size > EVENT_SERIES_CACHE_SIZE) {
      const oldest = this.#series.keys().next().value;
      if (oldest === undefined) break;
      this.#series.delete(oldest);
    }
  }

  async evict(ref: ObjectName, options: EvictOptions = {}): Promise<void> {
    const info = RESOURCES.pods;
    const deleteOptions: Record<string, unknown> = {};
    if (options.uid !== undefined) {
      deleteOptions.preconditions = { uid: options.uid };
    }
    if (options.gracePeriodSeconds !== undefined) {
      deleteOptions.gracePeriodSeconds = options.gracePeriodSeconds;
    }
    if (options.dryRun !== undefined) deleteOptions.dryRun = [options.dryRun];
    await this.#transport.json(
      { verb: "evict", resource: info.resource, name: keyOf(ref) },
      {
        method: "POST",
        path: resourcePath(info, ref) + "/eviction",
        body: {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: ref.name, namespace: ref.namespace },
          deleteOptions,
        },
        signal: options.signal,
      },
    );
  }

  close(): Promise<void> {
    this.#transport.close();
    return Promise.resolve();
  }

  async get<K extends KubeResource>(
    ref: ResourceRef<K>,
    options: GetOptions = {},
  ): Promise<KubeResourceOf<K>> {
    const info = RESOURCES[ref.kind];
    const target = targetOf(ref);
    const json = await this.#transport.json(
      { verb: "get", resource: info.resource, name: keyOf(target) },
      {
        method: "GET",
        path: resourcePath(info, target),
        signal: options.signal,
      },
    );
    return fromWire(ref.kind, deserialize<KubeResourceOf<K>>(info, json));
  }

  async create<K extends KubeResource>(
    kind: K,
    obj: KubeResourceOf<K>,
    options: WriteOptions = {},
  ): Promise<KubeResourceOf<K>> {
    const info = RESOURCES[kind];
    const ref = refOf(obj, kind, "create");
    const json = await this.#transport.json(
      { verb: "create", resource: info.resource, name: keyOf(ref) },
      {
        method: "POST",
        path: resourcePath(info, { namespace: ref.namespace }),
        query: this.#writeQuery(options),
        body: toWire(kind, obj),
        signal: options.signal,
      },
    );
    return fromWire(kind, deserialize<KubeResourceOf<K>>(info, json));
  }

  async replace<K extends KubeResource>(
    kind: K,
    obj: KubeResourceOf<K>,
    options: WriteOptions = {},
  ): Promise<KubeResourceOf<K>> {
    const info = RESOURCES[kind];
    const ref = refOf(obj, kind, "replace");
    const json = await this.#transport.json(
      { verb: "replace", resource: info.resource, name: keyOf(ref) },
      {
        method: "PUT",
        path: resourcePath(info, ref),
        query: this.#writeQuery(options),
        body: toWire(kind, obj),
        signal: options.signal,
      },
    );
    return fromWire(kind, deserialize<KubeResourceOf<K>>(info, json));
  }

  async patch<K extends KubeResource>(
    ref: ResourceRef<K>,
    patch: Patch,
    options: WriteOptions = {},
  ): Promise<KubeResourceOf<K>> {
    const info = RESOURCES[ref.kind];
    const target = targetOf(ref);
    const query = this.#writeQuery(options);
    if (patch.type === "apply" && patch.force) query.force = "true";
    const json = await this.#transport.json(
      { verb: "patch", resource: info.resource, name: keyOf(target) },
      {
        method: "PATCH",
        path: resourcePath(info, target),
        query,
        body: patch.type === "apply"
          ? applyBody(patch.body, info, target)
          : patch.body,
        contentType: PATCH_CONTENT_TYPES[patch.type],
        signal: options.signal,
      },
    );
    return fromWire(ref.kind, deserialize<KubeResourceOf<K>>(info, json));
  }

  async delete<K extends KubeResource>(
    ref: ResourceRef<K>,
    options: DeleteOptions = {},
  ): Promise<void> {
    const info = RESOURCES[ref.kind];
    const target = targetOf(ref);
    const body: Record<string, unknown> = {
      apiVersion: "v1",
      kind: "DeleteOptions",
    };
    if (options.preconditions) body.preconditions = options.preconditions;
    if (options.gracePeriodSeconds !== undefined) {
      body.gracePeriodSeconds = options.gracePeriodSeconds;
    }
    if (options.dryRun !== undefined) body.dryRun = [options.dryRun];
    await this.#transport.json(
      { verb: "delete", resource: info.resource, name: keyOf(target) },
      {
        method: "DELETE",
        path: resourcePath(info, target),
        body,
        signal: options.signal,
      },
    );
  }

  #writeQuery(options: WriteOptions): Record<string, string> {
    const query: Record<string, string> = {
      fieldManager: options.fieldManager ?? this.#fieldManager,
    };
    if (options.dryRun !== undefined) query.dryRun = options.dryRun;
    return query;
  }
}

const PATCH_CONTENT_TYPES: Readonly<Record<Patch["type"], string>> = Object
  .freeze({
    merge: "application/merge-patch+json",
    strategic: "application/strategic-merge-patch+json",
    json: "application/json-patch+json",
    apply: "application/apply-patch+yaml",
  });

/** The namespace (empty for cluster-scoped kinds) and name of `ref`. */
function targetOf(ref: ResourceRef): ObjectName {
  const namespaced = RESOURCES[ref.kind].namespaced;
  return { namespace: namespaced ? ref.namespace ?? "" : "", name: ref.name };
}

function keyOf(ref: ObjectName): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

// deno-lint-ignore no-explicit-any
function refOf(obj: any, resource: KubeResource, verb: string): ObjectName {
  const info = RESOURCES[resource];
  const name = obj?.metadata?.name ?? "";
  const namespace = info.namespaced ? (obj?.metadata?.namespace ?? "") : "";
  const generated = verb === "create" && obj?.metadata?.generateName;
  if (name === "" && !generated) {
    throw new TypeError(
      `Cannot ${verb} ${info.resource} "": metadata.name is empty`,
    );
  }
  if (info.namespaced && namespace === "") {
    throw new TypeError(
      `Cannot ${verb} ${info.resource} "${name}": metadata.namespace is empty`,
    );
  }
  return { namespace, name };
}

/** Server-side apply needs `apiVersion`, `kind` and `metadata.name` in the body. */
function applyBody(
  body: Record<string, unknown>,
  info: { type: string },
  ref: ObjectName,
): Record<string, unknown> {
  const kinds: Record<string, [string, string]> = {
    V1Node: ["v1", "Node"],
    V1PersistentVolume: ["v1", "PersistentVolume"],
    V1PersistentVolumeClaim: ["v1", "PersistentVolumeClaim"],
    V1StorageClass: ["storage.k8s.io/v1", "StorageClass"],
  };
  const [apiVersion, kind] = kinds[info.type] ?? [undefined, undefined];
  const metadata = { ...(body.metadata as object ?? {}), name: ref.name };
  if (ref.namespace) {
    (metadata as Record<string, unknown>).namespace = ref.namespace;
  }
  return { apiVersion, kind, ...body, metadata };
}

/** Lease MicroTimes go out with six fractional digits (the apiserver's format). */
function toWire<K extends KubeResource>(
  kind: K,
  obj: KubeResourceOf<K>,
): KubeResourceOf<K> {
  if (kind !== "leases") return obj;
  const lease = obj as V1Lease;
  if (!lease.spec) return obj;
  return {
    ...lease,
    spec: {
      ...lease.spec,
      acquireTime: microTime(lease.spec.acquireTime) as Date,
      renewTime: microTime(lease.spec.renewTime) as Date,
    },
  } as KubeResourceOf<K>;
}

/** client-node leaves Lease MicroTimes as strings: make them `Date`s like every other timestamp. */
function fromWire<K extends KubeResource>(
  kind: K,
  obj: KubeResourceOf<K>,
): KubeResourceOf<K> {
  const spec = kind === "leases" ? (obj as V1Lease).spec : undefined;
  if (!spec) return obj;
  for (const field of ["acquireTime", "renewTime"] as const) {
    const value: unknown = spec[field];
    if (typeof value === "string") {
      const date = new Date(value);
      if (!Number.isNaN(date.getTime())) spec[field] = date;
    }
  }
  return obj;
}
