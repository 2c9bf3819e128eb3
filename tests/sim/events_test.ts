import assert from "node:assert/strict";
import { checkPromotionEvent, fixture, simFrom } from "./_harness.ts";

const SCENARIO = fixture("two_zones.yaml");

interface SseEvent {
  event: string;
  data: {
    "resource_name": string;
    "node_name": string;
    "may_promote": boolean;
  };
}

/** Reads SSE frames from a response body. */
class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** Next data event (comments skipped); `undefined` when the stream ended. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const frame = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const lines = frame.split("\n").filter((l) => !l.startsWith(":"));
        if (lines.length === 0) continue;
        const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ??
          "message";
        const data = JSON.parse(
          lines.find((l) => l.startsWith("data: "))?.slice(6) ?? "null",
        );
        checkPromotionEvent(data);
        return { event, data };
      }
      const { done, value } = await this.#reader.read();
      if (done) return undefined;
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Next `n` events. */
  async take(n: number): Promise<SseEvent[]> {
    const out: SseEvent[] = [];
    for (let i = 0; i < n; i++) {
      const event = await this.next();
      assert.ok(event, `stream ended after ${i} of ${n} events`);
      out.push(event);
    }
    return out;
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}

function key(e: SseEvent): string {
  return `${e.data.resource_name}@${e.data.node_name}=${e.data.may_promote}`;
}

Deno.test("`GET /v1/events/drbd/promotion` replays current state for `Last-Event-ID: current`", async () => {
  const { sim } = simFrom(SCENARIO);
  const res = await sim.handler(
    new Request("http://sim.test/v1/events/drbd/promotion", {
      headers: { "last-event-id": "current" },
    }),
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const sse = new SseReader(res.body as ReadableStream<Uint8Array>);
  const replay = await sse.take(6);
  assert.ok(replay.every((e) => e.event === "may-promote-change"));
  assert.deepEqual(replay.map(key), [
    "pvc-1@a1=false",
    "pvc-1@a2=false",
    "pvc-1@b1=false",
    "pvc-2@a1=true",
    "pvc-2@b1=true",
    "pvc-2@b2=false",
  ]);
  // pvc-1 stops being in use on a1: its diskful replicas may promote now
  sim.apply({
    action: "set-in-use",
    resource: "pvc-1",
    node: "a1",
    in_use: false,
  });
  assert.deepEqual((await sse.take(2)).map(key), [
    "pvc-1@a1=true",
    "pvc-1@b1=true",
  ]);
  sim.close();
  assert.equal(await sse.next(), undefined, "close() ends the stream");
});

Deno.test("`GET /v1/events/drbd/promotion` without replay sends only changes", async () => {
  const { sim, clock } = simFrom(SCENARIO);
  const res = await sim.handler(
    new Request("http://sim.test/v1/events/drbd/promotion"),
  );
  const sse = new SseReader(res.body as ReadableStream<Uint8Array>);
  // the timeline takes b1 OFFLINE at 5 s: its replicas can no longer promote
  await clock.advance(5000);
  sim.advance();
  assert.deepEqual((await sse.take(1)).map(key), ["pvc-2@b1=false"]);
  sim.apply({ action: "remove-replica", resource: "pvc-2", node: "a1" });
  assert.deepEqual(
    (await sse.take(1)).map(key),
    ["pvc-2@a1=false"],
    "a removed replica reports false",
  );
  await sse.cancel();
});

Deno.test("`GET /v1/events/drbd/promotion` ends when the request is aborted", async () => {
  const { sim } = simFrom(SCENARIO);
  const controller = new AbortController();
  const res = await sim.handler(
    new Request("http://sim.test/v1/events/drbd/promotion", {
      signal: controller.signal,
    }),
  );
  const sse = new SseReader(res.body as ReadableStream<Uint8Array>);
  controller.abort();
  assert.equal(await sse.next(), undefined);
});
