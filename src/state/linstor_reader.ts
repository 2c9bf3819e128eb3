/**
 * The adapter from the shared `LinstorClient` to the state model's
 * `LinstorReader` port.
 *
 * @module
 */
import type { LinstorClient } from "../linstor/mod.ts";
import type { LinstorReader } from "./poller.ts";

/** The part of `LinstorClient` the state model reads through. */
export type LinstorReadClient = {
  readonly nodes: Pick<LinstorClient["nodes"], "list">;
  readonly storagePools: Pick<LinstorClient["storagePools"], "view">;
  readonly resources: Pick<LinstorClient["resources"], "view">;
  readonly resourceDefinitions: Pick<
    LinstorClient["resourceDefinitions"],
    "list"
  >;
  readonly resourceGroups: Pick<LinstorClient["resourceGroups"], "list">;
};

/**
 * A `LinstorReader` over `client`: storage pools come from the controller's
 * cache (`cached=true`, no satellite round trip) and resource definitions
 * embed their volume definitions, so one poll is exactly five list calls.
 * The results are treated as immutable (`reuse`), so an unchanged list
 * comes back as the same frozen objects.
 */
export function createLinstorReader(client: LinstorReadClient): LinstorReader {
  return {
    listNodes: (signal) => client.nodes.list({ signal, reuse: true }),
    viewStoragePools: (signal) =>
      client.storagePools.view({ cached: true, signal, reuse: true }),
    viewResources: (signal) => client.resources.view({ signal, reuse: true }),
    listResourceDefinitions: (signal) =>
      client.resourceDefinitions.list({
        withVolumeDefinitions: true,
        signal,
        reuse: true,
      }),
    listResourceGroups: (signal) =>
      client.resourceGroups.list({ signal, reuse: true }),
  };
}
