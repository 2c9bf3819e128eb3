import assert from "node:assert/strict";
import {
  createLinstorReader,
  type LinstorReadClient,
} from "../../src/state/mod.ts";

Deno.test("createLinstorReader() asks for cached pools, embedded volume definitions and reusable results", async () => {
  const calls: [string, unknown][] = [];
  const record = (name: string) => (options: unknown) => {
    calls.push([name, options]);
    return Promise.resolve([]);
  };
  const client = {
    nodes: { list: record("nodes.list") },
    storagePools: { view: record("storagePools.view") },
    resources: { view: record("resources.view") },
    resourceDefinitions: { list: record("resourceDefinitions.list") },
    resourceGroups: { list: record("resourceGroups.list") },
  } as unknown as LinstorReadClient;
  const reader = createLinstorReader(client);
  const signal = new AbortController().signal;
  await reader.listNodes(signal);
  await reader.viewStoragePools(signal);
  await reader.viewResources(signal);
  await reader.listResourceDefinitions(signal);
  await reader.listResourceGroups(signal);
  assert.deepEqual(calls, [
    ["nodes.list", { signal, reuse: true }],
    ["storagePools.view", { cached: true, signal, reuse: true }],
    ["resources.view", { signal, reuse: true }],
    [
      "resourceDefinitions.list",
      { withVolumeDefinitions: true, signal, reuse: true },
    ],
    ["resourceGroups.list", { signal, reuse: true }],
  ]);
});
