/**
 * Routes of resource groups, their volume groups and `spawn`
 * (`/v1/resource-groups…`).
 *
 * @module
 */
import { json, listed, type Route, route, type RouteContext } from "./_http.ts";
import { page } from "./_request.ts";

/** The resource-group routes. */
export function groupRoutes(ctx: RouteContext): Route[] {
  const { controller, mutate } = ctx;
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
    mutate(
      "POST /v1/resource-groups",
      (_p, body) => controller.createGroup(body),
    ),
    mutate(
      "PUT /v1/resource-groups/{rg}",
      (p, body) => controller.modifyGroup(p.rg ?? "", body),
    ),
    mutate(
      "DELETE /v1/resource-groups/{rg}",
      (p) => controller.deleteGroup(p.rg ?? ""),
    ),
    mutate(
      "POST /v1/resource-groups/{rg}/spawn",
      (p, body) => controller.spawn(p.rg ?? "", body),
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
    mutate(
      "POST /v1/resource-groups/{rg}/volume-groups",
      (p, body) => controller.createVolumeGroup(p.rg ?? "", body),
    ),
    mutate(
      "PUT /v1/resource-groups/{rg}/volume-groups/{nr}",
      (p, body) => controller.modifyVolumeGroup(p.rg ?? "", p.nr ?? "", body),
    ),
    mutate(
      "DELETE /v1/resource-groups/{rg}/volume-groups/{nr}",
      (p) => controller.deleteVolumeGroup(p.rg ?? "", p.nr ?? ""),
    ),
  ];
}
