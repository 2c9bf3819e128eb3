/**
 * The extender's HTTP handler: a pure `(Request) → Response` over the latest
 * snapshot. No LINSTOR or apiserver call happens here.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { getLogger, type Logger } from "@logtape/logtape";
import type { Registry } from "../../observability/mod.ts";
import type { V1Pod } from "@kubernetes/client-node";
import type { Clock } from "../../system/clock.ts";
import type { Snapshot } from "../../state/types.ts";
import { LOG_CATEGORY } from "../../constants.ts";
import { modeReadiness } from "../../reconcile/mod.ts";
import type { ExtenderConfig } from "./_config.ts";
import {
  DeadlineExceeded,
  EXTENDER_KINDS,
  filterNodes,
  scoreNodes,
} from "./_core.ts";
import { freshness } from "../../domain/mod.ts";
import { IndexCache } from "./_index.ts";
import { explainPod } from "./_explain.ts";
import { FilterMemo } from "./_filter_memo.ts";
import { NodeItems, parseKubeSchedulerLayout } from "./_node_items.ts";
import type { ExtenderMetrics } from "./_metrics.ts";
import type { Reservations } from "./_reservations.ts";
import {
  filterReservations,
  prioritizeNarrowing,
} from "./_reservation_policy.ts";
import {
  candidateNames,
  type ExtenderArgs,
  filterResultJson,
  hostPrioritiesJson,
  LastNodesAnswer,
  parseExtenderArgs,
} from "./_wire.ts";

/** Options of `createExtenderHandler()`. */
export interface ExtenderHandlerOptions {
  /** The latest state-model snapshot. */
  readonly snapshot: () => Snapshot;
  readonly clock: Clock;
  readonly config: ExtenderConfig;
  readonly reservations: Reservations;
  readonly metrics?: ExtenderMetrics | undefined;
  /** Served on `/metrics` when given. */
  readonly registry?: Registry | undefined;
  readonly logger?: Logger | undefined;
  /**
   * Answers `/healthz`, `/readyz` and `/metrics` (the process's shared
   * health routes); without it the handler answers them itself by the same
   * rule (`modeReadiness()`).
   */
  readonly health?:
    | ((request: Request) => Promise<Response> | undefined)
    | undefined;
  /** Body limit (default 10 MiB). */
  readonly maxBodyBytes?: number | undefined;
}

type Verb = "filter" | "prioritize";

/** Bodies up to this size are kept to be decoded once for filter and prioritize. */
const PARSED_CACHE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Why the body-read deadline is called off: a value, so no `DOMException`
 * (and its stack) is made per request as `abort()` without one does.
 */
const BODY_READ = "body read";

class BodyTooLarge extends Error {
  override name = "BodyTooLarge";
}

function json(body: unknown, status = 200): Response {
  return jsonText(JSON.stringify(body), status);
}

function jsonText(body: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json" },
  });
}

function text(body: string, status: number): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** Reads the body as UTF-8, refusing more than `limit` bytes without reading the rest. */
async function readBody(
  request: Request,
  limit: number,
  signal: AbortSignal,
): Promise<string> {
  const bytes = await readBytes(request, limit, signal);
  try {
    return decodeBody(bytes);
  } finally {
    releaseBytes(bytes);
  }
}

/** Reads the body, refusing more than `limit` bytes without reading the rest. */
async function readBytes(
  request: Request,
  limit: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await request.body?.cancel();
    throw new BodyTooLarge(
      `Cannot read request body: ${declared} bytes is over the ${limit}-byte limit`,
    );
  }
  if (!request.body) return new Uint8Array();
  return declared !== null && /^[0-9]+$/.test(declared)
    // kube-scheduler declares the length: reading the body in one piece
    // costs a fraction of reading megabytes of Node objects chunk by chunk.
    // A slow sender still gets its answer at the deadline (the caller races
    // this read); the read itself ends with the connection.
    ? await request.bytes()
    : await readChunks(request.body, limit, signal);
}

/**
 * Frees the memory behind a body the handler is done with now, instead of at
 * V8's next collection: a body read with `request.bytes()` is a fresh
 * `ArrayBuffer` outside V8's heap, so megabytes of them waiting for a
 * collection make V8 collect sooner (memory saver mode) and free them all in
 * one pause. Only a view of its whole buffer is released: a slice may share
 * its buffer with bytes the handler does not own.
 */
function releaseBytes(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (
    buffer instanceof ArrayBuffer && !buffer.detached && !buffer.resizable &&
    bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength &&
    buffer.byteLength > 0
  ) {
    buffer.transfer(0);
  }
}

/** The body as text; `SyntaxError` when it is not UTF-8. */
function decodeBody(bytes: Uint8Array): string {
  // The lenient decoder is several times faster than the strict one; it
  // marks invalid input with U+FFFD, so only a body holding one (invalid, or
  // sent as such) is decoded again strictly.
  const text = new TextDecoder().decode(bytes);
  if (!text.includes("\uFFFD")) return text;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new SyntaxError(
      'Cannot parse extender arguments "body": not valid UTF-8',
    );
  }
}

/** Reads a body of undeclared length chunk by chunk, up to `limit` bytes, until `signal`. */
async function readChunks(
  body: ReadableStream<Uint8Array>,
  limit: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const onAbort = () =>
    void reader.cancel(signal.reason).catch(() => undefined);
  signal.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel();
        throw new BodyTooLarge(
          `Cannot read request body: over the ${limit}-byte limit`,
        );
      }
      chunks.push(value);
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  if (signal.aborted) throw signal.reason;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * Creates the extender handler: `POST <prefix>/<filterVerb>`,
 * `POST <prefix>/<prioritizeVerb>`, `GET /healthz`, `/readyz`, `/metrics`.
 * Every filter/prioritize answer is 200 with a valid body; malformed input is
 * 400, oversized 413.
 */
export function createExtenderHandler(
  options: ExtenderHandlerOptions,
): (request: Request) => Promise<Response> {
  const { clock, config, reservations, metrics, registry } = options;
  const logger = options.logger ?? getLogger([LOG_CATEGORY, "extender"]);
  const limit = options.maxBodyBytes ?? config.maxRequestBodyBytes;
  const indexes = new IndexCache(config.propertyNamespace, {
    defaultRatio: config.capacity.oversubscriptionRatio,
    onDetected: (namespace) =>
      logger.info("Using LINSTOR property namespace {namespace} (detected)", {
        namespace,
      }),
  });
  const routes = new Map<string, Verb>([
    [`${config.prefix}/${config.filterVerb}`, "filter"],
    [`${config.prefix}/${config.prioritizeVerb}`, "prioritize"],
  ]);
  const explainPath = `${config.prefix}/explain`;
  let lastFailOpen: string | undefined;
  // kube-scheduler asks prioritize for the same pod right after filter, with
  // the names that passed: the filter's candidates and fits are reused then.
  const filterMemo = new FilterMemo();
  // kube-scheduler usually sends prioritize the very body filter got (same
  // pod, same names when every node passed): it is decoded once, and
  // recognised by comparing bytes (megabytes with full Node objects).
  let lastParsed: { bytes: Uint8Array; args: ExtenderArgs } | undefined;
  // kube-scheduler sends the same Node objects call after call: each is
  // parsed when its text is new, then recognised by its text.
  const nodeItems = new NodeItems();
  // ...and the same Nodes usually pass: the answer is kept and sent again.
  const lastNodesAnswer = new LastNodesAnswer();

  function parse(verb: Verb, bytes: Uint8Array): ExtenderArgs {
    const previous = lastParsed;
    lastParsed = undefined;
    let kept = false;
    try {
      if (
        verb === "prioritize" && previous !== undefined &&
        previous.bytes.length === bytes.length &&
        Buffer.compare(previous.bytes, bytes) === 0
      ) {
        return previous.args;
      }
      const before = nodeItems.counts;
      let args = parseKubeSchedulerLayout(bytes, nodeItems);
      if (args !== undefined) {
        const after = nodeItems.counts;
        countNodeObjects("known", after.hits - before.hits);
        countNodeObjects("parsed", after.misses - before.misses);
      } else {
        args = parseExtenderArgs(decodeBody(bytes));
        countNodeObjects("full", args.nodes?.length ?? 0);
      }
      if (verb === "filter" && bytes.length <= PARSED_CACHE_MAX_BYTES) {
        lastParsed = { bytes, args };
        kept = true;
      }
      return args;
    } finally {
      if (previous !== undefined) releaseBytes(previous.bytes);
      if (!kept) releaseBytes(bytes);
    }
  }

  function countNodeObjects(decode: string, count: number): void {
    if (count > 0) metrics?.nodeObjects?.inc({ decode }, count);
  }

  function failOpen(kind: string, reason: string): void {
    metrics?.failOpen.inc({ reason: kind });
    if (reason !== lastFailOpen) {
      logger.warn("Failing open: {reason}", { reason });
      lastFailOpen = reason;
    }
  }

  function decide(
    verb: Verb,
    args: ExtenderArgs,
    expired: () => boolean,
  ): { body: string; outcome: string } {
    const snapshot = options.snapshot();
    const now = clock.now();
    const names = candidateNames(args);
    const verdict = freshness(snapshot, now, {
      maxAgeMs: config.maxStalenessMs,
      kinds: EXTENDER_KINDS,
    });
    if (!verdict.fresh) {
      failOpen(
        verdict.reason === "LinstorStale" ? "stale" : "unsynced",
        verdict.detail,
      );
      return { body: openAnswer(verb, args), outcome: "fail_open" };
    }
    if (lastFailOpen !== undefined) {
      logger.info("Data is fresh again; deciding normally");
      lastFailOpen = undefined;
    }
    const index = indexes.of(snapshot);
    const linstorNodeOf = (name: string) => index.linstorNodeFor(name)?.name;
    reservations.prune(snapshot, { linstorNodeOf });
    const evaluate = {
      config,
      now,
      reservations: reservations.view(),
      nodes: args.nodes,
      expired,
    };
    if (verb === "filter") {
      // The pass also scores the passing nodes for the prioritize that
      // follows, and works out what the pod's claims would hold.
      const outcome = filterNodes(index, { pod: args.pod, names }, {
        ...evaluate,
        score: true,
        held: (claim) => reservations.get(claim),
      });
      const failed: Record<string, string> = {};
      const unresolvable: Record<string, string> = {};
      const perPredicate = new Map<string, number>();
      for (const [node, verdict] of outcome.rejected) {
        (verdict.unresolvable ? unresolvable : failed)[node] =
          `${verdict.predicate}: ${verdict.reason}`;
        perPredicate.set(
          verdict.predicate,
          (perPredicate.get(verdict.predicate) ?? 0) + 1,
        );
      }
      for (const [predicate, count] of perPredicate) {
        metrics?.rejected.inc({ predicate }, count);
      }
      // Every node passing is the common case: no set of 5,000 names then.
      const passed = outcome.rejected.size === 0
        ? undefined
        : new Set(outcome.passed);
      const changes = filterReservations(outcome, {
        held: (claim) => reservations.get(claim),
        passed,
        pools: snapshot.linstor.poolsByNode,
      });
      reservations.apply(changes);
      // Claims now held on exactly the passing candidates' pools (reserved
      // afresh or refreshed unchanged): the prioritize of those candidates
      // would narrow them to every node they hold.
      const rebuilt = new Set<string>();
      for (const change of changes) {
        if (change.op === "reserve" || change.op === "refresh") {
          rebuilt.add(change.claim);
        }
      }
      let { candidates, memo } = outcome;
      if (outcome.rejected.size > 0) {
        const slots: number[] = [];
        for (let i = 0; i < candidates.length; i++) {
          if (!outcome.rejected.has(candidates[i]!.name)) slots.push(i);
        }
        candidates = slots.map((i) => outcome.candidates[i]!);
        memo = memo.subset(slots);
      }
      filterMemo.remember({
        args,
        snapshot,
        version: reservations.version,
        passed: outcome.passed,
        candidates,
        memo,
        rebuilt,
        scores: outcome.scores,
        context: outcome.context,
      });
      if (outcome.rejected.size > 0) {
        logger.debug("Filtered pod {pod}: {passed} of {total} nodes pass", {
          pod: outcome.context.podKey,
          passed: outcome.passed.length,
          total: names.length,
        });
      }
      return {
        body: filterResultJson(args, passed, {
          failed,
          unresolvable,
          last: lastNodesAnswer,
        }),
        outcome: "ok",
      };
    }
    const reuse = filterMemo.take({
      args,
      names,
      snapshot,
      version: reservations.version,
    });
    metrics?.prioritizeReuse?.inc({ result: reuse ? "hit" : "miss" });
    const outcome = reuse?.scores !== undefined && reuse.context !== undefined
      ? {
        context: reuse.context,
        candidates: reuse.candidates,
        scores: reuse.scores,
      }
      : scoreNodes(
        index,
        { pod: args.pod, names },
        reuse
          ? { ...evaluate, memo: reuse.memo, candidates: reuse.candidates }
          : evaluate,
      );
    reservations.apply(prioritizeNarrowing(outcome.context, {
      candidates: outcome.candidates,
      // A claim the filter of the same candidates just reserved or refreshed holds
      // only nodes among them: narrowing it would keep every node.
      skip: reuse?.rebuilt,
      held: (claim) => reservations.get(claim),
    }));
    return {
      body: hostPrioritiesJson(outcome.candidates, outcome.scores),
      outcome: "ok",
    };
  }

  async function serveVerb(verb: Verb, request: Request): Promise<Response> {
    const started = performance.now();
    // The deadline covers the whole request: reading, parsing and evaluating.
    const deadlineAt = clock.now() + config.deadlineMs;
    const expired = () => clock.now() >= deadlineAt;
    const finish = (response: Response, outcome: string) => {
      metrics?.requests.inc({ verb, outcome });
      metrics?.duration.observe({ verb }, (performance.now() - started) / 1000);
      return response;
    };
    const late = (message: string) => {
      failOpen("deadline", message);
      // Error makes an ignorable extender be skipped: kube-scheduler proceeds without us.
      return finish(
        json(verb === "filter" ? { Error: message } : []),
        "deadline",
      );
    };
    if (request.method !== "POST") {
      await request.body?.cancel();
      return finish(text(`Cannot ${verb}: use POST`, 405), "bad_request");
    }
    const abort = new AbortController();
    const stopReading = new AbortController();
    const deadline = clock.sleep(config.deadlineMs, abort.signal).then(
      () => {
        const error = new DeadlineExceeded(
          `Cannot ${verb}: request body not received within ${config.deadlineMs}ms`,
        );
        // Stops reading the body: the slow client gets no more of our time.
        stopReading.abort(error);
        throw error;
      },
      () => undefined as never,
    );
    let body: Uint8Array;
    try {
      body = await Promise.race([
        readBytes(request, limit, stopReading.signal),
        deadline,
      ]);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        return finish(text(error.message, 413), "too_large");
      }
      if (error instanceof DeadlineExceeded) return late(error.message);
      if (error instanceof SyntaxError) {
        return finish(text(error.message, 400), "bad_request");
      }
      throw error;
    } finally {
      abort.abort(BODY_READ);
    }
    let args: ExtenderArgs;
    try {
      args = parse(verb, body);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return finish(
        text(message.split("\n")[0] ?? message, 400),
        "bad_request",
      );
    }
    try {
      const { body: answer, outcome } = decide(verb, args, expired);
      if (expired()) {
        return late(
          `Cannot ${verb}: no answer within the ${config.deadlineMs}ms deadline`,
        );
      }
      return finish(jsonText(answer), outcome);
    } catch (error) {
      if (error instanceof DeadlineExceeded) return late(error.message);
      logger.error("Cannot {verb} pod: {error}; failing open", { verb, error });
      failOpen(
        "internal_error",
        `internal error: ${error instanceof Error ? error.message : error}`,
      );
      return finish(jsonText(openAnswer(verb, args)), "error");
    }
  }

  /**
   * `POST <prefix>/explain` with `{"pod": <Pod>}`: the explanation over the
   * live snapshot and this process's reservations (`extender explain` is its
   * client). Only on the extender's own listener: it shows placement and
   * capacity across tenants.
   */
  async function serveExplain(request: Request): Promise<Response> {
    if (request.method !== "POST") {
      await request.body?.cancel();
      return text("Cannot explain: use POST", 405);
    }
    const abort = new AbortController();
    const stopReading = new AbortController();
    const deadline = clock.sleep(config.deadlineMs, abort.signal).then(
      () => {
        const error = new DeadlineExceeded(
          `Cannot explain: request body not received within ${config.deadlineMs}ms`,
        );
        stopReading.abort(error);
        throw error;
      },
      () => undefined as never,
    );
    let pod: V1Pod;
    try {
      const body = await Promise.race([
        readBody(request, limit, stopReading.signal),
        deadline,
      ]);
      pod = explainTarget(body);
    } catch (error) {
      if (error instanceof BodyTooLarge) return text(error.message, 413);
      if (error instanceof DeadlineExceeded) return text(error.message, 408);
      if (error instanceof SyntaxError || error instanceof TypeError) {
        return text(error.message, 400);
      }
      throw error;
    } finally {
      abort.abort(BODY_READ);
    }
    const snapshot = options.snapshot();
    const index = indexes.of(snapshot);
    return json(explainPod(snapshot, pod, {
      config,
      now: clock.now(),
      reservations,
      index,
    }));
  }

  return async function handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname.replace(/\/+$/, "") || "/";
    const verb = routes.get(path);
    if (verb) return await serveVerb(verb, request);
    if (path === explainPath) return await serveExplain(request);
    await request.body?.cancel().catch(() => undefined);
    if (request.method !== "GET" && request.method !== "HEAD") {
      metrics?.requests.inc({ verb: "unknown", outcome: "not_found" });
      return text(`Cannot serve "${path}": unknown verb`, 404);
    }
    const shared = options.health?.(request);
    if (shared !== undefined) return await shared;
    switch (path) {
      case "/healthz":
        return text("ok", 200);
      case "/readyz": {
        const ready = modeReadiness(options.snapshot(), {
          now: clock.now(),
          readsLinstor: true,
          maxLinstorAgeMs: config.maxStalenessMs,
        });
        // Not ready still answers requests (fail open); readiness only tells operators.
        return ready.ok
          ? text("ok", 200)
          : text(`not ready: ${ready.detail}`, 503);
      }
      case "/metrics":
        if (registry) {
          return new Response(await registry.metrics(), {
            headers: { "content-type": registry.contentType },
          });
        }
        return text("metrics are not enabled", 404);
      default:
        return text(`Cannot serve "${path}": not found`, 404);
    }
  };
}

/** The pod of an explain request body `{"pod": <Pod>}`. */
function explainTarget(body: string): V1Pod {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new SyntaxError('Cannot explain "body": not JSON');
  }
  const pod = (parsed as { pod?: unknown } | null)?.pod;
  const meta = (pod as V1Pod | undefined)?.metadata;
  if (
    typeof pod !== "object" || pod === null || typeof meta?.name !== "string"
  ) {
    throw new TypeError(
      'Cannot explain "body": expected {"pod": <Pod with metadata.name>}',
    );
  }
  return pod as V1Pod;
}

/** The fail-open answer (JSON): every node passes / nobody gets an opinion. */
function openAnswer(verb: Verb, args: ExtenderArgs): string {
  if (verb === "filter") {
    return filterResultJson(args, undefined, { failed: {}, unresolvable: {} });
  }
  return hostPrioritiesJson(
    candidateNames(args).map((name) => ({ name })),
    undefined,
  );
}
