/**
 * A small HTTP client edge for the suite's own services (e.g. the `extender
 * explain` CLI asking the running extender): one JSON POST, over HTTP or
 * HTTPS with a given CA, with a timeout.
 *
 * @module
 */

/** Options of `postJson()`. */
export interface PostJsonOptions {
  /** Aborts the request. */
  readonly signal?: AbortSignal | undefined;
  /** PEM CA certificate(s) to trust for HTTPS (e.g. a self-signed server certificate). */
  readonly caCert?: string | undefined;
  /** Gives up after this many milliseconds. */
  readonly timeoutMs: number;
}

/** A response: status and body text. */
export interface PostJsonResponse {
  readonly status: number;
  readonly text: string;
}

/** POSTs `body` as JSON to `url` and reads the whole answer. */
export async function postJson(
  url: string,
  body: unknown,
  options: PostJsonOptions,
): Promise<PostJsonResponse> {
  const client = options.caCert
    ? Deno.createHttpClient({ caCerts: [options.caCert] })
    : undefined;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: options.signal
        ? AbortSignal.any([options.signal, timeout])
        : timeout,
      ...(client ? { client } : {}),
    });
    return { status: response.status, text: await response.text() };
  } finally {
    client?.close();
  }
}
