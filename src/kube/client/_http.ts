/**
 * HTTP plumbing of the real adapter: paths, TLS client, requests, error
 * mapping and the watch stream parser. Credentials come from the
 * {@linkcode KubeConfig}; objects are the parsed JSON with their timestamps
 * turned into `Date`s (`_dates.ts`), the wire is Deno's `fetch` with
 * `Deno.createHttpClient`: that keeps TLS client certificates working under
 * Deno and every connection closable.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Clock } from "../../system/clock.ts";
import {
  KubeApiError,
  type KubeApiErrorInit,
  type KubeResource,
  type WatchEvent,
} from "../mod.ts";
import type { KubeConfig, KubeCredentials } from "./_kubeconfig.ts";
import { reviveDates } from "./_dates.ts";
import type { StringTable } from "./_strings.ts";

/** A fetch-like function. */
export type FetchFunction = (request: Request) => Promise<Response>;

/** Where a resource lives and how its objects are typed. */
export interface ResourceInfo {
  /** `/api/v1` or `/apis/<group>/<version>`. */
  readonly prefix: string;
  /** Plural resource name. */
  readonly resource: string;
  readonly namespaced: boolean;
  /** client-node model name (`V1Pod`). */
  readonly type: string;
}

/** Resources the adapter talks to. */
export type ResourceName = KubeResource;

/** Path and type of every resource. */
export const RESOURCES: Readonly<Record<ResourceName, ResourceInfo>> = Object
  .freeze({
    nodes: resourceInfo("/api/v1", "nodes", false, "V1Node"),
    pods: resourceInfo("/api/v1", "pods", true, "V1Pod"),
    persistentVolumes: resourceInfo(
      "/api/v1",
      "persistentvolumes",
      false,
      "V1PersistentVolume",
    ),
    persistentVolumeClaims: resourceInfo(
      "/api/v1",
      "persistentvolumeclaims",
      true,
      "V1PersistentVolumeClaim",
    ),
    storageClasses: resourceInfo(
      "/apis/storage.k8s.io/v1",
      "storageclasses",
      false,
      "V1StorageClass",
    ),
    volumeAttachments: resourceInfo(
      "/apis/storage.k8s.io/v1",
      "volumeattachments",
      false,
      "V1VolumeAttachment",
    ),
    leases: resourceInfo(
      "/apis/coordination.k8s.io/v1",
      "leases",
      true,
      "V1Lease",
    ),
    events: resourceInfo(
      "/apis/events.k8s.io/v1",
      "events",
      true,
      "EventsV1Event",
    ),
    namespaces: resourceInfo("/api/v1", "namespaces", false, "V1Namespace"),
  });

function resourceInfo(
  prefix: string,
  resource: string,
  namespaced: boolean,
  type: string,
): ResourceInfo {
  return Object.freeze({ prefix, resource, namespaced, type });
}

/** The collection path (all namespaces when `namespace` is empty) or an object path. */
export function resourcePath(
  info: ResourceInfo,
  target: { namespace?: string; name?: string } = {},
): string {
  let path = info.prefix;
  if (info.namespaced && target.namespace) {
    path += `/namespaces/${encodeURIComponent(target.namespace)}`;
  }
  path += `/${info.resource}`;
  if (target.name !== undefined) path += `/${encodeURIComponent(target.name)}`;
  return path;
}

/**
 * A freshly parsed JSON object as client-node's model `info.type` types it:
 * its timestamps become `Date`s, in place (see `_dates.ts`), and with
 * `strings` its string values are shared through that table; every other
 * field stays as the server sent it, fields the model does not know
 * (newer API fields) included, so a replace never erases them.
 */
export function deserialize<T>(
  info: ResourceInfo,
  json: unknown,
  strings?: StringTable,
): T {
  const object = reviveDates<T>(info.type, json);
  return strings === undefined ? object : strings.internAll(object);
}

/** What a request is about, for error messages. */
export interface RequestTarget {
  readonly verb: string;
  readonly resource: string;
  /** `namespace/name` or `name`; empty for collections. */
  readonly name: string;
}

/** Options of {@linkcode KubeTransport.request}. */
export interface RequestInit {
  readonly method: string;
  /** Path below the server URL, starting with `/`. */
  readonly path: string;
  readonly query?: Record<string, string | undefined>;
  /** JSON-serialized unless a string. */
  readonly body?: unknown;
  /** @default {"application/json"} when there is a body */
  readonly contentType?: string;
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@linkcode KubeTransport}. */
export interface KubeTransportOptions {
  /** Replaces Deno's fetch (tests, or a custom transport). */
  fetch?: FetchFunction;
  /** Times requests out. */
  clock: Clock;
  /** Deadline of a request (of its headers, for streams). */
  timeoutMs: number;
  /** `User-Agent` header. */
  userAgent: string;
  logger: Logger;
}

/** Sends authenticated requests to the kubeconfig's current cluster. */
export class KubeTransport {
  #kubeConfig: KubeConfig;
  #server: string;
  #fetch: FetchFunction | undefined;
  #clock: Clock;
  #timeoutMs: number;
  #userAgent: string;
  #client: Deno.HttpClient | undefined;
  #clientKey = "";
  #closed = false;

  /** Validates the current context; throws `TypeError` when it cannot be used. */
  constructor(kubeConfig: KubeConfig, options: KubeTransportOptions) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) {
      throw new TypeError(
        `Cannot create Kubernetes client for context "${kubeConfig.getCurrentContext()}": it names no cluster`,
      );
    }
    let url: URL;
    try {
      url = new URL(cluster.server);
    } catch (error) {
      throw new TypeError(
        `Cannot create Kubernetes client for server "${cluster.server}": not a URL`,
        { cause: error },
      );
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TypeError(
        `Cannot create Kubernetes client for server "${cluster.server}": scheme must be https or http`,
      );
    }
    if (cluster.skipTLSVerify && url.protocol === "https:") {
      throw new TypeError(
        `Cannot create Kubernetes client for server "${cluster.server}": insecure-skip-tls-verify is not supported, set certificate-authority(-data) instead`,
      );
    }
    if (cluster.tlsServerName) {
      options.logger.warn(
        "Ignoring tls-server-name {name} of cluster {cluster}: not supported",
        { name: cluster.tlsServerName, cluster: cluster.name },
      );
    }
    this.#kubeConfig = kubeConfig;
    this.#server = cluster.server.replace(/\/+$/, "");
    this.#fetch = options.fetch;
    this.#clock = options.clock;
    this.#timeoutMs = options.timeoutMs;
    this.#userAgent = options.userAgent;
  }

  /** The server URL. */
  get server(): string {
    return this.#server;
  }

  /**
   * Sends a request whose response body is read at once; resolves to the
   * parsed JSON body (`undefined` when empty) or rejects with a
   * {@linkcode KubeApiError} (status 0 and reason `Timeout` when the whole
   * exchange took longer than the timeout). An abort of `init.signal`
   * rejects with the signal's reason.
   */
  async json(target: RequestTarget, init: RequestInit): Promise<unknown> {
    const deadline = new Deadline(this.#clock, this.#timeoutMs, init.signal);
    try {
      const response = await this.#send(target, init, deadline);
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        throw this.#failure(target, init, deadline, error);
      }
      if (text === "") return undefined;
      try {
        return JSON.parse(text);
      } catch (error) {
        throw targetError(target, {
          status: response.status,
          reason: "InvalidResponse",
          message: `response is not JSON: ${text.slice(0, 200)}`,
          cause: error,
        });
      }
    } finally {
      deadline.release();
    }
  }

  /**
   * Sends a streaming request (a watch): the timeout covers only the
   * response headers. Call `release()` once done with the body.
   */
  async stream(
    target: RequestTarget,
    init: RequestInit,
  ): Promise<{ response: Response; release: () => void }> {
    const deadline = new Deadline(this.#clock, this.#timeoutMs, init.signal);
    try {
      const response = await this.#send(target, init, deadline);
      deadline.stopTimer();
      return { response, release: () => deadline.release() };
    } catch (error) {
      deadline.release();
      throw error;
    }
  }

  async #send(
    target: RequestTarget,
    init: RequestInit,
    deadline: Deadline,
  ): Promise<Response> {
    if (this.#closed) {
      throw new TypeError(
        `Cannot ${target.verb} ${target.resource}: the Kubernetes client is closed`,
      );
    }
    if (init.signal?.aborted) throw init.signal.reason;
    const url = new URL(this.#server + init.path);
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    let credentials: KubeCredentials;
    try {
      credentials = await this.#kubeConfig.credentials();
    } catch (error) {
      throw targetError(target, {
        status: 0,
        reason: "Unauthorized",
        message: `cannot get credentials: ${messageOf(error)}`,
        cause: error,
      });
    }
    const headers = new Headers({
      "Accept": "application/json",
      "User-Agent": this.#userAgent,
    });
    for (const [key, value] of Object.entries(credentials.headers)) {
      headers.set(key, value);
    }
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === "string"
        ? init.body
        : JSON.stringify(init.body);
      headers.set("Content-Type", init.contentType ?? "application/json");
    }
    const request = new Request(url, {
      method: init.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: deadline.signal,
    });
    let response: Response;
    try {
      response = this.#fetch
        ? await this.#fetch(request)
        : await fetch(request, this.#clientFor(url, credentials));
    } catch (error) {
      throw this.#failure(target, init, deadline, error);
    }
    if (response.ok) return response;
    throw await errorFromResponse(target, response);
  }

  #failure(
    target: RequestTarget,
    init: RequestInit,
    deadline: Deadline,
    error: unknown,
  ): unknown {
    if (init.signal?.aborted) return init.signal.reason;
    if (deadline.timedOut) {
      return targetError(target, {
        status: 0,
        reason: "Timeout",
        message:
          `${init.method} ${init.path}: no answer within ${this.#timeoutMs} ms`,
        cause: error,
      });
    }
    return targetError(target, {
      status: 0,
      reason: "NetworkError",
      message: `${init.method} ${init.path}: ${messageOf(error)}`,
      cause: error,
    });
  }

  /** Closes the TLS client. */
  close(): void {
    this.#closed = true;
    this.#client?.close();
    this.#client = undefined;
  }

  #clientFor(
    url: URL,
    credentials: KubeCredentials,
  ): { client?: Deno.HttpClient } {
    if (url.protocol !== "https:") return {};
    const { ca, cert, key } = credentials;
    // Rebuild the client when rotated files change its material.
    const clientKey = JSON.stringify([ca, cert, key]);
    if (!this.#client || clientKey !== this.#clientKey) {
      this.#client?.close();
      this.#client = Deno.createHttpClient({
        ...(ca ? { caCerts: [ca] } : {}),
        ...(cert && key ? { cert, key } : {}),
      });
      this.#clientKey = clientKey;
    }
    return { client: this.#client };
  }
}

/** An abort signal following the caller's signal plus a timeout on the clock. */
class Deadline {
  #controller = new AbortController();
  #timer = new AbortController();
  #outer: AbortSignal | undefined;
  #onAbort: () => void;
  #timedOut = false;

  constructor(clock: Clock, ms: number, outer: AbortSignal | undefined) {
    this.#outer = outer;
    this.#onAbort = () => this.#controller.abort(outer?.reason);
    if (outer?.aborted) this.#onAbort();
    else outer?.addEventListener("abort", this.#onAbort, { once: true });
    clock.sleep(ms, this.#timer.signal).then(() => {
      this.#timedOut = true;
      this.#controller.abort(
        new DOMException(`no answer within ${ms} ms`, "TimeoutError"),
      );
    }, () => {});
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Cancels the timeout, keeps following the caller's signal. */
  stopTimer(): void {
    this.#timer.abort();
  }

  /** Cancels the timeout and stops following the caller's signal. */
  release(): void {
    this.#timer.abort();
    this.#outer?.removeEventListener("abort", this.#onAbort);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Builds the error of a non-2xx response from its `Status` body (consumes the body). */
async function errorFromResponse(
  target: RequestTarget,
  response: Response,
): Promise<KubeApiError> {
  const text = await response.text().catch(() => "");
  let status: { reason?: string; message?: string } | undefined;
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object") status = parsed;
  } catch {
    // Not a Status: keep the text.
  }
  return targetError(target, {
    status: response.status,
    reason: status?.reason || response.statusText || "Unknown",
    message: status?.message || text.slice(0, 500) ||
      `HTTP ${response.status}`,
    cause: status ?? text,
  });
}

/** What a watch stream is about. */
export interface WatchStreamOptions {
  /** The watched resource. */
  info: ResourceInfo;
  /** For error messages. */
  target: RequestTarget;
  /** Ends the stream quietly. */
  signal: AbortSignal;
  /** Called once the stream is finished (ended, failed or abandoned). */
  onClose?: () => void;
  /** Shares the string values of the objects (see {@linkcode deserialize}). */
  strings?: StringTable;
}

/** Turns a watch response body into events; ends quietly when `signal` aborts. */
export async function* watchEvents<T>(
  response: Response,
  options: WatchStreamOptions,
): AsyncGenerator<WatchEvent<T>> {
  const { info, target, signal } = options;
  if (!response.body) {
    options.onClose?.();
    return;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream())
    .getReader();
  let buffer = "";
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (signal.aborted) return;
        throw targetError(target, {
          status: 0,
          reason: "NetworkError",
          message: `watch stream broke: ${messageOf(error)}`,
          cause: error,
        });
      }
      if (chunk.done) break;
      buffer += chunk.value;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line !== "") yield parseWatchLine<T>(line, { info, target });
      }
    }
    if (buffer.trim() !== "") {
      yield parseWatchLine<T>(buffer.trim(), { info, target });
    }
  } finally {
    await reader.cancel().catch(() => {});
    options.onClose?.();
  }
}

/** A {@linkcode KubeApiError} about the object or collection `target` names. */
function targetError(
  target: RequestTarget,
  init: Omit<KubeApiErrorInit, "verb" | "kind" | "name">,
): KubeApiError {
  return new KubeApiError({
    verb: target.verb,
    kind: target.resource,
    name: target.name,
    ...init,
  });
}

/** Parses one watch line; throws {@linkcode KubeApiError} for `ERROR` events. */
function parseWatchLine<T>(
  line: string,
  options: Omit<WatchStreamOptions, "signal">,
): WatchEvent<T> {
  const { info, target } = options;
  let event: { type?: string; object?: Record<string, unknown> };
  try {
    event = JSON.parse(line);
  } catch (error) {
    throw targetError(target, {
      status: 0,
      reason: "InvalidResponse",
      message: `watch event is not JSON: ${line.slice(0, 200)}`,
      cause: error,
    });
  }
  const object = event.object ?? {};
  switch (event.type) {
    case "ADDED":
    case "MODIFIED":
    case "DELETED":
      return {
        type: event.type,
        object: deserialize<T>(info, object, options.strings),
      };
    case "BOOKMARK": {
      const metadata = object.metadata as
        | { resourceVersion?: string }
        | undefined;
      return {
        type: "BOOKMARK",
        resourceVersion: metadata?.resourceVersion ?? "",
      };
    }
    case "ERROR": {
      const status = object as {
        code?: number;
        reason?: string;
        message?: string;
      };
      throw targetError(target, {
        status: status.code ?? 500,
        reason: status.reason ?? "Unknown",
        message: status.message ?? "watch error",
        cause: object,
      });
    }
    default:
      throw targetError(target, {
        status: 0,
        reason: "InvalidResponse",
        message: `unknown watch event type ${JSON.stringify(event.type)}`,
        cause: event,
      });
  }
}

/** A `Date` that serializes with six fractional digits (`metav1.MicroTime` parses only RFC 3339 micro). */
export function microTime(value: Date | string | undefined): unknown {
  if (!(value instanceof Date)) return value;
  const text = value.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
  const date = new Date(value.getTime());
  date.toJSON = () => text;
  return date;
}
