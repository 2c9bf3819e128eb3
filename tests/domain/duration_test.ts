import assert from "node:assert/strict";
import {
  formatDuration,
  parseDuration,
  readDuration,
} from "../../src/domain/mod.ts";

Deno.test("parseDuration() reads Go durations into ms", async (t) => {
  const cases: { text: string; ms: number; note?: string }[] = [
    { text: "0", ms: 0 },
    { text: "+0", ms: 0 },
    { text: "-0", ms: 0 },
    { text: "0s", ms: 0 },
    { text: "15s", ms: 15_000 },
    { text: "1m30s", ms: 90_000 },
    { text: "15m", ms: 900_000 },
    { text: "1h", ms: 3_600_000 },
    { text: "1.5h", ms: 5_400_000 },
    { text: "300ms", ms: 300 },
    { text: "2h45m10.5s", ms: 9_910_500 },
    {
      text: "1500us",
      ms: 1.5,
      note: "the scenario parser knew no us and rounded to whole ms",
    },
    { text: "1500µs", ms: 1.5, note: "U+00B5" },
    {
      text: "1500μs",
      ms: 1.5,
      note: "U+03BC; the extender config parser refused it",
    },
    { text: "2000000ns", ms: 2 },
    {
      text: ".5s",
      ms: 500,
      note: "Go allows it; the config and scenario parsers refused it",
    },
    {
      text: "1.s",
      ms: 1000,
      note: "Go allows it; the config and scenario parsers refused it",
    },
    {
      text: "+5s",
      ms: 5_000,
      note: "the config and scenario parsers refused it",
    },
    { text: "1h1h", ms: 7_200_000, note: "Go adds repeated units" },
  ];
  for (const c of cases) {
    await t.step(`${c.text} ${c.note ?? ""}`, () => {
      assert.equal(parseDuration(c.text), c.ms);
    });
  }
});

Deno.test("parseDuration() rejects what Go rejects, and negative durations", async (t) => {
  const cases: { text: string; error: ErrorConstructor; note?: string }[] = [
    { text: "", error: SyntaxError },
    { text: "15", error: SyntaxError, note: "a number needs a unit" },
    { text: "s", error: SyntaxError },
    { text: ".s", error: SyntaxError },
    { text: "1x", error: SyntaxError },
    { text: "1d", error: SyntaxError, note: "no days in Go" },
    { text: "1m 30s", error: SyntaxError },
    {
      text: " 10s ",
      error: SyntaxError,
      note: "the flag parser trimmed it; Go does not",
    },
    { text: "1e3s", error: SyntaxError },
    { text: "1_000s", error: SyntaxError },
    { text: "1.2.3s", error: SyntaxError },
    { text: "--1s", error: SyntaxError },
    { text: "5S", error: SyntaxError },
    {
      text: "-5s",
      error: RangeError,
      note: "Go reads it; no duration here may be negative",
    },
    { text: "999999999999999h", error: RangeError },
  ];
  for (const c of cases) {
    await t.step(`${JSON.stringify(c.text)} ${c.note ?? ""}`, () => {
      assert.throws(() => parseDuration(c.text), (e) => {
        assert.ok(e instanceof c.error, String(e));
        assert.ok(
          (e as Error).message.startsWith(
            `Cannot parse duration ${JSON.stringify(c.text)}: `,
          ),
          (e as Error).message,
        );
        return true;
      });
    });
  }
});

Deno.test("readDuration() reads a YAML or JSON value: a duration string or the number 0", async (t) => {
  await t.step("strings as parseDuration()", () => {
    assert.equal(readDuration("4s"), 4000);
    assert.throws(() => readDuration("4"), SyntaxError);
  });
  await t.step("the number 0", () => assert.equal(readDuration(0), 0));
  const refused: { value: unknown; note: string }[] = [
    { value: 4000, note: "the extender config read it as ms" },
    { value: true, note: "not a duration" },
    { value: null, note: "not a duration" },
  ];
  for (const c of refused) {
    await t.step(`refuses ${String(c.value)} (${c.note})`, () => {
      assert.throws(() => readDuration(c.value), {
        name: "TypeError",
        message: `Cannot read duration "${
          String(c.value)
        }": expected a string such as "5s" or "1m30s"`,
      });
    });
  }
});

Deno.test("formatDuration() writes a Go duration parseDuration() reads back", async (t) => {
  const cases: [number, string][] = [
    [0, "0s"],
    [500, "500ms"],
    [15_000, "15s"],
    [90_000, "1m30s"],
    [900_000, "15m0s"],
    [3_600_000, "1h0m0s"],
  ];
  for (const [ms, text] of cases) {
    await t.step(text, () => {
      assert.equal(formatDuration(ms), text);
      assert.equal(parseDuration(text), ms);
    });
  }
});
