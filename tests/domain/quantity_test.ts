import assert from "node:assert/strict";
import { parseQuantity } from "../../src/domain/mod.ts";

Deno.test("parseQuantity() reads Kubernetes quantities, rounding up to a whole unit", async (t) => {
  const cases: [string, number][] = [
    ["0", 0],
    ["1", 1],
    ["10Gi", 10 * 2 ** 30],
    ["1Ki", 1024],
    ["1.5Mi", 1.5 * 2 ** 20],
    ["2Ti", 2 * 2 ** 40],
    ["1Pi", 2 ** 50],
    ["1Ei", 2 ** 60],
    ["500M", 500e6],
    ["1k", 1000],
    ["1G", 1e9],
    ["1T", 1e12],
    ["1P", 1e15],
    ["1E", 1e18],
    ["1e9", 1e9],
    ["1E3", 1000],
    ["5e-1", 1],
    ["1500m", 2],
    ["1m", 1],
    ["+1Gi", 2 ** 30],
    [".5Gi", 2 ** 29],
    ["1.Gi", 2 ** 30],
    ["0.1", 1],
  ];
  for (const [text, value] of cases) {
    await t.step(`${text} → ${value}`, () => {
      assert.equal(parseQuantity(text), value);
    });
  }
});

Deno.test("parseQuantity() rejects what apimachinery rejects", async (t) => {
  const cases: { text: string; error: ErrorConstructor; note?: string }[] = [
    { text: "", error: SyntaxError },
    { text: "Gi", error: SyntaxError },
    { text: "1K", error: SyntaxError, note: "decimal kilo is lower-case k" },
    { text: "1KiB", error: SyntaxError },
    { text: "1gi", error: SyntaxError },
    {
      text: " 1Gi",
      error: SyntaxError,
      note: "the old copy trimmed spaces; apimachinery does not",
    },
    { text: "1 Gi", error: SyntaxError },
    { text: "1e", error: SyntaxError },
    { text: "1.2.3", error: SyntaxError },
    { text: "--1", error: SyntaxError },
    { text: "-1Gi", error: RangeError },
    { text: "1e400", error: RangeError },
  ];
  for (const c of cases) {
    await t.step(`${JSON.stringify(c.text)} ${c.note ?? ""}`, () => {
      assert.throws(() => parseQuantity(c.text), (e) => {
        assert.ok(e instanceof c.error, String(e));
        assert.ok(
          (e as Error).message.startsWith(
            `Cannot parse quantity ${JSON.stringify(c.text)}: `,
          ),
        );
        return true;
      });
    });
  }
});
