import assert from "node:assert/strict";
import type { ControlPlane } from "./control_plane.ts";
import { latencyBoundMs, loadFactor, waitForEvents } from "./wait.ts";

/** An apiserver whose Event list grows by one list call at a time. */
function listing(pages: unknown[][]): Pick<ControlPlane, "request"> & {
  paths: string[];
} {
  const paths: string[] = [];
  return {
    paths,
    request<T>(_method: string, path: string): Promise<T> {
      paths.push(path);
      const items = pages[Math.min(paths.length, pages.length) - 1];
      return Promise.resolve({ items } as T);
    },
  };
}

const EVICTED = {
  reason: "VolumeWithoutQuorum",
  action: "EvictedPod",
  regarding: { kind: "Pod", name: "web-0" },
};
const FORCE_DELETED = {
  reason: "VolumeWithoutQuorum",
  action: "ForceDeletedPod",
  regarding: { kind: "Pod", name: "web-0" },
  series: { count: 3 },
};

Deno.test("waitForEvents() waits for an Event written after the first list", async () => {
  const cp = listing([[EVICTED], [EVICTED], [EVICTED, FORCE_DELETED]]);
  const found = await waitForEvents(cp, [
    { reason: "VolumeWithoutQuorum", action: "ForceDeletedPod" },
    { reason: "VolumeWithoutQuorum", action: "EvictedPod", kind: "Pod" },
  ], { namespace: "apps", timeoutMs: 10_000 });
  assert.deepEqual(found, [FORCE_DELETED, EVICTED]);
  assert.equal(cp.paths.length, 3);
  assert.equal(cp.paths[0], "/apis/events.k8s.io/v1/namespaces/apps/events");
});

Deno.test("waitForEvents() fails naming what is missing when an Event never comes", async () => {
  const cp = listing([[EVICTED]]);
  const error = await waitForEvents(cp, [
    { reason: "VolumeWithoutQuorum", action: "ForceDeletedPod" },
  ], { timeoutMs: 300 }).then(() => undefined, (e: Error) => e);
  assert.ok(error instanceof Error);
  assert.match(error.message, /timed out after 300 ms/);
  assert.match(
    String((error.cause as Error).message),
    /missing VolumeWithoutQuorum\/ForceDeletedPod; present: VolumeWithoutQuorum\/EvictedPod Pod web-0/,
  );
  assert.equal(cp.paths[0], "/apis/events.k8s.io/v1/events");
});

Deno.test("waitForEvents() does not take an Event of another object or action", async () => {
  const cp = listing([[EVICTED]]);
  await assert.rejects(
    waitForEvents(cp, [
      { reason: "VolumeWithoutQuorum", kind: "Pod", name: "web-1" },
    ], { timeoutMs: 300 }),
    /timed out/,
  );
});

Deno.test("latencyBoundMs() stretches only the slack, by the load per core", async () => {
  const factor = await loadFactor();
  assert.ok(factor >= 1);
  const bound = await latencyBoundMs(5_000, 3_000);
  assert.ok(bound >= 8_000, `${bound}`);
  assert.ok(bound - 5_000 >= 3_000 * factor * 0.5, `${bound} at ${factor}`);
});
