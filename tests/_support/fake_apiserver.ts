/**
 * A small Kubernetes API server over `Deno.serve` on 127.0.0.1, backed by a
 * {@linkcode FakeKube}: real HTTP, real JSON, real watch streams, for tests
 * of the adapter and the informer over the wire.
 *
 * It serves the resources of the `KubeApi` port (list with `limit`/`continue`
 * paging, watch, get, create, replace, patch, delete with `DeleteOptions`,
 * pod eviction), answers errors as `Status` objects, reports a watch from a
 * compacted resourceVersion as a 200 stream with one `ERROR` event (like
 * kube-apiserver), and checks a bearer token when given one.
 *
 * @module
 */
import { type FakeKind, FakeKube } from "../_fakes/fake_kube.ts";
import {
  type JsonPatchOperation,
  KubeApiError,
  type KubeKind,
  type Patch,
} from "../../src/kube/mod.ts";
import { KubeConfig } from "../../src/kube/client/mod.ts";
import type { Clock } from "../../src/system/clock.ts";

/** One request the server received. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: Headers;
  /** Parsed JSON body, if any. */
  readonly body: unknown;
}

/** Options of {@linkcode startFakeApiServer}. */
export interface FakeApiServerOptions {
  /** Clock of the backing {@linkcode FakeKube} (when none is given). */
  clock: Clock;
  /** The state to serve. @default {a new FakeKube} */
  kube?: FakeKube;
  /** Require `Authorization: Bearer <token>`; 401 otherwise. */
  token?: string;
}

/** A running fake apiserver. */
export interface FakeApiServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The state behind it. */
  readonly kube: FakeKube;
  /** Every request, oldest first. */
  readonly requests: RecordedRequest[];
  /** A kubeconfig for this server (with the token, if any). */
  kubeConfig(): KubeConfig;
  /** Answers the next `times` requests matching `method` and path prefix with `status`. */
  failNext(
    match: { method?: string; pathPrefix?: string },
    status: number,
    options?: { times?: number; reason?: string },
  ): void;
  /** Never answers the next `times` requests matching `method` and path prefix (until close). */
  hangNext(
    match: { method?: string; pathPrefix?: string },
    options?: { times?: number },
  ): void;
  /** Number of watch streams open. */
  readonly openWatches: number;
  /** Ends every open watch stream (as the server does on timeout or restart). */
  closeWatches(): void;
  /** Stops the server (closes watches first). */
  close(): Promise<void>;
}

const RESOURCE_KINDS: Readonly<Record<string, FakeKind>> = Object.freeze({
  nodes: "nodes",
  pods: "pods",
  persistentvolumes: "persistentVolumes",
  persistentvolumeclaims: "persistentVolumeClaims",
  storageclasses: "storageClasses",
  volumeattachments: "volumeAttachments",
  leases: "leases",
  events: "events",
});

const PATCH_TYPES: Readonly<Record<string, Patch["type"]>> = Object.freeze({
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/json-patch+json": "json",
  "application/apply-patch+yaml": "apply",
});

interface Route {
  kind: FakeKind;
  namespace: string;
  name: string | undefined;
  subresource: string | undefined;
}

function parsePath(path: string): Route | undefined {
  const parts = path.split("/").filter((p) => p !== "").map(
    decodeURIComponent,
  );
  let rest: string[];
  if (parts[0] === "api" && parts[1] === "v1") rest = parts.slice(2);
  else if (parts[0] === "apis" && parts.length >= 3) rest = parts.slice(3);
  else return undefined;
  let namespace = "";
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const kind = RESOURCE_KINDS[rest[0] ?? ""];
  if (!kind) return undefined;
  return { kind, namespace, name: rest[1], subresource: rest[2] };
}

function status(code: number, reason: string, message: string): Response {
  return Response.json({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  }, { status: code });
}

function fromError(error: unknown): Response {
  if (error instanceof KubeApiError) {
    return status(error.status, error.reason, error.apiMessage);
  }
  return status(500, "InternalError", String(error));
}

/** Starts the server on 127.0.0.1 with a free port. */
export function startFakeApiServer(
  options: FakeApiServerOptions,
): FakeApiServer {
  const kube = options.kube ?? new FakeKube({ clock: options.clock });
  const requests: RecordedRequest[] = [];
  const watches = new Set<AbortController>();
  const faults: {
    method?: string | undefined;
    pathPrefix?: string | undefined;
    status: number;
    reason: string;
    remaining: number;
  }[] = [];

  const hangs: {
    method?: string | undefined;
    pathPrefix?: string | undefined;
    remaining: number;
  }[] = [];
  const hanging = new Set<() => void>();

  /** The first rule matching `method` and `path`, used up once (removed when spent). */
  function takeRule<
    T extends {
      method?: string | undefined;
      pathPrefix?: string | undefined;
      remaining: number;
    },
  >(rules: T[], method: string, path: string): T | undefined {
    const rule = rules.find((r) =>
      (r.method === undefined || r.method === method) &&
      (r.pathPrefix === undefined || path.startsWith(r.pathPrefix))
    );
    if (rule && --rule.remaining <= 0) rules.splice(rules.indexOf(rule), 1);
    return rule;
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const text = await request.text();
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      return status(400, "BadRequest", "body is not JSON");
    }
    requests.push({
      method: request.method,
      url: url.pathname + url.search,
      headers: request.headers,
      body,
    });
    if (
      options.token !== undefined &&
      request.headers.get("authorization") !== `Bearer ${options.token}`
    ) {
      return status(401, "Unauthorized", "Unauthorized");
    }
    const hang = takeRule(hangs, request.method, url.pathname);
    if (hang) {
      await new Promise<void>((resolve) => {
        const done = () => {
          hanging.delete(done);
          resolve();
        };
        hanging.add(done);
        request.signal.addEventListener("abort", done, { once: true });
      });
      return status(503, "ServiceUnavailable", "hung request released");
    }
    const fault = takeRule(faults, request.method, url.pathname);
    if (fault) {
      return status(fault.status, fault.reason, `injected ${fault.status}`);
    }
    const route = parsePath(url.pathname);
    if (!route) {
      return status(
        404,
        "NotFound",
        "the server could not find the requested resource",
      );
    }
    try {
      return await dispatch(request.method, route, url, body, request);
    } catch (error) {
      return fromError(error);
    }
  }

  async function dispatch(
    method: string,
    route: Route,
    url: URL,
    body: unknown,
    request: Request,
  ): Promise<Response> {
    const q = url.searchParams;
    const write = {
      ...(q.get("dryRun") === "All" ? { dryRun: "All" as const } : {}),
    };
    const ref = {
      kind: route.kind,
      namespace: route.namespace,
      name: route.name ?? "",
    };
    if (route.name === undefined) {
      if (method === "GET" && q.get("watch")) {
        return watch(route.kind as KubeKind, q);
      }
      if (method === "GET") return list(route, q);
      if (method === "POST") {
        // deno-lint-ignore no-explicit-any
        const obj = body as any;
        if (route.namespace) {
          obj.metadata = { ...obj.metadata, namespace: route.namespace };
        }
        return Response.json(await kube.create(route.kind, obj, write), {
          status: 201,
        });
      }
      return status(405, "MethodNotAllowed", method);
    }
    if (route.subresource === "eviction" && method === "POST") {
      // deno-lint-ignore no-explicit-any
      const del = (body as any)?.deleteOptions ?? {};
      await kube.evict(ref, {
        ...(del.preconditions?.uid ? { uid: del.preconditions.uid } : {}),
        ...(del.gracePeriodSeconds !== undefined
          ? { gracePeriodSeconds: del.gracePeriodSeconds }
          : {}),
        ...(del.dryRun?.includes("All") ? { dryRun: "All" as const } : {}),
      });
      return Response.json({ kind: "Status", status: "Success" }, {
        status: 201,
      });
    }
    if (route.subresource !== undefined) {
      return status(404, "NotFound", `subresource ${route.subresource}`);
    }
    switch (method) {
      case "GET":
        return Response.json(await kube.get(ref));
      case "PUT":
        return Response.json(
          // deno-lint-ignore no-explicit-any
          await kube.replace(route.kind, body as any, write),
        );
      case "PATCH": {
        const type = PATCH_TYPES[
          (request.headers.get("content-type") ?? "").split(";")[0]!
        ];
        if (!type) {
          return status(415, "UnsupportedMediaType", "unsupported patch type");
        }
        const patch =
          (type === "json"
            ? { type, body: body as JsonPatchOperation[] }
            : type === "apply"
            ? { type, body, force: q.get("force") === "true" }
            : { type, body }) as Patch;
        return Response.json(await kube.patch(ref, patch, write));
      }
      case "DELETE": {
        // deno-lint-ignore no-explicit-any
        const del = (body ?? {}) as any;
        const options = {
          ...(del.preconditions ? { preconditions: del.preconditions } : {}),
          ...(del.gracePeriodSeconds !== undefined
            ? { gracePeriodSeconds: del.gracePeriodSeconds }
            : {}),
          ...(del.dryRun?.includes("All") ? { dryRun: "All" as const } : {}),
        };
        await kube.delete(ref, options);
        return Response.json({ kind: "Status", status: "Success" });
      }
    }
    return status(405, "MethodNotAllowed", method);
  }

  function list(route: Route, q: URLSearchParams): Response {
    const all = kube.all(route.kind).filter((o) =>
      route.namespace === "" || o.metadata?.namespace === route.namespace
    );
    const limit = Number(q.get("limit") ?? 0);
    const offset = Number(q.get("continue") ?? 0);
    const items = limit > 0 ? all.slice(offset, offset + limit) : all;
    const next = limit > 0 && offset + limit < all.length
      ? String(offset + limit)
      : undefined;
    return Response.json({
      kind: "List",
      apiVersion: "v1",
      metadata: {
        resourceVersion: kube.resourceVersion,
        ...(next ? { continue: next } : {}),
      },
      items,
    });
  }

  function watch(kind: KubeKind, q: URLSearchParams): Response {
    const controller = new AbortController();
    watches.add(controller);
    const encoder = new TextEncoder();
    const iterator = kube.watch(kind, {
      resourceVersion: q.get("resourceVersion") ?? "",
      signal: controller.signal,
      allowBookmarks: q.get("allowWatchBookmarks") === "true",
    })[Symbol.asyncIterator]();
    const finish = () => {
      watches.delete(controller);
      controller.abort();
    };
    const stream = new ReadableStream<Uint8Array>({
      async pull(sink) {
        try {
          const next = await iterator.next();
          if (next.done) {
            finish();
            sink.close();
            return;
          }
          const event = next.value;
          const line = event.type === "BOOKMARK"
            ? {
              type: "BOOKMARK",
              object: {
                kind: "Bookmark",
                metadata: { resourceVersion: event.resourceVersion },
              },
            }
            : event;
          sink.enqueue(encoder.encode(JSON.stringify(line) + "\n"));
        } catch (error) {
          const e = error instanceof KubeApiError ? error : new KubeApiError({
            status: 500,
            reason: "InternalError",
            message: String(error),
            verb: "watch",
            kind,
            name: "",
          });
          sink.enqueue(encoder.encode(
            JSON.stringify({
              type: "ERROR",
              object: {
                kind: "Status",
                apiVersion: "v1",
                status: "Failure",
                message: e.apiMessage,
                reason: e.reason,
                code: e.status,
              },
            }) + "\n",
          ));
          finish();
          sink.close();
        }
      },
      cancel() {
        finish();
      },
    });
    return new Response(stream, {
      headers: { "content-type": "application/json" },
    });
  }

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, handle);
  const url = `http://127.0.0.1:${server.addr.port}`;

  const closeWatches = () => {
    kube.closeWatches();
  };
  const close = async () => {
    for (const release of [...hanging]) release();
    for (const w of watches) w.abort();
    kube.closeWatches();
    await server.shutdown();
  };

  return {
    url,
    kube,
    requests,
    get openWatches() {
      return watches.size;
    },
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "fake", server: url, skipTLSVerify: false }],
        users: [{
          name: "fake",
          ...(options.token === undefined ? {} : { token: options.token }),
        }],
        contexts: [{
          name: "fake",
          cluster: "fake",
          user: "fake",
          namespace: "default",
        }],
        currentContext: "fake",
      });
      return kc;
    },
    failNext(match, code, opts = {}) {
      faults.push({
        method: match.method,
        pathPrefix: match.pathPrefix,
        status: code,
        reason: opts.reason ?? "InternalError",
        remaining: opts.times ?? 1,
      });
    },
    hangNext(match, opts = {}) {
      hangs.push({
        method: match.method,
        pathPrefix: match.pathPrefix,
        remaining: opts.times ?? 1,
      });
    },
    closeWatches,
    close,
    [Symbol.asyncDispose]: close,
  };
}
