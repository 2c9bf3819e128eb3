/**
 * Loopback HTTP servers for the LINSTOR client tests: a scripted controller,
 * a controller that never answers and a port nobody listens on.
 *
 * @module
 */

/** A request as the server saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  search: string;
  headers: Headers;
  body: string;
}

/** A running loopback server. */
export interface TestServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Requests received, in order. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** Starts `Deno.serve` on 127.0.0.1 with a handler that sees parsed requests. */
export function serve(
  handler: (request: SeenRequest) => Response | Promise<Response>,
): TestServer {
  const seen: SeenRequest[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const entry = seenRequest(request, await request.text());
      seen.push(entry);
      return await handler(entry);
    },
  );
  return testServer(server, seen, () => server.shutdown());
}

/** A controller that accepts requests and never answers them. */
export interface HangingServer extends TestServer {
  /** Resolves when the `n`-th request (1-based) has arrived. */
  received(n?: number): Promise<void>;
}

/** Starts a server whose handler answers only when close() is called. */
export function serveHanging(): HangingServer {
  const seen: SeenRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const release = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      seen.push(seenRequest(request, ""));
      for (const w of waiters.filter((w) => w.n <= seen.length)) w.resolve();
      // Held until close(): request.signal is not used because Deno.serve's
      // legacy abort semantics warn about it.
      await new Promise<void>((resolve) => {
        if (release.signal.aborted) resolve();
        release.signal.addEventListener("abort", () => resolve(), {
          once: true,
        });
      });
      return new Response("too late", { status: 503 });
    },
  );
  return {
    ...testServer(server, seen, async () => {
      release.abort();
      await server.shutdown();
    }),
    received(n = 1) {
      if (seen.length >= n) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
  };
}

function seenRequest(request: Request, body: string): SeenRequest {
  const url = new URL(request.url);
  return {
    method: request.method,
    path: url.pathname,
    search: url.search,
    headers: request.headers,
    body,
  };
}

function testServer(
  server: Deno.HttpServer<Deno.NetAddr>,
  seen: SeenRequest[],
  close: () => Promise<void>,
): TestServer {
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    seen,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A loopback port that was bound and closed again: connections are refused. */
export function refusedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A JSON response with an exact int64 `ret_code` written into the text. */
export function apiCallRcResponse(
  status: number,
  entries: { ret_code: bigint; message: string }[],
): Response {
  const body = "[" +
    entries.map((e) =>
      `{"ret_code":${e.ret_code},"message":${JSON.stringify(e.message)}}`
    ).join(",") + "]";
  return new Response(body, {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

/** A JSON response. */
export function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}
