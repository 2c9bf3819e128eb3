/**
 * The shared LINSTOR REST client: golinstor-compatible configuration,
 * failover between controllers, exact `ret_code` decoding, typed calls and
 * the wire types.
 *
 * @example
 * ```ts ignore
 * const client = new LinstorClient(parseLinstorConfig(env, { readFile }));
 * try {
 *   const nodes = await client.nodes.list();
 * } finally {
 *   client.close();
 * }
 * ```
 *
 * @module
 */
export * from "./types.ts";
export {
  type CallOptions,
  type EventStreamOptions,
  LinstorClient,
  type NodeListOptions,
  type PageOptions,
  type ResourceDefinitionListOptions,
  type ResourceGroupListOptions,
  type ResourceViewOptions,
  type StoragePoolListOptions,
  type StoragePoolViewOptions,
} from "./_client.ts";
export {
  type LinstorAuth,
  type LinstorClientOptions,
  type LinstorFetch,
  type LinstorTls,
  parseControllerUrl,
  type ParseControllerUrlOptions,
  parseLinstorConfig,
  type ParseLinstorConfigOptions,
} from "./_config.ts";
export {
  errorCodes,
  isAlreadyExists,
  isConnectionError,
  isNotFound,
  LinstorApiError,
  type LinstorApiErrorInit,
} from "./_errors.ts";
export { parseLinstorJson, sameEnum, stringifyLinstorJson } from "./_json.ts";
export { type RateLimit } from "./_rate_limiter.ts";
export { parseEventStream, type ServerSentEvent } from "./_sse.ts";
export * from "./_ret_code.ts";
