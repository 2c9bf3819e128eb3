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
 * a body by native string search and compares each with the known text of
 * its node, parsing only the ones it has not seen.
 *
 * Nothing found by the search is trusted: the body is accepted only when it
 * is exactly `{"Pod":` + a text `JSON.parse` accepts as one value +
 * `,"Nodes":{"metadata":{},"items":[` + validated Node texts separated by
 * commas + `]},"NodeNames":null}`. JSON's grammar parses such a text one way
 * only, so the result is what `parseExtenderArgs()` returns for the same body.
 * Any other body (other layout, whitespace, a Node that is not an object with
 * a name, bad JSON) gets `undefined`, and the caller decodes it in full,
 * which also gives the usual error.
 *
 * @module
 */
import type { V1Node } from "@kubernetes/client-node";
import { EXTENDER_NODE_ITEMS_MAX_CHARS } from "../../constants.ts";
import { checkNodeItem, checkPod, type ExtenderArgs } from "./_wire.ts";

const HEAD = '{"Pod":';
const NODES = ',"Nodes":{"metadata":{},"items":[';
const TAIL = ']},"NodeNames":null}';
const NAME_KEY = '"metadata":{"name":"';
/** How far into the first item its name key is looked for (type meta first). */
const MAX_PREFIX_CHARS = 256;
const COMMA = 44;
const QUOTE = '"';

interface NodeItem {
  /** The item's text as sent (a copy, not a slice of a request body). */
  readonly text: string;
  /** `JSON.stringify(JSON.parse(text))`; the same string when `text` is in that form. */
  readonly json: string;
  readonly node: V1Node;
  seen: number;
}

/** Options of `NodeItems`. */
export interface NodeItemsOptions {
  /**
   * Characters of Node text kept; past it, the Nodes neither this request nor
   * the one before carried are dropped (so a changed Node does not evict the
   * rest of the request it comes in).
   * @default {EXTENDER_NODE_ITEMS_MAX_CHARS}
   */
  readonly maxChars?: number | undefined;
}

/** The Node texts one extender has validated, by the name text they start with. */
export class NodeItems {
  readonly #entries = new Map<string, NodeItem>();
  /** The items of the last request in order: the next one usually sends them again. */
  #last: NodeItem[] = [];
  readonly #maxChars: number;
  #chars = 0;
  #request = 0;
  #hits = 0;
  #misses = 0;

  constructor(options: NodeItemsOptions = {}) {
    this.#maxChars = options.maxChars ?? EXTENDER_NODE_ITEMS_MAX_CHARS;
  }

  /** Characters of Node text kept. */
  get chars(): number {
    return this.#chars;
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
   * The known item whose text `text` carries at `at`: item `index` of the
   * last request, else the item of `key()`.
   */
  match(
    text: string,
    at: number,
    options: { index: number; key: () => string },
  ): NodeItem | undefined {
    let item: NodeItem | undefined = this.#last[options.index];
    if (item === undefined || !carries(text, at, item)) {
      item = this.#entries.get(options.key());
      if (item === undefined || !carries(text, at, item)) return undefined;
    }
    item.seen = this.#request;
    this.#hits++;
    return item;
  }

  /** Validates `text` as one Node item and keeps it under `key`; `undefined` if it is not one. */
  add(key: string, text: string): NodeItem | undefined {
    this.#misses++;
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
    const json = JSON.stringify(value);
    // A copy: a slice would keep the whole request body alive.
    const item: NodeItem = {
      text: json === text ? json : copyOf(text),
      json,
      node,
      seen: this.#request,
    };
    const before = this.#entries.get(key);
    if (before !== undefined) this.#chars -= before.text.length;
    this.#entries.set(key, item);
    this.#chars += text.length;
    if (this.#chars > this.#maxChars) this.#evict();
    return item;
  }

  #evict(): void {
    for (const [key, item] of this.#entries) {
      if (item.seen < this.#request - 1) {
        this.#entries.delete(key);
        this.#chars -= item.text.length;
      }
    }
  }
}

function carries(text: string, at: number, item: NodeItem): boolean {
  // Comparing a slice is a memory compare; `startsWith` goes char by char.
  return text.slice(at, at + item.text.length) === item.text;
}

function copyOf(text: string): string {
  // Flattening the concatenation copies the characters into a new string.
  return (" " + text).slice(1);
}

/**
 * Decodes a body in the layout kube-scheduler's Go encoder writes for full
 * Node objects, reusing the Node texts `items` knows; `undefined` for any
 * other body (decode it with `parseExtenderArgs()`, which gives the same
 * result or the error). The arguments' `nodes` and `nodeJson` are those
 * `parseExtenderArgs()` returns.
 */
export function parseKubeSchedulerLayout(
  text: string,
  items: NodeItems,
): ExtenderArgs | undefined {
  if (!text.startsWith(HEAD) || !text.endsWith(TAIL)) return undefined;
  const nodesAt = text.indexOf(NODES, HEAD.length);
  if (nodesAt < 0) return undefined;
  const end = text.length - TAIL.length;
  let at = nodesAt + NODES.length;
  if (at >= end) return undefined;
  const nameAt = text.indexOf(NAME_KEY, at);
  if (nameAt < 0 || nameAt - at > MAX_PREFIX_CHARS) return undefined;
  const prefix = text.slice(at, nameAt + NAME_KEY.length);
  const boundary = "}," + prefix;
  let pod;
  try {
    pod = checkPod(JSON.parse(text.slice(HEAD.length, nodesAt)));
  } catch {
    return undefined;
  }
  items.begin();
  const found: NodeItem[] = [];
  const nodes: V1Node[] = [];
  const nodeJson: string[] = [];
  let quote = 0;
  const key = () => {
    const keyAt = at + prefix.length;
    quote = text.indexOf(QUOTE, keyAt);
    return quote < 0 || quote >= end ? "" : text.slice(keyAt, quote);
  };
  for (;;) {
    // A known text found at `at` is a whole validated item, whatever its
    // prefix: only new items need this body's prefix and boundary.
    let item = items.match(text, at, { index: found.length, key });
    let itemEnd: number;
    if (item !== undefined) {
      itemEnd = at + item.text.length;
      if (itemEnd > end) return undefined;
    } else {
      if (!text.startsWith(prefix, at)) return undefined;
      const name = key();
      if (quote < 0 || quote >= end) return undefined;
      const next = text.indexOf(boundary, quote);
      itemEnd = next < 0 || next >= end ? end : next + 1;
      item = items.add(name, text.slice(at, itemEnd));
      if (item === undefined) return undefined;
    }
    found.push(item);
    nodes.push(item.node);
    nodeJson.push(item.json);
    if (itemEnd === end) break;
    if (text.charCodeAt(itemEnd) !== COMMA) return undefined;
    at = itemEnd + 1;
  }
  items.end(found);
  return { pod, nodes, nodeJson, nodeNames: undefined };
}
