import assert from "node:assert/strict";
import { VERSION } from "../../src/constants.ts";
import {
  isAlreadyExists,
  isConnectionError,
  isNotFound,
  LinstorApiError,
  LinstorClient,
  parseRetCode,
} from "../../src/linstor/mod.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";
import {
  apiCallRcResponse,
  json,
  refusedPort,
  serve,
  serveHanging,
} from "./_servers.ts";

const FAIL_NOT_FOUND_RSC_DFN = -4611686018427387603n;
const FAIL_EXISTS_RSC_DFN = BigInt.asIntN(64, 0xC000_0000_0000_0000n | 501n);
const CREATED_RSC_DFN = 0x0138_0001n;
const WARN_NOT_CONNECTED = BigInt.asIntN(64, 0x8000_0000_0000_0000n | 1002n);

function assertApiError(
  error: unknown,
  check: (error: LinstorApiError) => void,
): true {
  assert.ok(error instanceof LinstorApiError, `got ${error}`);
  assert.equal(error.name, "LinstorApiError");
  check(error);
  return true;
}

Deno.test("`LinstorClient` sends Accept, the user agent and decodes the body", async () => {
  await using server = serve(() =>
    json({ version: "1.34.0", rest_api_version: "1.28.0", extra_field: 1 })
  );
  using client = new LinstorClient({
    controllers: [server.url],
    mode: "extender",
  });
  const version = await client.controller.version();
  assert.equal(version.version, "1.34.0");
  assert.equal(server.seen[0]?.path, "/v1/controller/version");
  assert.equal(server.seen[0]?.headers.get("accept"), "application/json");
  assert.equal(
    server.seen[0]?.headers.get("user-agent"),
    `linstor-suite/${VERSION} (extender)`,
  );
  assert.equal(server.seen[0]?.headers.get("authorization"), null);
});

Deno.test("`LinstorClient` encodes list filters as repeated query keys", async () => {
  await using server = serve(() => json([]));
  using client = new LinstorClient({ controllers: [server.url] });
  await client.nodes.list({
    nodes: ["a", "b"],
    props: ["Aux/zone=z 1", "Aux/x"],
    limit: 5,
    offset: 10,
  });
  await client.storagePools.view({ cached: true, storagePools: ["p1"] });
  await client.resourceDefinitions.list({ withVolumeDefinitions: true });
  const params = server.seen.map((r) => new URLSearchParams(r.search));
  assert.deepEqual(params[0]?.getAll("nodes"), ["a", "b"]);
  assert.deepEqual(params[0]?.getAll("props"), ["Aux/zone=z 1", "Aux/x"]);
  assert.equal(params[0]?.get("limit"), "5");
  assert.equal(params[0]?.get("offset"), "10");
  assert.equal(server.seen[1]?.path, "/v1/view/storage-pools");
  assert.equal(params[1]?.get("cached"), "true");
  assert.deepEqual(params[1]?.getAll("storage_pools"), ["p1"]);
  assert.equal(params[2]?.get("with_volume_definitions"), "true");
});

Deno.test("`LinstorClient` sends basic auth and bearer headers", async (t) => {
  await using server = serve(() => json([]));
  const cases = [
    {
      name: "basic",
      auth: { type: "basic", username: "admin", password: "pä:ss" } as const,
      want: `Basic ${
        btoa(String.fromCharCode(...new TextEncoder().encode("admin:pä:ss")))
      }`,
    },
    {
      name: "bearer",
      auth: { type: "bearer", token: "tok-123" } as const,
      want: "Bearer tok-123",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      using client = new LinstorClient({
        controllers: [server.url],
        auth: c.auth,
      });
      await client.nodes.list();
      assert.equal(server.seen.at(-1)?.headers.get("authorization"), c.want);
    });
  }
});

Deno.test("`LinstorClient` reports a 3xx as a configuration error naming the Location", async () => {
  await using server = serve(() =>
    new Response(null, {
      status: 302,
      headers: { Location: "https://127.0.0.1:3371/v1/nodes" },
    })
  );
  using client = new LinstorClient({ controllers: [server.url] });
  await assert.rejects(
    client.nodes.list(),
    (error) =>
      assertApiError(error, (e) => {
        assert.equal(e.status, 302);
        assert.match(e.message, /^Cannot GET "\/v1\/nodes": /);
        assert.match(e.message, /"https:\/\/127\.0\.0\.1:3371\/v1\/nodes"/);
        assert.equal(isConnectionError(e), false);
      }),
  );
  assert.equal(server.seen.length, 1);
});

Deno.test("`LinstorClient` fails a 2xx mutation that carries an error ApiCallRc", async () => {
  await using server = serve(() =>
    apiCallRcResponse(201, [
      { ret_code: CREATED_RSC_DFN, message: "created" },
      {
        ret_code: FAIL_NOT_FOUND_RSC_DFN,
        message: "Resource definition 'x' not found",
      },
    ])
  );
  using client = new LinstorClient({ controllers: [server.url] });
  await assert.rejects(
    client.resourceDefinitions.create({ resource_definition: { name: "x" } }),
    (error) =>
      assertApiError(error, (e) => {
        assert.equal(e.status, 201);
        assert.equal(e.method, "POST");
        assert.equal(e.path, "/v1/resource-definitions");
        assert.equal(e.controller, server.url);
        assert.equal(e.apiCallRcs.length, 2);
        assert.equal(e.apiCallRcs[1]?.ret_code, FAIL_NOT_FOUND_RSC_DFN);
        assert.match(e.message, /not found \[code 301\]/);
        assert.equal(isNotFound(e), true);
      }),
  );
});

Deno.test("`LinstorClient` returns warnings of a successful mutation", async () => {
  await using server = serve(() =>
    apiCallRcResponse(201, [
      { ret_code: CREATED_RSC_DFN, message: "created" },
      { ret_code: WARN_NOT_CONNECTED, message: "No active connection" },
    ])
  );
  using client = new LinstorClient({ controllers: [server.url] });
  const rcs = await client.resources.create("rd", [{
    resource: { node_name: "n1" },
  }]);
  assert.deepEqual(rcs.map((rc) => parseRetCode(rc.ret_code).severity), [
    "success",
    "warning",
  ]);
  assert.deepEqual(JSON.parse(server.seen[0]?.body ?? ""), [{
    resource: { node_name: "n1" },
  }]);
  assert.equal(server.seen[0]?.headers.get("content-type"), "application/json");
});

Deno.test("`LinstorClient` maps 404 to isNotFound and exists codes to isAlreadyExists", async (t) => {
  const cases = [
    {
      name: "404 with an ApiCallRc",
      response: () =>
        apiCallRcResponse(404, [{
          ret_code: FAIL_NOT_FOUND_RSC_DFN,
          message: "not found",
        }]),
      notFound: true,
      exists: false,
    },
    {
      name: "404 with an HTML body",
      response: () =>
        new Response("<html><body>Not Found</body></html>", {
          status: 404,
        }),
      notFound: true,
      exists: false,
    },
    {
      name: "500 with FAIL_EXISTS_RSC_DFN",
      response: () =>
        apiCallRcResponse(500, [{
          ret_code: FAIL_EXISTS_RSC_DFN,
          message: "Resource definition 'x' already exists",
        }]),
      notFound: false,
      exists: true,
    },
    {
      name: "500 without ApiCallRc",
      response: () => new Response("boom", { status: 500 }),
      notFound: false,
      exists: false,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using server = serve(c.response);
      using client = new LinstorClient({ controllers: [server.url] });
      await assert.rejects(
        client.resourceDefinitions.get("x"),
        (error) =>
          assertApiError(error, (e) => {
            assert.equal(isNotFound(e), c.notFound);
            assert.equal(isAlreadyExists(e), c.exists);
            assert.equal(isConnectionError(e), false);
            assert.match(
              e.message,
              /^Cannot GET "\/v1\/resource-definitions\/x": /,
            );
            assert.match(e.message, new RegExp(`HTTP ${e.status} from`));
          }),
      );
    });
  }
  assert.equal(isNotFound(new Error("x")), false);
  assert.equal(isAlreadyExists(undefined), false);
});

Deno.test("`LinstorClient` rejects a body of the wrong shape or invalid JSON", async (t) => {
  const cases: [string, () => Response, RegExp][] = [
    [
      "object instead of list",
      () => json({}),
      /expected a JSON array, got an object/,
    ],
    [
      "invalid JSON",
      () => new Response("[{", { status: 200 }),
      /not valid JSON/,
    ],
  ];
  for (const [name, response, message] of cases) {
    await t.step(name, async () => {
      await using server = serve(response);
      using client = new LinstorClient({ controllers: [server.url] });
      await assert.rejects(
        client.nodes.list(),
        (error) =>
          assertApiError(error, (e) => {
            assert.equal(e.status, 200);
            assert.match(e.message, message);
          }),
      );
    });
  }
});

Deno.test("`LinstorClient` fails over when the first controller refuses connections and stays there", async (t) => {
  await using live = serve(() => json([]));
  const dead = `http://127.0.0.1:${refusedPort()}`;
  const attempts: string[] = [];
  using client = new LinstorClient({
    controllers: [dead, live.url],
    fetch: (request, init) => {
      attempts.push(new URL(request.url).origin);
      return fetch(request, init);
    },
  });
  await t.step("GET moves on", async () => {
    assert.deepEqual(await client.nodes.list(), []);
    assert.equal(client.activeController, live.url);
    assert.deepEqual(attempts, [dead, live.url]);
  });
  await t.step("later calls start at the remembered controller", async () => {
    await client.resourceGroups.list();
    assert.deepEqual(attempts, [dead, live.url, live.url]);
    assert.equal(live.seen.length, 2);
  });
  await t.step("POST is retried after a refused connection", async () => {
    using fresh = new LinstorClient({ controllers: [dead, live.url] });
    const before = live.seen.length;
    await assert.doesNotReject(
      fresh.nodes.create({ name: "n", type: "Satellite", net_interfaces: [] }),
    );
    assert.equal(live.seen.length, before + 1);
    assert.equal(live.seen.at(-1)?.method, "POST");
  });
});

Deno.test("`LinstorClient` abandons a hung controller at the timeout and fails over", async () => {
  await using hung = serveHanging();
  await using live = serve(() => json({ version: "1.34.0" }));
  const clock = new FakeClock();
  using client = new LinstorClient({
    controllers: [hung.url, live.url],
    timeoutMs: 2_000,
    clock,
  });
  const call = client.controller.version();
  await hung.received();
  await clock.advance(1_999);
  assert.equal(live.seen.length, 0);
  await clock.advance(1);
  assert.equal((await call).version, "1.34.0");
  assert.equal(client.activeController, live.url);
  assert.equal(live.seen.length, 1);
});

Deno.test("`LinstorClient` does not retry a POST that may have reached a hung controller", async () => {
  await using hung = serveHanging();
  await using live = serve(() => apiCallRcResponse(201, []));
  const clock = new FakeClock();
  using client = new LinstorClient({
    controllers: [hung.url, live.url],
    timeoutMs: 1_000,
    clock,
  });
  const call = client.resourceGroups.spawn("rg", {
    resource_definition_name: "pvc-1",
    volume_sizes: [1024],
  });
  const outcome = assert.rejects(call, (error) =>
    assertApiError(error, (e) => {
      assert.equal(isConnectionError(e), true);
      assert.equal(e.timedOut, true);
      assert.equal(e.status, undefined);
      assert.equal(e.controller, hung.url);
      assert.match(e.message, /no answer within 1000 ms/);
      assert.match(e.message, /not retried/);
    }));
  await hung.received();
  await clock.advance(1_000);
  await outcome;
  assert.equal(live.seen.length, 0);
  assert.equal(client.activeController, hung.url);
});

Deno.test("`LinstorClient` times out with a real clock when the only controller hangs", async () => {
  await using hung = serveHanging();
  using client = new LinstorClient({ controllers: [hung.url], timeoutMs: 50 });
  await assert.rejects(
    client.nodes.list(),
    (error) =>
      assertApiError(error, (e) => {
        assert.equal(isConnectionError(e), true);
        assert.equal(e.timedOut, true);
      }),
  );
});

Deno.test("`LinstorClient` reports a connection error when no controller answers", async () => {
  const a = `http://127.0.0.1:${refusedPort()}`;
  const b = `http://127.0.0.1:${refusedPort()}`;
  using client = new LinstorClient({ controllers: [a, b] });
  await assert.rejects(
    client.nodes.get("n1"),
    (error) =>
      assertApiError(error, (e) => {
        assert.equal(isConnectionError(e), true);
        assert.equal(isNotFound(e), false);
        assert.equal(e.timedOut, false);
        assert.equal(e.controller, b);
        assert.match(e.message, /^Cannot GET "\/v1\/nodes\/n1": .*refused/i);
      }),
  );
});

Deno.test("`LinstorClient` rejects with the caller's reason on cancellation and does not fail over", async () => {
  await using hung = serveHanging();
  await using live = serve(() => json([]));
  using client = new LinstorClient({
    controllers: [hung.url, live.url],
    clock: new FakeClock(),
  });
  const controller = new AbortController();
  const reason = new Error("shutting down");
  const call = client.nodes.list({ signal: controller.signal });
  await hung.received();
  controller.abort(reason);
  await assert.rejects(call, (error) => error === reason);
  assert.equal(live.seen.length, 0);
  await assert.rejects(
    client.nodes.list({ signal: controller.signal }),
    (error) => error === reason,
  );
});

Deno.test("`LinstorClient` close() aborts calls in flight and refuses new ones", async () => {
  await using hung = serveHanging();
  const client = new LinstorClient({
    controllers: [hung.url],
    clock: new FakeClock(),
  });
  const call = client.nodes.list();
  await hung.received();
  client.close();
  client.close();
  assert.equal(client.closed, true);
  await assert.rejects(
    call,
    (error) =>
      assertApiError(error, (e) => assert.match(e.message, /client is closed/)),
  );
  await assert.rejects(client.nodes.list(), /client is closed/);
});

Deno.test("`LinstorClient` rate limit delays requests beyond the burst", async () => {
  await using server = serve(() => json([]));
  const clock = new FakeClock();
  using client = new LinstorClient({
    controllers: [server.url],
    rateLimit: { qps: 2, burst: 2 },
    clock,
  });
  await client.nodes.list();
  await client.nodes.list();
  let third = false;
  const call = client.nodes.list().then(() => {
    third = true;
  });
  await flushMicrotasks();
  assert.equal(clock.pending, 1);
  assert.equal(server.seen.length, 2);
  await clock.advance(499);
  assert.equal(third, false);
  await clock.advance(1);
  await call;
  assert.equal(server.seen.length, 3);
});

Deno.test("`LinstorClient` constructor rejects bad options", async (t) => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      "bad controller",
      () => new LinstorClient({ controllers: ["ftp://x"] }),
      /Cannot parse "controllers"/,
    ],
    [
      "zero timeout",
      () => new LinstorClient({ timeoutMs: 0 }),
      /Cannot use "timeoutMs"/,
    ],
    [
      "zero qps",
      () => new LinstorClient({ rateLimit: { qps: 0, burst: 1 } }),
      /"qps"/,
    ],
    [
      "fractional burst",
      () => new LinstorClient({ rateLimit: { qps: 1, burst: 1.5 } }),
      /"burst"/,
    ],
    [
      "cert without key",
      () => new LinstorClient({ tls: { cert: "x" } }),
      /"cert" and "key" together/,
    ],
    [
      "unloadable client certificate",
      () => new LinstorClient({ tls: { cert: "garbage", key: "garbage" } }),
      /Cannot use "tls": .*certificate/i,
    ],
  ];
  for (const [name, make, message] of cases) {
    await t.step(name, () => assert.throws(make, message));
  }
});

Deno.test("`LinstorClient` defaults to localhost and the scheme its TLS options imply", () => {
  using plain = new LinstorClient();
  assert.equal(plain.activeController, "http://localhost:3370");
  using tls = new LinstorClient({ tls: {} });
  assert.equal(tls.activeController, "https://localhost:3371");
});

Deno.test("`LinstorClient` calls can replace the timeout per call", async () => {
  await using hung = serveHanging();
  const clock = new FakeClock();
  using client = new LinstorClient({
    controllers: [hung.url],
    timeoutMs: 1_000,
    clock,
  });
  let settled = false;
  const call = client.resourceGroups.spawn("rg", {
    resource_definition_name: "pvc-1",
  }, { timeoutMs: 5_000 }).finally(() => settled = true);
  const outcome = assert.rejects(call, /no answer within 5000 ms/);
  await hung.received();
  await clock.advance(1_000);
  assert.equal(settled, false);
  await clock.advance(4_000);
  await outcome;
  await assert.rejects(
    client.nodes.list({ timeoutMs: 0 }),
    (error: unknown) =>
      error instanceof RangeError &&
      /Cannot use "timeoutMs"/.test(error.message),
  );
});

Deno.test("`client.controller.health()` resolves on 200 and rejects with the body on 500", async () => {
  let healthy = true;
  await using server = serve(() =>
    healthy
      ? new Response(null, { status: 200 })
      : new Response("database unreachable", { status: 500 })
  );
  using client = new LinstorClient({ controllers: [server.url] });
  await client.controller.health();
  healthy = false;
  await assert.rejects(
    client.controller.health(),
    (error: unknown) =>
      assertApiError(error, (e) => {
        assert.equal(e.status, 500);
        assert.match(e.message, /^Cannot GET "\/health": database unreachable/);
      }),
  );
  assert.deepEqual(server.seen.map((r) => r.path), ["/health", "/health"]);
});

Deno.test("`LinstorClient` parses a large list with turns of the event loop, and reuses unchanged elements when the call asks for reuse", async () => {
  const resources = (state: string) =>
    Array.from({ length: 3_000 }, (_, i) => ({
      name: `pvc-${i}`,
      node_name: `node-${i % 7}`,
      props: { StorPoolName: "pool1", filler: "x".repeat(80) },
      volumes: [{
        volume_number: 0,
        state: { disk_state: i === 0 ? state : "UpToDate" },
      }],
    }));
  let body = resources("UpToDate");
  await using server = serve(() => json(body));
  let turns = 0;
  using client = new LinstorClient({
    controllers: [server.url],
    yieldControl: () => {
      turns++;
      return Promise.resolve();
    },
  });
  const plain = await client.resources.view();
  assert.deepEqual(plain, body);
  assert.ok(
    !Object.isFrozen(plain[0]),
    "without reuse the result is the caller's",
  );
  const first = await client.resources.view({ reuse: true });
  assert.deepEqual(first, body);
  assert.ok(
    turns >= 2,
    `only ${turns} turns for a ${JSON.stringify(body).length}-character body`,
  );
  body = resources("Outdated");
  const second = await client.resources.view({ reuse: true });
  assert.deepEqual(second, body);
  assert.equal(second[1], first[1], "an unchanged element is reused");
  assert.notEqual(second[0], first[0], "a changed element is parsed anew");
  const third = await client.resources.view({ reuse: true });
  assert.equal(third, second, "an identical body gives the identical array");
});

Deno.test("`LinstorClient` reports a list body that breaks off as a connection error and reuses the last parse afterwards", async () => {
  const body = JSON.stringify(
    Array.from({ length: 2_000 }, (_, i) => ({ name: `pvc-${i}` })),
  );
  let breakOff = false;
  // A raw server: each connection gets one answer, cut short on demand.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const connection of listener) {
      const request = new Uint8Array(4096);
      await connection.read(request);
      const bytes = new TextEncoder().encode(body);
      const head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`;
      await connection.write(new TextEncoder().encode(head));
      const sent = breakOff ? bytes.subarray(0, 5_000) : bytes;
      for (let at = 0; at < sent.length;) {
        at += await connection.write(sent.subarray(at));
      }
      connection.close();
    }
  })();
  using client = new LinstorClient({
    controllers: [`http://127.0.0.1:${listener.addr.port}`],
    yieldControl: () => Promise.resolve(),
  });
  const first = await client.resources.view({ reuse: true });
  breakOff = true;
  await assert.rejects(
    client.resources.view({ reuse: true }),
    (error) =>
      assertApiError(error, (e) => {
        assert.equal(isConnectionError(e), true);
        assert.equal(e.timedOut, false);
        assert.match(
          e.message,
          /^Cannot GET "\/v1\/view\/resources": the response broke off/,
        );
      }),
  );
  breakOff = false;
  assert.equal(
    await client.resources.view({ reuse: true }),
    first,
    "the last parse is kept",
  );
  listener.close();
  await serving.catch(() => {});
});

Deno.test("`LinstorClient` lets concurrent list parses take their turns one after another", async () => {
  const list = (prefix: string) =>
    Array.from({ length: 2_000 }, (_, i) => ({
      name: `${prefix}-${i}`,
      props: { filler: "x".repeat(100) },
    }));
  const nodes = list("node");
  const resources = list("pvc");
  await using server = serve((request) =>
    json(request.path.startsWith("/v1/nodes") ? nodes : resources)
  );
  let waiting = 0;
  let mostWaiting = 0;
  let turns = 0;
  using client = new LinstorClient({
    controllers: [server.url],
    yieldControl: async () => {
      turns++;
      waiting++;
      mostWaiting = Math.max(mostWaiting, waiting);
      await flushMicrotasks(5);
      waiting--;
    },
  });
  const [gotNodes, gotResources] = await Promise.all([
    client.nodes.list({ reuse: true }),
    client.resources.view({ reuse: true }),
  ]);
  assert.deepEqual(gotNodes, nodes);
  assert.deepEqual(gotResources, resources);
  assert.ok(turns >= 4, `${turns} turns`);
  assert.equal(mostWaiting, 1, "one turn at a time");
});

Deno.test("`LinstorClient` does not count the time spent parsing a list body against the timeout", async () => {
  const body = Array.from({ length: 3_000 }, (_, i) => ({
    name: `pvc-${i}`,
    props: { filler: "x".repeat(200) },
  }));
  await using server = serve(() => json(body));
  const clock = new FakeClock();
  let turns = 0;
  using client = new LinstorClient({
    controllers: [server.url],
    timeoutMs: 1_000,
    clock,
    // Every turn of the parse takes longer than the timeout.
    yieldControl: async () => {
      turns++;
      await clock.advance(5_000);
    },
  });
  assert.deepEqual(await client.resources.view({ reuse: true }), body);
  assert.ok(turns >= 2, `${turns} turns`);
});

Deno.test("`LinstorClient` times out a list body that stops arriving", async () => {
  let hold: ReadableStreamDefaultController<Uint8Array> | undefined;
  await using server = serve(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          hold = controller;
          controller.enqueue(new TextEncoder().encode('[{"name":"a"},'));
        },
      }),
    )
  );
  using client = new LinstorClient({
    controllers: [server.url],
    timeoutMs: 200,
    yieldControl: () => Promise.resolve(),
  });
  try {
    await assert.rejects(
      client.resources.view({ reuse: true }),
      (error) =>
        assertApiError(error, (e) => {
          assert.equal(isConnectionError(e), true);
          assert.equal(e.timedOut, true);
          assert.match(
            e.message,
            /the body stopped arriving: no data within 200 ms/,
          );
        }),
    );
  } finally {
    try {
      hold?.close();
    } catch {
      // Already cancelled by the client's abort.
    }
  }
});

Deno.test("`LinstorClient` reports a large list that is not valid JSON as a LinstorApiError when given yieldControl", async () => {
  await using server = serve(() =>
    new Response(`[${'{"name":"x"},'.repeat(30_000)}{"name":`, {
      headers: { "content-type": "application/json" },
    })
  );
  using client = new LinstorClient({
    controllers: [server.url],
    yieldControl: () => Promise.resolve(),
  });
  for (const reuse of [false, true]) {
    await assert.rejects(
      client.resources.view({ reuse }),
      (error) =>
        assertApiError(error, (e) => {
          assert.match(
            e.message,
            /^Cannot GET "\/v1\/view\/resources": the response is not valid JSON/,
          );
        }),
    );
  }
});
