/**
 * `LinstorClient`: typed, grouped calls of the LINSTOR REST API v1.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  LINSTOR_DEFAULT_HOST,
  LINSTOR_DEFAULT_TIMEOUT_MS,
  LINSTOR_EVENT_MAY_PROMOTE_CHANGE,
  LINSTOR_TLS_RELOAD_INTERVAL_MS,
  LOG_CATEGORY,
  PROGRAM_NAME,
  VERSION,
} from "../constants.ts";
import { SYSTEM_CLOCK } from "../system/clock.ts";
import { type LinstorClientOptions, parseControllerUrl } from "./_config.ts";
import { LinstorApiError } from "./_errors.ts";
import { NO_OBSERVER, registerLinstorMetrics } from "./_metrics.ts";
import {
  createParseMemo,
  parseLinstorJson,
  parseLinstorJsonCooperatively,
  parseLinstorJsonStream,
  type ParseMemo,
  stringifyLinstorJson,
} from "./_json.ts";
import { TokenBucket } from "./_rate_limiter.ts";
import { parseRetCode, RC_CODE_SIGN_IN } from "./_ret_code.ts";
import { parseEventStream } from "./_sse.ts";
import {
  defaultFetch,
  HttpClients,
  Transport,
  type TransportResponse,
} from "./_request.ts";
import type {
  ApiCallRc,
  AutoPlaceRequest,
  ControllerVersion,
  Node,
  NodeCreate,
  NodeModify,
  PromotionEvent,
  PropsModify,
  Resource,
  ResourceCreate,
  ResourceDefinition,
  ResourceDefinitionCreate,
  ResourceDefinitionModify,
  ResourceGroup,
  ResourceGroupCreate,
  ResourceGroupModify,
  ResourceGroupSpawn,
  ResourceWithVolumes,
  StoragePool,
  StoragePoolCreate,
  VolumeDefinition,
  VolumeDefinitionCreate,
  VolumeDefinitionModify,
} from "./types.ts";

/** Options every call accepts. */
export interface CallOptions {
  /** Cancels the call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Per-attempt timeout of this call in ms, replacing the client's
   * `timeoutMs` (e.g. longer for a spawn on a busy controller).
   */
  timeoutMs?: number;
  /**
   * The caller treats a list result as immutable (the state model's
   * poller): with the client's `yieldControl` set, elements unchanged since
   * the last call of the same path are the same deeply frozen objects, and
   * an identical body gives the identical (frozen) array.
   */
  reuse?: boolean;
}

/** Paging of list calls (server-side `limit`/`offset`; 0 = everything). */
export interface PageOptions extends CallOptions {
  /** Maximum number of items (the server still computes the whole list). */
  limit?: number;
  /** Items to skip; ignored by the server unless `limit` > 0. */
  offset?: number;
}

/** A node filter of list calls. */
export interface NodesFilter {
  /** Node names (repeated `nodes=` keys). */
  nodes?: readonly string[];
}

/** A property filter of list calls. */
export interface PropsFilter {
  /** Property filters, `key` (must exist) or `key=value`. */
  props?: readonly string[];
}

/** A storage-pool filter of list calls. */
export interface StoragePoolsFilter {
  /** Storage-pool names (repeated `storage_pools=` keys). */
  storagePools?: readonly string[];
}

/** Filters of `nodes.list()`. */
export interface NodeListOptions
  extends PageOptions, NodesFilter, PropsFilter {}

/** Filters of `storagePools.list()`. */
export interface StoragePoolListOptions
  extends PageOptions, StoragePoolsFilter {
  /** Answer from the controller's last known free space (no satellite trip). */
  cached?: boolean;
}

/** Filters of `storagePools.view()`. */
export interface StoragePoolViewOptions
  extends StoragePoolListOptions, NodesFilter, PropsFilter {}

/** Filters of `resourceGroups.list()`. */
export interface ResourceGroupListOptions extends PageOptions, PropsFilter {
  /** Resource-group names (repeated `resource_groups=` keys). */
  resourceGroups?: readonly string[];
}

/** Filters of `resourceDefinitions.list()`. */
export interface ResourceDefinitionListOptions
  extends PageOptions, PropsFilter {
  /** Resource-definition names (repeated `resource_definitions=` keys). */
  resourceDefinitions?: readonly string[];
  /** Embed `volume_definitions` in each item. */
  withVolumeDefinitions?: boolean;
}

/** Filters of `resources.view()` (`props` filters on the resource's own props). */
export interface ResourceViewOptions
  extends PageOptions, NodesFilter, StoragePoolsFilter, PropsFilter {
  /** Resource(-definition) names; prefer this narrow filter on big clusters. */
  resources?: readonly string[];
}

/** Options of event streams. */
export interface EventStreamOptions extends CallOptions {
  /**
   * Ask the controller to replay the current state first
   * (`Last-Event-ID: current`); default true.
   */
  replayCurrent?: boolean;
}

type QueryValue = string | number | boolean | readonly string[] | undefined;

/** List bodies longer than this are parsed cooperatively (with `yieldControl`). */
const COOPERATIVE_PARSE_CHARS = 256 * 1024;

/** The calls of a top-level LINSTOR collection `/v1/<collection>`, by object name. */
export interface CollectionApi<T, Create, Modify, ListOptions> {
  /** `GET /v1/<collection>`. */
  list(options?: ListOptions): Promise<T[]>;
  /** `GET /v1/<collection>/{name}`. */
  get(name: string, options?: CallOptions): Promise<T>;
  /** `POST /v1/<collection>`. */
  create(item: Create, options?: CallOptions): Promise<ApiCallRc[]>;
  /** `PUT /v1/<collection>/{name}`. */
  modify(
    name: string,
    changes: Modify,
    options?: CallOptions,
  ): Promise<ApiCallRc[]>;
  /** `DELETE /v1/<collection>/{name}`. */
  delete(name: string, options?: CallOptions): Promise<ApiCallRc[]>;
}

/**
 * The calls of a collection under one parent object
 * (`…/{parent}/<collection>`, e.g. a node's storage pools), by parent and key
 * (`list` of the resources of a definition has no volumes).
 */
export interface NestedCollectionApi<Key, T, Create, Modify, ListOptions> {
  /** `GET …/{parent}/<collection>`. */
  list(parent: string, options?: ListOptions): Promise<T[]>;
  /** `GET …/{parent}/<collection>/{key}`. */
  get(parent: string, key: Key, options?: CallOptions): Promise<T>;
  /** `POST …/{parent}/<collection>`. */
  create(
    parent: string,
    item: Create,
    options?: CallOptions,
  ): Promise<ApiCallRc[]>;
  /** `PUT …/{parent}/<collection>/{key}`. */
  modify(
    parent: string,
    key: Key,
    changes: Modify & CallOptions,
  ): Promise<ApiCallRc[]>;
  /** `DELETE …/{parent}/<collection>/{key}`. */
  delete(
    parent: string,
    key: Key,
    options?: CallOptions,
  ): Promise<ApiCallRc[]>;
}

/** The LINSTOR REST client shared by every mode. Close it when done. */
export class LinstorClient {
  /** `/v1/controller` calls. */
  readonly controller: {
    /** `GET /v1/controller/version`. */
    version(options?: CallOptions): Promise<ControllerVersion>;
    /**
     * `GET /health`: resolves when the controller reports itself healthy
     * (database reachable, services running); rejects with a
     * `LinstorApiError` otherwise.
     */
    health(options?: CallOptions): Promise<void>;
  };
  /** `/v1/nodes` calls (`modify`: type and property changes). */
  readonly nodes: CollectionApi<Node, NodeCreate, NodeModify, NodeListOptions>;
  /**
   * Storage-pool calls under `/v1/nodes/{node}/storage-pools`. `create`:
   * satellite failures (e.g. a missing VG) arrive as error entries of a 201
   * answer, so the call rejects although the pool may now exist in LINSTOR's
   * database.
   */
  readonly storagePools:
    & NestedCollectionApi<
      string,
      StoragePool,
      StoragePoolCreate,
      PropsModify,
      StoragePoolListOptions
    >
    & {
      /** `GET /v1/view/storage-pools` (all nodes). */
      view(options?: StoragePoolViewOptions): Promise<StoragePool[]>;
    };
  /** `/v1/resource-groups` calls. */
  readonly resourceGroups:
    & CollectionApi<
      ResourceGroup,
      ResourceGroupCreate,
      ResourceGroupModify,
      ResourceGroupListOptions
    >
    & {
      /** `POST /v1/resource-groups/{rg}/spawn`. */
      spawn(
        name: string,
        request: ResourceGroupSpawn,
        options?: CallOptions,
      ): Promise<ApiCallRc[]>;
    };
  /** `/v1/resource-definitions` calls. */
  readonly resourceDefinitions:
    & CollectionApi<
      ResourceDefinition,
      ResourceDefinitionCreate,
      ResourceDefinitionModify,
      ResourceDefinitionListOptions
    >
    & {
      /** `POST /v1/resource-definitions/{rd}/autoplace`. */
      autoplace(
        name: string,
        request: AutoPlaceRequest,
        options?: CallOptions,
      ): Promise<ApiCallRc[]>;
    };
  /** `/v1/resource-definitions/{rd}/volume-definitions` calls (`modify`: size, flags and property changes). */
  readonly volumeDefinitions: NestedCollectionApi<
    number,
    VolumeDefinition,
    VolumeDefinitionCreate,
    VolumeDefinitionModify,
    CallOptions
  >;
  /** Resource calls under `/v1/resource-definitions/{rd}/resources` (by node). */
  readonly resources:
    & Omit<
      NestedCollectionApi<
        string,
        Resource,
        readonly ResourceCreate[],
        PropsModify,
        PageOptions
      >,
      "get"
    >
    & {
      /** `GET /v1/view/resources` (with volumes; a satellite round trip). */
      view(options?: ResourceViewOptions): Promise<ResourceWithVolumes[]>;
    };

  /** Server-sent event streams (`/v1/events/…`). */
  readonly events: {
    /**
     * `GET /v1/events/drbd/promotion`: `may-promote-change` events as they
     * happen (after the current state, by default). Ends when the controller
     * closes the stream; throws a `LinstorApiError` (`isConnectionError`)
     * when the connection breaks and on the stream's `error` event; rejects
     * with the signal's reason on cancellation. LINSTOR sends no
     * keep-alives, so a silent stream is indistinguishable from a quiet
     * cluster: callers should reconnect periodically and resync.
     */
    drbdPromotion(options?: EventStreamOptions): AsyncGenerator<PromotionEvent>;
  };

  #transport: Transport;
  #clients: HttpClients;
  #closed = new AbortController();
  #yieldControl: (() => Promise<void>) | undefined;
  #timeoutMs: number;
  /** Per list path: the elements of its last cooperative parse. */
  readonly #memos = new Map<string, ParseMemo>();
  #logger = getLogger([LOG_CATEGORY, "linstor"]);

  /**
   * Creates the client. Throws a `SyntaxError` for a bad controller URL, a
   * `RangeError` for a bad timeout or rate limit, and Deno's error for TLS
   * material it cannot load.
   */
  constructor(options: LinstorClientOptions = {}) {
    const tls = options.tls;
    const defaultScheme = tls ? "https" : "http";
    const given = options.controllers ?? [];
    const controllers = [
      ...new Set(
        (given.length === 0 ? [LINSTOR_DEFAULT_HOST] : given).map((entry) =>
          parseControllerUrl(entry, { defaultScheme, name: "controllers" })
        ),
      ),
    ];
    const timeoutMs = options.timeoutMs ?? LINSTOR_DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(
        `Cannot use "timeoutMs": ${timeoutMs} is not a positive number`,
      );
    }
    const clock = options.clock ?? SYSTEM_CLOCK;
    this.#yieldControl = options.yieldControl === undefined
      ? undefined
      : oneAtATime(options.yieldControl);
    this.#timeoutMs = timeoutMs;
    const limiter = options.rateLimit
      ? new TokenBucket(options.rateLimit, { clock })
      : undefined;
    if ((tls?.cert === undefined) !== (tls?.key === undefined)) {
      throw new TypeError(
        'Cannot use "tls": give "cert" and "key" together',
      );
    }
    this.#clients = new HttpClients(tls, {
      clock,
      readFile: options.readFile,
      reloadIntervalMs: LINSTOR_TLS_RELOAD_INTERVAL_MS,
    });
    if (
      options.auth?.type === "basic" &&
      controllers.some((url) => url.startsWith("http:"))
    ) {
      this.#logger.warn(
        "LINSTOR basic auth is sent over plain HTTP to {controllers}",
        { controllers },
      );
    }
    const plain = controllers.filter((url) => url.startsWith("http:"));
    if (tls && plain.length > 0) {
      this.#logger.warn(
        "LINSTOR TLS settings are ignored for plain HTTP controllers {controllers}",
        { controllers: plain },
      );
    }
    const userAgent = options.userAgent ??
      `${PROGRAM_NAME}/${VERSION}${options.mode ? ` (${options.mode})` : ""}`;
    this.#transport = new Transport({
      controllers,
      fetch: options.fetch ?? defaultFetch,
      clients: this.#clients,
      auth: options.auth,
      userAgent,
      timeoutMs,
      clock,
      limiter,
      closed: this.#closed.signal,
      observer: options.metrics
        ? registerLinstorMetrics(options.metrics)
        : NO_OBSERVER,
    });

    const seg = pathSegment;
    const get = <T>(
      path: string,
      shape: "array" | "object",
      options: CallOptions | undefined,
      query?: Record<string, QueryValue>,
    ) => this.#get<T>(path + buildQuery(query), shape, options);
    const mutate = (
      method: string,
      path: string,
      body: unknown,
      options: CallOptions | undefined,
    ) => this.#mutate(method, path, body, options);
    const page = (o: PageOptions | undefined) => ({
      limit: o?.limit,
      offset: o?.offset,
    });
    const split = <T extends object>(o: T & CallOptions) => {
      const { signal, timeoutMs, ...body } = o;
      return {
        body,
        options: {
          ...(signal ? { signal } : {}),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
        },
      };
    };

    this.controller = rejecting({
      version: (o) => get("/v1/controller/version", "object", o),
      health: (o) => this.#health(o),
    });
    const collection = <T, Create, Modify, ListOptions extends PageOptions>(
      base: string,
      query: (o: ListOptions | undefined) => Record<string, QueryValue>,
    ): CollectionApi<T, Create, Modify, ListOptions> => ({
      list: (o) => get<T[]>(base, "array", o, { ...query(o), ...page(o) }),
      get: (name, o) => get<T>(`${base}/${seg(name)}`, "object", o),
      create: (item, o) => mutate("POST", base, item, o),
      modify: (name, changes, o) =>
        mutate("PUT", `${base}/${seg(name)}`, changes, o),
      delete: (name, o) =>
        mutate("DELETE", `${base}/${seg(name)}`, undefined, o),
    });
    this.nodes = rejecting(
      collection<Node, NodeCreate, NodeModify, NodeListOptions>(
        "/v1/nodes",
        (o) => ({ nodes: o?.nodes, props: o?.props }),
      ),
    );
    const nested = <
      Key extends string | number,
      T,
      Create,
      Modify extends object,
      ListOptions extends CallOptions,
    >(
      path: (parent: string, key?: Key) => string,
      query: (o: ListOptions | undefined) => Record<string, QueryValue>,
    ): NestedCollectionApi<Key, T, Create, Modify, ListOptions> => ({
      list: (parent, o) => get<T[]>(path(parent), "array", o, query(o)),
      get: (parent, key, o) => get<T>(path(parent, key), "object", o),
      create: (parent, item, o) => mutate("POST", path(parent), item, o),
      modify: (parent, key, changes) => {
        const { body, options } = split(changes);
        return mutate("PUT", path(parent, key), body, options);
      },
      delete: (parent, key, o) =>
        mutate("DELETE", path(parent, key), undefined, o),
    });
    this.storagePools = rejecting({
      ...nested<
        string,
        StoragePool,
        StoragePoolCreate,
        PropsModify,
        StoragePoolListOptions
      >(
        (node, pool) =>
          `/v1/nodes/${seg(node)}/storage-pools` +
          (pool === undefined ? "" : `/${seg(pool)}`),
        (o) => ({
          storage_pools: o?.storagePools,
          cached: o?.cached,
          ...page(o),
        }),
      ),
      view: (o) =>
        get("/v1/view/storage-pools", "array", o, {
          nodes: o?.nodes,
          storage_pools: o?.storagePools,
          props: o?.props,
          cached: o?.cached,
          ...page(o),
        }),
    });
    this.resourceGroups = rejecting({
      ...collection<
        ResourceGroup,
        ResourceGroupCreate,
        ResourceGroupModify,
        ResourceGroupListOptions
      >("/v1/resource-groups", (o) => ({
        resource_groups: o?.resourceGroups,
        props: o?.props,
      })),
      spawn: (name, request, o) =>
        mutate("POST", `/v1/resource-groups/${seg(name)}/spawn`, request, o),
    });
    this.resourceDefinitions = rejecting({
      ...collection<
        ResourceDefinition,
        ResourceDefinitionCreate,
        ResourceDefinitionModify,
        ResourceDefinitionListOptions
      >("/v1/resource-definitions", (o) => ({
        resource_definitions: o?.resourceDefinitions,
        with_volume_definitions: o?.withVolumeDefinitions,
        props: o?.props,
      })),
      autoplace: (name, request, o) =>
        mutate(
          "POST",
          `/v1/resource-definitions/${seg(name)}/autoplace`,
          request,
          o,
        ),
    });
    this.volumeDefinitions = rejecting(
      nested<
        number,
        VolumeDefinition,
        VolumeDefinitionCreate,
        VolumeDefinitionModify,
        CallOptions
      >(
        (rd, nr) =>
          `/v1/resource-definitions/${seg(rd)}/volume-definitions` +
          (nr === undefined ? "" : `/${volumeNumber(nr)}`),
        () => ({}),
      ),
    );
    const { get: _noGet, ...resources } = nested<
      string,
      Resource,
      readonly ResourceCreate[],
      PropsModify,
      PageOptions
    >(
      (rd, node) =>
        `/v1/resource-definitions/${seg(rd)}/resources` +
        (node === undefined ? "" : `/${seg(node)}`),
      page,
    );
    this.resources = rejecting({
      ...resources,
      view: (o) =>
        get("/v1/view/resources", "array", o, {
          nodes: o?.nodes,
          resources: o?.resources,
          storage_pools: o?.storagePools,
          props: o?.props,
          ...page(o),
        }),
    });
    this.events = {
      drbdPromotion: (o) =>
        this.#events<PromotionEvent>(
          "/v1/events/drbd/promotion",
          LINSTOR_EVENT_MAY_PROMOTE_CHANGE,
          o,
        ),
    };
  }

  /** The controller calls currently go to first (changes on failover). */
  get activeController(): string {
    return this.#transport.activeController;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed.signal.aborted;
  }

  /** Aborts calls in flight and releases the HTTPS client; idempotent. */
  close(): void {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort(new Error("LINSTOR client closed"));
    this.#clients.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  async *#events<T>(
    path: string,
    eventName: string,
    options: EventStreamOptions | undefined,
  ): AsyncGenerator<T> {
    const signal = options?.signal;
    const response = await this.#transport.send({
      method: "GET",
      path,
      signal,
      timeoutMs: callTimeout(options),
      stream: true,
      headers: {
        "Accept": "text/event-stream",
        ...(options?.replayCurrent === false
          ? {}
          : { "Last-Event-ID": "current" }),
      },
    });
    if (!response.body) {
      this.#decode("GET", path, response);
      throw new LinstorApiError(
        `Cannot GET "${path}": HTTP ${response.status} without an event stream`,
        { method: "GET", path, status: response.status, ...at(response) },
      );
    }
    try {
      for await (const event of parseEventStream(response.body)) {
        if (event.event === eventName) {
          const data = this.#eventData(path, event.data, response);
          if (
            typeof data !== "object" || data === null || Array.isArray(data)
          ) {
            throw new LinstorApiError(
              `Cannot GET "${path}": "${eventName}" data is ${
                describeJson(data)
              }, not an object`,
              { method: "GET", path, status: response.status, ...at(response) },
            );
          }
          yield data as T;
        } else if (event.event === "error") {
          const data = this.#eventData(path, event.data, response);
          const rcs = toApiCallRcs(Array.isArray(data) ? data : [data]) ?? [];
          throw new LinstorApiError(
            `Cannot GET "${path}": the controller ended the stream with an error: ${
              rcs.length > 0 ? rcSummary(rcs) : snippet(event.data)
            }`,
            {
              method: "GET",
              path,
              status: response.status,
              apiCallRcs: rcs,
              ...at(response),
            },
          );
        }
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (this.closed) {
        throw new LinstorApiError(
          `Cannot GET "${path}": the LINSTOR client is closed`,
          { method: "GET", path, cause: this.#closed.signal.reason },
        );
      }
      if (error instanceof LinstorApiError) throw error;
      throw new LinstorApiError(
        `Cannot GET "${path}": the event stream broke (${errorText(error)})`,
        { method: "GET", path, cause: error, ...at(response) },
      );
    } finally {
      response.release?.();
    }
  }

  #eventData(path: string, text: string, response: TransportResponse): unknown {
    try {
      return parseLinstorJson(text);
    } catch (error) {
      throw invalidJson(path, "event data", { response, error });
    }
  }

  async #health(options: CallOptions | undefined): Promise<void> {
    const path = "/health";
    const response = await this.#transport.send({
      method: "GET",
      path,
      signal: options?.signal,
      timeoutMs: callTimeout(options),
    });
    if (response.status >= 200 && response.status < 300) return;
    this.#decode("GET", path, response);
  }

  async #get<T>(
    path: string,
    shape: "array" | "object",
    options: CallOptions | undefined,
  ): Promise<T> {
    const reuse = options?.reuse === true;
    // A list the caller treats as immutable (the poller's) is read and
    // parsed piece by piece as it arrives.
    const stream = shape === "array" && reuse &&
      this.#yieldControl !== undefined;
    const response = await this.#transport.send({
      method: "GET",
      path,
      signal: options?.signal,
      timeoutMs: callTimeout(options),
      ...(stream ? { stream, bodyTimeout: true } : {}),
    });
    const body = response.body !== undefined
      ? await this.#parseStream(path, response, {
        yieldControl: this.#yieldControl!,
        signal: options?.signal,
        timeoutMs: callTimeout(options) ?? this.#timeoutMs,
      })
      : shape === "array" && this.#yieldControl !== undefined &&
          (reuse || response.text.length > COOPERATIVE_PARSE_CHARS) &&
          response.status >= 200 && response.status < 300
      ? await this.#parseCooperatively(path, response, {
        yieldControl: this.#yieldControl,
        reuse,
      })
      : this.#decode("GET", path, response);
    const ok = shape === "array"
      ? Array.isArray(body)
      : typeof body === "object" && body !== null && !Array.isArray(body);
    if (!ok) {
      throw new LinstorApiError(
        `Cannot GET "${path}": expected a JSON ${shape}, got ${
          describeJson(body)
        }`,
        { method: "GET", path, status: response.status, ...at(response) },
      );
    }
    return body as T;
  }

  async #mutate(
    method: string,
    path: string,
    body: unknown,
    options: CallOptions | undefined,
  ): Promise<ApiCallRc[]> {
    const text = body === undefined ? undefined : stringifyLinstorJson(body);
    const response = await this.#transport.send({
      method,
      path,
      body: text,
      signal: options?.signal,
      timeoutMs: callTimeout(options),
    });
    const decoded = response.text.trim() === ""
      ? []
      : this.#decode(method, path, response);
    const rcs = toApiCallRcs(decoded);
    if (rcs === undefined) {
      throw new LinstorApiError(
        `Cannot ${method} "${path}": expected an ApiCallRc list, got ${
          describeJson(decoded)
        }`,
        { method, path, status: response.status, ...at(response) },
      );
    }
    const errors = rcs.filter((rc) =>
      parseRetCode(rc.ret_code).severity === "error"
    );
    if (errors.length > 0) {
      throw new LinstorApiError(
        `Cannot ${method} "${path}": ${
          rcSummary(errors)
        } (HTTP ${response.status} from ${response.controller})`,
        {
          method,
          path,
          status: response.status,
          apiCallRcs: rcs,
          ...at(response),
        },
      );
    }
    for (const rc of rcs) {
      if (parseRetCode(rc.ret_code).severity === "warning") {
        this.#logger.warn("LINSTOR {method} {path} warned: {message}", {
          method,
          path,
          message: rc.message ?? "",
          cause: rc.cause ?? "",
        });
      }
    }
    return rcs;
  }

  /**
   * Reads and parses a 2xx list body piece by piece with turns of the
   * event loop, reusing the elements of the last call of `path`. The memo
   * changes only when the whole body was read and parsed.
   */
  async #parseStream(
    path: string,
    response: TransportResponse,
    options: {
      yieldControl: () => Promise<void>;
      signal: AbortSignal | undefined;
      timeoutMs: number;
    },
  ): Promise<unknown> {
    let memo = this.#memos.get(path);
    if (memo === undefined) {
      memo = createParseMemo();
      this.#memos.set(path, memo);
    }
    try {
      return await parseLinstorJsonStream(response.body!, {
        yieldControl: options.yieldControl,
        memo,
      });
    } catch (error) {
      if (error instanceof SyntaxError) {
        throw invalidJson(path, "the response", { response, error });
      }
      if (options.signal?.aborted) throw options.signal.reason;
      if (this.closed) {
        throw new LinstorApiError(
          `Cannot GET "${path}": the LINSTOR client is closed`,
          { method: "GET", path, cause: this.#closed.signal.reason },
        );
      }
      const timedOut = response.timeout?.aborted === true;
      throw new LinstorApiError(
        `Cannot GET "${path}": ${
          timedOut
            ? `the body stopped arriving: no data within ${options.timeoutMs} ms`
            : `the response broke off (${errorText(error)})`
        }`,
        // Like a body that breaks off inside fetch: a connection error.
        { method: "GET", path, timedOut, cause: error, ...at(response) },
      );
    } finally {
      response.release?.();
    }
  }

  /** Parses a 2xx list body with turns of the event loop. */
  async #parseCooperatively(
    path: string,
    response: TransportResponse,
    options: { yieldControl: () => Promise<void>; reuse: boolean },
  ): Promise<unknown> {
    let memo: ParseMemo | undefined;
    if (options.reuse) {
      memo = this.#memos.get(path);
      if (memo === undefined) {
        memo = createParseMemo();
        this.#memos.set(path, memo);
      }
    }
    try {
      return await parseLinstorJsonCooperatively(response.text, {
        yieldControl: options.yieldControl,
        ...(memo === undefined ? {} : { memo }),
      });
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      throw invalidJson(path, "the response", { response, error });
    }
  }

  /** Checks the status and parses the body of a response. */
  #decode(method: string, path: string, response: TransportResponse): unknown {
    const { status } = response;
    if (status >= 300 && status < 400) {
      const location = response.headers.get("Location") ?? "(no Location)";
      throw new LinstorApiError(
        `Cannot ${method} "${path}": ${response.controller} redirects (HTTP ${status}) to "${location}"; configure that URL in LS_CONTROLLERS (with TLS on, LINSTOR's plain port redirects to HTTPS)`,
        { method, path, status, ...at(response) },
      );
    }
    let body: unknown;
    let parseError: unknown;
    try {
      body = parseLinstorJson(response.text);
    } catch (error) {
      parseError = error;
    }
    if (status >= 200 && status < 300) {
      if (parseError !== undefined) {
        throw new LinstorApiError(
          `Cannot ${method} "${path}": the response is not valid JSON (${
            errorText(parseError)
          })`,
          { method, path, status, cause: parseError, ...at(response) },
        );
      }
      return body;
    }
    const rcs = parseError === undefined ? toApiCallRcs(body) ?? [] : [];
    const errors = rcs.filter((rc) =>
      parseRetCode(rc.ret_code).severity === "error"
    );
    const detail = errors.length > 0
      ? rcSummary(errors)
      : rcs.length > 0
      ? rcSummary(rcs)
      : snippet(response.text) || `HTTP ${status}`;
    // 401: no credentials; 403 with FAIL_SIGN_IN: wrong ones.
    const signIn = status === 401 ||
      (status === 403 &&
        errors.some((rc) =>
          parseRetCode(rc.ret_code).code === RC_CODE_SIGN_IN
        ));
    const hint = signIn
      ? "; check LS_USERNAME/LS_PASSWORD or LS_BEARER_TOKEN_FILE"
      : "";
    throw new LinstorApiError(
      `Cannot ${method} "${path}": ${detail} (HTTP ${status} from ${response.controller})${hint}`,
      { method, path, status, apiCallRcs: rcs, ...at(response) },
    );
  }
}

/**
 * `yieldControl` shared by the client's concurrent parses: each call waits
 * for the turns asked for before it, so one parse works per turn and the
 * slices of several lists never run back to back.
 */
function oneAtATime(yieldControl: () => Promise<void>): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return () => {
    const turn = last.then(yieldControl);
    last = turn.catch(() => {});
    return turn;
  };
}

function at(response: TransportResponse): { controller: string } {
  return { controller: response.controller };
}

function buildQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const item of value as readonly string[]) params.append(key, item);
    } else if (typeof value === "number") {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(
          `Cannot use "${key}": ${value} is not a non-negative integer`,
        );
      }
      params.append(key, String(value));
    } else {
      params.append(key, String(value));
    }
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

/**
 * Makes every method of `group` report synchronous argument errors as a
 * rejected promise, so callers only ever see rejections.
 */
/** The error of a GET whose body (`what`) is not valid JSON. */
function invalidJson(
  path: string,
  what: string,
  options: { response: TransportResponse; error: unknown },
): LinstorApiError {
  const { response, error } = options;
  return new LinstorApiError(
    `Cannot GET "${path}": ${what} is not valid JSON (${errorText(error)})`,
    {
      method: "GET",
      path,
      status: response.status,
      cause: error,
      ...at(response),
    },
  );
}

function rejecting<T extends object>(group: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(group)) {
    out[key] = (...args: unknown[]) => {
      try {
        return (method as (...a: unknown[]) => unknown)(...args);
      } catch (error) {
        return Promise.reject(error);
      }
    };
  }
  return Object.freeze(out) as T;
}

function callTimeout(options: CallOptions | undefined): number | undefined {
  const timeoutMs = options?.timeoutMs;
  if (
    timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
  ) {
    throw new RangeError(
      `Cannot use "timeoutMs": ${timeoutMs} is not a positive number`,
    );
  }
  return timeoutMs;
}

function pathSegment(name: string): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new TypeError(
      `Cannot use name ${
        JSON.stringify(name)
      }: a LINSTOR name is a non-empty string`,
    );
  }
  return encodeURIComponent(name);
}

function volumeNumber(nr: number): number {
  if (!Number.isInteger(nr) || nr < 0) {
    throw new RangeError(
      `Cannot use volume number "${nr}": not a non-negative integer`,
    );
  }
  return nr;
}

function toApiCallRcs(value: unknown): ApiCallRc[] | undefined {
  if (!Array.isArray(value)) return undefined;
  for (const item of value) {
    if (
      typeof item !== "object" || item === null ||
      typeof (item as { ret_code?: unknown }).ret_code !== "bigint"
    ) {
      return undefined;
    }
  }
  return value as ApiCallRc[];
}

function rcSummary(rcs: readonly ApiCallRc[]): string {
  return rcs.map((rc) => {
    const { code } = parseRetCode(rc.ret_code);
    return `${rc.message ?? "(no message)"} [code ${code}]`;
  }).join("; ");
}

function snippet(text: string): string {
  const flat = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : typeof value;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
