/**
 * The simulator's server edge (the only other caller of `Deno.serve` besides
 * `src/system/http_server.ts`, which cannot end event streams before its
 * shutdown): `Deno.serve` for HTTP and HTTPS, and `node:https` for HTTPS
 * with a required client certificate (Deno.serve cannot ask for one in
 * Deno 2.9.6).
 *
 * @module
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Simulator } from "./simulator.ts";
import { hostForUrl, requestHeaders, requestUrl } from "../system/mod.ts";

/** Options of `serveSimulator()`. */
export interface ServeSimulatorOptions {
  /** Address to bind, e.g. `127.0.0.1`. */
  hostname: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /**
   * PEM certificate chain and key for HTTPS; with `clientCa` every client
   * must present a certificate signed by it (LINSTOR's `NeedClientAuth`).
   */
  tls?: { cert: string; key: string; clientCa?: string };
  /** Stops the server: open event streams end, then the listener closes. */
  signal: AbortSignal;
}

/** A running simulator server. */
export interface SimulatorServer {
  /** The bound address (port 0 resolved). */
  readonly address: { readonly hostname: string; readonly port: number };
  /** Base URL, e.g. `https://127.0.0.1:43817`. */
  readonly url: string;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/**
 * The request with a signal that aborts when the client goes away before the
 * response is delivered or when the server stops. `info.completed` (not
 * `request.signal`, which Deno 2.9 also aborts after successful responses and
 * warns about) tells a lost client.
 */
function withSignal(
  request: Request,
  info: Deno.ServeHandlerInfo,
  stop: AbortSignal,
): Request {
  const gone = new AbortController();
  info.completed.catch(() => gone.abort());
  // Built from parts: `new Request(request, …)` would read `request.signal`.
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: AbortSignal.any([gone.signal, stop]),
  });
}

/**
 * Serves `simulator.handler` until `options.signal` aborts; then open event
 * streams end first and the server shuts down gracefully.
 */
export async function serveSimulator(
  simulator: Simulator,
  options: ServeSimulatorOptions,
): Promise<SimulatorServer> {
  const stop = new AbortController();
  if (options.tls?.clientCa !== undefined) {
    const onAbort = () => stop.abort();
    if (options.signal.aborted) stop.abort();
    else options.signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await serveWithClientCertificates(
        simulator,
        options,
        options.tls,
        stop.signal,
        onAbort,
      );
    } catch (error) {
      options.signal.removeEventListener("abort", onAbort);
      throw error;
    }
  }
  // Deno.serve directly (not serveHttp): streams must end before a
  // graceful shutdown(), or clients see a cut connection.
  const server = Deno.serve(
    {
      hostname: options.hostname,
      port: options.port,
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
      onListen: () => {},
    },
    (request, info) =>
      simulator.handler(withSignal(request, info, stop.signal)),
  );
  const onAbort = () => {
    stop.abort();
    void server.shutdown();
  };
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener("abort", onAbort, { once: true });
  const addr = server.addr as Deno.NetAddr;
  const scheme = options.tls ? "https" : "http";
  return {
    address: { hostname: addr.hostname, port: addr.port },
    url: `${scheme}://${hostForUrl(addr.hostname)}:${addr.port}`,
    finished: server.finished.finally(() =>
      options.signal.removeEventListener("abort", onAbort)
    ),
  };
}

async function serveWithClientCertificates(
  simulator: Simulator,
  options: ServeSimulatorOptions,
  tls: { cert: string; key: string; clientCa?: string },
  stop: AbortSignal,
  onAbort: () => void,
): Promise<SimulatorServer> {
  const active = new Set<Promise<void>>();
  const server = https.createServer({
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa !== undefined ? { ca: tls.clientCa } : {}),
    requestCert: true,
    rejectUnauthorized: true,
  }, (req, res) => {
    const done = bridge(simulator, req, res, stop, options.hostname);
    active.add(done);
    void done.finally(() => active.delete(done));
  });
  const finished = new Promise<void>((resolve) =>
    server.once("close", () => resolve())
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // Requests see `stop` first (event streams end and flush), then the
  // listener closes and the remaining keep-alive connections are dropped.
  const shutdown = async () => {
    server.close();
    await Promise.allSettled([...active]);
    server.closeAllConnections?.();
  };
  if (stop.aborted) void shutdown();
  else stop.addEventListener("abort", () => void shutdown(), { once: true });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : options.port;
  return {
    address: { hostname: options.hostname, port },
    url: `https://${hostForUrl(options.hostname)}:${port}`,
    finished: finished.finally(() => {
      (options.signal as AbortSignal).removeEventListener("abort", onAbort);
    }),
  };
}

async function bridge(
  simulator: Simulator,
  req: IncomingMessage,
  res: ServerResponse,
  stop: AbortSignal,
  hostname: string,
): Promise<void> {
  const gone = new AbortController();
  res.once("close", () => gone.abort());
  try {
    const chunks: Uint8Array[] = [];
    for await (const chunk of req) chunks.push(chunk as Uint8Array);
    const headers = requestHeaders(req);
    const method = req.method ?? "GET";
    const body = method === "GET" || method === "HEAD" || chunks.length === 0
      ? undefined
      : new Blob(chunks as BlobPart[]);
    const request = new Request(
      requestUrl(req, hostname),
      {
        method,
        headers,
        signal: AbortSignal.any([gone.signal, stop]),
        ...(body !== undefined ? { body } : {}),
      },
    );
    const response = await simulator.handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          res.write(value);
        }
      } finally {
        reader.releaseLock();
      }
    }
    await finish(res);
  } catch {
    if (!res.headersSent) res.writeHead(500);
    await finish(res);
  }
}

/** Ends the response; resolves when it is flushed or the connection is gone. */
function finish(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    if (res.destroyed) {
      resolve();
      return;
    }
    res.once("close", () => resolve());
    res.end(() => resolve());
  });
}
