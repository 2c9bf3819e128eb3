/**
 * The shared LINSTOR REST client: golinstor-compatible configuration,
 * failover between controllers, exact `ret_code` decoding, typed calls and
 * the wire types.
 *
 * @example
 * ```ts ignore
 * // In src/cli/ (the only place that reads env and files):
 * const options = parseLinstorConfig(env, { readFile: Deno.readTextFileSync });
 * using client = new LinstorClient({ ...options, mode: "agent", metrics });
 * const pools = await client.storagePools.view({ cached: true, signal });
 * try {
 *   await client.storagePools.create("n1", {
 *     storage_pool_name: "thin",
 *     provider_kind: "LVM_THIN",
 *     props: { "StorDriver/StorPoolName": "vg/thin" },
 *   });
 * } catch (error) {
 *   if (!isAlreadyExists(error)) throw error;
 * }
 * ```
 *
 * @module
 */
export * from "./types.ts";
export {
  type CallOptions,
  type CollectionApi,
  type EventStreamOptions,
  LinstorClient,
  type NestedCollectionApi,
  type NodeListOptions,
  type NodesFilter,
  type PageOptions,
  type PropsFilter,
  type ResourceDefinitionListOptions,
  type ResourceGroupListOptions,
  type ResourceViewOptions,
  type StoragePoolListOptions,
  type StoragePoolsFilter,
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
export {
  type CooperativeParseOptions,
  createParseMemo,
  parseLinstorJson,
  parseLinstorJsonCooperatively,
  parseLinstorJsonStream,
  type ParseMemo,
  sameEnum,
  type StreamParseOptions,
  stringifyLinstorJson,
} from "./_json.ts";
export { type RateLimit, TokenBucket } from "./_rate_limiter.ts";
export { parseEventStream, type ServerSentEvent } from "./_sse.ts";
export * from "./_ret_code.ts";
