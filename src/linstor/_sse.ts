/**
 * A server-sent events parser (WHATWG "event stream interpretation") over a
 * byte stream, for LINSTOR's `/v1/events/…` endpoints.
 *
 * @module
 */

/** One dispatched event. */
export interface ServerSentEvent {
  /** `event:` field; `message` when absent. */
  readonly event: string;
  /** `data:` lines joined with `\n`. */
  readonly data: string;
  /** Last `id:` seen on the stream, if any. */
  readonly id: string | undefined;
}

/**
 * Yields the events of `body` until it ends. Comments (`:` lines) and
 * `retry:` are skipped; a trailing event without its blank line is dropped,
 * as the specification says.
 */
export async function* parseEventStream(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  let first = true;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done
        ? decoder.decode()
        : decoder.decode(value, { stream: true });
      if (first && buffer.length > 0) {
        if (buffer.charCodeAt(0) === 0xFEFF) buffer = buffer.slice(1);
        first = false;
      }
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (!match) break;
        // A \r ending the buffer may be the first half of \r\n: wait for
        // more, unless the stream has ended.
        if (
          !done && match[0] === "\r" && match.index === buffer.length - 1
        ) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === "") {
          if (data.length > 0) {
            yield { event: event || "message", data: data.join("\n"), id };
          }
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? "" : line.slice(colon + 1);
        if (text.startsWith(" ")) text = text.slice(1);
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
        else if (field === "id" && !text.includes("\0")) id = text;
      }
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
