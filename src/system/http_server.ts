/**
 * The HTTP server edge: the only caller of `Deno.serve`.
 *
 * @module
 */
import process from "node:process";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "./clock.ts";

/** A host and port to listen on. */
export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

/**
 * Parses `HOST:PORT`, `:PORT` (all interfaces) or `[IPV6]:PORT`.
 *
 * @throws {SyntaxError} naming the address when it is not of those forms.
 */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(
    text.trim(),
  );
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new SyntaxError(
      `Cannot parse listen address "${text}": expected HOST:PORT, :PORT or [IPV6]:PORT`,
    );
  }
  const hostname = match[1] ?? (match[2] || "0.0.0.0");
  return { hostname, port };
}

/** Options of `serveHttp()`. */
export interface ServeHttpOptions extends ListenAddress {
  /** Stops the server; in-flight requests finish first. */
  signal: AbortSignal;
  /** PEM certificate chain and key for HTTPS. */
  tls?: { cert: string; key: string };
}

/** PEM certificate chain and private key of an HTTPS server. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** A running server. */
export interface HttpServer {
  /** The bound address (port 0 resolved). */
  readonly address: ListenAddress;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Resolves once the listener accepts connections (HTTPS binds asynchronously). */
  readonly ready: Promise<void>;
  /**
   * HTTPS servers only: serves `tls` to every new connection from now on;
   * the listener stays open and open connections keep theirs. Rejects, and
   * keeps serving the old certificate, when `tls` is unusable.
   */
  readonly replaceTls?: (tls: TlsMaterial) => Promise<void>;
}

/** Serves `handler` until `options.signal` aborts. */
export function serveHttp(
  handler: (request: Request) => Response | Promise<Response>,
  options: ServeHttpOptions,
): HttpServer {
  if (options.tls) return serveHttps(handler, options, options.tls);
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: options.signal,
    onListen: () => {},
  }, handler);
  // Deno.serve only listens for a future abort: a server started with an
  // already aborted signal (SIGTERM during start-up) would never finish.
  if (options.signal.aborted) void server.shutdown();
  const addr = server.addr as Deno.NetAddr;
  return {
    address: { hostname: addr.hostname, port: addr.port },
    finished: server.finished,
    ready: Promise.resolve(),
  };
}

/**
 * HTTPS on `node:https`, whose `setSecureContext()` hands new connections a
 * new certificate while the listener stays open (`Deno.serve` fixes its
 * certificate when it binds).
 */
function serveHttps(
  handler: (request: Request) => Response | Promise<Response>,
  options: ServeHttpOptions,
  tls: TlsMaterial,
): HttpServer {
  checkTlsMaterial(tls);
  // node:https binds asynchronously, but `address` is known at once: a
  // port 0 is resolved by a probe bind first (tests; deployments name one).
  let port = options.port;
  if (port === 0) {
    const probe = Deno.listen({ hostname: options.hostname, port: 0 });
    port = (probe.addr as Deno.NetAddr).port;
    probe.close();
  }
  const active = new Set<Promise<void>>();
  // Loaded here, not imported: a process that serves plain HTTP (most do)
  // does not load Node's HTTPS and TLS modules (docs/benchmarks.md, "The
  // process floor").
  const https = process.getBuiltinModule("node:https");
  const server = https.createServer(
    { cert: tls.cert, key: tls.key },
    (req, res) => {
      const done = bridge(handler, req, res, options.hostname);
      active.add(done);
      void done.finally(() => active.delete(done));
    },
  );
  const closed = new Promise<void>((resolve) =>
    server.once("close", () => resolve())
  );
  const listening = new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let stopped = false;
  // In-flight requests finish, then idle keep-alive connections are closed.
  const stop = async () => {
    stopped = true;
    await listening.catch(() => {});
    server.close();
    await Promise.allSettled([...active]);
    server.closeAllConnections();
  };
  if (options.signal.aborted) void stop();
  else {options.signal.addEventListener("abort", () => void stop(), {
      once: true,
    });}
  return {
    address: { hostname: options.hostname, port },
    finished: listening.then(() => closed),
    ready: listening,
    replaceTls(material) {
      if (stopped) {
        return Promise.reject(
          new Error(
            "Cannot replace the TLS certificate: the server has stopped",
          ),
        );
      }
      try {
        checkTlsMaterial(material);
        server.setSecureContext({ cert: material.cert, key: material.key });
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve();
    },
  };
}

/**
 * Throws unless `material` holds a parsable certificate chain and the private
 * key of its first certificate (`setSecureContext()` itself accepts anything
 * and fails every later handshake).
 */
function checkTlsMaterial(material: TlsMaterial): void {
  const { createPrivateKey, X509Certificate } = process.getBuiltinModule(
    "node:crypto",
  );
  let matches: boolean;
  try {
    const certificate = new X509Certificate(material.cert);
    matches = certificate.checkPrivateKey(createPrivateKey(material.key));
  } catch (error) {
    throw new SyntaxError(
      `Cannot use the TLS certificate: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  if (!matches) {
    throw new RangeError(
      "Cannot use the TLS certificate: the key does not belong to the certificate",
    );
  }
}

/** The headers of a `node:http(s)` request as Fetch `Headers`. */
export function requestHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) {
      for (const v of value) headers.append(name, v);
    } else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}

/** The absolute `https:` URL of a `node:https` request served on `hostname`. */
export function requestUrl(req: IncomingMessage, hostname: string): URL {
  return new URL(req.url ?? "/", `https://${hostForUrl(hostname)}`);
}

/** `hostname` as the host part of a URL (IPv6 literals in brackets). */
export function hostForUrl(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** Runs `handler` for one `node:https` request. */
async function bridge(
  handler: (request: Request) => Response | Promise<Response>,
  req: IncomingMessage,
  res: ServerResponse,
  hostname: string,
): Promise<void> {
  try {
    const method = req.method ?? "GET";
    const request = new Request(requestUrl(req, hostname), {
      method,
      headers: requestHeaders(req),
      // Streamed, so the handler's body limit applies before buffering.
      ...(method === "GET" || method === "HEAD"
        ? {}
        : { body: ReadableStream.from(req as AsyncIterable<Uint8Array>) }),
    });
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) {
      for await (const chunk of response.body) res.write(chunk);
    }
  } catch {
    if (!res.headersSent) res.writeHead(500);
  }
  await new Promise<void>((resolve) => {
    if (res.destroyed) return resolve();
    res.once("close", () => resolve());
    res.end(() => resolve());
  });
}

/** Options of `reloadTlsOnChange()`. */
export interface ReloadTlsOptions {
  /**
   * Reads the certificate chain and key now on disk; throws (and nothing
   * changes) when they cannot be read consistently.
   */
  read(): Promise<TlsMaterial>;
  /** The material the server serves now. */
  serving: TlsMaterial;
  /** Waits between reads. */
  clock: Clock;
  /** How often the files are read (ms). */
  intervalMs: number;
  /** Stops the loop. */
  signal: AbortSignal;
  /** Called after the server took a new certificate. */
  onReload?: () => void;
  /** Called once per distinct unusable material or read error. */
  onError?: (error: unknown) => void;
}

/**
 * Re-reads the serving certificate every `options.intervalMs` and hands a
 * changed one to `server.replaceTls()` (a Kubernetes Secret volume swaps
 * its files through a symlink, so their content is compared, not watched).
 * Resolves when `options.signal` aborts.
 */
export async function reloadTlsOnChange(
  server: HttpServer,
  options: ReloadTlsOptions,
): Promise<void> {
  if (!server.replaceTls) {
    throw new TypeError(
      "Cannot reload the TLS certificate: the server does not serve HTTPS",
    );
  }
  let serving = options.serving;
  let lastError: string | undefined;
  const report = (error: unknown, key: string) => {
    if (key === lastError) return;
    lastError = key;
    options.onError?.(error);
  };
  while (!options.signal.aborted) {
    try {
      await options.clock.sleep(options.intervalMs, options.signal);
    } catch {
      return;
    }
    let material: TlsMaterial;
    try {
      material = await options.read();
    } catch (error) {
      report(error, `read:${String(error)}`);
      continue;
    }
    if (material.cert === serving.cert && material.key === serving.key) {
      lastError = undefined;
      continue;
    }
    try {
      await server.replaceTls(material);
    } catch (error) {
      report(error, `tls:${material.cert}\u0000${material.key}`);
      continue;
    }
    serving = material;
    lastError = undefined;
    options.onReload?.();
  }
}
