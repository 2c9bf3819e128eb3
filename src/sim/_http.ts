/**
 * The simulator's HTTP plumbing: route tables, request bodies, list pages
 * and ApiCallRc replies. Route tables per object family live in the
 * `_routes_*.ts` siblings; the controller logic they call is in
 * `_controller.ts`.
 *
 * @module
 */
import type { Props } from "../linstor/types.ts";
import type { Controller } from "./_controller.ts";
import type { PromotionEvents } from "./_events.ts";
import { matchesProps } from "./_model.ts";
import { jsonResponse, type RcInit, statusOf } from "./_rc.ts";
import { BadRequest, isObject, listParam, nameIn, page } from "./_request.ts";
import type { Store } from "./_store.ts";

/** Answers one matched request. */
export type RouteHandler = (
  params: Record<string, string>,
  request: Request,
  url: URL,
) => Promise<Response> | Response;

/** One method and path template (`{name}` segments are parameters). */
export interface Route {
  readonly method: string;
  readonly segments: readonly string[];
  readonly run: RouteHandler;
}

/** What a route table works with. */
export interface RouteContext {
  /** The current store (a scenario load replaces it). */
  store(): Store;
  /** The HTTP-free controller logic. */
  readonly controller: Controller;
  /** The promotion event stream. */
  readonly events: PromotionEvents;
  /** An ApiCallRc list answer; the first error decides the status. */
  reply(list: readonly RcInit[], successStatus?: number): Response;
  /** A controller mutation route (see `mutations()`). */
  mutate(spec: string, mutation: Mutation): Route;
}

/** A route for `spec`, the method and path template: `"GET /v1/nodes/{node}"`. */
export function route(spec: string, run: RouteHandler): Route {
  const [method = "", path = ""] = spec.split(" ");
  return {
    method,
    segments: path.split("/").filter((s) => s !== ""),
    run,
  };
}

/** The controller's entries for one mutation: path parameters and body. */
export type Mutation = (
  params: Record<string, string>,
  body: Record<string, unknown>,
) => readonly RcInit[];

/**
 * Route builder for controller mutations: `POST` and `PUT` read a JSON
 * object body, `DELETE` reads none (an empty body); `POST` answers `201`.
 */
export function mutations(
  ctx: Pick<RouteContext, "reply">,
): (spec: string, mutate: Mutation) => Route {
  return (spec, mutate) => {
    const method = spec.split(" ")[0];
    return route(spec, async (params, request) => {
      const body = method === "DELETE" ? {} : await readObjectBody(request);
      return ctx.reply(mutate(params, body), method === "POST" ? 201 : 200);
    });
  };
}

/** A 200 JSON answer. */
export function json(body: unknown): Response {
  return jsonResponse(body, 200);
}

/** The request body as JSON; `BadRequest` when empty or not JSON. */
export async function readBody(request: Request): Promise<unknown> {
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

/** The request body as a JSON object; `BadRequest` otherwise. */
export async function readObjectBody(
  request: Request,
): Promise<Record<string, unknown>> {
  const body = await readBody(request);
  if (!isObject(body)) {
    throw new BadRequest("request body must be a JSON object");
  }
  return body;
}

/**
 * A page of named objects filtered by the query parameter `names` (names)
 * and `props`, rendered.
 */
export function listed<T extends { name: string; props: Props }>(
  url: URL,
  names: string,
  items: { all: readonly T[]; render(item: T): unknown },
): Response {
  const wanted = listParam(url, names);
  const props = listParam(url, "props");
  return json(page(
    items.all
      .filter((i) => nameIn(wanted, i.name) && matchesProps(i.props, props))
      .map((i) => items.render(i)),
    url,
  ));
}

/** An ApiCallRc list answer with `createdAt` from the store's clock. */
export function replyWith(
  store: Store,
  list: readonly RcInit[],
  status: { success: number; force?: number },
): Response {
  const entries = store.entries(list);
  return jsonResponse(
    entries,
    status.force ?? statusOf(entries, status.success),
  );
}
