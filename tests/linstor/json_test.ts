import assert from "node:assert/strict";
import {
  createParseMemo,
  parseLinstorJson,
  parseLinstorJsonCooperatively,
  parseLinstorJsonStream,
  type ParseMemo,
  parseRetCode,
  sameEnum,
  stringifyLinstorJson,
} from "../../src/linstor/mod.ts";

Deno.test("`parseLinstorJson()` keeps int64 ret_codes exact where JSON.parse rounds them", () => {
  const text =
    '[{"ret_code":-4611686018427387603,"message":"Resource definition not found"}]';
  const plain = JSON.parse(text) as { ret_code: number }[];
  assert.notEqual(BigInt(plain[0]!.ret_code), -4611686018427387603n);
  const parsed = parseLinstorJson(text) as { ret_code: bigint }[];
  assert.equal(parsed[0]!.ret_code, -4611686018427387603n);
  assert.equal(parseRetCode(parsed[0]!.ret_code).code, 301);
});

Deno.test("`parseLinstorJson()` converts nested ret_codes and leaves other numbers alone", () => {
  const text = JSON.stringify([{
    storage_pool_name: "pool",
    free_capacity: 1048576,
    reports: [{ ret_code: 0, message: "ok" }],
  }]).replace('"ret_code":0', '"ret_code":4611686018437873666');
  const parsed = parseLinstorJson(text) as {
    free_capacity: number;
    reports: { ret_code: bigint }[];
  }[];
  assert.equal(parsed[0]!.free_capacity, 1048576);
  assert.equal(parsed[0]!.reports[0]!.ret_code, 4611686018437873666n);
});

Deno.test("`parseLinstorJson()` rejects bad input with a SyntaxError", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["invalid JSON", "[{", /JSON/],
    ["a fractional ret_code", '[{"ret_code":1.5}]', /Cannot parse "ret_code"/],
    ["an exponent ret_code", '[{"ret_code":1e3}]', /Cannot parse "ret_code"/],
  ];
  for (const [name, text, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => parseLinstorJson(text),
        (error: unknown) =>
          error instanceof SyntaxError && message.test(error.message),
      );
    });
  }
});

Deno.test("`parseLinstorJson()` converts a quoted integer ret_code and keeps other values", () => {
  const parsed = parseLinstorJson(
    '[{"ret_code":"-4611686018427387603"},{"ret_code":true},{"ret_code":"x"}]',
  ) as { ret_code: unknown }[];
  assert.deepEqual(parsed.map((p) => p.ret_code), [
    -4611686018427387603n,
    true,
    "x",
  ]);
});

Deno.test("`stringifyLinstorJson()` writes plain JSON and refuses bigint values", () => {
  assert.equal(
    stringifyLinstorJson({ name: "n", props: { a: "b" }, skip: undefined }),
    '{"name":"n","props":{"a":"b"}}',
  );
  assert.throws(
    () => stringifyLinstorJson({ ret_code: 1n }),
    (error: unknown) =>
      error instanceof TypeError &&
      /Cannot serialize "ret_code"/.test(error.message),
  );
  assert.throws(() => stringifyLinstorJson(undefined), TypeError);
});

Deno.test("`sameEnum()` compares case-insensitively and undefined only to undefined", async (t) => {
  const cases: [string | undefined, string | undefined, boolean][] = [
    ["SATELLITE", "Satellite", true],
    ["LVM_THIN", "lvm_thin", true],
    ["LVM", "LVM_THIN", false],
    [undefined, undefined, true],
    [undefined, "ONLINE", false],
    ["ONLINE", undefined, false],
  ];
  for (const [a, b, want] of cases) {
    await t.step(`${a} vs ${b}`, () => assert.equal(sameEnum(a, b), want));
  }
});

Deno.test("`parseLinstorJson()` keeps ret_codes exact when the key hides behind an escape", () => {
  const text = '[{"ret\\u005fcode":-4611686018427387603}]';
  const parsed = parseLinstorJson(text) as { ret_code: bigint }[];
  assert.equal(parsed[0]!.ret_code, -4611686018427387603n);
});

Deno.test("`parseLinstorJsonCooperatively()` gives what parseLinstorJson() gives", async (t) => {
  const cases: [string, string][] = [
    ["empty array", " [ ] "],
    ["objects", '[{"a":1},{"b":[1,2,{"c":"]"}]}]'],
    [
      "strings with brackets, commas and escapes",
      '["a,b","]","\\"",  "x\\\\"]',
    ],
    ["scalars", '[1, -2.5e3, true, false, null, "s"]'],
    ["nested arrays", "[[1,[2]],[],[[]]]"],
    ["whitespace everywhere", '\n[\n {"a" : [ 1 , 2 ] } ,\t{"b":{}}\r\n]\n'],
    [
      "ret_code inside an element",
      '[{"reports":[{"ret_code":-4611686018427387603}]}]',
    ],
    ["unicode", '[{"n":"ü→😀"}]'],
  ];
  for (const [name, text] of cases) {
    await t.step(name, async () => {
      let turns = 0;
      const parsed = await parseLinstorJsonCooperatively(text, {
        yieldControl: () => {
          turns++;
          return Promise.resolve();
        },
        sliceChars: 1,
      });
      assert.deepEqual(parsed, parseLinstorJson(text));
      const elements = (parsed as unknown[]).length;
      assert.ok(turns >= elements, `${turns} turns for ${elements} elements`);
    });
  }
});

Deno.test("`parseLinstorJsonCooperatively()` throws the SyntaxError of parseLinstorJson() when the text is not an array", async (t) => {
  const cases = [
    '{"a":1}',
    "[1,",
    "[1 2]",
    '["unterminated]',
    "[1]x",
    "",
    "[{]",
  ];
  for (const text of cases) {
    await t.step(JSON.stringify(text), async () => {
      await assert.rejects(
        parseLinstorJsonCooperatively(text, {
          yieldControl: () => Promise.resolve(),
        }).then((value) => {
          // A non-array that is valid JSON comes back as it is.
          if (!Array.isArray(value)) throw new SyntaxError("not an array");
        }),
        SyntaxError,
      );
    });
  }
});

Deno.test("`parseLinstorJsonCooperatively()` reuses unchanged elements and parses changed ones when given a memo", async () => {
  const memo: ParseMemo = createParseMemo();
  const options = { yieldControl: () => Promise.resolve(), memo };
  const first = await parseLinstorJsonCooperatively(
    '[{"name":"a","state":"UpToDate"},{"name":"b","state":"UpToDate"}]',
    options,
  ) as { name: string; state: string }[];
  const second = await parseLinstorJsonCooperatively(
    '[{"name":"b","state":"UpToDate"},{"name":"a","state":"Outdated"}]',
    options,
  ) as { name: string; state: string }[];
  assert.equal(second[0], first[1], "unchanged element b is the same object");
  assert.notEqual(second[1], first[0]);
  assert.deepEqual(second[1], { name: "a", state: "Outdated" });
  assert.ok(Object.isFrozen(second[1]), "memoized elements are frozen");
  assert.equal(memo.last?.value, second, "the memo holds the last parse");
  const again = await parseLinstorJsonCooperatively(
    '[{"name":"b","state":"UpToDate"},{"name":"a","state":"Outdated"}]',
    options,
  );
  assert.equal(again, second, "an identical text gives the identical array");
  assert.ok(Object.isFrozen(again));
});

Deno.test("`parseLinstorJsonCooperatively()` reuses every element whose text is unchanged when elements are inserted, removed, changed or reordered", async (t) => {
  const element = (i: number, state = "UpToDate") =>
    `{"name":"r${i}","state":"${state}"}`;
  const base = Array.from({ length: 30 }, (_, i) => element(i));
  // [name, next list, unchanged elements parsed again]: a reorder costs a
  // few misses by position before the previous parse is indexed by text.
  const cases: [string, string[], number][] = [
    ["one inserted", [
      ...base.slice(0, 10),
      element(99),
      ...base.slice(10),
    ], 0],
    ["one removed", [...base.slice(0, 10), ...base.slice(11)], 0],
    [
      "one changed",
      base.map((e, i) => i === 7 ? element(i, "Outdated") : e),
      0,
    ],
    [
      "a run of changes",
      base.map((e, i) => i >= 5 && i < 15 ? element(i, "Outdated") : e),
      0,
    ],
    ["reversed", [...base].reverse(), 4],
    ["emptied", [], 0],
  ];
  for (const [name, next, parsedAgain] of cases) {
    await t.step(name, async () => {
      const memo = createParseMemo();
      const options = { yieldControl: () => Promise.resolve(), memo };
      const first = await parseLinstorJsonCooperatively(
        `[${base.join(",")}]`,
        options,
      ) as unknown[];
      const byText = new Map(base.map((text, i) => [text, first[i]]));
      const text = `[\n${next.join(" ,\n")}\n]`;
      const second = await parseLinstorJsonCooperatively(
        text,
        options,
      ) as unknown[];
      assert.deepEqual(second, parseLinstorJson(text));
      let again = 0;
      next.forEach((source, i) => {
        const old = byText.get(source);
        if (old === undefined) assert.ok(!first.includes(second[i]), source);
        else if (second[i] !== old) again++;
      });
      assert.equal(again, parsedAgain);
    });
  }
});

Deno.test("`parseLinstorJsonCooperatively()` tells reordered elements apart when they differ only after a long common start", async () => {
  const pad = "x".repeat(100);
  const element = (i: number) => `{"pad":"${pad}","i":${10 + i}}`;
  const base = Array.from({ length: 20 }, (_, i) => element(i));
  const memo = createParseMemo();
  const options = { yieldControl: () => Promise.resolve(), memo };
  const first = await parseLinstorJsonCooperatively(
    `[${base.join(",")}]`,
    options,
  ) as unknown[];
  const reversed = [...base].reverse();
  const second = await parseLinstorJsonCooperatively(
    `[${reversed.join(",")}]`,
    options,
  ) as { i: number }[];
  assert.deepEqual(second.map((e) => e.i), reversed.map((_, i) => 29 - i));
  // After the first misses the index finds every element, same length
  // and the same first characters notwithstanding.
  const reused = second.filter((e) => first.includes(e)).length;
  assert.equal(reused, 20 - 4);
});

/** `text` as UTF-8 chunks of `size` bytes (the last one shorter). */
async function* chunksOf(
  text: string,
  size: number,
): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length; at += size) {
    yield bytes.slice(at, at + size);
  }
}

const STREAM_CASES: [string, string][] = [
  ["empty array", " [ ] "],
  ["objects", '[{"a":1},{"b":[1,2,{"c":"]"}]}]'],
  [
    "strings with brackets, commas and escapes",
    '["a,b","]","\\"",  "x\\\\", "\\\\\\"}", {"k\\\\":"\\\\"}]',
  ],
  ["scalars", '[1, -2.5e3, true, false, null, "s", 12345678]'],
  ["nested arrays", "[[1,[2]],[],[[]]]"],
  ["whitespace everywhere", '\n[\n {"a" : [ 1 , 2 ] } ,\t{"b":{}}\r\n]\n'],
  [
    "ret_code inside an element",
    '[{"reports":[{"ret_code":-4611686018427387603}]}]',
  ],
  ["unicode", '[{"n":"ü→😀"},"😀😀",{"m":"\\u00fc"}]'],
  ["a byte order mark", '\ufeff[{"a":1}]'],
];

Deno.test("`parseLinstorJsonStream()` gives what parseLinstorJson() gives wherever the chunks and pieces split the text", async (t) => {
  for (const [name, text] of STREAM_CASES) {
    await t.step(name, async () => {
      const expected = parseLinstorJson(text.replace(/^\ufeff/, ""));
      for (const chunk of [1, 2, 3, 5, 1024]) {
        for (const pieceBytes of [1, 2, 3, 4, 7, 64]) {
          let turns = 0;
          const parsed = await parseLinstorJsonStream(chunksOf(text, chunk), {
            yieldControl: () => {
              turns++;
              return Promise.resolve();
            },
            sliceChars: 1,
            pieceBytes,
          });
          assert.deepEqual(parsed, expected, `${chunk}/${pieceBytes}`);
          const elements = (parsed as unknown[]).length;
          assert.ok(turns >= elements, `${turns} turns for ${elements}`);
        }
      }
    });
  }
});

Deno.test("`parseLinstorJsonStream()` reuses unchanged elements across differently split bodies when given a memo", async () => {
  const element = (i: number, state = "UpToDate") =>
    `{"name":"r${i}","note":"ü\\"${"x".repeat(i)}","state":"${state}"}`;
  const base = Array.from({ length: 40 }, (_, i) => element(i));
  const memo = createParseMemo();
  const options = (pieceBytes: number) => ({
    yieldControl: () => Promise.resolve(),
    memo,
    pieceBytes,
  });
  const first = await parseLinstorJsonStream(
    chunksOf(`[${base.join(",")}]`, 7),
    options(13),
  ) as unknown[];
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first[3]));
  const again = await parseLinstorJsonStream(
    chunksOf(`[${base.join(",")}]`, 64),
    options(29),
  );
  assert.equal(again, first, "an identical body gives the identical array");
  const changed = base.map((e, i) => i === 17 ? element(i, "Outdated") : e);
  changed.splice(30, 1);
  const text = `[ ${changed.join(" , ")} ]`;
  const second = await parseLinstorJsonStream(
    chunksOf(text, 5),
    options(11),
  ) as unknown[];
  assert.deepEqual(second, parseLinstorJson(text));
  second.forEach((value, i) => {
    const old = first[base.indexOf(changed[i]!)];
    if (i === 17) assert.ok(!first.includes(value), "changed: parsed anew");
    else assert.equal(value, old, `element ${i} is reused`);
  });
  assert.equal(memo.last?.value, second);
  const reversedText = `[${[...changed].reverse().join(",")}]`;
  const reversed = await parseLinstorJsonStream(
    chunksOf(reversedText, 3),
    options(17),
  ) as unknown[];
  assert.deepEqual(reversed, parseLinstorJson(reversedText));
  // A few misses by position, then the index of the last parse finds the rest.
  const reused = reversed.filter((value) => second.includes(value)).length;
  assert.equal(reused, changed.length - 4);
  // The same text up to a late change: the text before it is the last
  // body's, and its elements are reused.
  const lastText = reversedText;
  const late = [...changed].reverse().map((e, i) =>
    i === 33 ? e.replace("UpToDate", "Failed") : e
  );
  const lateText = `[${late.join(",")}]`;
  assert.notEqual(lateText, lastText);
  const lateParse = await parseLinstorJsonStream(
    chunksOf(lateText, 9),
    options(19),
  ) as unknown[];
  assert.deepEqual(lateParse, parseLinstorJson(lateText));
  lateParse.forEach((value, i) => {
    if (i === 33) assert.ok(!reversed.includes(value), "changed: parsed anew");
    else assert.equal(value, reversed[i], `element ${i} is reused`);
  });
});

Deno.test("`parseLinstorJsonStream()` throws a SyntaxError for a bad body and keeps the memo as it was", async (t) => {
  const good = '[{"name":"a"},{"name":"b"}]';
  const cases = [
    '[{"name":"a"},{"name":"b"}',
    '[{"name":"a"},{"name":',
    '[{"name":"a"} {"name":"b"}]',
    '[{"name":"a"},{"name":"b"}]x',
    '[{"name":"a"},{"name":b}]',
    '[{"name":"a"},{"name":"b"]]',
    "",
    "not json",
    "[end]",
  ];
  for (const text of cases) {
    await t.step(JSON.stringify(text), async () => {
      const memo = createParseMemo();
      const options = {
        yieldControl: () => Promise.resolve(),
        memo,
        pieceBytes: 3,
      };
      const first = await parseLinstorJsonStream(chunksOf(good, 4), options);
      await assert.rejects(
        parseLinstorJsonStream(chunksOf(text, 4), options),
        SyntaxError,
      );
      assert.equal(memo.last?.value, first, "the memo keeps the last parse");
      assert.equal(
        await parseLinstorJsonStream(chunksOf(good, 5), options),
        first,
      );
    });
  }
  await t.step("a JSON object comes back as it is", async () => {
    assert.deepEqual(
      await parseLinstorJsonStream(chunksOf('{"a":[1]}', 2), {
        yieldControl: () => Promise.resolve(),
        pieceBytes: 3,
      }),
      { a: [1] },
    );
  });
});

Deno.test("`parseLinstorJsonStream()` rejects with the stream's error and keeps the memo when reading fails", async () => {
  const memo = createParseMemo();
  const options = { yieldControl: () => Promise.resolve(), memo };
  const text = `[${'{"name":"a"},'.repeat(50)}{"name":"z"}]`;
  const first = await parseLinstorJsonStream(chunksOf(text, 64), options);
  const broken = new Error("connection reset");
  async function* breaksOff(): AsyncGenerator<Uint8Array> {
    yield new TextEncoder().encode(text.slice(0, 100));
    throw broken;
  }
  await assert.rejects(parseLinstorJsonStream(breaksOff(), options), broken);
  assert.equal(memo.last?.value, first);
});

Deno.test("`parseLinstorJsonStream()` refuses a piece size that is not a positive integer", async () => {
  for (const pieceBytes of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(
      parseLinstorJsonStream(chunksOf("[]", 1), {
        yieldControl: () => Promise.resolve(),
        pieceBytes,
      }),
      RangeError,
    );
  }
});

/**
 * `text` as a byte stream that serves only reads into the reader's own
 * buffer (at most `size` bytes each) and counts them; `cancelled` records
 * a cancel.
 */
function byteStreamOf(text: string, size: number) {
  const bytes = new TextEncoder().encode(text);
  const seen = { byobReads: 0, cancelled: false };
  let at = 0;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      const request = controller.byobRequest;
      if (request === null) {
        throw new Error("read without a buffer of the reader's own");
      }
      seen.byobReads++;
      if (at >= bytes.length) {
        controller.close();
        request.respond(0);
        return;
      }
      const view = request.view!;
      const take = Math.min(size, view.byteLength, bytes.length - at);
      new Uint8Array(view.buffer, view.byteOffset, take).set(
        bytes.subarray(at, at + take),
      );
      at += take;
      request.respond(take);
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}

Deno.test("`parseLinstorJsonStream()` reads a byte stream into its own buffer and gives what parseLinstorJson() gives", async (t) => {
  for (const [name, text] of STREAM_CASES) {
    await t.step(name, async () => {
      const expected = parseLinstorJson(text.replace(/^\ufeff/, ""));
      for (const size of [1, 3, 1024]) {
        for (const pieceBytes of [1, 4, 7, 64]) {
          const { stream, seen } = byteStreamOf(text, size);
          const parsed = await parseLinstorJsonStream(stream, {
            yieldControl: () => Promise.resolve(),
            sliceChars: 1,
            pieceBytes,
          });
          assert.deepEqual(parsed, expected, `${size}/${pieceBytes}`);
          assert.ok(seen.byobReads > 0);
          assert.equal(seen.cancelled, false);
        }
      }
    });
  }
});

Deno.test("`parseLinstorJsonStream()` reuses unchanged elements of a byte stream when given a memo", async () => {
  const memo = createParseMemo();
  const options = { yieldControl: () => Promise.resolve(), memo };
  const texts = Array.from({ length: 40 }, (_, i) => `{"name":"r${i}"}`);
  const first = await parseLinstorJsonStream(
    byteStreamOf(`[${texts.join(",")}]`, 5).stream,
    options,
  ) as unknown[];
  texts[7] = '{"name":"r7","changed":true}';
  const second = await parseLinstorJsonStream(
    byteStreamOf(`[${texts.join(", ")}]`, 11).stream,
    options,
  ) as unknown[];
  assert.deepEqual(second, texts.map((text) => JSON.parse(text)));
  assert.equal(second.filter((e, i) => e === first[i]).length, 39);
});

Deno.test("`parseLinstorJsonStream()` cancels a byte stream it stops reading", async () => {
  const failing = byteStreamOf(`[${'{"a":1},'.repeat(50)}{"a":2}]`, 8);
  const broken = new Error("stop");
  let turns = 0;
  await assert.rejects(
    parseLinstorJsonStream(failing.stream, {
      yieldControl: () => {
        if (++turns === 3) return Promise.reject(broken);
        return Promise.resolve();
      },
      sliceChars: 1,
      pieceBytes: 4,
    }),
    broken,
  );
  assert.equal(failing.seen.cancelled, true);
});

/** A small seeded generator of numbers in [0, 1) (mulberry32). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("`parseLinstorJsonStream()` gives what parseLinstorJson() gives over a run of changed bodies when given a memo", async (t) => {
  const notes = ["", "ü→😀", '\\"quoted\\"', "a,b]}", "\\\\", "x".repeat(40)];
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    await t.step(`seed ${seed}`, async () => {
      const random = seededRandom(seed);
      const pick = <T>(items: readonly T[]): T =>
        items[Math.floor(random() * items.length)]!;
      let serial = 0;
      const element = () =>
        random() < 0.2
          ? pick(['"s"', "1", "12", "123", "null", "[1,[2]]", "{}"])
          : `{"name":"r${serial++}","note":"${pick(notes)}","state":"${
            pick(["UpToDate", "Outdated", "Diskless"])
          }"}`;
      let list = Array.from({ length: 40 }, element);
      const memo = createParseMemo();
      let previous: { texts: string[]; values: unknown[] } | undefined;
      for (let poll = 0; poll < 30; poll++) {
        if (poll > 0 && random() < 0.8) {
          list = [...list];
          const edits = 1 + Math.floor(random() * 4);
          for (let e = 0; e < edits; e++) {
            const at = Math.floor(random() * list.length);
            const edit = random();
            if (edit < 0.4) list[at] = element();
            else if (edit < 0.6) list.splice(at, 0, element());
            else if (edit < 0.8) list.splice(at, 1);
            else if (list.length > 1) {
              const other = Math.floor(random() * list.length);
              [list[at], list[other]] = [list[other]!, list[at]!];
            }
          }
        }
        // Separators of the same length but different text, too.
        const separator = pick([",", ",", ",", " ,", ", ", ",\n"]);
        const text = `${random() < 0.9 ? "" : " "}[${list.join(separator)}]`;
        const parsed = await parseLinstorJsonStream(
          chunksOf(text, 1 + Math.floor(random() * 40)),
          {
            yieldControl: () => Promise.resolve(),
            memo,
            sliceChars: 1 + Math.floor(random() * 200),
            pieceBytes: 1 + Math.floor(random() * 90),
          },
        ) as unknown[];
        assert.deepEqual(parsed, parseLinstorJson(text), `poll ${poll}`);
        // The memo describes this body, whatever it keeps of older ones.
        assert.equal(memo.last?.pieces.join(""), text, `poll ${poll}`);
        assert.equal(memo.last?.value, parsed);
        if (previous !== undefined) {
          // A reused element is one parsed from the same text.
          parsed.forEach((value, i) => {
            const was = previous!.values.indexOf(value);
            if (was >= 0) assert.equal(previous!.texts[was], list[i]);
          });
        }
        previous = { texts: list, values: parsed };
      }
    });
  }
});

Deno.test("`parseLinstorJsonStream()` keeps only the changed elements' text of a changed body when given a memo", async () => {
  const element = (i: number, state = "UpToDate") =>
    `{"name":"r${i}","note":"${"n".repeat(i % 50)}","state":"${state}"}`;
  const base = Array.from({ length: 300 }, (_, i) => element(i));
  const memo = createParseMemo();
  const options = { yieldControl: () => Promise.resolve(), memo };
  const baseText = `[${base.join(",")}]`;
  const first = await parseLinstorJsonStream(
    chunksOf(baseText, 1000),
    options,
  ) as unknown[];
  const changed = base.map((e, i) =>
    i === 100 || i === 200 ? element(i, "Diskless") : e
  );
  const text = `[${changed.join(",")}]`;
  const second = await parseLinstorJsonStream(
    chunksOf(text, 1000),
    { ...options, pieceBytes: 512 },
  ) as unknown[];
  assert.deepEqual(second, parseLinstorJson(text));
  second.forEach((value, i) => {
    if (i === 100 || i === 200) assert.ok(!first.includes(value), `${i}`);
    else assert.equal(value, first[i], `element ${i} is reused`);
  });
  const last = memo.last!;
  assert.equal(last.pieces.join(""), text);
  // Two elements of about 80 characters copied (and a separator or two),
  // not the new body's 25,000.
  const copied = last.retainedChars! - baseText.length;
  assert.ok(
    copied >= 2 * element(1, "Diskless").length && copied < 200,
    `${copied} characters copied`,
  );
  // The rest are ranges of the last body: the two changes split it in three.
  assert.ok(last.pieces.length <= 7, `${last.pieces.length} pieces`);
  const again = await parseLinstorJsonStream(chunksOf(text, 333), options);
  assert.equal(again, second, "the same body again gives the same array");
});

Deno.test("`parseLinstorJsonStream()` keeps a body's own text again once older bodies' text would outweigh it", async () => {
  const memo = createParseMemo();
  const options = { yieldControl: () => Promise.resolve(), memo };
  const retained: number[] = [];
  for (let poll = 0; poll < 6; poll++) {
    // Every element changes every poll: all of it is copied.
    const text = `[${
      Array.from({ length: 50 }, (_, i) => `{"i":${i},"poll":${poll}}`)
        .join(",")
    }]`;
    const parsed = await parseLinstorJsonStream(chunksOf(text, 64), options);
    assert.deepEqual(parsed, parseLinstorJson(text));
    assert.equal(memo.last!.pieces.join(""), text);
    retained.push(
      Math.round((memo.last!.retainedChars ?? text.length) / text.length),
    );
  }
  // Each poll copies a body's worth; past twice the body, the next parse
  // keeps its own pieces instead.
  assert.deepEqual(retained, [1, 2, 3, 1, 2, 3]);
});

Deno.test("`parseLinstorJsonStream()` does not reuse a number of the last body that goes on in the new one", async () => {
  const memo = createParseMemo();
  const options = { yieldControl: () => Promise.resolve(), memo };
  await parseLinstorJsonStream(chunksOf('[{"a":1},12,{"b":2}]', 64), options);
  // The first piece ends right after "123"'s "3": the text up to there is
  // the last body's but for that one character.
  const text = '[{"a":1},123,{"b":2}]';
  for (const pieceBytes of [11, 12, 13]) {
    const parsed = await parseLinstorJsonStream(chunksOf(text, 64), {
      ...options,
      pieceBytes,
    });
    assert.deepEqual(parsed, parseLinstorJson(text), `${pieceBytes}`);
    // Split as a list, not handed to a whole-text parse as invalid.
    assert.equal(memo.last?.value, parsed, `${pieceBytes}`);
    await parseLinstorJsonStream(
      chunksOf('[{"a":1},12,{"b":2}]', 64),
      options,
    );
  }
});
