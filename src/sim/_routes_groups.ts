/**
 * Routes of resource groups, their volume groups and `spawn`
 * (`/v1/resource-groups…`).
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
import { page } from "./_request.ts";

/** The resource-group routes. */
export function groupRoutes(ctx: RouteContext): Route[] {
  const { controller } = ctx;
  return [
    route("GET /v1/resource-groups", (_p, _r, url) => {
      const s = ctx.store();
      return listed(url, "resource_groups", {
        all: s.sortedGroups(),
        render: (g) => s.renderGroup(g),
      });
    }),
    route("GET /v1/resource-groups/{rg}", (p) => {
      const s = ctx.store();
      return json(s.renderGroup(s.group(p.rg ?? "")));
    }),
    route(
      "POST /v1/resource-groups",
      async (_p, request) =>
        ctx.reply(controller.createGroup(await readObjectBody(request)), 201),
    ),
    route(
      "PUT /v1/resource-groups/{rg}",
      async (p, request) =>
        ctx.reply(
          controller.modifyGroup(p.rg ?? "", await readObjectBody(request)),
        ),
    ),
    route(
      "DELETE /v1/resource-groups/{rg}",
      (p) => ctx.reply(controller.deleteGroup(p.rg ?? "")),
    ),
    route(
      "POST /v1/resource-groups/{rg}/spawn",
      async (p, request) =>
        ctx.reply(
          controller.spawn(p.rg ?? "", await readObjectBody(request)),
          201,
        ),
    ),

    route("GET /v1/resource-groups/{rg}/volume-groups", (p, _r, url) => {
      const group = ctx.store().group(p.rg ?? "");
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
    }),
    route(
      "POST /v1/resource-groups/{rg}/volume-groups",
      async (p, request) =>
        ctx.reply(
          controller.createVolumeGroup(
            p.rg ?? "",
            await readObjectBody(request),
          ),
          201,
        ),
    ),
    route(
      "PUT /v1/resource-groups/{rg}/volume-groups/{nr}",
      async (p, request) =>
        ctx.reply(
          controller.modifyVolumeGroup(
            p.rg ?? "",
            p.nr ?? "",
            await readObjectBody(request),
          ),
        ),
    ),
    route(
      "DELETE /v1/resource-groups/{rg}/volume-groups/{nr}",
      (p) => ctx.reply(controller.deleteVolumeGroup(p.rg ?? "", p.nr ?? "")),
    ),
  ];
}
