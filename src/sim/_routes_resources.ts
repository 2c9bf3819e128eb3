/**
 * Routes of resources and their placement (`…/{rd}/resources…`,
 * `…/{rd}/autoplace`, `/v1/view/resources`) and the promotion event stream.
 *
 * @module
 */
import {
  json,
  readBody,
  type Route,
  route,
  type RouteContext,
} from "./_http.ts";
import { matchesProps } from "./_model.ts";
import { BadRequest, isObject, listParam, nameIn, page } from "./_request.ts";

/** The resource, autoplace and promotion-event routes. */
export function resourceRoutes(ctx: RouteContext): Route[] {
  const { controller, mutate } = ctx;
  return [
    mutate(
      "POST /v1/resource-definitions/{rd}/autoplace",
      (p, body) => controller.autoplace(p.rd ?? "", body),
    ),
    route(
      "GET /v1/resource-definitions/{rd}/resources",
      (p, _r, url) => {
        const s = ctx.store();
        const rd = s.definition(p.rd ?? "");
        return json(
          page(
            s.replicasOf(rd.name).map((r) => s.renderResource(r, false)),
            url,
          ),
        );
      },
    ),
    route("GET /v1/resource-definitions/{rd}/resources/{node}", (p) => {
      const s = ctx.store();
      return json(
        s.renderResource(s.resource(p.rd ?? "", p.node ?? ""), false),
      );
    }),
    route(
      "POST /v1/resource-definitions/{rd}/resources",
      async (p, request) => {
        const body = await readBody(request);
        if (!Array.isArray(body) || !body.every(isObject)) {
          throw new BadRequest(
            "request body must be a JSON array of ResourceCreate objects",
          );
        }
        return ctx.reply(controller.createResources(p.rd ?? "", body), 201);
      },
    ),
    mutate(
      "POST /v1/resource-definitions/{rd}/resources/{node}",
      (p, body) => controller.createResources(p.rd ?? "", [body], p.node),
    ),
    mutate(
      "PUT /v1/resource-definitions/{rd}/resources/{node}",
      (p, body) => controller.modifyResource(p.rd ?? "", p.node ?? "", body),
    ),
    mutate(
      "DELETE /v1/resource-definitions/{rd}/resources/{node}",
      (p) => controller.deleteResource(p.rd ?? "", p.node ?? ""),
    ),
    route("GET /v1/view/resources", (_p, _r, url) => {
      const s = ctx.store();
      const nodes = listParam(url, "nodes");
      const rds = listParam(url, "resources");
      const pools = listParam(url, "storage_pools");
      const props = listParam(url, "props");
      return json(page(
        s.sortedResources()
          .filter((r) =>
            nameIn(nodes, r.node) && nameIn(rds, r.rd) &&
            nameIn(pools, r.pool) &&
            matchesProps(r.props, props)
          )
          .map((r) => s.renderResource(r, true)),
        url,
      ));
    }),
    route(
      "GET /v1/events/drbd/promotion",
      (_p, request) => ctx.events.stream(request),
    ),
  ];
}
