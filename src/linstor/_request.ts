/**
 * The LINSTOR HTTP transport: the only `fetch` of the client. Handles
 * controller failover, per-attempt timeouts, caller cancellation, the rate
 * limit, TLS and authentication headers.
 *
 * Failover rule: requests go to the active controller. When an attempt gets
 * no HTTP response (connection refused or reset, TLS or DNS failure,
 * timeout), the next controller in list order is tried, each controller at
 * most once per call, and the first one that answers becomes the active
 * controller for later calls (sticky). Idempotent methods (GET, HEAD, PUT,
 * DELETE) always move on. POST moves on only when the failure happened
 * while connecting (refused, DNS, TLS handshake: the request was never
 * sent); after a timeout or a reset the POST may have reached the
 * controller, so the error is returned instead of risking a duplicate
 * create. HTTP error statuses are answers and never trigger failover.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { LOG_CATEGORY } from "../constants.ts";
import type { Clock } from "../system/clock.ts";
import type { LinstorAuth, LinstorFetch, LinstorTls } from "./_config.ts";
import { LinstorApiError } from "./_errors.ts";
import type { TransportObserver } from "./_metrics.ts";
import type { TokenBucket } from "./_rate_limiter.ts";

const IDEMPOTENT_METHODS: readonly string[] = Object.freeze([
  "GET",
  "HEAD",
  "PUT",
  "DELETE",
]);

// Failures Deno's fetch reports while connecting ("client error (Connect)"
// covers refused, unreachable and TLS handshake failures) and Node-style codes.
const CONNECT_FAILURE =
  /client error \(Connect\)|connection refused|dns error|failed to lookup address|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH/i;

/** A transport-level answer: status, headers and the whole body text. */
export interface TransportResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly controller: string;
  /** The unread body of a 2xx answer to a `stream` request (`text` is empty). */
  readonly body?: ReadableStream<Uint8Array> | undefined;
  /** Call when done with `body` (releases the HTTP client). */
  readonly release?: (() => void) | undefined;
  /**
   * With `bodyTimeout`: aborted when a wait for the next piece of `body`
   * took longer than the per-attempt timeout (reading it then fails).
   */
  readonly timeout?: AbortSignal | undefined;
}

/** Options of `Transport`. */
export interface TransportOptions {
  controllers: readonly string[];
  fetch: LinstorFetch;
  clients: HttpClients;
  auth: LinstorAuth | undefined;
  userAgent: string;
  timeoutMs: number;
  clock: Clock;
  limiter: TokenBucket | undefined;
  closed: AbortSignal;
  observer: TransportObserver;
}

/** One request's inputs. */
export interface TransportRequest {
  method: string;
  /** Path with query, starting with `/`. */
  path: string;
  /** JSON text of the body, if any. */
  body?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Per-attempt timeout replacing the transport's `timeoutMs`. */
  timeoutMs?: number | undefined;
  /** Extra or overriding request headers (e.g. `Accept`, `Last-Event-ID`). */
  headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Return a 2xx body unread; the timeout then covers only the wait for the
   * response headers (event streams).
   */
  stream?: boolean | undefined;
  /**
   * With `stream`: the timeout also covers each wait for the next piece of
   * the body (a large list read and parsed piece by piece: the time spent
   * between two reads is the caller's and not counted).
   */
  bodyTimeout?: boolean | undefined;
}

/** `globalThis.fetch` as a `LinstorFetch`. */
export function defaultFetch(
  request: Request,
  init?: { client?: Deno.HttpClient },
): Promise<Response> {
  return fetch(request, init);
}

/** Options of `HttpClients`. */
export interface HttpClientsOptions {
  clock: Clock;
  /** Reads `tls.certFile`/`tls.keyFile` on reload; default `Deno.readTextFileSync`. */
  readFile?: ((path: string) => string) | undefined;
  /** Minimum time between two reload checks. */
  reloadIntervalMs: number;
}

interface Held {
  client: Deno.HttpClient;
  users: number;
  retired: boolean;
}

/**
 * The Deno HTTP client(s) carrying the TLS material of `tls`.
 *
 * When `tls.certFile`/`tls.keyFile` are set, the files are re-read at most
 * every `reloadIntervalMs` (checked when a request starts); changed content
 * gets a new client, and the old one is closed once its last request ends.
 * A failed re-read or an unloadable pair is logged and the old identity kept.
 */
export class HttpClients {
  #tls: LinstorTls | undefined;
  #options: HttpClientsOptions;
  #current: Held | undefined;
  #cert: string | undefined;
  #key: string | undefined;
  #checkedAt: number;
  #closed = false;
  #logger = getLogger([LOG_CATEGORY, "linstor"]);

  /** Builds the first client; throws a `TypeError` for unloadable material. */
  constructor(tls: LinstorTls | undefined, options: HttpClientsOptions) {
    this.#tls = tls;
    this.#options = options;
    this.#cert = tls?.cert;
    this.#key = tls?.key;
    this.#checkedAt = options.clock.now();
    const client = this.#build(this.#cert, this.#key);
    this.#current = client ? { client, users: 0, retired: false } : undefined;
  }

  /**
   * The client for one request (`undefined`: plain fetch). Call `release()`
   * when the response body has been read.
   */
  acquire(): { client: Deno.HttpClient | undefined; release: () => void } {
    this.#maybeReload();
    const held = this.#current;
    if (!held) return { client: undefined, release: () => {} };
    held.users++;
    let released = false;
    return {
      client: held.client,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.retired && held.users === 0) held.client.close();
      },
    };
  }

  /** Closes every client; later `acquire()` calls get none. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const held = this.#current;
    this.#current = undefined;
    if (held && !held.retired) {
      held.retired = true;
      held.client.close();
    }
  }

  #maybeReload(): void {
    const tls = this.#tls;
    if (this.#closed || (!tls?.certFile && !tls?.keyFile)) return;
    const now = this.#options.clock.now();
    if (now - this.#checkedAt < this.#options.reloadIntervalMs) return;
    this.#checkedAt = now;
    const readFile = this.#options.readFile ?? Deno.readTextFileSync;
    let cert = this.#cert;
    let key = this.#key;
    try {
      if (tls.certFile) cert = readFile(tls.certFile);
      if (tls.keyFile) key = readFile(tls.keyFile);
    } catch (error) {
      this.#logger.warn(
        "Cannot re-read the LINSTOR client certificate: {error}; keeping the current one",
        { error: error instanceof Error ? error.message : String(error) },
      );
      return;
    }
    if (cert === this.#cert && key === this.#key) return;
    let client: Deno.HttpClient | undefined;
    try {
      client = this.#build(cert, key);
    } catch (error) {
      this.#logger.warn(
        "Cannot load the rotated LINSTOR client certificate: {error}; keeping the current one",
        { error: error instanceof Error ? error.message : String(error) },
      );
      return;
    }
    this.#cert = cert;
    this.#key = key;
    const old = this.#current;
    this.#current = client ? { client, users: 0, retired: false } : undefined;
    if (old) {
      old.retired = true;
      if (old.users === 0) old.client.close();
    }
    this.#logger.info("Loaded the rotated LINSTOR client certificate");
  }

  #build(
    cert: string | undefined,
    key: string | undefined,
  ): Deno.HttpClient | undefined {
    const caCerts = this.#tls?.caCerts ?? [];
    if (caCerts.length === 0 && cert === undefined) return undefined;
    try {
      return Deno.createHttpClient({
        ...(caCerts.length ? { caCerts: [...caCerts] } : {}),
        ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
      });
    } catch (error) {
      throw new TypeError(
        `Cannot use "tls": ${error instanceof Error ? error.message : error}`,
        { cause: error },
      );
    }
  }
}

class AttemptFailure {
  constructor(
    readonly cause: unknown,
    readonly timedOut: boolean,
    readonly beforeSend: boolean,
  ) {}
}

/** Sends requests to the active controller with failover. */
export class Transport {
  #options: TransportOptions;
  #active = 0;
  #headers: Headers;
  #logger = getLogger([LOG_CATEGORY, "linstor"]);

  /** Creates the transport; `controllers` must be normalized and non-empty. */
  constructor(options: TransportOptions) {
    this.#options = options;
    const headers = new Headers({
      "Accept": "application/json",
      "User-Agent": options.userAgent,
    });
    if (options.auth?.type === "basic") {
      const bytes = new TextEncoder().encode(
        `${options.auth.username}:${options.auth.password}`,
      );
      headers.set("Authorization", `Basic ${toBase64(bytes)}`);
    } else if (options.auth?.type === "bearer") {
      headers.set("Authorization", `Bearer ${options.auth.token}`);
    }
    this.#headers = headers;
  }

  /** The controller later calls go to first. */
  get activeController(): string {
    return this.#options.controllers[this.#active] ?? "";
  }

  /** Sends one request, failing over as the module doc describes. */
  async send(request: TransportRequest): Promise<TransportResponse> {
    const { controllers, closed } = this.#options;
    const { method, path, signal } = request;
    const timeoutMs = request.timeoutMs ?? this.#options.timeoutMs;
    const combined = signal ? AbortSignal.any([signal, closed]) : closed;
    const start = this.#active;
    let last: AttemptFailure | undefined;
    let lastController = controllers[start];
    let notRetried = false;
    for (let attempt = 0; attempt < controllers.length; attempt++) {
      const index = (start + attempt) % controllers.length;
      const controller = controllers[index] ?? "";
      lastController = controller;
      throwIfCancelled(signal, closed, method, path);
      try {
        await this.#options.limiter?.take(combined);
      } catch (error) {
        throwIfCancelled(signal, closed, method, path);
        throw error;
      }
      try {
        const response = await this.#attempt(controller, request, combined);
        if (index !== this.#active) {
          this.#logger.warn(
            "LINSTOR controller {from} did not answer; using {to} from now on",
            { from: controllers[this.#active], to: controller },
          );
          this.#options.observer.failover(
            controllers[this.#active] ?? "",
            controller,
          );
          this.#active = index;
        }
        return response;
      } catch (error) {
        if (!(error instanceof AttemptFailure)) throw error;
        last = error;
        const next = controllers[(index + 1) % controllers.length];
        const canMove = IDEMPOTENT_METHODS.includes(method) || error.beforeSend;
        this.#logger.warn(
          "LINSTOR {method} {path} to {controller} failed: {error}",
          {
            method,
            path,
            controller,
            error: describe(error.cause, error.timedOut, timeoutMs),
          },
        );
        if (attempt + 1 >= controllers.length) break;
        if (!canMove) {
          notRetried = true;
          break;
        }
        this.#logger.info("Retrying LINSTOR {method} {path} on {next}", {
          method,
          path,
          next,
        });
      }
    }
    const state = last
      ? describe(last.cause, last.timedOut, timeoutMs)
      : "no controller";
    const tried = notRetried
      ? " (not retried on another controller: the request may have reached this one)"
      : "";
    throw new LinstorApiError(
      `Cannot ${method} "${path}": ${state}${tried}`,
      {
        method,
        path,
        controller: lastController,
        timedOut: last?.timedOut ?? false,
        cause: last?.cause,
      },
    );
  }

  async #attempt(
    controller: string,
    request: TransportRequest,
    signal: AbortSignal,
  ): Promise<TransportResponse> {
    const { clock, clients, closed } = this.#options;
    const timeoutMs = request.timeoutMs ?? this.#options.timeoutMs;
    const timeout = new AbortController();
    const stopTimer = new AbortController();
    clock.sleep(timeoutMs, stopTimer.signal).then(
      () => timeout.abort(new DOMException("timed out", "TimeoutError")),
      () => {},
    );
    const attemptSignal = AbortSignal.any([signal, timeout.signal]);
    const headers = new Headers(this.#headers);
    if (request.body !== undefined) {
      headers.set("Content-Type", "application/json");
    }
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      headers.set(name, value);
    }
    const started = clock.now();
    let sent = false;
    const { client: httpClient, release } = clients.acquire();
    let streaming = false;
    try {
      const httpRequest = new Request(`${controller}${request.path}`, {
        method: request.method,
        headers,
        redirect: "manual",
        signal: attemptSignal,
        ...(request.body === undefined ? {} : { body: request.body }),
      });
      const response = await (httpClient
        ? this.#options.fetch(httpRequest, { client: httpClient })
        : this.#options.fetch(httpRequest));
      sent = true;
      if (request.stream && response.ok && response.body) {
        stopTimer.abort();
        streaming = true;
        this.#options.observer.attempt({
          method: request.method,
          controller,
          outcome: String(response.status),
          seconds: (clock.now() - started) / 1000,
        });
        return {
          status: response.status,
          headers: response.headers,
          text: "",
          controller,
          body: request.bodyTimeout
            ? timedBody(response.body, {
              clock,
              timeoutMs,
              onTimeout: () =>
                timeout.abort(new DOMException("timed out", "TimeoutError")),
            })
            : response.body,
          release,
          timeout: timeout.signal,
        };
      }
      const text = await response.text();
      this.#options.observer.attempt({
        method: request.method,
        controller,
        outcome: String(response.status),
        seconds: (clock.now() - started) / 1000,
      });
      this.#logger.debug(
        "LINSTOR {method} {controller}{path} → {status} in {ms} ms",
        {
          method: request.method,
          controller,
          path: request.path,
          status: response.status,
          ms: clock.now() - started,
        },
      );
      // Bodies only at trace level (-v=5+); they carry no credentials.
      this.#logger.trace(
        "LINSTOR {method} {path} bodies: request {request}, response {response}",
        {
          method: request.method,
          path: request.path,
          request: request.body ?? "",
          response: text,
        },
      );
      return {
        status: response.status,
        headers: response.headers,
        text,
        controller,
      };
    } catch (error) {
      throwIfCancelled(request.signal, closed, request.method, request.path);
      const timedOut = timeout.signal.aborted;
      this.#options.observer.attempt({
        method: request.method,
        controller,
        outcome: timedOut ? "timeout" : "connection",
        seconds: (clock.now() - started) / 1000,
      });
      throw new AttemptFailure(
        error,
        timedOut,
        !timedOut && !sent && isConnectFailure(error),
      );
    } finally {
      stopTimer.abort();
      if (!streaming) release();
    }
  }
}

/**
 * `body` read on demand, calling `onTimeout` when a read waits longer than
 * `timeoutMs` (which should make the pending read fail).
 */
function timedBody(
  body: ReadableStream<Uint8Array>,
  options: { clock: Clock; timeoutMs: number; onTimeout: () => void },
): ReadableStream<Uint8Array> {
  const timed = async <T>(read: Promise<T>): Promise<T> => {
    const stopTimer = new AbortController();
    options.clock.sleep(options.timeoutMs, stopTimer.signal).then(
      options.onTimeout,
      () => {},
    );
    try {
      return await read;
    } finally {
      stopTimer.abort();
    }
  };
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error; // not a byte stream
  }
  if (byob !== undefined) {
    // A byte stream again, so that a reader can have the body read into
    // its own buffer (see `parseLinstorJsonStream()`).
    const reader = byob;
    return new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: BODY_CHUNK_BYTES,
      async pull(controller) {
        const request = controller.byobRequest!;
        const { value, done } = await timed(reader.read(request.view!));
        if (done) controller.close();
        // The view on the buffer the read took and gave back.
        if (value !== undefined) request.respondWithNewView(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await timed(reader.read());
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Bytes of a chunk read from a timed body by a reader without a buffer of its own. */
const BODY_CHUNK_BYTES = 64 * 1024;

function throwIfCancelled(
  signal: AbortSignal | undefined,
  closed: AbortSignal,
  method: string,
  path: string,
): void {
  if (signal?.aborted) throw signal.reason;
  if (closed.aborted) {
    throw new LinstorApiError(
      `Cannot ${method} "${path}": the LINSTOR client is closed`,
      { method, path, cause: closed.reason },
    );
  }
}

function isConnectFailure(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof Deno.errors.ConnectionRefused) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECT_FAILURE.test(code)) return true;
    if (e instanceof Error && CONNECT_FAILURE.test(e.message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function describe(
  error: unknown,
  timedOut: boolean,
  timeoutMs: number,
): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(": ") || "unknown connection error";
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
