import assert from "node:assert/strict";
import { AssertionError } from "node:assert/strict";
import {
  isAlreadyExists,
  isNotFound,
  LinstorApiError,
  LinstorClient,
} from "../../src/linstor/mod.ts";
import { serveSimulator } from "../../src/sim/mod.ts";
import { formatViolations, parseJsonExact } from "../_support/openapi.ts";
import { fixture, OPENAPI, simFrom } from "./_harness.ts";

const GIB = 1024 * 1024;

/** Validates every JSON request body the client sends against the OpenAPI request schema. */
function checkedTransport(handler: (request: Request) => Promise<Response>) {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (request.body && OPENAPI !== undefined) {
      const text = await request.clone().text();
      const violations = OPENAPI.validateRequest(
        {
          method: request.method,
          path: url.pathname,
          body: parseJsonExact(text),
        },
        { strictProperties: true },
      );
      if (violations.length > 0) {
        throw new AssertionError({
          message: formatViolations(
            `client request ${request.method} ${url.pathname}`,
            violations,
          ),
        });
      }
    }
    return handler(request);
  };
}

Deno.test("`LinstorClient` works against the simulator in-process", async () => {
  const { sim } = simFrom(fixture("two_zones.yaml"));
  const client = new LinstorClient({
    controllers: ["http://sim.test:3370"],
    fetch: checkedTransport(sim.handler),
  });
  try {
    assert.equal(
      (await client.controller.version()).rest_api_version,
      "1.28.0",
    );
    assert.deepEqual(
      (await client.nodes.list({ props: ["Aux/rack=r2"] })).map((n) => n.name),
      ["a2", "b2"],
    );
    const pools = await client.storagePools.view({
      cached: true,
      storagePools: ["fat"],
    });
    assert.deepEqual(pools.map((p) => p.node_name), ["a1", "b1", "b2"]);
    const rcs = await client.resourceGroups.spawn("rg-thin", {
      resource_definition_name: "pvc-new",
      volume_sizes: [GIB],
    });
    assert.ok(rcs.length >= 3);
    const view = await client.resources.view({ resources: ["pvc-new"] });
    assert.equal(view.filter((r) => !r.flags?.includes("DISKLESS")).length, 2);
    await client.volumeDefinitions.modify("pvc-new", 0, {
      override_props: { "Aux/x": "1" },
    });
    await client.resourceDefinitions.modify("pvc-new", {
      override_props: { "Aux/y": "2" },
    });
    const [rd] = await client.resourceDefinitions.list({
      resourceDefinitions: ["pvc-new"],
      withVolumeDefinitions: true,
    });
    assert.equal(rd?.props?.["Aux/y"], "2");
    assert.equal(rd?.volume_definitions?.[0]?.props?.["Aux/x"], "1");

    const missing = await client.nodes.get("zz").catch((e: unknown) => e);
    assert.ok(missing instanceof LinstorApiError && isNotFound(missing));
    const dup = await client.resourceGroups.spawn("rg-thin", {
      resource_definition_name: "pvc-new",
      volume_sizes: [GIB],
    })
      .catch((e: unknown) => e);
    assert.ok(isAlreadyExists(dup), String(dup));
    const impossible = await client.resourceGroups.spawn("rg-thin", {
      resource_definition_name: "pvc-big",
      volume_sizes: [GIB],
      select_filter: { place_count: 5 },
    }).catch((e: unknown) => e);
    assert.ok(impossible instanceof LinstorApiError);
    assert.equal(impossible.status, 500);
  } finally {
    client.close();
  }
});

Deno.test("`LinstorClient` reads promotion events from the simulator over HTTP", async () => {
  const { sim } = simFrom(fixture("two_zones.yaml"));
  const controller = new AbortController();
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
  });
  const client = new LinstorClient({ controllers: [server.url] });
  const events = new AbortController();
  try {
    const seen: string[] = [];
    for await (
      const event of client.events.drbdPromotion({
        replayCurrent: true,
        signal: events.signal,
      })
    ) {
      seen.push(
        `${event.resource_name}@${event.node_name}=${event.may_promote}`,
      );
      if (seen.length === 6) break;
    }
    assert.deepEqual(seen.slice(0, 2), ["pvc-1@a1=false", "pvc-1@a2=false"]);
  } finally {
    events.abort();
    client.close();
    controller.abort();
    await server.finished;
  }
});
