/**
 * Wires the extender handler to an HTTP(S) server over a snapshot source.
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Registry } from "../../observability/mod.ts";
import type { Snapshot } from "../../state/types.ts";
import {
  type Clock,
  type HttpServer,
  type ListenAddress,
  serveHttp,
} from "../../system/mod.ts";
import type { ExtenderConfig } from "./_config.ts";
import { createExtenderHandler } from "./_handler.ts";
import { createExtenderMetrics } from "./_metrics.ts";
import { Reservations } from "./_reservations.ts";
import { linstorDataAge } from "../../domain/mod.ts";

/** What `startExtender()` needs. */
export interface ExtenderDeps {
  readonly clock: Clock;
  /** The latest state-model snapshot. */
  readonly snapshot: () => Snapshot;
  /** Registry for the extender metrics, also served on `/metrics`. */
  readonly registry?: Registry | undefined;
  readonly logger?: Logger | undefined;
  /**
   * `/healthz`, `/readyz` and `/metrics` by the process's one readiness rule
   * (`runMode()` hands them in), served on the extender listener too.
   */
  readonly health?:
    | ((request: Request) => Promise<Response> | undefined)
    | undefined;
}

/** Options of `startExtender()`. */
export interface ExtenderOptions {
  readonly config: ExtenderConfig;
  readonly listen: ListenAddress;
  /** PEM certificate chain and key: serve HTTPS. */
  readonly tls?: { cert: string; key: string } | undefined;
  /** Stops the server. */
  readonly signal: AbortSignal;
}

/** A running extender. */
export interface RunningExtender {
  readonly server: HttpServer;
  readonly reservations: Reservations;
}

/** Serves the extender until `options.signal` aborts. */
export function startExtender(
  deps: ExtenderDeps,
  options: ExtenderOptions,
): RunningExtender {
  const reservations = new Reservations({
    clock: deps.clock,
    ttlMs: options.config.reservationTtlMs,
  });
  const metrics = deps.registry
    ? createExtenderMetrics(deps.registry, {
      reservations,
      dataAgeSeconds: () => {
        const ageMs = linstorDataAge(deps.snapshot(), deps.clock.now());
        return ageMs === undefined ? undefined : ageMs / 1000;
      },
    })
    : undefined;
  const handler = createExtenderHandler({
    snapshot: deps.snapshot,
    clock: deps.clock,
    config: options.config,
    reservations,
    metrics,
    registry: deps.registry,
    logger: deps.logger,
    health: deps.health,
  });
  const server = serveHttp(handler, {
    ...options.listen,
    signal: options.signal,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return { server, reservations };
}
