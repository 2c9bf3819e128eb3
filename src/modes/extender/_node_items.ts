/**
 * Decoding `ExtenderArgs` with full Node objects without parsing every Node
 * on every request.
 *
 * kube-scheduler (`nodeCacheCapable: false`) sends the Node objects of its
 * cache in every call, encoded by Go's `encoding/json`: compact, fields in
 * struct order, so each item starts with the same text up to the node's name
 * (`{"metadata":{"name":"`), and a Node's text only changes when the Node
 * does. `NodeItems` keeps each Node text it has validated (by `JSON.parse` of
 * that text alone) with the name and labels the extender reads and the JSON
 * the filter answer carries; `parseKubeSchedulerLayout()` finds the items of
 * a body by a native search of its bytes and compares each with the known
 * UTF-8 of its node, decoding and parsing only the pod and the items it has
 * not seen. The body is never decoded as a whole: a megabyte string per
 * request is what made V8 collect its heap every few requests.
 *
 * Nothing found by the search is trusted: the body is accepted only when it
 * is exactly `{"Pod":` + valid UTF-8 of a text `JSON.parse` accepts as one
 * value + `,"Nodes":{"metadata":{},"items":[` + validated Node texts separated
 * by commas + `]},"NodeNames":null}`. JSON's grammar parses such a text one
 * way only, so the result is what `parseExtenderArgs()` returns for the same
 * body decoded. Any other body (other layout, whitespace, a Node that is not
 * an object with a name, bad JSON, a byte that is not UTF-8, a byte order
 * mark) gets `undefined`, and the caller decodes it in full, which also gives
 * the usual error.
 *
 * @module
 */
import type { V1Node } from "@kubernetes/client-node";
import { Buffer } from "node:buffer";
import { EXTENDER_NODE_ITEMS_MAX_BYTES } from "../../constants.ts";
import { checkNodeItem, checkPod, type ExtenderArgs } from "./_wire.ts";

const ascii = (text: string) => Buffer.from(text, "latin1");
const HEAD = ascii('{"Pod":');
const NODES = ascii(',"Nodes":{"metadata":{},"items":[');
const TAIL = ascii(']},"NodeNames":null}');
const NAME_KEY = ascii('"metadata":{"name":"');
/** What ends an item before the next one's prefix. */
const ITEM_END = ascii("},");
/** How far into the first item its name key is looked for (type meta first). */
const MAX_PREFIX_BYTES = 256;
const COMMA = 0x2c;
const QUOTE = 0x22;

interface NodeItem {
  /** The item's UTF-8 as sent (a copy, not a view of a request body). */
  readonly bytes: Uint8Array;
  /** `JSON.stringify(JSON.parse(text))` of the item's text. */
  readonly json: string;
  readonly node: V1Node;
  seen: number;
}

/** Options of `NodeItems`. */
export interface NodeItemsOptions {
  /**
   * Bytes of Node text kept; past it, the Nodes neither this request nor the
   * one before carried are dropped (so a changed Node does not evict the rest
   * of the request it comes in).
   * @default {EXTENDER_NODE_ITEMS_MAX_BYTES}
   */
  readonly maxBytes?: number | undefined;
}

/** The Node texts one extender has validated, by the name text they start with. */
export class NodeItems {
  readonly #entries = new Map<string, NodeItem>();
  /** The items of the last request in order: the next one usually sends them again. */
  #last: NodeItem[] = [];
  readonly #maxBytes: number;
  #bytes = 0;
  #request = 0;
  #hits = 0;
  #misses = 0;

  constructor(options: NodeItemsOptions = {}) {
    this.#maxBytes = options.maxBytes ?? EXTENDER_NODE_ITEMS_MAX_BYTES;
  }

  /** Bytes of Node text kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Items found already validated, and items parsed, since creation. */
  get counts(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Starts a request: items it uses are kept over the others. */
  begin(): void {
    this.#request++;
  }

  /** Ends a request that decoded `items`, in order. */
  end(items: NodeItem[]): void {
    this.#last = items;
  }

  /**
   * The known item whose bytes `body` carries from `at` to at most `end`:
   * item `index` of the last request, else the item of `key()`.
   */
  match(
    body: Buffer,
    at: number,
    options: { index: number; end: number; key: () => string },
  ): NodeItem | undefined {
    let item: NodeItem | undefined = this.#last[options.index];
    if (
      item === undefined ||
      !bytesAt(body, at, { part: item.bytes, end: options.end })
    ) {
      item = this.#entries.get(options.key());
      if (
        item === undefined ||
        !bytesAt(body, at, { part: item.bytes, end: options.end })
      ) {
        return undefined;
      }
    }
    item.seen = this.#request;
    this.#hits++;
    return item;
  }

  /**
   * Validates `bytes` (a view of a body) as the UTF-8 of one Node item and
   * keeps a copy under `key`; `undefined` if it is not one.
   */
  add(key: string, bytes: Uint8Array): NodeItem | undefined {
    this.#misses++;
    const text = decodeStrictly(bytes);
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    let node: V1Node;
    try {
      node = checkNodeItem(value, 0);
    } catch {
      return undefined;
    }
    // A copy (`Buffer#slice()` is a view): a view would keep the whole
    // request body alive, and the handler frees a body's memory after it.
    const item: NodeItem = {
      bytes: new Uint8Array(bytes),
      json: JSON.stringify(value),
      node,
      seen: this.#request,
    };
    const before = this.#entries.get(key);
    if (before !== undefined) this.#bytes -= before.bytes.byteLength;
    this.#entries.set(key, item);
    this.#bytes += bytes.byteLength;
    if (this.#bytes > this.#maxBytes) this.#evict();
    return item;
  }

  #evict(): void {
    for (const [key, item] of this.#entries) {
      if (item.seen < this.#request - 1) {
        this.#entries.delete(key);
        this.#bytes -= item.bytes.byteLength;
      }
    }
  }
}

/**
 * `bytes` as text, or `undefined` when they are not UTF-8 or start with a
 * byte order mark: the full decode keeps a byte order mark inside a body, so
 * a slice must not drop one.
 */
function decodeStrictly(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes,
    );
  } catch {
    return undefined;
  }
}

/** Whether `body` holds `part` at `at`, ending by `end` (default its end). */
function bytesAt(
  body: Buffer,
  at: number,
  options: { part: Uint8Array; end?: number },
): boolean {
  const { part, end = body.byteLength } = options;
  const length = part.byteLength;
  // A native memory compare of the range.
  return at + length <= end &&
    body.compare(part, 0, length, at, at + length) === 0;
}

/**
 * Decodes a body in the layout kube-scheduler's Go encoder writes for full
 * Node objects, reusing the Node texts `items` knows; `undefined` for any
 * other body (decode it with `parseExtenderArgs()`, which gives the same
 * result or the error). The arguments' `nodes` and `nodeJson` are those
 * `parseExtenderArgs()` returns for the body decoded.
 */
export function parseKubeSchedulerLayout(
  bytes: Uint8Array,
  items: NodeItems,
): ExtenderArgs | undefined {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = body.byteLength - TAIL.byteLength;
  if (!bytesAt(body, 0, { part: HEAD }) || end < HEAD.byteLength) {
    return undefined;
  }
  if (!bytesAt(body, end, { part: TAIL })) return undefined;
  const nodesAt = body.indexOf(NODES, HEAD.byteLength);
  if (nodesAt < 0) return undefined;
  let at = nodesAt + NODES.byteLength;
  if (at >= end) return undefined;
  const nameAt = body.indexOf(NAME_KEY, at);
  if (nameAt < 0 || nameAt - at > MAX_PREFIX_BYTES) return undefined;
  const prefix = body.subarray(at, nameAt + NAME_KEY.byteLength);
  const boundary = Buffer.concat([ITEM_END, prefix]);
  const podText = decodeStrictly(body.subarray(HEAD.byteLength, nodesAt));
  if (podText === undefined) return undefined;
  let pod;
  try {
    pod = checkPod(JSON.parse(podText));
  } catch {
    return undefined;
  }
  items.begin();
  const found: NodeItem[] = [];
  const nodes: V1Node[] = [];
  const nodeJson: string[] = [];
  let quote = 0;
  const key = () => {
    const keyAt = at + prefix.byteLength;
    quote = body.indexOf(QUOTE, keyAt);
    return quote < 0 || quote >= end
      ? ""
      : body.toString("latin1", keyAt, quote);
  };
  for (;;) {
    // A known text found at `at` is a whole validated item, whatever its
    // prefix: only new items need this body's prefix and boundary.
    let item = items.match(body, at, { index: found.length, end, key });
    let itemEnd: number;
    if (item !== undefined) {
      itemEnd = at + item.bytes.byteLength;
    } else {
      if (!bytesAt(body, at, { part: prefix })) return undefined;
      const name = key();
      if (quote < 0 || quote >= end) return undefined;
      const next = body.indexOf(boundary, quote);
      itemEnd = next < 0 || next >= end ? end : next + 1;
      item = items.add(name, body.subarray(at, itemEnd));
      if (item === undefined) return undefined;
    }
    found.push(item);
    nodes.push(item.node);
    nodeJson.push(item.json);
    if (itemEnd === end) break;
    if (body[itemEnd] !== COMMA) return undefined;
    at = itemEnd + 1;
  }
  items.end(found);
  return { pod, nodes, nodeJson, nodeNames: undefined };
}
