import assert from "node:assert/strict";
import { Registry } from "../../src/observability/mod.ts";
import { LinstorClient } from "../../src/linstor/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";
import { json, refusedPort, serve, serveHanging } from "./_servers.ts";

Deno.test("`LinstorClient` counts attempts by outcome and failovers in the given registry", async () => {
  await using live = serve((request) =>
    request.path === "/v1/nodes/x" ? json([], 404) : json([])
  );
  await using hung = serveHanging();
  const dead = `http://127.0.0.1:${refusedPort()}`;
  const registry = new Registry();
  const clock = new FakeClock();
  using client = new LinstorClient({
    controllers: [dead, live.url],
    metrics: registry,
  });
  await client.nodes.list();
  await client.nodes.get("x").catch(() => {});
  using second = new LinstorClient({
    controllers: [hung.url],
    metrics: registry,
    timeoutMs: 10,
    clock,
  });
  const timedOut = second.nodes.list().catch(() => {});
  await hung.received();
  await clock.advance(10);
  await timedOut;

  const text = await registry.metrics();
  const value = (labels: string) => {
    const line = text.split("\n").find((l) =>
      l.startsWith(`linstor_suite_linstor_requests_total{${labels}}`)
    );
    return line === undefined ? undefined : Number(line.split(" ").at(-1));
  };
  assert.equal(
    value(`method="GET",controller="${dead}",outcome="connection"`),
    1,
  );
  assert.equal(value(`method="GET",controller="${live.url}",outcome="200"`), 1);
  assert.equal(value(`method="GET",controller="${live.url}",outcome="404"`), 1);
  assert.equal(
    value(`method="GET",controller="${hung.url}",outcome="timeout"`),
    1,
  );
  assert.match(text, /^linstor_suite_linstor_failovers_total 1$/m);
  assert.match(
    text,
    /^linstor_suite_linstor_request_duration_seconds_count\{method="GET"\} 4$/m,
  );
});
