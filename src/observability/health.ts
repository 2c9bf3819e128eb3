/**
 * `/healthz`, `/readyz` and `/metrics` as a plain request handler.
 *
 * @module
 */
import type { Registry } from "./metrics.ts";

/** The result of a health check. */
export interface CheckResult {
  readonly ok: boolean;
  /** One line shown in the response body. */
  readonly detail: string;
}

/** Liveness and readiness checks of a process. */
export interface HealthChecks {
  /** Liveness: the process makes progress (e.g. its loop passes recently). */
  live(): CheckResult;
  /** Readiness: caches are synced and the process can do its job. */
  ready(): CheckResult;
}

/** Options of `createHealthRoutes()`. */
export interface HealthRoutesOptions {
  registry: Registry;
  checks: HealthChecks;
}

/**
 * Returns a handler answering `/healthz`, `/readyz` and `/metrics`, or
 * `undefined` for other paths so callers can compose it.
 */
export function createHealthRoutes(
  options: HealthRoutesOptions,
): (request: Request) => Promise<Response> | undefined {
  return (request) => {
    const path = new URL(request.url).pathname;
    switch (path) {
      case "/healthz":
      case "/livez":
        return Promise.resolve(checkResponse(options.checks.live()));
      case "/readyz":
        return Promise.resolve(checkResponse(options.checks.ready()));
      case "/metrics":
        return options.registry.metrics().then((body) =>
          new Response(body, {
            headers: { "content-type": options.registry.contentType },
          })
        );
      default:
        return undefined;
    }
  };
}

function checkResponse(result: CheckResult): Response {
  return new Response(`${result.ok ? "ok" : "not ok"}: ${result.detail}\n`, {
    status: result.ok ? 200 : 503,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** Tracks loop passes for liveness: live while a pass started recently. */
export class LoopLiveness {
  #lastStart: number | undefined;
  #lastOk: number | undefined;
  #maxAgeMs: number;
  #now: () => number;

  /** `maxAgeMs` is typically interval + pass timeout. */
  constructor(options: { maxAgeMs: number; now: () => number }) {
    this.#maxAgeMs = options.maxAgeMs;
    this.#now = options.now;
  }

  /** Records a pass (give it to `runLoop()` `onPass`). */
  record(result: { startedAt: number; ok: boolean }): void {
    this.#lastStart = result.startedAt;
    if (result.ok) this.#lastOk = result.startedAt;
  }

  /** Live when the last pass started within `maxAgeMs` (or none ran yet). */
  check(): CheckResult {
    if (this.#lastStart === undefined) {
      return { ok: true, detail: "no pass yet" };
    }
    const age = this.#now() - this.#lastStart;
    const ok = age <= this.#maxAgeMs;
    const lastOk = this.#lastOk === undefined
      ? "never"
      : `${Math.round((this.#now() - this.#lastOk) / 1000)}s ago`;
    return {
      ok,
      detail: `last pass started ${
        Math.round(age / 1000)
      }s ago, last success ${lastOk}`,
    };
  }
}
