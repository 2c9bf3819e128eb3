/**
 * Routes of resource definitions and their volume definitions
 * (`/v1/resource-definitions/{rd}`, `…/volume-definitions…`).
 *
 * @module
 */
import {
  json,
  listed,
  readObjectBody,
  type Route,
  route,
  type RouteContext,
} from "./_http.ts";
import { bool } from "./_request.ts";

/** The resource-definition routes. */
export function definitionRoutes(ctx: RouteContext): Route[] {
  const { controller } = ctx;
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
    route(
      "POST /v1/resource-definitions",
      async (_p, request) =>
        ctx.reply(
          controller.createDefinition(await readObjectBody(request)),
          201,
        ),
    ),
    route(
      "PUT /v1/resource-definitions/{rd}",
      async (p, request) =>
        ctx.reply(
          controller.modifyDefinition(
            p.rd ?? "",
            await readObjectBody(request),
          ),
        ),
    ),
    route(
      "DELETE /v1/resource-definitions/{rd}",
      (p) => ctx.reply(controller.deleteDefinition(p.rd ?? "")),
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
    route(
      "POST /v1/resource-definitions/{rd}/volume-definitions",
      async (p, request) => {
        const body = await readObjectBody(request);
        return ctx.reply(
          controller.createVolumeDefinition(p.rd ?? "", body),
          201,
        );
      },
    ),
    route(
      "PUT /v1/resource-definitions/{rd}/volume-definitions/{nr}",
      async (p, request) => {
        const body = await readObjectBody(request);
        return ctx.reply(
          controller.modifyVolumeDefinition(p.rd ?? "", p.nr ?? "", body),
        );
      },
    ),
    route(
      "DELETE /v1/resource-definitions/{rd}/volume-definitions/{nr}",
      (p) =>
        ctx.reply(
          controller.deleteVolumeDefinition(p.rd ?? "", p.nr ?? ""),
        ),
    ),
  ];
}
