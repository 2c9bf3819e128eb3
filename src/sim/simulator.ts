/**
 * The LINSTOR simulator core: a pure `(Request) → Response` handler over an
 * in-memory controller, driven by an injected clock (timeline) with
 * simulator-only controls under `/sim/v1/`.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import {
  type AutoSelectFilter,
  type Props,
  RC_MASK_CREATE,
  RC_MASK_DELETE,
  RC_MASK_MODIFY,
  type ResourceWithVolumes,
} from "../linstor/mod.ts";
import {
  LINSTOR_AUTH_REALM,
  LINSTOR_DEFAULT_STORAGE_POOL,
  LINSTOR_DISKLESS_STORAGE_POOL,
  LINSTOR_PROP_STORAGE_POOL_NAME,
  LOG_CATEGORY,
  SIM_DEFAULT_POOL_CAPACITY_KIB,
  SIM_LINSTOR_VERSION,
  SIM_REST_API_VERSION,
} from "../constants.ts";
import type { Clock } from "../system/clock.ts";
import { placeReplicas } from "./_autoplace.ts";
import {
  fits,
  isDisklessPool,
  keyOf,
  matchesProps,
  modifyProps,
  poolKey,
  type ReplicaKind,
  resourceKey,
  type SimResourceDefinition,
} from "./_model.ts";
import {
  bareNotFound,
  CODE,
  jsonResponse,
  OBJ,
  RC_PARSE_ERROR,
  type RcInit,
  statusOf,
  stringifyJson,
} from "./_rc.ts";
import {
  NODE_NAME_PATTERN,
  OBJECT_NAME_PATTERN,
  parseActions,
  parseDurationMs,
  parseScenario,
  POOL_NAME_PATTERN,
  PROVIDER_KINDS,
  type Scenario,
  ScenarioError,
  type SimAction,
  type TimelineEntry,
  validateScenario,
} from "./_scenario.ts";
import {
  BadRequest,
  bool,
  constantTimeEqual,
  isObject,
  listParam,
  matchRoute,
  mergeFilter,
  nameIn,
  optionalInteger,
  optionalProps,
  optionalString,
  optionalStrings,
  page,
  propsChange,
  readFilter,
} from "./_request.ts";
import { notFound, RcFailure, Store } from "./_store.ts";
import { PromotionEvents } from "./_events.ts";

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

interface Route {
  method: string;
  segments: string[];
  run(
    params: Record<string, string>,
    request: Request,
    url: URL,
  ): Promise<Response> | Response;
}

class SimulatorImpl implements Simulator {
  readonly #clock: Clock;
  readonly #options: SimulatorOptions;
  readonly #logger: Logger;
  #store: Store;
  #timeline: { entry: TimelineEntry; applied: boolean; error?: string }[] = [];
  #startedAt: number;
  #skippedMs = 0;
  readonly #events = new PromotionEvents();
  readonly #routes: Route[];

  constructor(options: SimulatorOptions) {
    if ((options.username === undefined) !== (options.password === undefined)) {
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

  // ---- promotion events ----

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
    if (url.pathname !== "/health") {
      const denied = this.#checkAuth(request);
      if (denied) return denied;
    }
    const segments = url.pathname.split("/").filter((s) => s !== "");
    let pathMatched = false;
    for (const route of this.#routes) {
      const params = matchRoute(route.segments, segments);
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
      return this.#reply(
        [{
          severity: "error",
          code: CODE.invalidRequest,
          message: `Method ${request.method} not allowed on ${url.pathname}.`,
        }],
        405,
        405,
      );
    }
    return this.#reply(
      [{
        severity: "error",
        code: CODE.unknown,
        message: `No such path: ${url.pathname}`,
      }],
      404,
      404,
    );
  }

  #errorResponse(error: unknown, request: Request, url: URL): Response {
    if (error instanceof RcFailure) {
      return this.#reply(
        request.method === "GET"
          ? error.entries.map(bareNotFound)
          : error.entries,
        200,
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
    return this.#reply([{
      severity: "error",
      code: CODE.unknown,
      message: `Unexpected simulator error: ${
        (error as Error)?.message ?? String(error)
      }`,
    }], 500);
  }

  #reply(
    list: readonly RcInit[],
    successStatus: number,
    forceStatus?: number,
  ): Response {
    const entries = this.#store.entries(list);
    return jsonResponse(
      entries,
      forceStatus ?? statusOf(entries, successStatus),
    );
  }

  /**
   * Basic auth like the controller with LDAP on (`RequestHelper`): no
   * header → 401 with the Basic challenge; another scheme or `Basic`
   * without a token → 500 (`FAIL_INVLD_ENCRYPT_TYPE`); wrong credentials →
   * 403 (`FAIL_SIGN_IN`).
   */
  #checkAuth(request: Request): Response | undefined {
    const { username, password } = this.#options;
    if (username === undefined || password === undefined) return undefined;
    const header = request.headers.get("authorization");
    if (header === null) {
      return jsonResponse(
        this.#store.entries([{
          severity: "error",
          code: CODE.signInMissingCredentials,
          message: "Login required but no 'Authorization' header given.",
        }]),
        {
          status: 401,
          headers: {
            "www-authenticate": `Basic realm="${LINSTOR_AUTH_REALM}"`,
          },
        },
      );
    }
    const [scheme = "", token] = splitOnce(header, " ");
    if (scheme !== "Basic" || token === undefined) {
      return this.#reply([{
        severity: "error",
        code: CODE.invalidEncryptType,
        message: scheme === "Basic"
          ? "Basic authentication doesn't contain credential token."
          : "Invalid Authorization method, only 'Basic' supported.",
      }], 200);
    }
    let given = "";
    try {
      given = atob(token.trim());
    } catch {
      given = "";
    }
    const [user = "", secret] = splitOnce(given, ":");
    const ok = secret !== undefined && constantTimeEqual(user, username) &&
      constantTimeEqual(secret, password);
    if (ok) return undefined;
    return this.#reply([{
      severity: "error",
      code: CODE.signIn,
      message: "Sign-in failed",
      cause:
        "The credentials for the sign-in are not valid or LDAP access not correctly configured.",
      correction:
        "The name of a valid identity and a matching password must be provided to sign in to the system or LDAP access correctly configured.",
    }], 200);
  }

  async #body(request: Request): Promise<unknown> {
    const text = await request.text();
    if (text.trim() === "") throw new BadRequest("request body is empty");
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new BadRequest(
        `request body is not JSON: ${(error as Error).message}`,
      );
    }
  }

  async #objectBody(request: Request): Promise<Record<string, unknown>> {
    const body = await this.#body(request);
    if (!isObject(body)) {
      throw new BadRequest("request body must be a JSON object");
    }
    return body;
  }

  #ok(list: readonly RcInit[], status = 200): Response {
    return this.#reply(list, status);
  }

  #buildRoutes(): Route[] {
    const routes: Route[] = [];
    const add = (method: string, path: string, run: Route["run"]) =>
      routes.push({
        method,
        segments: path.split("/").filter((s) => s !== ""),
        run,
      });
    const s = () => this.#store;
    const json = (body: unknown) => jsonResponse(body, 200);
    // A page of named objects filtered by the `names` query parameter and
    // `props`.
    const listed = <T extends { name: string; props: Props }>(
      url: URL,
      names: string,
      items: readonly T[],
      render: (item: T) => unknown,
    ) => {
      const wanted = listParam(url, names);
      const props = listParam(url, "props");
      return json(page(
        items
          .filter((i) => nameIn(wanted, i.name) && matchesProps(i.props, props))
          .map(render),
        url,
      ));
    };

    add("GET", "/health", () => new Response(null, { status: 200 }));
    add("GET", "/v1/controller/version", () =>
      json({
        version: SIM_LINSTOR_VERSION,
        git_hash: "linstor-suite-simulator",
        build_time: "2026-01-01T00:00:00+00:00",
        rest_api_version: SIM_REST_API_VERSION,
      }));

    // nodes
    add(
      "GET",
      "/v1/nodes",
      (_p, _r, url) =>
        listed(url, "nodes", s().sortedNodes(), (n) => s().renderNode(n)),
    );
    add(
      "GET",
      "/v1/nodes/{node}",
      (p) => json(s().renderNode(s().node(p.node ?? ""))),
    );
    add(
      "POST",
      "/v1/nodes",
      async (_p, request) => this.#createNode(await this.#objectBody(request)),
    );
    add("PUT", "/v1/nodes/{node}", async (p, request) => {
      const body = await this.#objectBody(request);
      const node = s().node(p.node ?? "");
      const type = optionalString(body, "node_type");
      if (type !== undefined) {
        if (
          !["SATELLITE", "COMBINED", "CONTROLLER", "AUXILIARY"].includes(
            type.toUpperCase(),
          )
        ) {
          throw new RcFailure({
            severity: "error",
            object: OBJ.node,
            code: CODE.invalidNodeType,
            message: `Invalid node type '${type}'.`,
          });
        }
        node.type = type.toUpperCase();
      }
      node.props = modifyProps(node.props, propsChange(body));
      this.#changed();
      return this.#ok([{
        severity: "success",
        object: OBJ.node,
        op: RC_MASK_MODIFY,
        code: CODE.modified,
        message: `Node '${node.name}' modified.`,
        objRefs: { Node: node.name },
      }]);
    });
    add("DELETE", "/v1/nodes/{node}", (p) => {
      const node = s().node(p.node ?? "");
      const busy = s().sortedResources().find((r) =>
        keyOf(r.node) === keyOf(node.name) && r.inUse
      );
      if (busy) {
        throw new RcFailure({
          severity: "error",
          object: OBJ.node,
          op: RC_MASK_DELETE,
          code: CODE.inUse,
          message:
            `Node '${node.name}' cannot be deleted: resource '${busy.rd}' is in use on it.`,
        });
      }
      s().deleteNode(node.name);
      this.#changed();
      return this.#ok([{
        severity: "success",
        object: OBJ.node,
        op: RC_MASK_DELETE,
        code: CODE.deleted,
        message: `Node '${node.name}' deleted.`,
        objRefs: { Node: node.name },
      }]);
    });

    // storage pools
    const poolList = (url: URL, nodeFilter: string[]) => {
      const pools = listParam(url, "storage_pools");
      const props = listParam(url, "props");
      const cached = bool(url, "cached");
      return json(page(
        s().sortedPools()
          .filter((sp) =>
            nameIn(nodeFilter, sp.node) && nameIn(pools, sp.name) &&
            matchesProps(sp.props, props)
          )
          .map((sp) => s().renderPool(sp, cached)),
        url,
      ));
    };
    add(
      "GET",
      "/v1/view/storage-pools",
      (_p, _r, url) => poolList(url, listParam(url, "nodes")),
    );
    add("GET", "/v1/nodes/{node}/storage-pools", (p, _r, url) => {
      const node = s().node(p.node ?? "");
      return poolList(url, [node.name]);
    });
    add(
      "GET",
      "/v1/nodes/{node}/storage-pools/{pool}",
      (p, _r, url) =>
        json(
          s().renderPool(
            s().pool(p.node ?? "", p.pool ?? ""),
            bool(url, "cached"),
          ),
        ),
    );
    add(
      "POST",
      "/v1/nodes/{node}/storage-pools",
      async (p, request) =>
        this.#createPool(p.node ?? "", await this.#objectBody(request)),
    );
    add("PUT", "/v1/nodes/{node}/storage-pools/{pool}", async (p, request) => {
      const body = await this.#objectBody(request);
      const pool = s().pool(p.node ?? "", p.pool ?? "");
      pool.props = modifyProps(pool.props, propsChange(body));
      this.#changed();
      return this.#ok([{
        severity: "success",
        object: OBJ.storPool,
        op: RC_MASK_MODIFY,
        code: CODE.modified,
        message: `Storage pool '${pool.name}' on node '${pool.node}' modified.`,
      }]);
    });
    add("DELETE", "/v1/nodes/{node}/storage-pools/{pool}", (p) => {
      const pool = s().pool(p.node ?? "", p.pool ?? "");
      const user = s().sortedResources().find((r) =>
        keyOf(r.node) === keyOf(pool.node) && keyOf(r.pool) === keyOf(pool.name)
      );
      if (user) {
        throw new RcFailure({
          severity: "error",
          object: OBJ.storPool,
          op: RC_MASK_DELETE,
          code: CODE.inUse,
          message:
            `The specified storage pool '${pool.name}' on node '${pool.node}' can not be deleted as volumes are still using it (resource '${user.rd}').`,
        });
      }
      s().pools.delete(poolKey(pool.node, pool.name));
      this.#changed();
      return this.#ok([{
        severity: "success",
        object: OBJ.storPool,
        op: RC_MASK_DELETE,
        code: CODE.deleted,
        message: `Storage pool '${pool.name}' on node '${pool.node}' deleted.`,
      }]);
    });

    // resource groups
    add(
      "GET",
      "/v1/resource-groups",
      (_p, _r, url) =>
        listed(
          url,
          "resource_groups",
          s().sortedGroups(),
          (g) => s().renderGroup(g),
        ),
    );
    add(
      "GET",
      "/v1/resource-groups/{rg}",
      (p) => json(s().renderGroup(s().group(p.rg ?? ""))),
    );
    add("POST", "/v1/resource-groups", async (_p, request) => {
      const body = await this.#objectBody(request);
      const name = optionalString(body, "name") ?? "";
      this.#checkName(
        name,
        OBJECT_NAME_PATTERN,
        OBJ.rscGrp,
        CODE.invalidRscGrpName,
        "resource group",
      );
      if (s().groups.has(keyOf(name))) {
        throw new RcFailure({
          severity: "error",
          object: OBJ.rscGrp,
          op: RC_MASK_CREATE,
          code: CODE.existsRscGrp,
          message: `A resource group with the name '${name}' already exists.`,
        });
      }
      const description = optionalString(body, "description");
      s().addGroup({
        name,
        props: optionalProps(body, "props") ?? {},
        selectFilter: readFilter(body.select_filter),
        ...(description !== undefined ? { description } : {}),
      });
      return this.#ok([{
        severity: "success",
        object: OBJ.rscGrp,
        op: RC_MASK_CREATE,
        code: CODE.created,
        message: `New resource group '${name}' created.`,
        objRefs: { RscGrp: name },
      }], 201);
    });
    add("PUT", "/v1/resource-groups/{rg}", async (p, request) => {
      const body = await this.#objectBody(request);
      const group = s().group(p.rg ?? "");
      const description = optionalString(body, "description");
      if (description !== undefined) group.description = description;
      group.props = modifyProps(group.props, propsChange(body));
      if (body.select_filter !== undefined) {
        group.selectFilter = mergeFilter(
          group.selectFilter,
          readFilter(body.select_filter),
        );
      }
      return this.#ok([{
        severity: "success",
        object: OBJ.rscGrp,
        op: RC_MASK_MODIFY,
        code: CODE.modified,
        message: `Resource group '${group.name}' modified.`,
      }]);
    });
    add("DELETE", "/v1/resource-groups/{rg}", (p) => {
      const group = s().group(p.rg ?? "");
      const user = s().sortedDefinitions().find((d) =>
        keyOf(d.resourceGroup) === keyOf(group.name)
      );
      if (user) {
        throw new RcFailure({
          severity: "error",
          object: OBJ.rscGrp,
          op: RC_MASK_DELETE,
          code: CODE.inUse,
          message:
            `Resource group '${group.name}' is still used by resource definition '${user.name}'.`,
        });
      }
      s().groups.delete(keyOf(group.name));
      return this.#ok([{
        severity: "success",
        object: OBJ.rscGrp,
        op: RC_MASK_DELETE,
        code: CODE.deleted,
        message: `Resource group '${group.name}' deleted.`,
      }]);
    });
    add(
      "POST",
      "/v1/resource-groups/{rg}/spawn",
      async (p, request) =>
        this.#spawn(p.rg ?? "", await this.#objectBody(request)),
    );
    add("GET", "/v1/resource-groups/{rg}/volume-groups", (p, _r, url) => {
      const group = s().group(p.rg ?? "");
      return json(page(
        group.volumeGroups.map((vg) => {
          const out: Record<string, unknown> = {
            "volume_number": vg.volumeNumber,
          };
          if (Object.keys(vg.props).length > 0) out.props = vg.props;
          out.uuid = vg.uuid;
          return out;
        }),
        url,
      ));
    });
    add(
      "POST",
      "/v1/resource-groups/{rg}/volume-groups",
      async (p, request) => {
        const body = await this.#objectBody(request);
        const group = s().group(p.rg ?? "");
        const nr = optionalInteger(body, "volume_number") ??
          group.volumeGroups.reduce(
            (max, vg) => Math.max(max, vg.volumeNumber + 1),
            0,
          );
        if (group.volumeGroups.some((vg) => vg.volumeNumber === nr)) {
          throw new RcFailure({
            severity: "error",
            object: OBJ.vlmGrp,
            op: RC_MASK_CREATE,
            code: CODE.existsVlmGrp,
            message:
              `Volume group ${nr} of resource group '${group.name}' already exists.`,
          });
        }
        group.volumeGroups.push({
          volumeNumber: nr,
          props: optionalProps(body, "props") ?? {},
          uuid: s().uuid(),
        });
        group.volumeGroups.sort((a, b) => a.volumeNumber - b.volumeNumber);
        return this.#ok([{
          severity: "success",
          object: OBJ.vlmGrp,
          op: RC_MASK_CREATE,
          code: CODE.created,
          message:
            `New volume group ${nr} of resource group '${group.name}' created.`,
        }], 201);
      },
    );
    add(
      "PUT",
      "/v1/resource-groups/{rg}/volume-groups/{nr}",
      async (p, request) => {
        const body = await this.#objectBody(request);
        const group = s().group(p.rg ?? "");
        const vg = group.volumeGroups.find((v) =>
          String(v.volumeNumber) === p.nr
        );
        if (!vg) {
          notFound(`Volume group ${p.nr} of '${group.name}' not found.`, {
            object: OBJ.vlmGrp,
            code: CODE.notFoundVlmGrp,
          });
        }
        vg.props = modifyProps(vg.props, propsChange(body));
        return this.#ok([{
          severity: "success",
          object: OBJ.vlmGrp,
          op: RC_MASK_MODIFY,
          code: CODE.modified,
          message:
            `Volume group ${vg.volumeNumber} of resource group '${group.name}' modified.`,
        }]);
      },
    );
    add("DELETE", "/v1/resource-groups/{rg}/volume-groups/{nr}", (p) => {
      const group = s().group(p.rg ?? "");
      const nr = Number(p.nr);
      const index = group.volumeGroups.findIndex((vg) =>
        vg.volumeNumber === nr
      );
      if (index < 0) {
        notFound(`Volume group ${p.nr} of '${group.name}' not found.`, {
          object: OBJ.vlmGrp,
          code: CODE.notFoundVlmGrp,
        });
      }
      group.volumeGroups.splice(index, 1);
      return this.#ok([{
        severity: "success",
        object: OBJ.vlmGrp,
        op: RC_MASK_DELETE,
        code: CODE.deleted,
        message:
          `Volume group ${nr} of resource group '${group.name}' deleted.`,
      }]);
    });

    // resource definitions
    add("GET", "/v1/resource-definitions", (_p, _r, url) => {
      const withVolumes = bool(url, "with_volume_definitions");
      return listed(
        url,
        "resource_definitions",
        s().sortedDefinitions(),
        (d) => s().renderDefinition(d, withVolumes),
      );
    });
    add(
      "GET",
      "/v1/resource-definitions/{rd}",
      (p, _r, url) =>
        json(
          s().renderDefinition(
            s().definition(p.rd ?? ""),
            bool(url, "with_volume_definitions"),
          ),
        ),
    );
    add(
      "POST",
      "/v1/resource-definitions",
      async (_p, request) =>
        this.#createDefinition(await this.#objectBody(request)),
    );
    add("PUT", "/v1/resource-definitions/{rd}", async (p, request) => {
      const body = await this.#objectBody(request);
      const rd = s().definition(p.rd ?? "");
      const group = optionalString(body, "resource_group");
      if (group !== undefined) rd.resourceGroup = s().group(group).name;
      rd.props = modifyProps(rd.props, propsChange(body));
      this.#changed();
      return this.#ok([{
        severity: "success",
        object: OBJ.rscDfn,
        op: RC_MASK_MODIFY,
        code: CODE.modified,
        message: `Resource definition '${rd.name}' modified.`,
        objRefs: { RscDfn: rd.name },
      }]);
    });
    add("DELETE", "/v1/resource-definitions/{rd}", (p) => {
      const rd = s().definition(p.rd ?? "");
      const busy = s().replicasOf(rd.name).find((r) => r.inUse);
      if (busy) {
        throw new RcFailure({
          severity: "error",
          object: OBJ.rscDfn,
          op: RC_MASK_DELETE,
          code: CODE.inUse,
          message:
            `Resource definition '${rd.name}' is in use on node '${busy.node}'.`,
        });
      }
      for (const r of s().replicasOf(rd.name)) {
        s().resources.delete(resourceKey(r.rd, r.node));
      }
      s().definitions.delete(keyOf(rd.name));
      this.#changed();
      return this.#ok([{
        severity: "success",
        object: OBJ.rscDfn,
        op: RC_MASK_DELETE,
        code: CODE.deleted,
        message: `Resource definition '${rd.name}' deleted.`,
        objRefs: { RscDfn: rd.name },
      }]);
    });

    // volume definitions
    add(
      "GET",
      "/v1/resource-definitions/{rd}/volume-definitions",
      (p) =>
        json(
          s().definition(p.rd ?? "").volumes.map((vd) =>
            s().renderVolumeDefinition(vd)
          ),
        ),
    );
    add("GET", "/v1/resource-definitions/{rd}/volume-definitions/{nr}", (p) => {
      const vd = s().volumeDefinition(s().definition(p.rd ?? ""), p.nr);
      return json(s().renderVolumeDefinition(vd));
    });
    add(
      "POST",
      "/v1/resource-definitions/{rd}/volume-definitions",
      async (p, request) => {
        const body = await this.#objectBody(request);
        const rd = s().definition(p.rd ?? "");
        const vdBody = body.volume_definition;
        if (!isObject(vdBody)) {
          throw new BadRequest(
            `field "volume_definition" must be an object`,
          );
        }
        const size = optionalInteger(vdBody, "size_kib");
        if (size === undefined || size <= 0) {
          throw new RcFailure({
            severity: "error",
            object: OBJ.vlmDfn,
            op: RC_MASK_CREATE,
            code: CODE.invalidVlmSize,
            message: `Invalid volume size: ${String(vdBody.size_kib)} KiB.`,
          });
        }
        const nr = optionalInteger(vdBody, "volume_number");
        if (nr !== undefined && rd.volumes.some((v) => v.volumeNumber === nr)) {
          throw new RcFailure({
            severity: "error",
            object: OBJ.vlmDfn,
            op: RC_MASK_CREATE,
            code: CODE.existsVlmDfn,
            message: `Volume definition ${nr} of '${rd.name}' already exists.`,
          });
        }
        const minor = optionalInteger(body, "drbd_minor_number");
        s().addVolumeDefinition(rd, {
          sizeKib: size,
          props: optionalProps(vdBody, "props") ?? {},
          ...(nr !== undefined ? { volumeNumber: nr } : {}),
          ...(minor !== undefined ? { minor } : {}),
        });
        this.#changed();
        return this.#ok([{
          severity: "success",
          object: OBJ.vlmDfn,
          op: RC_MASK_CREATE,
          code: CODE.created,
          message: `New volume definition with number '${
            nr ?? rd.volumes.length - 1
          }' of resource definition '${rd.name}' created.`,
        }], 201);
      },
    );
    add(
      "PUT",
      "/v1/resource-definitions/{rd}/volume-definitions/{nr}",
      async (p, request) => {
        const body = await this.#objectBody(request);
        const rd = s().definition(p.rd ?? "");
        const vd = s().volumeDefinition(rd, p.nr);
        const size = optionalInteger(body, "size_kib");
        if (size !== undefined) {
          if (size < vd.sizeKib) {
            throw new RcFailure({
              severity: "error",
              object: OBJ.vlmDfn,
              op: RC_MASK_MODIFY,
              code: CODE.invalidVlmSize,
              message:
                `Volume definition ${vd.volumeNumber} of '${rd.name}' cannot shrink.`,
            });
          }
          vd.sizeKib = size;
        }
        vd.props = modifyProps(vd.props, propsChange(body));
        this.#changed();
        return this.#ok([{
          severity: "success",
          object: OBJ.vlmDfn,
          op: RC_MASK_MODIFY,
          code: CODE.modified,
          message:
            `Volume definition ${vd.volumeNumber} of '${rd.name}' modified.`,
        }]);
      },
    );
    add(
      "DELETE",
      "/v1/resource-definitions/{rd}/volume-definitions/{nr}",
      (p) => {
        const rd = s().definition(p.rd ?? "");
        const vd = s().volumeDefinition(rd, p.nr);
        rd.volumes.splice(rd.volumes.indexOf(vd), 1);
        this.#changed();
        return this.#ok([{
          severity: "success",
          object: OBJ.vlmDfn,
          op: RC_MASK_DELETE,
          code: CODE.deleted,
          message: `Volume definition ${p.nr} of '${rd.name}' deleted.`,
        }]);
      },
    );

    // placement and resources
    add(
      "POST",
      "/v1/resource-definitions/{rd}/autoplace",
      async (p, request) => {
        const body = await this.#objectBody(request);
        const rd = s().definition(p.rd ?? "");
        const filter = readFilter(body.select_filter);
        const dor = body.diskless_on_remaining;
        if (dor !== undefined && dor !== null && typeof dor !== "boolean") {
          throw new BadRequest(
            `field "diskless_on_remaining" must be a boolean`,
          );
        }
        const group = s().group(rd.resourceGroup);
        const list = this.#autoplace(
          rd,
          mergeFilter(group.selectFilter, filter),
          dor === true,
        );
        return this.#ok(list, 201);
      },
    );
    add("GET", "/v1/resource-definitions/{rd}/resources", (p, _r, url) => {
      const rd = s().definition(p.rd ?? "");
      return json(
        page(
          s().replicasOf(rd.name).map((r) => s().renderResource(r, false)),
          url,
        ),
      );
    });
    add(
      "GET",
      "/v1/resource-definitions/{rd}/resources/{node}",
      (p) =>
        json(s().renderResource(s().resource(p.rd ?? "", p.node ?? ""), false)),
    );
    add(
      "POST",
      "/v1/resource-definitions/{rd}/resources",
      async (p, request) => {
        const body = await this.#body(request);
        if (!Array.isArray(body) || !body.every(isObject)) {
          throw new BadRequest(
            "request body must be a JSON array of ResourceCreate objects",
          );
        }
        return this.#createResources(p.rd ?? "", body, undefined);
      },
    );
    add(
      "POST",
      "/v1/resource-definitions/{rd}/resources/{node}",
      async (p, request) =>
        this.#createResources(
          p.rd ?? "",
          [await this.#objectBody(request)],
          p.node,
        ),
    );
    add(
      "PUT",
      "/v1/resource-definitions/{rd}/resources/{node}",
      async (p, request) => {
        const body = await this.#objectBody(request);
        const r = s().resource(p.rd ?? "", p.node ?? "");
        r.props = modifyProps(r.props, propsChange(body));
        return this.#ok([{
          severity: "success",
          object: OBJ.rsc,
          op: RC_MASK_MODIFY,
          code: CODE.modified,
          message: `Resource '${r.rd}' on node '${r.node}' modified.`,
        }]);
      },
    );
    add("DELETE", "/v1/resource-definitions/{rd}/resources/{node}", (p) => {
      const r = s().resource(p.rd ?? "", p.node ?? "");
      if (r.inUse) {
        throw new RcFailure({
          severity: "error",
          object: OBJ.rsc,
          op: RC_MASK_DELETE,
          code: CODE.inUse,
          message:
            `Resource '${r.rd}' on node '${r.node}' is in use and cannot be deleted.`,
        });
      }
      s().resources.delete(resourceKey(r.rd, r.node));
      const balanced = this.#balanceTieBreaker(s().definition(r.rd));
      this.#changed();
      return this.#ok([{
        severity: "success",
        object: OBJ.rsc,
        op: RC_MASK_DELETE,
        code: CODE.deleted,
        message: `Resource '${r.rd}' on node '${r.node}' deleted.`,
        objRefs: { RscDfn: r.rd, Node: r.node },
      }, ...balanced]);
    });
    add("GET", "/v1/view/resources", (_p, _r, url) => {
      const nodes = listParam(url, "nodes");
      const rds = listParam(url, "resources");
      const pools = listParam(url, "storage_pools");
      const props = listParam(url, "props");
      return json(page(
        s().sortedResources()
          .filter((r) =>
            nameIn(nodes, r.node) && nameIn(rds, r.rd) &&
            nameIn(pools, r.pool) &&
            matchesProps(r.props, props)
          )
          .map((r) => s().renderResource(r, true)),
        url,
      ));
    });
    add(
      "GET",
      "/v1/events/drbd/promotion",
      (_p, request) => this.#events.stream(request),
    );

    // simulator controls
    add("GET", "/sim/v1/state", () => json(this.state()));
    add("GET", "/sim/v1/timeline", () => json(this.#timelineBody()));
    add("POST", "/sim/v1/timeline/advance", async (_p, request) => {
      const body = await this.#objectBody(request);
      let by: number;
      try {
        by = parseDurationMs(body.by);
      } catch (error) {
        throw new BadRequest(`field "by": ${(error as Error).message}`);
      }
      this.#skippedMs += by;
      this.advance();
      return json(this.#timelineBody());
    });
    add("POST", "/sim/v1/actions", async (_p, request) => {
      const body = await this.#body(request);
      let actions: SimAction[];
      try {
        actions = parseActions(body);
      } catch (error) {
        if (error instanceof ScenarioError) {
          return jsonResponse(
            { message: error.message, issues: error.issues },
            400,
          );
        }
        throw error;
      }
      const done: RcInit[] = [];
      for (const action of actions) {
        try {
          s().apply(action);
        } finally {
          this.#changed();
        }
        done.push({
          severity: "success",
          code: CODE.modified,
          message: `Simulator action '${action.action}' applied.`,
        });
      }
      return this.#ok(done);
    });
    add("PUT", "/sim/v1/scenario", async (_p, request) => {
      const text = await request.text();
      let scenario: Scenario;
      try {
        scenario = (request.headers.get("content-type") ?? "").includes("json")
          ? validateScenario(JSON.parse(text), "request body")
          : parseScenario(text, "request body");
      } catch (error) {
        const issues = error instanceof ScenarioError ? error.issues : [];
        return jsonResponse({ message: (error as Error).message, issues }, 400);
      }
      this.load(scenario);
      return json({
        nodes: scenario.nodes.length,
        resource_groups: scenario.resourceGroups.length,
        volumes: scenario.volumes.length,
        timeline: scenario.timeline.length,
      });
    });
    return routes;
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

  #checkName(
    name: string,
    pattern: RegExp,
    object: bigint,
    code: bigint,
    what: string,
  ): void {
    if (!pattern.test(name)) {
      throw new RcFailure({
        severity: "error",
        object,
        op: RC_MASK_CREATE,
        code,
        message: `Invalid ${what} name '${name}'.`,
        cause: `The name must match ${pattern.source}.`,
      });
    }
  }

  #createNode(body: Record<string, unknown>): Response {
    const s = this.#store;
    const name = optionalString(body, "name") ?? "";
    this.#checkName(
      name,
      NODE_NAME_PATTERN,
      OBJ.node,
      CODE.invalidNodeName,
      "node",
    );
    const type = (optionalString(body, "type") ?? "").toUpperCase();
    if (!["SATELLITE", "COMBINED", "CONTROLLER", "AUXILIARY"].includes(type)) {
      throw new RcFailure({
        severity: "error",
        object: OBJ.node,
        op: RC_MASK_CREATE,
        code: CODE.invalidNodeType,
        message: `Invalid node type '${String(body.type)}'.`,
      });
    }
    if (s.nodes.has(keyOf(name))) {
      throw new RcFailure({
        severity: "error",
        object: OBJ.node,
        op: RC_MASK_CREATE,
        code: CODE.existsNode,
        message: `Node '${name}' already exists.`,
      });
    }
    const netifs = body.net_interfaces;
    let address: string | undefined;
    if (netifs !== undefined) {
      if (!Array.isArray(netifs) || !netifs.every(isObject)) {
        throw new BadRequest(
          `field "net_interfaces" must be a list of objects`,
        );
      }
      address = netifs.length > 0
        ? optionalString(netifs[0] as Record<string, unknown>, "address")
        : undefined;
    }
    s.addNode({
      name,
      type,
      props: optionalProps(body, "props") ?? {},
      ...(address !== undefined ? { address } : {}),
    });
    this.#changed();
    return this.#ok([{
      severity: "success",
      object: OBJ.node,
      op: RC_MASK_CREATE,
      code: CODE.created,
      message: `New node '${name}' registered.`,
      objRefs: { Node: name },
    }], 201);
  }

  #createPool(nodeName: string, body: Record<string, unknown>): Response {
    const s = this.#store;
    const node = s.node(nodeName);
    const name = optionalString(body, "storage_pool_name") ?? "";
    this.#checkName(
      name,
      POOL_NAME_PATTERN,
      OBJ.storPool,
      CODE.invalidStorPoolName,
      "storage pool",
    );
    const kind = (optionalString(body, "provider_kind") ?? "").toUpperCase();
    if (!PROVIDER_KINDS.includes(kind)) {
      throw new RcFailure({
        severity: "error",
        object: OBJ.storPool,
        op: RC_MASK_CREATE,
        code: CODE.invalidProvider,
        message: `Invalid provider kind '${String(body.provider_kind)}'.`,
      });
    }
    if (s.pools.has(poolKey(node.name, name))) {
      throw new RcFailure({
        severity: "error",
        object: OBJ.storPool,
        op: RC_MASK_CREATE,
        code: CODE.existsStorPool,
        message:
          `Storage pool '${name}' already exists on node '${node.name}'.`,
      });
    }
    s.addPool({
      node: node.name,
      name,
      providerKind: kind,
      props: optionalProps(body, "props") ?? {},
    });
    this.#changed();
    return this.#ok([{
      severity: "success",
      object: OBJ.storPool,
      op: RC_MASK_CREATE,
      code: CODE.created,
      message:
        `Storage pool '${name}' on node '${node.name}' successfully created.`,
      objRefs: { Node: node.name, StorPool: name },
    }], 201);
  }

  /** Throws the "exists" failure when a resource definition `name` exists. */
  #checkNewDefinitionName(name: string): void {
    if (this.#store.definitions.has(keyOf(name))) {
      throw new RcFailure({
        severity: "error",
        object: OBJ.rscDfn,
        op: RC_MASK_CREATE,
        code: CODE.existsRscDfn,
        message:
          `A resource definition with the name '${name}' already exists.`,
      });
    }
  }

  #createDefinition(body: Record<string, unknown>): Response {
    const s = this.#store;
    const rdBody = body.resource_definition;
    if (!isObject(rdBody)) {
      throw new BadRequest(`field "resource_definition" must be an object`);
    }
    const name = optionalString(rdBody, "name") ?? "";
    this.#checkName(
      name,
      OBJECT_NAME_PATTERN,
      OBJ.rscDfn,
      CODE.invalidRscName,
      "resource",
    );
    this.#checkNewDefinitionName(name);
    const group = optionalString(rdBody, "resource_group_name");
    if (group !== undefined) s.group(group);
    const externalName = optionalString(rdBody, "external_name");
    const port = optionalInteger(body, "drbd_port");
    const secret = optionalString(body, "drbd_secret");
    s.addDefinition({
      name,
      props: optionalProps(rdBody, "props") ?? {},
      ...(group !== undefined ? { resourceGroup: group } : {}),
      ...(externalName !== undefined ? { externalName } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(secret !== undefined ? { secret } : {}),
    });
    return this.#ok([{
      severity: "success",
      object: OBJ.rscDfn,
      op: RC_MASK_CREATE,
      code: CODE.created,
      message: `New resource definition '${name}' created.`,
      objRefs: { RscDfn: name },
    }], 201);
  }

  #spawn(groupName: string, body: Record<string, unknown>): Response {
    const s = this.#store;
    const group = s.group(groupName);
    const name = optionalString(body, "resource_definition_name") ?? "";
    this.#checkName(
      name,
      OBJECT_NAME_PATTERN,
      OBJ.rscDfn,
      CODE.invalidRscName,
      "resource",
    );
    const sizes = body.volume_sizes ?? [];
    if (
      !Array.isArray(sizes) ||
      sizes.some((v) => !Number.isSafeInteger(v) || (v as number) <= 0)
    ) {
      throw new BadRequest(
        `field "volume_sizes" must be a list of positive integers (KiB)`,
      );
    }
    this.#checkNewDefinitionName(name);
    const filter = readFilter(body.select_filter);
    const externalName = optionalString(
      body,
      "resource_definition_external_name",
    );
    const rd = s.addDefinition({
      name,
      resourceGroup: group.name,
      props: optionalProps(body, "resource_definition_props") ?? {},
      ...(externalName !== undefined ? { externalName } : {}),
    });
    (sizes as number[]).forEach((size, i) => {
      s.addVolumeDefinition(rd, {
        volumeNumber: group.volumeGroups[i]?.volumeNumber ?? i,
        sizeKib: size,
        props: group.volumeGroups[i]?.props ?? {},
      });
    });
    const list: RcInit[] = [{
      severity: "success",
      object: OBJ.rscDfn,
      op: RC_MASK_CREATE,
      code: CODE.created,
      message: `New resource definition '${name}' created.`,
      objRefs: { RscDfn: name },
    }];
    for (const vd of rd.volumes) {
      list.push({
        severity: "success",
        object: OBJ.vlmDfn,
        op: RC_MASK_CREATE,
        code: CODE.created,
        message:
          `New volume definition with number '${vd.volumeNumber}' of resource definition '${name}' created.`,
      });
    }
    if (body.definitions_only !== true) {
      list.push(
        ...this.#autoplace(rd, mergeFilter(group.selectFilter, filter), false),
      );
    }
    this.#changed();
    return this.#ok(list, 201);
  }

  /** Runs the autoplacer and creates its replicas; returns the ApiCallRc entries. */
  #autoplace(
    rd: SimResourceDefinition,
    filter: AutoSelectFilter,
    disklessOnRemaining: boolean,
  ): RcInit[] {
    const s = this.#store;
    const existing = s.replicasOf(rd.name);
    const resourcesByNode = new Map<string, string[]>();
    for (const r of s.sortedResources()) {
      resourcesByNode.set(keyOf(r.node), [
        ...(resourcesByNode.get(keyOf(r.node)) ?? []),
        r.rd,
      ]);
    }
    const result = placeReplicas({
      nodes: s.sortedNodes().map((n) => ({
        name: n.name,
        eligible: n.connectionStatus === "ONLINE" &&
          (n.type === "SATELLITE" || n.type === "COMBINED"),
        props: n.props,
        pools: s.sortedPools()
          .filter((p) => keyOf(p.node) === keyOf(n.name))
          .map((p) => ({
            name: p.name,
            providerKind: p.providerKind,
            freeKib: s.freeOf(p),
          })),
        resources: resourcesByNode.get(keyOf(n.name)) ?? [],
      })),
      existing: existing.map((r) => ({ node: r.node, kind: r.kind })),
      filter,
      sizeKib: s.sizeOf(rd),
      disklessOnRemaining,
      autoTieBreaker: s.autoTieBreaker(rd),
    });
    if (!result.ok) {
      throw new RcFailure({
        severity: "error",
        object: OBJ.rsc,
        op: RC_MASK_CREATE,
        code: CODE.notEnoughNodes,
        message: `Not enough available nodes`,
        details: `${result.reason} (resource definition '${rd.name}', filter ${
          stringifyJson(filter)
        })`,
        correction:
          "Add nodes or storage pools with enough free space, or relax the placement filter.",
      });
    }
    const list: RcInit[] = [];
    if (result.alreadyDeployed && result.placements.length === 0) {
      list.push({
        severity: "warn",
        object: OBJ.rsc,
        op: RC_MASK_CREATE,
        code: CODE.warnRscAlreadyDeployed,
        message: `Resource '${rd.name}' was already deployed on ${
          existing.filter((r) => r.kind === "diskful").length
        } nodes.`,
      });
    }
    for (const placement of result.placements) {
      if (placement.takeover) {
        s.resources.delete(resourceKey(rd.name, placement.node));
      }
      s.addResource({
        rd: rd.name,
        node: placement.node,
        kind: placement.kind,
        pool: placement.pool,
      });
      if (placement.kind === "tie-breaker") {
        list.push({
          severity: "info",
          object: OBJ.rsc,
          op: RC_MASK_CREATE,
          code: CODE.infoTieBreakerCreated,
          message:
            `Tie breaker resource '${rd.name}' created on node '${placement.node}'.`,
        });
      } else {
        list.push({
          severity: "success",
          object: OBJ.rsc,
          op: RC_MASK_CREATE,
          code: CODE.created,
          message:
            `Resource '${rd.name}' successfully autoplaced on node '${placement.node}'${
              placement.kind === "diskful"
                ? ` in pool '${placement.pool}'`
                : " as diskless"
            }.`,
          objRefs: { RscDfn: rd.name, Node: placement.node },
        });
      }
    }
    if (result.tieBreakerMissing) {
      list.push({
        severity: "warn",
        object: OBJ.rsc,
        op: RC_MASK_CREATE,
        code: CODE.warnNotEnoughNodesForTieBreaker,
        message:
          `Could not find a suitable node to automatically create a tie breaking resource for '${rd.name}'.`,
      });
    }
    if (result.placements.length > 0) {
      list.push(
        ...this.#balanceTieBreaker(rd).filter((e) =>
          e.code !== CODE.warnNotEnoughNodesForTieBreaker
        ),
      );
    }
    this.#changed();
    return list;
  }

  #createResources(
    rdName: string,
    items: Record<string, unknown>[],
    pathNode: string | undefined,
  ): Response {
    const s = this.#store;
    const rd = s.definition(rdName);
    const planned: {
      node: string;
      kind: ReplicaKind;
      pool: string;
      props: Props;
      takeover: boolean;
    }[] = [];
    for (const item of items) {
      const resource = item.resource;
      if (!isObject(resource)) {
        throw new BadRequest(`field "resource" must be an object`);
      }
      const nodeName = pathNode ?? optionalString(resource, "node_name");
      if (nodeName === undefined) {
        throw new BadRequest(`field "resource.node_name" is required`);
      }
      const node = s.node(nodeName);
      const flags = (optionalStrings(resource, "flags") ?? []).map((f) =>
        f.toUpperCase()
      );
      const props = optionalProps(resource, "props") ?? {};
      const diskless = flags.includes("DISKLESS") ||
        flags.includes("DRBD_DISKLESS") ||
        flags.includes("TIE_BREAKER");
      const kind: ReplicaKind = flags.includes("TIE_BREAKER")
        ? "tie-breaker"
        : diskless
        ? "diskless"
        : "diskful";
      const existing = s.resources.get(resourceKey(rd.name, node.name));
      if (
        existing && !(existing.kind === "tie-breaker" && kind !== "tie-breaker")
      ) {
        throw new RcFailure({
          severity: "error",
          object: OBJ.rsc,
          op: RC_MASK_CREATE,
          code: CODE.existsRsc,
          message:
            `A resource with the name '${rd.name}' already exists on node '${node.name}'.`,
        });
      }
      const group = s.groups.get(keyOf(rd.resourceGroup));
      const poolName = diskless
        ? props[LINSTOR_PROP_STORAGE_POOL_NAME] ?? LINSTOR_DISKLESS_STORAGE_POOL
        : props[LINSTOR_PROP_STORAGE_POOL_NAME] ??
          rd.props[LINSTOR_PROP_STORAGE_POOL_NAME] ??
          group?.selectFilter.storage_pool ??
          group?.selectFilter.storage_pool_list?.[0] ??
          node.props[LINSTOR_PROP_STORAGE_POOL_NAME] ??
          LINSTOR_DEFAULT_STORAGE_POOL;
      const pool = s.pool(node.name, poolName);
      if (!diskless) {
        if (isDisklessPool(pool.providerKind)) {
          throw new RcFailure({
            severity: "error",
            object: OBJ.rsc,
            op: RC_MASK_CREATE,
            code: CODE.invalidStorPoolName,
            message:
              `Storage pool '${pool.name}' on node '${node.name}' is diskless; a diskful resource needs a diskful pool.`,
          });
        }
        const free = s.freeOf(pool);
        const size = s.sizeOf(rd);
        if (!fits({ providerKind: pool.providerKind, freeKib: free }, size)) {
          throw new RcFailure({
            severity: "error",
            object: OBJ.rsc,
            op: RC_MASK_CREATE,
            code: CODE.notEnoughFreeSpace,
            message:
              `Not enough free space in storage pool '${pool.name}' on node '${node.name}': ${free} KiB free, ${size} KiB needed.`,
          });
        }
      }
      planned.push({
        node: node.name,
        kind,
        pool: pool.name,
        props,
        takeover: existing !== undefined,
      });
    }
    const list: RcInit[] = [];
    for (const plan of planned) {
      if (plan.takeover) s.resources.delete(resourceKey(rd.name, plan.node));
      s.addResource({
        rd: rd.name,
        node: plan.node,
        kind: plan.kind,
        pool: plan.pool,
        props: plan.props,
      });
      list.push({
        severity: plan.takeover ? "info" : "success",
        object: OBJ.rsc,
        op: RC_MASK_CREATE,
        code: plan.takeover ? CODE.infoTieBreakerTakeover : CODE.created,
        message: plan.takeover
          ? `Tie breaker resource '${rd.name}' on node '${plan.node}' taken over.`
          : `New resource '${rd.name}' on node '${plan.node}' registered.`,
        objRefs: { RscDfn: rd.name, Node: plan.node },
      });
    }
    list.push(...this.#balanceTieBreaker(rd));
    this.#changed();
    return this.#ok(list, 201);
  }

  /**
   * Adds or removes the quorum tie-breaker after replicas changed through
   * the API, like the controller: wanted while exactly two diskful and no
   * diskless replicas exist (and `DrbdOptions/auto-add-quorum-tiebreaker`
   * is not `False`); it goes on the first eligible node by name.
   */
  #balanceTieBreaker(rd: SimResourceDefinition): RcInit[] {
    const s = this.#store;
    const replicas = s.replicasOf(rd.name);
    const diskful = replicas.filter((r) => r.kind === "diskful");
    const diskless = replicas.filter((r) => r.kind === "diskless");
    const tieBreakers = replicas.filter((r) => r.kind === "tie-breaker");
    const wanted = s.autoTieBreaker(rd) && diskful.length === 2 &&
      diskless.length === 0;
    const list: RcInit[] = [];
    if (!wanted) {
      for (const tb of tieBreakers) {
        s.resources.delete(resourceKey(tb.rd, tb.node));
        list.push({
          severity: "info",
          object: OBJ.rsc,
          op: RC_MASK_DELETE,
          code: CODE.infoTieBreakerDeleting,
          message:
            `Tie breaker resource '${rd.name}' on node '${tb.node}' deleted: no longer needed.`,
        });
      }
      return list;
    }
    if (tieBreakers.length > 0) return list;
    const used = new Set(replicas.map((r) => keyOf(r.node)));
    const node = s.sortedNodes().find((n) =>
      n.connectionStatus === "ONLINE" &&
      (n.type === "SATELLITE" || n.type === "COMBINED") &&
      !used.has(keyOf(n.name))
    );
    if (!node) {
      list.push({
        severity: "warn",
        object: OBJ.rsc,
        op: RC_MASK_CREATE,
        code: CODE.warnNotEnoughNodesForTieBreaker,
        message:
          `Could not find a suitable node to automatically create a tie breaking resource for '${rd.name}'.`,
      });
      return list;
    }
    s.addResource({ rd: rd.name, node: node.name, kind: "tie-breaker" });
    list.push({
      severity: "info",
      object: OBJ.rsc,
      op: RC_MASK_CREATE,
      code: CODE.infoTieBreakerCreated,
      message:
        `Tie breaker resource '${rd.name}' created on node '${node.name}'.`,
    });
    return list;
  }
}

/** `text` split at the first `separator`; the second part is absent without one. */
function splitOnce(
  text: string,
  separator: string,
): [string, string] | [string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
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
