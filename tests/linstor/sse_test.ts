import assert from "node:assert/strict";
import {
  parseEventStream,
  type ServerSentEvent,
} from "../../src/linstor/mod.ts";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(chunks: string[]): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of parseEventStream(streamOf(chunks))) {
    events.push(event);
  }
  return events;
}

Deno.test("`parseEventStream()` dispatches events on blank lines across chunk boundaries", async (t) => {
  const cases: [string, string[], ServerSentEvent[]][] = [
    ["one event", ['event: may-promote-change\ndata: {"a":1}\n\n'], [
      { event: "may-promote-change", data: '{"a":1}', id: undefined },
    ]],
    ["split mid-line and mid-CRLF", [
      "event: x\r",
      "\ndata: 1\r\n\r",
      "\n",
    ], [{ event: "x", data: "1", id: undefined }]],
    ["bare CR line ends", ["data: a\rdata: b\r\r"], [
      { event: "message", data: "a\nb", id: undefined },
    ]],
    ["comments, retry and unknown fields are skipped", [
      ": connected\n\nretry: 10\nfoo: bar\ndata:no-space\n\n",
    ], [{ event: "message", data: "no-space", id: undefined }]],
    ["id is kept for later events", ["id: 7\ndata: a\n\ndata: b\n\n"], [
      { event: "message", data: "a", id: "7" },
      { event: "message", data: "b", id: "7" },
    ]],
    ["a BOM is ignored", ["\uFEFFdata: a\n\n"], [
      { event: "message", data: "a", id: undefined },
    ]],
    ["an event without data is not dispatched", ["event: x\n\n"], []],
    ["an unterminated last event is dropped", ["data: a\n\ndata: b\n"], [
      { event: "message", data: "a", id: undefined },
    ]],
  ];
  for (const [name, chunks, want] of cases) {
    await t.step(name, async () => {
      assert.deepEqual(await collect(chunks), want);
    });
  }
});

Deno.test("`parseEventStream()` decodes UTF-8 split inside a character", async () => {
  const bytes = new TextEncoder().encode("data: é\n\n");
  const cut = bytes.indexOf(0xC3) + 1;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, cut));
      controller.enqueue(bytes.slice(cut));
      controller.close();
    },
  });
  const events: ServerSentEvent[] = [];
  for await (const event of parseEventStream(body)) events.push(event);
  assert.deepEqual(events, [{ event: "message", data: "é", id: undefined }]);
});

Deno.test("`parseEventStream()` cancels the body when the consumer stops early", async () => {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("data: a\n\ndata: b\n\n"));
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const event of parseEventStream(body)) {
    assert.equal(event.data, "a");
    break;
  }
  assert.equal(cancelled, true);
});
