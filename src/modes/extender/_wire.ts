/**
 * kube-scheduler extender wire format (`k8s.io/kube-scheduler/extender/v1`).
 *
 * kube-scheduler sends Go field names (PascalCase: `Pod`, `Nodes`,
 * `NodeNames`) because the v1 types carry no json tags, and decodes our
 * answers case-insensitively. We accept any casing of the top-level keys and
 * answer in PascalCase.
 *
 * @module
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";

/** A decoded `ExtenderArgs`. */
export interface ExtenderArgs {
  readonly pod: V1Pod;
  /**
   * The Node objects sent (`nodeCacheCapable: false`), reduced to what the
   * extender reads of them: `metadata.name` and `metadata.labels` (as sent).
   */
  readonly nodes: readonly V1Node[] | undefined;
  /**
   * The JSON of each of `nodes` as sent, in `JSON.stringify`'s form: the
   * filter answer carries the passing ones.
   */
  readonly nodeJson: readonly string[] | undefined;
  /** Node names (`nodeCacheCapable: true`). */
  readonly nodeNames: readonly string[] | undefined;
}

/** `ExtenderFilterResult` as we send it. */
export interface ExtenderFilterResult {
  Nodes: { metadata: Record<string, never>; items: V1Node[] } | null;
  NodeNames: string[] | null;
  FailedNodes: Record<string, string>;
  FailedAndUnresolvableNodes: Record<string, string>;
  Error: string;
}

/** One `HostPriority`. */
export interface HostPriority {
  Host: string;
  Score: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Finds `key` in `object` case-insensitively, like Go's encoding/json. */
function field(object: Record<string, unknown>, key: string): unknown {
  if (key in object) return object[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(object)) {
    if (k.toLowerCase() === lower) return v;
  }
  return undefined;
}

/**
 * Decodes an `ExtenderArgs` body; throws `SyntaxError` on bad JSON and
 * `TypeError` on wrong types, each with a one-line reason.
 */
export function parseExtenderArgs(text: string): ExtenderArgs {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse extender arguments "body": ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  if (!isObject(raw)) {
    throw new TypeError(
      `Cannot parse extender arguments "body": expected a JSON object`,
    );
  }
  const pod = checkPod(field(raw, "Pod"));
  const nodesRaw = field(raw, "Nodes");
  let nodes: V1Node[] | undefined;
  let nodeJson: string[] | undefined;
  if (nodesRaw !== undefined && nodesRaw !== null) {
    if (!isObject(nodesRaw)) {
      throw new TypeError(
        `Cannot parse extender arguments "Nodes": expected a NodeList object, got ${
          describe(nodesRaw)
        }`,
      );
    }
    const items = field(nodesRaw, "items");
    if (items !== undefined && items !== null && !Array.isArray(items)) {
      throw new TypeError(
        `Cannot parse extender arguments "Nodes.items": expected an array, got ${
          describe(items)
        }`,
      );
    }
    nodes = [];
    nodeJson = [];
    for (const [i, item] of (items ?? []).entries()) {
      nodes.push(checkNodeItem(item, i));
      nodeJson.push(JSON.stringify(item));
    }
  }
  const namesRaw = field(raw, "NodeNames");
  let nodeNames: string[] | undefined;
  if (namesRaw !== undefined && namesRaw !== null) {
    if (!Array.isArray(namesRaw)) {
      throw new TypeError(
        `Cannot parse extender arguments "NodeNames": expected an array of strings, got ${
          describe(namesRaw)
        }`,
      );
    }
    // An indexed loop: `entries()` allocates a pair per name (5,000 per request).
    for (let i = 0; i < namesRaw.length; i++) {
      const name: unknown = namesRaw[i];
      if (typeof name !== "string") {
        throw new TypeError(
          `Cannot parse extender arguments "NodeNames[${i}]": expected a string, got ${
            describe(name)
          }`,
        );
      }
    }
    nodeNames = namesRaw as string[];
  }
  return { pod, nodes, nodeJson, nodeNames };
}

/** `pod` as the `Pod` of `ExtenderArgs`; throws `TypeError` when it is not one. */
export function checkPod(pod: unknown): V1Pod {
  if (!isObject(pod)) {
    throw new TypeError(
      `Cannot parse extender arguments "Pod": expected an object, got ${
        describe(pod)
      }`,
    );
  }
  if (pod.metadata !== undefined && !isObject(pod.metadata)) {
    throw new TypeError(
      `Cannot parse extender arguments "Pod.metadata": expected an object`,
    );
  }
  if (pod.spec !== undefined && pod.spec !== null && !isObject(pod.spec)) {
    throw new TypeError(
      `Cannot parse extender arguments "Pod.spec": expected an object`,
    );
  }
  return pod as V1Pod;
}

/**
 * Item `index` of `Nodes.items` reduced to its name and labels (all the
 * extender reads of a Node); throws `TypeError` when it has no name.
 */
export function checkNodeItem(item: unknown, index: number): V1Node {
  if (
    !isObject(item) || !isObject(item.metadata) ||
    typeof item.metadata.name !== "string" || item.metadata.name === ""
  ) {
    throw new TypeError(
      `Cannot parse extender arguments "Nodes.items[${index}]": expected a Node with metadata.name`,
    );
  }
  const metadata = item.metadata;
  return "labels" in metadata
    ? {
      metadata: {
        name: metadata.name as string,
        labels: metadata.labels as Record<string, string>,
      },
    }
    : { metadata: { name: metadata.name as string } };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/** The candidate node names of `args`: `NodeNames` if sent, else the names of `Nodes`. */
export function candidateNames(args: ExtenderArgs): readonly string[] {
  if (args.nodeNames) return args.nodeNames;
  return (args.nodes ?? []).map((n) => n.metadata?.name ?? "");
}

/**
 * JSON of a filter answer in the form the request used (names or Node
 * objects); the same text as `JSON.stringify` of an `ExtenderFilterResult`
 * whose `Nodes.items` are the passing Node objects as sent.
 */
export function filterResultJson(
  args: ExtenderArgs,
  passed: ReadonlySet<string> | undefined,
  options: {
    failed: Record<string, string>;
    unresolvable: Record<string, string>;
    /** The last answer with Node objects, sent again when it is the same. */
    last?: LastNodesAnswer | undefined;
  },
): string {
  const tail = `,"FailedNodes":${
    JSON.stringify(options.failed)
  },"FailedAndUnresolvableNodes":${
    JSON.stringify(options.unresolvable)
  },"Error":""}`;
  if (args.nodeNames === undefined && args.nodes !== undefined) {
    const nodes = args.nodes;
    const json = args.nodeJson ?? nodes.map((node) => JSON.stringify(node));
    const items: string[] = [];
    for (let i = 0; i < nodes.length; i++) {
      if (passed !== undefined && !passed.has(nodes[i]!.metadata?.name ?? "")) {
        continue;
      }
      items.push(json[i]!);
    }
    return options.last?.of(items, tail) ?? nodesAnswer(items, tail);
  }
  const names = args.nodeNames ?? [];
  return `{"Nodes":null,"NodeNames":${
    JSON.stringify(
      passed === undefined ? names : names.filter((n) => passed.has(n)),
    )
  }${tail}`;
}

function nodesAnswer(items: readonly string[], tail: string): string {
  return `{"Nodes":{"metadata":{},"items":[${
    items.join(",")
  }]},"NodeNames":null${tail}`;
}

/**
 * The last filter answer with Node objects, sent again when the same Node
 * texts pass with the same failures. kube-scheduler sends the same Nodes call
 * after call, and each answer is a string as large as the request (1.6 MiB at
 * 500 nodes) that V8 would allocate, flatten and collect again; the kept one
 * is flattened once. The Node texts are compared as strings: the same string
 * objects (`NodeItems` hands them out) compare in constant time, others
 * character by character.
 */
export class LastNodesAnswer {
  #items: readonly string[] = [];
  #tail = "";
  #text = "";

  /** The answer of `items` and `tail`: the last one when both are the same. */
  of(items: readonly string[], tail: string): string {
    if (
      tail !== this.#tail || items.length !== this.#items.length ||
      this.#text === ""
    ) {
      return this.#keep(items, tail);
    }
    const last = this.#items;
    for (let i = 0; i < items.length; i++) {
      if (items[i] !== last[i]) return this.#keep(items, tail);
    }
    return this.#text;
  }

  #keep(items: readonly string[], tail: string): string {
    this.#items = items;
    this.#tail = tail;
    this.#text = nodesAnswer(items, tail);
    return this.#text;
  }
}

/** A host of a `HostPriority` list, with its name as a JSON literal when known. */
export interface PriorityHost {
  readonly name: string;
  readonly quotedName?: string | undefined;
}

const SCORE_SUFFIX: readonly string[] = Object.freeze(
  Array.from({ length: 11 }, (_, score) => `,"Score":${score}}`),
);

/** JSON of a `HostPriority` list; the same text as `JSON.stringify` of the objects. */
export function hostPrioritiesJson(
  hosts: readonly PriorityHost[],
  scores: readonly number[] | undefined,
): string {
  return "[" + hostPrioritiesItems(hosts, scores) + "]";
}

/**
 * The items of `hostPrioritiesJson()`. Its own function: V8 compiles a loop
 * this long while it runs (on-stack replacement) before the code after it
 * ever ran, and then left the optimized code at that code on every other
 * call; here nothing follows the loop.
 */
function hostPrioritiesItems(
  hosts: readonly PriorityHost[],
  scores: readonly number[] | undefined,
): string {
  let out = "";
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i]!;
    const score = scores?.[i] ?? 0;
    out += (i === 0 ? '{"Host":' : ',{"Host":') +
      (host.quotedName ?? JSON.stringify(host.name)) +
      (SCORE_SUFFIX[score] ?? `,"Score":${JSON.stringify(score)}}`);
  }
  return out;
}
