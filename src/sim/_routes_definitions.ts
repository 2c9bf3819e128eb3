/**
 * Routes of resource definitions and their volume definitions
 * (`/v1/resource-definitions/{rd}`, `…/volume-definitions…`).
 *
 * @module
 */
import { json, listed, type Route, route, type RouteContext } from "./_http.ts";
import { bool } from "./_request.ts";

/** The resource-definition routes. */
export function definitionRoutes(ctx: RouteContext): Route[] {
  const { controller, mutate } = ctx;
  return [
    route("GET /v1/resource-definitions", (_p, _r, url) => {
      const s = ctx.store();
      const withVolumes = bool(url, "with_volume_definitions");
      return listed(url, "resource_definitions", {
        all: s.sortedDefinitions(),
        render: (d) => s.renderDefinition(d, withVolumes),
      });
    }),
    route("GET /v1/resource-definitions/{rd}", (p, _r, url) => {
      const s = ctx.store();
      return json(
        s.renderDefinition(
          s.definition(p.rd ?? ""),
          bool(url, "with_volume_definitions"),
        ),
      );
    }),
    mutate(
      "POST /v1/resource-definitions",
      (_p, body) => controller.createDefinition(body),
    ),
    mutate(
      "PUT /v1/resource-definitions/{rd}",
      (p, body) => controller.modifyDefinition(p.rd ?? "", body),
    ),
    mutate(
      "DELETE /v1/resource-definitions/{rd}",
      (p) => controller.deleteDefinition(p.rd ?? ""),
    ),

    route("GET /v1/resource-definitions/{rd}/volume-definitions", (p) => {
      const s = ctx.store();
      return json(
        s.definition(p.rd ?? "").volumes.map((vd) =>
          s.renderVolumeDefinition(vd)
        ),
      );
    }),
    route(
      "GET /v1/resource-definitions/{rd}/volume-definitions/{nr}",
      (p) => {
        const s = ctx.store();
        const vd = s.volumeDefinition(s.definition(p.rd ?? ""), p.nr);
        return json(s.renderVolumeDefinition(vd));
      },
    ),
    mutate(
      "POST /v1/resource-definitions/{rd}/volume-definitions",
      (p, body) => controller.createVolumeDefinition(p.rd ?? "", body),
    ),
    mutate(
      "PUT /v1/resource-definitions/{rd}/volume-definitions/{nr}",
      (p, body) =>
        controller.modifyVolumeDefinition(p.rd ?? "", p.nr ?? "", body),
    ),
    mutate(
      "DELETE /v1/resource-definitions/{rd}/volume-definitions/{nr}",
      (p) => controller.deleteVolumeDefinition(p.rd ?? "", p.nr ?? ""),
    ),
  ];
}
