/**
 * Routes of nodes and storage pools (`/v1/nodes…`, `/v1/view/storage-pools`).
 *
 * @module
 */
import { json, listed, type Route, route, type RouteContext } from "./_http.ts";
import { matchesProps } from "./_model.ts";
import { bool, listParam, nameIn, page } from "./_request.ts";

/** The node and storage-pool routes. */
export function nodeRoutes(ctx: RouteContext): Route[] {
  const { controller, mutate } = ctx;
  const poolList = (url: URL, nodeFilter: string[]) => {
    const s = ctx.store();
    const pools = listParam(url, "storage_pools");
    const props = listParam(url, "props");
    const cached = bool(url, "cached");
    return json(page(
      s.sortedPools()
        .filter((sp) =>
          nameIn(nodeFilter, sp.node) && nameIn(pools, sp.name) &&
          matchesProps(sp.props, props)
        )
        .map((sp) => s.renderPool(sp, cached)),
      url,
    ));
  };
  return [
    route("GET /v1/nodes", (_p, _r, url) => {
      const s = ctx.store();
      return listed(url, "nodes", {
        all: s.sortedNodes(),
        render: (n) => s.renderNode(n),
      });
    }),
    route("GET /v1/nodes/{node}", (p) => {
      const s = ctx.store();
      return json(s.renderNode(s.node(p.node ?? "")));
    }),
    mutate("POST /v1/nodes", (_p, body) => controller.createNode(body)),
    mutate(
      "PUT /v1/nodes/{node}",
      (p, body) => controller.modifyNode(p.node ?? "", body),
    ),
    mutate(
      "DELETE /v1/nodes/{node}",
      (p) => controller.deleteNode(p.node ?? ""),
    ),

    route(
      "GET /v1/view/storage-pools",
      (_p, _r, url) => poolList(url, listParam(url, "nodes")),
    ),
    route("GET /v1/nodes/{node}/storage-pools", (p, _r, url) => {
      const node = ctx.store().node(p.node ?? "");
      return poolList(url, [node.name]);
    }),
    route("GET /v1/nodes/{node}/storage-pools/{pool}", (p, _r, url) => {
      const s = ctx.store();
      return json(
        s.renderPool(s.pool(p.node ?? "", p.pool ?? ""), bool(url, "cached")),
      );
    }),
    mutate(
      "POST /v1/nodes/{node}/storage-pools",
      (p, body) => controller.createPool(p.node ?? "", body),
    ),
    mutate(
      "PUT /v1/nodes/{node}/storage-pools/{pool}",
      (p, body) => controller.modifyPool(p.node ?? "", p.pool ?? "", body),
    ),
    mutate(
      "DELETE /v1/nodes/{node}/storage-pools/{pool}",
      (p) => controller.deletePool(p.node ?? "", p.pool ?? ""),
    ),
  ];
}
