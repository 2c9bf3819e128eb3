/**
 * Routes outside the object families: `/health`, the version probe and the
 * simulator-only controls under `/sim/v1/`.
 *
 * @module
 */
import { SIM_LINSTOR_VERSION, SIM_REST_API_VERSION } from "../constants.ts";
import {
  json,
  readBody,
  readObjectBody,
  type Route,
  route,
  type RouteContext,
} from "./_http.ts";
import { CODE, jsonResponse, type RcInit } from "./_rc.ts";
import { BadRequest } from "./_request.ts";
import {
  parseActions,
  parseDurationMs,
  parseScenario,
  type Scenario,
  ScenarioError,
  type SimAction,
  validateScenario,
} from "./_scenario.ts";

/** What the simulator controls act on. */
export interface SimControls {
  /** `GET /sim/v1/state`. */
  state(): unknown;
  /** `GET /sim/v1/timeline`. */
  timeline(): unknown;
  /** Moves the scenario time forward by `ms` and applies due entries. */
  skip(ms: number): void;
  /** Applies one action; throws `RcFailure` when it does not fit. */
  apply(action: SimAction): void;
  /** Replaces the whole state. */
  load(scenario: Scenario): void;
}

/** `/health`, `/v1/controller/version` and the `/sim/v1/` controls. */
export function simRoutes(ctx: RouteContext, controls: SimControls): Route[] {
  return [
    route("GET /health", () => new Response(null, { status: 200 })),
    route("GET /v1/controller/version", () =>
      json({
        version: SIM_LINSTOR_VERSION,
        git_hash: "linstor-suite-simulator",
        build_time: "2026-01-01T00:00:00+00:00",
        rest_api_version: SIM_REST_API_VERSION,
      })),

    route("GET /sim/v1/state", () => json(controls.state())),
    route("GET /sim/v1/timeline", () => json(controls.timeline())),
    route("POST /sim/v1/timeline/advance", async (_p, request) => {
      const body = await readObjectBody(request);
      let by: number;
      try {
        by = parseDurationMs(body.by);
      } catch (error) {
        throw new BadRequest(`field "by": ${(error as Error).message}`);
      }
      controls.skip(by);
      return json(controls.timeline());
    }),
    route("POST /sim/v1/actions", async (_p, request) => {
      const body = await readBody(request);
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
        controls.apply(action);
        done.push({
          severity: "success",
          code: CODE.modified,
          message: `Simulator action '${action.action}' applied.`,
        });
      }
      return ctx.reply(done);
    }),
    route("PUT /sim/v1/scenario", async (_p, request) => {
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
      controls.load(scenario);
      return json({
        nodes: scenario.nodes.length,
        resource_groups: scenario.resourceGroups.length,
        volumes: scenario.volumes.length,
        timeline: scenario.timeline.length,
      });
    }),
  ];
}
