import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  type ExtenderArgs,
  filterResultJson,
  LastNodesAnswer,
  NodeItems,
  parseExtenderArgs,
  parseKubeSchedulerLayout,
} from "../../../src/modes/extender/mod.ts";

const POD = {
  metadata: { name: "p", namespace: "ns", uid: "u-1" },
  spec: { containers: [{ name: "c", image: "i" }] },
};

function node(name: string, extra: Record<string, unknown> = {}) {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: { "kubernetes.io/hostname": name, zone: "a" },
      annotations: {
        "csi.volume.kubernetes.io/nodeid":
          `{"linstor.csi.linbit.com":"${name}"}`,
      },
    },
    spec: { podCIDR: "10.0.0.0/24" },
    status: { conditions: [{ type: "Ready", status: "True" }] },
    ...extra,
  };
}

/** The body as kube-scheduler's Go encoder lays it out (`<`, `>`, `&`, U+2028/9 escaped). */
function goBody(pod: unknown, items: unknown[] | null): string {
  return goEscape(
    JSON.stringify({
      Pod: pod,
      Nodes: { metadata: {}, items },
      NodeNames: null,
    }),
  );
}

function goEscape(json: string): string {
  // These characters only occur inside strings in JSON text.
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

type Outcome = { args: ExtenderArgs } | { error: string };

/** The body as sent: kube-scheduler's encoder writes UTF-8. */
function utf8(body: string): Uint8Array {
  return new TextEncoder().encode(body);
}

function outcome(decode: () => ExtenderArgs): Outcome {
  try {
    return { args: decode() };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

/**
 * The filter answers of `args` for every node passing, none, and every other
 * one; each also through a `LastNodesAnswer` of `lasts` (one per kind of
 * answer, kept over the calls of a test), which must give the same text.
 */
function answers(args: ExtenderArgs, lasts?: LastNodesAnswer[]): string[] {
  const names = (args.nodes ?? []).map((n) => n.metadata!.name!);
  const failures = { failed: { x: 'a"\u00e9' }, unresolvable: {} };
  const passing = [
    undefined,
    new Set<string>(),
    new Set(names.filter((_, i) => i % 2 === 0)),
  ];
  const fresh = passing.map((passed) =>
    filterResultJson(args, passed, failures)
  );
  if (lasts !== undefined) {
    const kept = passing.map((passed, i) =>
      filterResultJson(args, passed, {
        ...failures,
        last: lasts[i] ??= new LastNodesAnswer(),
      })
    );
    assert.deepEqual(kept, fresh);
  }
  return fresh;
}

/** The kept answers of each `NodeItems` a test decodes with, as a handler keeps them. */
const LASTS = new WeakMap<NodeItems, LastNodesAnswer[]>();

function lastsOf(items: NodeItems): LastNodesAnswer[] {
  let lasts = LASTS.get(items);
  if (lasts === undefined) LASTS.set(items, lasts = []);
  return lasts;
}

/**
 * The layout path (falling back to the full decode as the handler does)
 * against the full decode alone: same arguments, same answers, same error.
 * Returns whether the layout path decoded the body itself.
 */
function assertSameAsFull(sent: string, items: NodeItems): boolean {
  const bytes = utf8(sent);
  // What the handler's full decode reads: the text of the bytes sent (a
  // lone surrogate of `sent` went out as U+FFFD).
  const body = new TextDecoder().decode(bytes);
  const fast = parseKubeSchedulerLayout(bytes, items);
  const viaHandler = outcome(() => fast ?? parseExtenderArgs(body));
  const full = outcome(() => parseExtenderArgs(body));
  assert.deepEqual(viaHandler, full);
  if ("args" in full && "args" in viaHandler) {
    assert.deepEqual(
      answers(viaHandler.args, lastsOf(items)),
      answers(full.args),
    );
    // An oracle independent of the decoders: the passing items re-encoded.
    const raw = JSON.parse(body);
    const rawItems = (raw.Nodes?.items ?? []) as { metadata: unknown }[];
    if (raw.NodeNames == null && raw.Nodes != null) {
      assert.equal(
        answers(full.args)[0],
        JSON.stringify({
          Nodes: { metadata: {}, items: rawItems },
          NodeNames: null,
          FailedNodes: { x: 'a"\u00e9' },
          FailedAndUnresolvableNodes: {},
          Error: "",
        }),
      );
    }
  }
  return fast !== undefined;
}

Deno.test("`parseKubeSchedulerLayout()` decodes what `parseExtenderArgs()` decodes", async (t) => {
  const cases: [string, string, boolean][] = [
    ["plain Go layout", goBody(POD, [node("n1"), node("n2")]), true],
    ["one node", goBody(POD, [node("n1")]), true],
    [
      "type meta before metadata",
      goBody(POD, [
        { kind: "Node", apiVersion: "v1", ...node("n1") },
        { kind: "Node", apiVersion: "v1", ...node("n2") },
      ]),
      true,
    ],
    [
      "names that need JSON escapes",
      goBody(POD, [node('a"b'), node("c\\d"), node("<e>&"), node("f\u2028")]),
      true,
    ],
    [
      "unicode names and labels",
      goBody(POD, [
        node("ünï"),
        node("😀", { metadata: { name: "😀", labels: { "é": "ß" } } }),
      ]),
      true,
    ],
    [
      "annotations holding item-like text",
      goBody(POD, [
        node("n1", {
          metadata: {
            name: "n1",
            annotations: {
              big: '},{"metadata":{"name":"n9"}},{"metadata":{"name":"'
                .repeat(2000),
              tail: ']},"NodeNames":null}',
            },
          },
        }),
        node("n2"),
      ]),
      true,
    ],
    [
      "labels JSON.stringify reorders (integer-like keys)",
      goBody(POD, [
        node("n1", {
          metadata: { name: "n1", labels: { "10": "a", "9": "b", z: "c" } },
        }),
      ]),
      true,
    ],
    [
      "non-canonical escapes and numbers",
      `{"Pod":${JSON.stringify(POD)},"Nodes":{"metadata":{},"items":[` +
      `{"metadata":{"name":"n\\u0031","labels":{"a\\/b":"c"}},"x":1.0,"y":1e3},` +
      `{"metadata":{"name":"n2"},"z":[ 1 , 2 ]}]},"NodeNames":null}`,
      true,
    ],
    [
      "duplicate keys inside an item",
      `{"Pod":${JSON.stringify(POD)},"Nodes":{"metadata":{},"items":[` +
      `{"metadata":{"name":"n1","labels":{"a":"1"},"labels":{"a":"2"}}}]},"NodeNames":null}`,
      true,
    ],
    [
      "a node named like the boundary of another",
      goBody(POD, [node("n1"), node('x"},{"metadata":{"name":"y')]),
      true,
    ],
    ["the same name twice", goBody(POD, [node("n1"), node("n1")]), true],
    [
      "labels of other types",
      goBody(POD, [
        node("n1", { metadata: { name: "n1", labels: null } }),
        node("n2", { metadata: { name: "n2" } }),
        node("n3", { metadata: { name: "n3", labels: ["x"] } }),
      ]),
      true,
    ],
    // Bodies in any other layout are decoded in full.
    ["empty items", goBody(POD, []), false],
    ["null items", goBody(POD, null), false],
    ["a null item", goBody(POD, [node("n1"), null]), false],
    [
      "an item without a name",
      goBody(POD, [node("n1"), { metadata: {} }]),
      false,
    ],
    ["an empty name", goBody(POD, [node("")]), false],
    [
      "a name that is not a string",
      goBody(POD, [{ metadata: { name: 7 } }]),
      false,
    ],
    ["an item that is not an object", goBody(POD, ["n1"]), false],
    [
      "pretty-printed",
      JSON.stringify(
        {
          Pod: POD,
          Nodes: { metadata: {}, items: [node("n1")] },
          NodeNames: null,
        },
        null,
        2,
      ),
      false,
    ],
    [
      "other key order",
      JSON.stringify({
        NodeNames: null,
        Pod: POD,
        Nodes: { metadata: {}, items: [node("n1")] },
      }),
      false,
    ],
    [
      "lowercase keys",
      JSON.stringify({
        pod: POD,
        nodes: { metadata: {}, items: [node("n1")] },
      }),
      false,
    ],
    [
      "names instead of objects",
      JSON.stringify({ Pod: POD, Nodes: null, NodeNames: ["n1"] }),
      false,
    ],
    [
      "both Node objects and names",
      JSON.stringify({
        Pod: POD,
        Nodes: { metadata: {}, items: [node("n1")] },
        NodeNames: ["n1"],
      }),
      false,
    ],
    [
      "a nested object that looks like the next item",
      goBody(POD, [
        node("n1", { spec: { x: [{ a: 1 }, { metadata: { name: "evil" } }] } }),
        node("n2"),
      ]),
      false,
    ],
    [
      "an extra member after Nodes",
      `{"Pod":${JSON.stringify(POD)},"Nodes":{"metadata":{},"items":[` +
      `{"metadata":{"name":"n1"}}]},"Other":{"a":[{"metadata":{"name":"n2"}` +
      `]},"NodeNames":null}`,
      false,
    ],
    // Malformed bodies: the full decode's error.
    ["trailing data", goBody(POD, [node("n1")]) + "x", false],
    ["trailing whitespace", goBody(POD, [node("n1")]) + "\n", false],
    [
      "a truncated item",
      goBody(POD, [node("n1"), node("n2")]).replace('"status"', '"sta'),
      false,
    ],
    [
      "a bad token inside an item",
      goBody(POD, [node("n1"), node("n2")]).replace('"True"', "tru"),
      false,
    ],
    ["a pod that is not an object", goBody([1], [node("n1")]), false],
    [
      "a pod whose metadata is not an object",
      goBody({ metadata: "x" }, [node("n1")]),
      false,
    ],
    [
      "a truncated pod",
      goBody(POD, [node("n1")]).replace('"containers"', '"contai'),
      false,
    ],
  ];
  for (const [name, body, layout] of cases) {
    await t.step(
      `${name}: ${layout ? "decoded by layout" : "decoded in full"}`,
      () => {
        const items = new NodeItems();
        assert.equal(assertSameAsFull(body, items), layout);
        // Again with every item known: the same result from the cache.
        assert.equal(assertSameAsFull(body, items), layout);
      },
    );
  }
});

Deno.test("`parseKubeSchedulerLayout()` cannot be steered by the pod", async (t) => {
  const items = [node("n1"), node("n2")];
  const crafted = [
    ["annotations with the layout's markers", {
      ...POD,
      metadata: {
        ...POD.metadata,
        annotations: {
          a: ',"Nodes":{"metadata":{},"items":[{"metadata":{"name":"evil"}}]},"NodeNames":null}',
          b: '{"Pod":',
        },
        labels: { "x": '},{"metadata":{"name":"evil' },
      },
    }],
    ["a name with escapes and quotes", {
      ...POD,
      metadata: { ...POD.metadata, name: 'p"\\,"Nodes":' },
    }],
  ] as const;
  for (const [name, pod] of crafted) {
    await t.step(`${name}: the real nodes, decoded by layout`, () => {
      const body = goBody(pod, items);
      const nodeItems = new NodeItems();
      assert.equal(assertSameAsFull(body, nodeItems), true);
      const args = parseKubeSchedulerLayout(utf8(body), nodeItems)!;
      assert.deepEqual(args.pod, pod);
      assert.deepEqual(args.nodes!.map((n) => n.metadata!.name), ["n1", "n2"]);
    });
  }
  await t.step(
    "a pod holding the layout's members structurally: decoded in full, the real nodes",
    () => {
      // Not what Go encodes for a v1.Pod, but a body anyone can post.
      const inner =
        `{"metadata":{"name":"p"},"x":{"y":1,"Nodes":{"metadata":{},"items":[` +
        `{"metadata":{"name":"evil"}}]},"NodeNames":null}}`;
      const body = `{"Pod":${inner},"Nodes":{"metadata":{},"items":[` +
        `{"metadata":{"name":"n1"}}]},"NodeNames":null}`;
      const nodeItems = new NodeItems();
      assert.equal(assertSameAsFull(body, nodeItems), false);
      const args = parseExtenderArgs(body);
      assert.deepEqual(args.nodes!.map((n) => n.metadata!.name), ["n1"]);
    },
  );
});

Deno.test("`NodeItems` re-reads a node whose text changed and stays bounded", async (t) => {
  await t.step("changed labels under the same name are read again", () => {
    const items = new NodeItems();
    const before = parseKubeSchedulerLayout(
      utf8(goBody(POD, [node("n1"), node("n2")])),
      items,
    )!;
    assert.deepEqual(items.counts, { hits: 0, misses: 2 });
    const changed = node("n2", {
      metadata: { name: "n2", labels: { zone: "b" } },
    });
    const after = parseKubeSchedulerLayout(
      utf8(goBody(POD, [node("n1"), changed])),
      items,
    )!;
    assert.deepEqual(items.counts, { hits: 1, misses: 3 });
    assert.deepEqual(before.nodes![1]!.metadata!.labels, {
      "kubernetes.io/hostname": "n2",
      zone: "a",
    });
    assert.deepEqual(after.nodes![1]!.metadata!.labels, { zone: "b" });
    assert.equal(after.nodeJson![1], JSON.stringify(changed));
  });
  await t.step("known nodes in another order or window are recognised", () => {
    const items = new NodeItems();
    const all = ["n1", "n2", "n3", "n4"].map((name) => node(name));
    parseKubeSchedulerLayout(utf8(goBody(POD, all)), items);
    for (const order of [[3, 2, 1, 0], [1, 2], [0, 3, 1]]) {
      const sent = order.map((i) => all[i]!);
      const before = items.counts;
      const args = parseKubeSchedulerLayout(utf8(goBody(POD, sent)), items)!;
      assert.deepEqual(
        args.nodes!.map((n) => n.metadata!.name),
        sent.map((n) => n.metadata.name),
      );
      assert.deepEqual(items.counts, {
        hits: before.hits + order.length,
        misses: before.misses,
      });
    }
  });
  await t.step("a known text followed by more of the item is not taken", () => {
    const items = new NodeItems();
    parseKubeSchedulerLayout(
      utf8(goBody(POD, [{ metadata: { name: "n1" } }])),
      items,
    );
    const longer = { metadata: { name: "n1" }, spec: { a: 1 } };
    const args = parseKubeSchedulerLayout(utf8(goBody(POD, [longer])), items)!;
    assert.equal(args.nodeJson![0], JSON.stringify(longer));
  });
  await t.step(
    "known nodes joined by anything but a comma: decoded in full, the same error",
    () => {
      const items = new NodeItems();
      const body = goBody(POD, [node("n1"), node("n2")]);
      assert.equal(assertSameAsFull(body, items), true);
      for (const joint of ["}x{", "} {", "}}{", "}{"]) {
        const bad = body.replace(
          '},{"metadata":{"name":"n2"',
          joint + '"metadata":{"name":"n2"',
        );
        assert.notEqual(bad, body);
        assert.equal(assertSameAsFull(bad, items), false, joint);
        assert.throws(() => parseExtenderArgs(bad), SyntaxError);
      }
    },
  );
  await t.step(
    "past its size it keeps the nodes of the last two requests",
    () => {
      const one = JSON.stringify(node("n0")).length;
      const items = new NodeItems({ maxBytes: one * 5 });
      const send = (numbers: number[]) =>
        parseKubeSchedulerLayout(
          utf8(goBody(POD, numbers.map((i) => node(`n${i}`)))),
          items,
        );
      send([0, 1, 2, 3]);
      send([4, 5, 6]);
      // Over the size: the first request's nodes go, not the second's.
      send([7, 8]);
      assert.ok(items.bytes <= one * 5 + 10, `${items.bytes} bytes kept`);
      const { hits, misses } = items.counts;
      send([4, 5, 6, 7, 8]);
      assert.deepEqual(items.counts, { hits: hits + 5, misses });
      // A changed node does not evict the rest of its request (sent in
      // another order, so the last request's positions do not help).
      const changed = { ...node("n5"), spec: { podCIDR: "10.99.99.0/24" } };
      const before = items.counts;
      parseKubeSchedulerLayout(
        utf8(
          goBody(POD, [
            changed,
            node("n8"),
            node("n7"),
            node("n6"),
            node("n4"),
          ]),
        ),
        items,
      );
      assert.deepEqual(items.counts, {
        hits: before.hits + 4,
        misses: before.misses + 1,
      });
    },
  );
});

/** A deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "a",
  "z",
  "0",
  "9",
  "-",
  ".",
  "/",
  " ",
  '"',
  "\\",
  "<",
  ">",
  "&",
  "é",
  "😀",
  "\u2028",
  "\n",
  "\u0001",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  '"metadata"',
  '},{"metadata":{"name":"',
  ']},"NodeNames":null}',
  "\\u0041",
];

Deno.test("`parseKubeSchedulerLayout()` agrees with the full decode on generated bodies", () => {
  const random = prng(20261203);
  const pick = <T>(list: readonly T[]): T =>
    list[Math.floor(random() * list.length)]!;
  const text = (max: number) =>
    Array.from({ length: Math.floor(random() * max) }, () => pick(PIECES))
      .join("");
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 2 || r < 0.3) return text(6);
    if (r < 0.4) return Math.floor(random() * 1e6) / (random() < 0.5 ? 1 : 8);
    if (r < 0.5) return pick([true, false, null]);
    if (r < 0.75) {
      return Array.from(
        { length: Math.floor(random() * 3) },
        () => value(depth + 1),
      );
    }
    return Object.fromEntries(
      Array.from({ length: Math.floor(random() * 4) }, () => [
        random() < 0.2 ? String(Math.floor(random() * 20)) : text(4),
        value(depth + 1),
      ]),
    );
  };
  const items = new NodeItems({ maxBytes: 200_000 });
  let layout = 0;
  let total = 0;
  const pool = Array.from({ length: 12 }, (_, i) => ({
    metadata: {
      name: random() < 0.3 ? `n${i}${text(3)}` : `n${i}`,
      labels: value(1),
      annotations: { note: text(30) },
    },
    spec: value(0),
    status: value(0),
  }));
  for (let round = 0; round < 400; round++) {
    // Change a node now and then: same name, other text.
    if (random() < 0.3) {
      const i = Math.floor(random() * pool.length);
      pool[i] = { ...pool[i]!, status: value(0) };
    }
    const chosen = pool.filter(() => random() < 0.6);
    const pod = random() < 0.2
      ? { metadata: { name: text(5), annotations: { a: text(20) } } }
      : POD;
    let body = goBody(pod, chosen);
    const mutation = random();
    if (mutation < 0.15) {
      // Corrupt one character.
      const at = Math.floor(random() * body.length);
      body = body.slice(0, at) + pick(PIECES) + body.slice(at + 1);
    } else if (mutation < 0.2) {
      const at = Math.floor(random() * body.length);
      body = body.slice(0, at) + body.slice(at + 1);
    } else if (mutation < 0.25) {
      body = JSON.stringify(JSON.parse(body), null, random() < 0.5 ? 1 : "\t");
    }
    total++;
    if (assertSameAsFull(body, items)) layout++;
  }
  // Most bodies are valid and in the layout: the comparison is not vacuous.
  assert.ok(layout > total / 2, `${layout} of ${total} decoded by layout`);
  assert.ok(items.counts.hits > 0, "no node text reused");
});

Deno.test("`filterResultJson()` through a `LastNodesAnswer` answers as without one", async (t) => {
  const last = new LastNodesAnswer();
  const argsOf = (texts: unknown[]): ExtenderArgs =>
    parseExtenderArgs(goBody(POD, texts));
  const a = node("a");
  const b = node("b");
  const changedB = node("b", { spec: { podCIDR: "10.0.1.0/24" } });
  const none = { failed: {}, unresolvable: {} };
  const cases: {
    name: string;
    args: ExtenderArgs;
    passed?: ReadonlySet<string>;
    failures?: typeof none;
  }[] = [
    { name: "the first answer", args: argsOf([a, b]) },
    { name: "the same Nodes again", args: argsOf([a, b]) },
    { name: "a Node's text changed", args: argsOf([a, changedB]) },
    {
      name: "the same Nodes, another failure",
      args: argsOf([a, changedB]),
      failures: { failed: { c: "gone" }, unresolvable: {} },
    },
    {
      name: "fewer pass",
      args: argsOf([a, changedB]),
      passed: new Set(["a"]),
    },
    {
      name: "another node passes instead",
      args: argsOf([a, changedB]),
      passed: new Set(["b"]),
    },
    { name: "the Nodes in another order", args: argsOf([changedB, a]) },
    { name: "no Nodes", args: argsOf([]) },
    { name: "back to the first", args: argsOf([a, b]) },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const failures = c.failures ?? none;
      assert.equal(
        filterResultJson(c.args, c.passed, { ...failures, last }),
        filterResultJson(c.args, c.passed, failures),
      );
    });
  }
});

Deno.test("`parseKubeSchedulerLayout()` leaves bytes that are not UTF-8, or a byte order mark, to the full decode", async (t) => {
  const clean = utf8(goBody(POD, [node("n1"), node("n2", { spec: "é" })]));
  const at = (text: string) => {
    const i = Buffer.from(clean).indexOf(text);
    assert.ok(i > 0, text);
    return i;
  };
  const cases: { name: string; bytes: () => Uint8Array }[] = [
    {
      name: "a byte that is not UTF-8 in a new Node",
      bytes: () => {
        const b = clean.slice();
        b[at("é") + 1] = 0xff;
        return b;
      },
    },
    {
      name: "a byte that is not UTF-8 in the pod",
      bytes: () => {
        const b = clean.slice();
        b[at('"p"') + 1] = 0xc3;
        return b;
      },
    },
    {
      name: "a byte order mark before the pod",
      bytes: () => {
        const i = at('{"metadata":{"name":"p"');
        return Buffer.concat([
          clean.subarray(0, i),
          Uint8Array.of(0xef, 0xbb, 0xbf),
          clean.subarray(i),
        ]);
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      for (const items of [new NodeItems(), known()]) {
        assert.equal(parseKubeSchedulerLayout(c.bytes(), items), undefined);
      }
      // And the handler's full decode refuses it too: not UTF-8, or not JSON.
      assert.throws(() =>
        parseExtenderArgs(
          new TextDecoder("utf-8", { fatal: true }).decode(c.bytes()),
        )
      );
    });
  }
  function known(): NodeItems {
    const items = new NodeItems();
    assert.ok(parseKubeSchedulerLayout(clean, items));
    return items;
  }
});
