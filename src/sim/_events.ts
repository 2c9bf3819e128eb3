/**
 * The `/v1/events/drbd/promotion` event stream: current `may_promote`
 * values, change detection and the SSE subscribers.
 *
 * @module
 */
import { LINSTOR_EVENT_MAY_PROMOTE_CHANGE } from "../constants.ts";
import { keyOf } from "./_model.ts";
import { stringifyJson } from "./_rc.ts";

/** The `may_promote` value of one replica. */
export interface PromotionValue {
  readonly resource: string;
  readonly node: string;
  readonly mayPromote: boolean;
}

interface Subscriber {
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  close(): void;
}

const ENCODER = new TextEncoder();

function frame(value: PromotionValue): string {
  const data = stringifyJson({
    resource_name: value.resource,
    node_name: value.node,
    may_promote: value.mayPromote,
  });
  return `event: ${LINSTOR_EVENT_MAY_PROMOTE_CHANGE}\ndata: ${data}\n\n`;
}

/** Current promotion values and the open SSE streams. */
export class PromotionEvents {
  #current = new Map<string, PromotionValue>();
  readonly #subscribers = new Set<Subscriber>();

  /**
   * Replaces the current values (sorted by resource, node) and sends one
   * event per changed value; a vanished replica that could promote sends
   * `false`.
   */
  publish(values: readonly PromotionValue[]): void {
    const next = new Map<string, PromotionValue>();
    for (const value of values) {
      next.set(`${keyOf(value.resource)}\u0000${keyOf(value.node)}`, value);
    }
    const frames: string[] = [];
    for (const [key, value] of next) {
      if (this.#current.get(key)?.mayPromote !== value.mayPromote) {
        frames.push(frame(value));
      }
    }
    for (const [key, value] of this.#current) {
      if (!next.has(key) && value.mayPromote) {
        frames.push(frame({ ...value, mayPromote: false }));
      }
    }
    this.#current = next;
    if (frames.length === 0) return;
    const chunk = ENCODER.encode(frames.join(""));
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber.controller.enqueue(chunk);
      } catch {
        subscriber.close();
      }
    }
  }

  /**
   * An SSE response; `Last-Event-ID: current` replays the current values
   * first. It ends when `request.signal` aborts or on `close()`.
   */
  stream(request: Request): Response {
    const replay =
      request.headers.get("last-event-id")?.trim().toLowerCase() === "current";
    let subscriber: Subscriber | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        let closed = false;
        const onAbort = () => subscriber?.close();
        const self: Subscriber = {
          controller,
          close: () => {
            if (closed) return;
            closed = true;
            this.#subscribers.delete(self);
            request.signal.removeEventListener("abort", onAbort);
            try {
              controller.close();
            } catch {
              // already closed or errored by the consumer
            }
          },
        };
        subscriber = self;
        this.#subscribers.add(self);
        if (replay) {
          const current = [...this.#current.values()].map(frame).join("");
          if (current) controller.enqueue(ENCODER.encode(current));
        }
        if (request.signal.aborted) self.close();
        else request.signal.addEventListener("abort", onAbort, { once: true });
      },
      cancel: () => subscriber?.close(),
    });
    return new Response(body, {
      status: 200,
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
      },
    });
  }

  /** Ends every open stream. */
  close(): void {
    for (const subscriber of [...this.#subscribers]) subscriber.close();
  }
}
