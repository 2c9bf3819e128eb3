/**
 * Routes of nodes and storage pools (`/v1/nodes…`, `/v1/view/storage-pools`).
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
import { matchesProps } from "./_model.ts";
import { bool, listParam, nameIn, page } from "./_request.ts";

/** The node and storage-pool routes. */
export function nodeRoutes(ctx: RouteContext): Route[] {
  const { controller } = ctx;
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
    route(
      "POST /v1/nodes",
      async (_p, request) =>
        ctx.reply(controller.createNode(await readObjectBody(request)), 201),
    ),
    route(
      "PUT /v1/nodes/{node}",
      async (p, request) =>
        ctx.reply(
          controller.modifyNode(p.node ?? "", await readObjectBody(request)),
        ),
    ),
    route(
      "DELETE /v1/nodes/{node}",
      (p) => ctx.reply(controller.deleteNode(p.node ?? "")),
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
    route(
      "POST /v1/nodes/{node}/storage-pools",
      async (p, request) =>
        ctx.reply(
          controller.createPool(p.node ?? "", await readObjectBody(request)),
          201,
        ),
    ),
    route(
      "PUT /v1/nodes/{node}/storage-pools/{pool}",
      async (p, request) =>
        ctx.reply(
          controller.modifyPool(
            p.node ?? "",
            p.pool ?? "",
            await readObjectBody(request),
          ),
        ),
    ),
    route(
      "DELETE /v1/nodes/{node}/storage-pools/{pool}",
      (p) => ctx.reply(controller.deletePool(p.node ?? "", p.pool ?? "")),
    ),
  ];
}
