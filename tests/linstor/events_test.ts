import assert from "node:assert/strict";
import {
  isConnectionError,
  LinstorApiError,
  LinstorClient,
  type LinstorFetch,
  parseRetCode,
} from "../../src/linstor/mod.ts";
import { json, serve } from "./_servers.ts";

const ENCODER = new TextEncoder();

/** An injected fetch answering with an event stream of `chunks`, then `end`. */
function streamingFetch(
  chunks: string[],
  end: "close" | "error" | "hold",
  seen: Request[] = [],
): LinstorFetch {
  return (request) => {
    seen.push(request);
    const queue = [...chunks];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = queue.shift();
        if (chunk !== undefined) {
          controller.enqueue(ENCODER.encode(chunk));
        } else if (end === "close") controller.close();
        else if (end === "error") {
          controller.error(new Error("connection reset"));
        } else {
          return new Promise<void>((resolve) => {
            request.signal.addEventListener("abort", () => {
              controller.error(request.signal.reason);
              resolve();
            }, { once: true });
          });
        }
      },
    });
    return Promise.resolve(
      new Response(body, { headers: { "content-type": "text/event-stream" } }),
    );
  };
}

const EVENT =
  'event: may-promote-change\ndata: {"resource_name":"r","node_name":"n","may_promote":true,"new_field":1}\n\n';

Deno.test("`events.drbdPromotion()` asks for a replay by default and yields typed events", async (t) => {
  const cases = [
    { name: "default", options: {}, lastEventId: "current" },
    { name: "no replay", options: { replayCurrent: false }, lastEventId: null },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const seen: Request[] = [];
      using client = new LinstorClient({
        controllers: ["http://ctrl"],
        fetch: streamingFetch(
          [": hi\n\n", EVENT, "event: other\ndata: 1\n\n"],
          "close",
          seen,
        ),
      });
      const events = [];
      for await (const e of client.events.drbdPromotion(c.options)) {
        events.push(e);
      }
      assert.deepEqual(events, [{
        resource_name: "r",
        node_name: "n",
        may_promote: true,
        new_field: 1,
      }]);
      assert.equal(new URL(seen[0]!.url).pathname, "/v1/events/drbd/promotion");
      assert.equal(seen[0]!.headers.get("accept"), "text/event-stream");
      assert.equal(seen[0]!.headers.get("last-event-id"), c.lastEventId);
    });
  }
});

Deno.test("`events.drbdPromotion()` throws the stream's error event with its exact ApiCallRc", async () => {
  await using server = serve(() =>
    new Response(
      'event: error\ndata: {"ret_code":-4611686018427387493,"message":"Access denied"}\n\n',
      { headers: { "content-type": "text/event-stream" } },
    )
  );
  using client = new LinstorClient({ controllers: [server.url] });
  await assert.rejects(
    async () => {
      for await (const _ of client.events.drbdPromotion()) {
        // no events expected
      }
    },
    (error: unknown) => {
      assert.ok(error instanceof LinstorApiError);
      assert.equal(error.status, 200);
      assert.equal(isConnectionError(error), false);
      assert.equal(parseRetCode(error.apiCallRcs[0]!.ret_code).code, 411);
      assert.match(
        error.message,
        /ended the stream with an error: Access denied/,
      );
      return true;
    },
  );
});

Deno.test("`events.drbdPromotion()` reports a broken stream as a connection error after the events it got", async () => {
  using client = new LinstorClient({
    controllers: ["http://ctrl"],
    fetch: streamingFetch([EVENT], "error"),
  });
  const got: unknown[] = [];
  await assert.rejects(
    async () => {
      for await (const e of client.events.drbdPromotion()) got.push(e);
    },
    (error: unknown) => {
      assert.ok(isConnectionError(error));
      assert.match(String(error), /event stream broke \(connection reset\)/);
      return true;
    },
  );
  assert.equal(got.length, 1);
});

Deno.test("`events.drbdPromotion()` rejects bad event data and HTTP errors", async (t) => {
  await t.step("data that is not JSON", async () => {
    using client = new LinstorClient({
      controllers: ["http://ctrl"],
      fetch: streamingFetch(
        ["event: may-promote-change\ndata: {\n\n"],
        "close",
      ),
    });
    await assert.rejects(
      client.events.drbdPromotion().next(),
      /event data is not valid JSON/,
    );
  });
  await t.step("data that is not an object", async () => {
    using client = new LinstorClient({
      controllers: ["http://ctrl"],
      fetch: streamingFetch(
        ["event: may-promote-change\ndata: [1]\n\n"],
        "close",
      ),
    });
    await assert.rejects(
      client.events.drbdPromotion().next(),
      /data is an array, not an object/,
    );
  });
  await t.step("HTTP 401 over a real socket", async () => {
    await using server = serve(() => json([], 401));
    using client = new LinstorClient({ controllers: [server.url] });
    await assert.rejects(
      client.events.drbdPromotion().next(),
      (error: unknown) => {
        assert.ok(error instanceof LinstorApiError);
        assert.equal(error.status, 401);
        return true;
      },
    );
  });
});

Deno.test("`events.drbdPromotion()` ends with a closed-client error when the client closes", async () => {
  const client = new LinstorClient({
    controllers: ["http://ctrl"],
    fetch: streamingFetch([EVENT], "hold"),
  });
  const stream = client.events.drbdPromotion();
  assert.equal((await stream.next()).value?.node_name, "n");
  const pending = stream.next();
  client.close();
  await assert.rejects(pending, /the LINSTOR client is closed/);
});
