import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "../src/duration.ts";

Deno.test("parseDuration() reads Go durations", async (t) => {
  const cases: [string, number][] = [
    ["0", 0],
    ["15s", 15_000],
    ["1m30s", 90_000],
    ["15m", 900_000],
    ["1h", 3_600_000],
    ["1.5h", 5_400_000],
    ["300ms", 300],
    ["2h45m10.5s", 9_910_500],
    ["1500us", 1.5],
    ["1500µs", 1.5],
    ["+5s", 5_000],
    ["-5s", -5_000],
    [" 10s ", 10_000],
  ];
  for (const [text, ms] of cases) {
    await t.step(text, () => assert.equal(parseDuration(text), ms));
  }
});

Deno.test("parseDuration() rejects what Go rejects", async (t) => {
  for (const text of ["", "15", "s", "1x", "1m 30s", "abc", "1.2.3s", "--1s"]) {
    await t.step(
      JSON.stringify(text),
      () =>
        assert.throws(() => parseDuration(text), {
          name: "SyntaxError",
          message: new RegExp(
            `Cannot parse duration "${
              text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
            }"`,
          ),
        }),
    );
  }
});

Deno.test("formatDuration() writes the shortest Go form", async (t) => {
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
