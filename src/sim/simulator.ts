/**
 * The LINSTOR simulator core: a pure `(Request) → Response` handler over an
 * in-memory controller, driven by an injected clock (timeline) with
 * simulator-only controls under `/sim/v1/`. This file owns the state, the
 * timeline and the dispatch; the route tables per object family are in
 * `_routes_*.ts`, the HTTP-free controller logic (placement, spawn,
 * autoplace, state changes) in `_controller.ts`, the state in `_store.ts`.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import type { ResourceWithVolumes } from "../linstor/mod.ts";
import { LOG_CATEGORY, SIM_DEFAULT_POOL_CAPACITY_KIB } from "../constants.ts";
import type { Clock } from "../system/clock.ts";
import { checkBasicAuth, type Credentials } from "./_auth.ts";
import { Controller } from "./_controller.ts";
import { PromotionEvents } from "./_events.ts";
import {
  mutations,
  replyWith,
  type Route,
  type RouteContext,
} from "./_http.ts";
import { bareNotFound, CODE, jsonResponse, RC_PARSE_ERROR } from "./_rc.ts";
import { BadRequest, matchRoute } from "./_request.ts";
import { definitionRoutes } from "./_routes_definitions.ts";
import { groupRoutes } from "./_routes_groups.ts";
import { nodeRoutes } from "./_routes_nodes.ts";
import { resourceRoutes } from "./_routes_resources.ts";
import { simRoutes } from "./_routes_sim.ts";
import type { Scenario, SimAction, TimelineEntry } from "./_scenario.ts";
import { RcFailure, Store } from "./_store.ts";

/** Options of `createSimulator()`. */
export interface SimulatorOptions {
  /** Time source of timestamps and the timeline. */
  clock: Clock;
  /** Initial state; an empty controller when absent. */
  scenario?: Scenario;
  /** Basic-auth user; when set every request except `/health` needs it. */
  username?: string;
  /** Basic-auth password (with `username`). */
  password?: string;
  /**
   * Capacity of pools created through `POST /v1/nodes/{node}/storage-pools`.
   * @default {SIM_DEFAULT_POOL_CAPACITY_KIB} (100 GiB)
   */
  defaultPoolCapacityKib?: number;
  /** Logger; default category `["linstor-suite", "sim"]`. */
  logger?: Logger;
}

/** A timeline entry and whether it ran. */
export interface TimelineStatus {
  /** Offset from the scenario start (ms). */
  readonly atMs: number;
  readonly action: SimAction;
  readonly applied: boolean;
  /** Why applying failed (the entry is not retried). */
  readonly error?: string;
}

/** State of the simulator in LINSTOR wire form, for tests. */
export interface SimulatorState {
  readonly nodes: ReturnType<Store["renderNode"]>[];
  readonly storagePools: ReturnType<Store["renderPool"]>[];
  readonly resourceGroups: ReturnType<Store["renderGroup"]>[];
  readonly resourceDefinitions: ReturnType<Store["renderDefinition"]>[];
  readonly resources: ResourceWithVolumes[];
}

/** The simulator. */
export interface Simulator {
  /** Answers one LINSTOR REST request (or a `/sim/v1/` control). */
  handler(request: Request): Promise<Response>;
  /**
   * Applies timeline entries due at `now` (default: the clock's now) and
   * returns them; SSE subscribers see the resulting changes.
   */
  advance(now?: number): TimelineStatus[];
  /** Absolute time (ms) of the next pending timeline entry. */
  nextEventAt(): number | undefined;
  /** Applies one action now; throws `SimActionError` when it does not fit. */
  apply(action: SimAction): void;
  /** Replaces the whole state with a scenario; its timeline starts now. */
  load(scenario: Scenario): void;
  /** Current state in wire form. */
  state(): SimulatorState;
  /** The timeline with applied flags. */
  timeline(): TimelineStatus[];
  /** Ends every open event stream. */
  close(): void;
}

/** A simulator action that does not fit the current state. */
export class SimActionError extends Error {
  /** The rejected action. */
  readonly action: SimAction;

  /** Wraps the controller's reason. */
  constructor(action: SimAction, reason: string, options?: ErrorOptions) {
    super(
      `Cannot apply simulator action "${action.action}": ${reason}`,
      options,
    );
    this.name = "SimActionError";
    this.action = action;
  }
}

class SimulatorImpl implements Simulator {
  readonly #clock: Clock;
  readonly #options: SimulatorOptions;
  readonly #logger: Logger;
  readonly #credentials: Credentials | undefined;
  #store: Store;
  #timeline: { entry: TimelineEntry; applied: boolean; error?: string }[] = [];
  #startedAt: number;
  #skippedMs = 0;
  readonly #events = new PromotionEvents();
  readonly #routes: Route[];

  constructor(options: SimulatorOptions) {
    const { username, password } = options;
    if ((username === undefined) !== (password === undefined)) {
      throw new TypeError(
        `Cannot create simulator "auth": give both username and password or neither`,
      );
    }
    const capacity = options.defaultPoolCapacityKib;
    if (
      capacity !== undefined &&
      (!Number.isSafeInteger(capacity) || capacity < 0)
    ) {
      throw new RangeError(
        `Cannot create simulator "defaultPoolCapacityKib": expected a whole number of KiB >= 0, got ${capacity}`,
      );
    }
    this.#clock = options.clock;
    this.#options = options;
    this.#credentials = username !== undefined && password !== undefined
      ? { username, password }
      : undefined;
    this.#logger = options.logger ?? getLogger([LOG_CATEGORY, "sim"]);
    this.#store = this.#newStore();
    this.#startedAt = this.#clock.now();
    if (options.scenario) this.load(options.scenario);
    this.#routes = this.#buildRoutes();
    this.handler = this.handler.bind(this);
  }

  #newStore(): Store {
    return new Store({
      now: () => this.#clock.now(),
      defaultPoolCapacityKib: this.#options.defaultPoolCapacityKib ??
        SIM_DEFAULT_POOL_CAPACITY_KIB,
    });
  }

  load(scenario: Scenario): void {
    const store = this.#newStore();
    store.load(scenario);
    this.#store = store;
    this.#timeline = scenario.timeline.map((entry) => ({
      entry,
      applied: false,
    }));
    this.#startedAt = this.#clock.now();
    this.#skippedMs = 0;
    this.#changed();
  }

  state(): SimulatorState {
    const s = this.#store;
    return {
      nodes: s.sortedNodes().map((n) => s.renderNode(n)),
      storagePools: s.sortedPools().map((p) => s.renderPool(p, false)),
      resourceGroups: s.sortedGroups().map((g) => s.renderGroup(g)),
      resourceDefinitions: s.sortedDefinitions().map((d) =>
        s.renderDefinition(d, true)
      ),
      resources: s.sortedResources().map((r) => s.renderResource(r, true)),
    };
  }

  timeline(): TimelineStatus[] {
    return this.#timeline.map((t) => ({
      atMs: t.entry.atMs,
      action: t.entry.action,
      applied: t.applied,
      ...(t.error !== undefined ? { error: t.error } : {}),
    }));
  }

  apply(action: SimAction): void {
    try {
      this.#store.apply(action);
    } catch (error) {
      if (error instanceof RcFailure) {
        throw new SimActionError(action, error.message, { cause: error });
      }
      throw error;
    } finally {
      this.#changed();
    }
  }

  nextEventAt(): number | undefined {
    const next = this.#timeline.find((t) => !t.applied);
    return next
      ? this.#startedAt - this.#skippedMs + next.entry.atMs
      : undefined;
  }

  advance(now: number = this.#clock.now()): TimelineStatus[] {
    const elapsed = now - this.#startedAt + this.#skippedMs;
    const done: TimelineStatus[] = [];
    for (const item of this.#timeline) {
      if (item.applied || item.entry.atMs > elapsed) continue;
      item.applied = true;
      try {
        this.#store.apply(item.entry.action);
        this.#logger.info("Timeline {action} at {atMs} ms applied", {
          action: item.entry.action.action,
          atMs: item.entry.atMs,
        });
      } catch (error) {
        item.error = (error as Error).message;
        this.#logger.warn("Timeline {action} at {atMs} ms failed: {error}", {
          action: item.entry.action.action,
          atMs: item.entry.atMs,
          error: item.error,
        });
      }
      done.push({
        atMs: item.entry.atMs,
        action: item.entry.action,
        applied: true,
        ...(item.error !== undefined ? { error: item.error } : {}),
      });
    }
    if (done.length > 0) this.#changed();
    return done;
  }

  close(): void {
    this.#events.close();
  }

  /** Recomputes derived state and tells SSE subscribers what changed. */
  #changed(): void {
    this.#store.invalidate();
    this.#store.rememberCapacities();
    this.#events.publish(
      this.#store.sortedResources().map((r) => ({
        resource: r.rd,
        node: r.node,
        mayPromote: this.#store.mayPromote(r),
      })),
    );
  }

  // ---- HTTP ----

  async handler(request: Request): Promise<Response> {
    const url = new URL(request.url);
    this.advance();
    if (url.pathname !== "/health" && this.#credentials !== undefined) {
      const denied = checkBasicAuth(request, {
        credentials: this.#credentials,
        store: this.#store,
      });
      if (denied) return denied;
    }
    const segments = url.pathname.split("/").filter((s) => s !== "");
    let pathMatched = false;
    for (const route of this.#routes) {
      const params = matchRoute([...route.segments], segments);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== request.method) continue;
      try {
        const response = await route.run(params, request, url);
        this.#logger.debug("{method} {path} → {status}", {
          method: request.method,
          path: url.pathname,
          status: response.status,
        });
        return response;
      } catch (error) {
        return this.#errorResponse(error, request, url);
      }
    }
    if (pathMatched) {
      return replyWith(this.#store, [{
        severity: "error",
        code: CODE.invalidRequest,
        message: `Method ${request.method} not allowed on ${url.pathname}.`,
      }], { success: 405, force: 405 });
    }
    return replyWith(this.#store, [{
      severity: "error",
      code: CODE.unknown,
      message: `No such path: ${url.pathname}`,
    }], { success: 404, force: 404 });
  }

  #errorResponse(error: unknown, request: Request, url: URL): Response {
    if (error instanceof RcFailure) {
      // The REST layer answers a GET of a missing object with the bare code.
      return replyWith(
        this.#store,
        request.method === "GET"
          ? error.entries.map(bareNotFound)
          : error.entries,
        { success: 200 },
      );
    }
    if (error instanceof BadRequest) {
      return jsonResponse(
        this.#store.entries([{
          severity: "error",
          code: 0n,
          message: error.message,
        }])
          .map((e) => ({ ...e, ret_code: RC_PARSE_ERROR })),
        400,
      );
    }
    this.#logger.error("{method} {path} failed: {error}", {
      method: request.method,
      path: url.pathname,
      error,
    });
    return replyWith(this.#store, [{
      severity: "error",
      code: CODE.unknown,
      message: `Unexpected simulator error: ${
        (error as Error)?.message ?? String(error)
      }`,
    }], { success: 500 });
  }

  #buildRoutes(): Route[] {
    const reply: RouteContext["reply"] = (list, successStatus = 200) =>
      replyWith(this.#store, list, { success: successStatus });
    const ctx: RouteContext = {
      store: () => this.#store,
      controller: new Controller({
        store: () => this.#store,
        changed: () => this.#changed(),
      }),
      events: this.#events,
      reply,
      mutate: mutations({ reply }),
    };
    return [
      ...simRoutes(ctx, {
        state: () => this.state(),
        timeline: () => this.#timelineBody(),
        skip: (ms) => {
          this.#skippedMs += ms;
          this.advance();
        },
        apply: (action) => {
          try {
            this.#store.apply(action);
          } finally {
            this.#changed();
          }
        },
        load: (scenario) => this.load(scenario),
      }),
      ...nodeRoutes(ctx),
      ...groupRoutes(ctx),
      ...definitionRoutes(ctx),
      ...resourceRoutes(ctx),
    ];
  }

  #timelineBody(): unknown {
    const now = this.#clock.now();
    return {
      started_at: new Date(this.#startedAt).toISOString(),
      elapsed_ms: now - this.#startedAt + this.#skippedMs,
      events: this.timeline().map((t) => ({
        at_ms: t.atMs,
        applied: t.applied,
        ...(t.error !== undefined ? { error: t.error } : {}),
        ...t.action,
      })),
    };
  }
}

/**
 * Creates a simulator. Pools created through the API get
 * `defaultPoolCapacityKib`; nodes created through the API are ONLINE.
 */
export function createSimulator(options: SimulatorOptions): Simulator {
  return new SimulatorImpl(options);
}

const TIMELINE_IDLE_POLL_MS = 1_000;

/**
 * Runs the timeline in (clock) time: sleeps until the next entry is due and
 * applies it, until `signal` aborts.
 */
export async function runTimeline(
  simulator: Simulator,
  options: { clock: Clock; signal: AbortSignal },
): Promise<void> {
  for (;;) {
    if (options.signal.aborted) return;
    // Nothing pending: look again later (a scenario may be loaded meanwhile).
    const next = simulator.nextEventAt() ??
      options.clock.now() + TIMELINE_IDLE_POLL_MS;
    try {
      await options.clock.sleep(
        Math.max(0, next - options.clock.now()),
        options.signal,
      );
    } catch {
      return;
    }
    simulator.advance();
  }
}
