/**
 * The HTTP server edge: the only caller of `Deno.serve`.
 *
 * @module
 */

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

/** A running server. */
export interface HttpServer {
  /** The bound address (port 0 resolved). */
  readonly address: ListenAddress;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/** Serves `handler` until `options.signal` aborts. */
export function serveHttp(
  handler: (request: Request) => Response | Promise<Response>,
  options: ServeHttpOptions,
): HttpServer {
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    signal: options.signal,
    ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    onListen: () => {},
  }, handler);
  // Deno.serve only listens for a future abort: a server started with an
  // already aborted signal (SIGTERM during start-up) would never finish.
  if (options.signal.aborted) void server.shutdown();
  const addr = server.addr as Deno.NetAddr;
  return {
    address: { hostname: addr.hostname, port: addr.port },
    finished: server.finished,
  };
}
