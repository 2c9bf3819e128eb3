import assert from "node:assert/strict";
import { parseYaml } from "../../src/domain/mod.ts";

Deno.test("`parseYaml()` reads YAML 1.2's core schema, one document", async (t) => {
  const cases: { name: string; text: string; want: unknown }[] = [
    { name: "an empty text is null", text: "", want: null },
    { name: "a comment alone is null", text: "# nothing", want: null },
    {
      name: "a block list of maps",
      text: "- fromSame:\n  - topology.kubernetes.io/zone\n",
      want: [{ fromSame: ["topology.kubernetes.io/zone"] }],
    },
    {
      name: "flow collections",
      text: "m: {a: 1, b: [x, 'y']}",
      want: { m: { a: 1, b: ["x", "y"] } },
    },
    {
      name: "yes, no, on and off are strings (not YAML 1.1 booleans)",
      text: "[yes, no, on, off, true, False]",
      want: ["yes", "no", "on", "off", true, false],
    },
    {
      name: "a date is a string (no timestamp type)",
      text: "d: 2024-01-01",
      want: { d: "2024-01-01" },
    },
    {
      name:
        "numbers: decimal, octal, hexadecimal, exponent; underscores are text",
      text: "[010, 0o17, 0x1F, 1e3, 1_000]",
      want: [10, 15, 31, 1000, "1_000"],
    },
    {
      name: "null spellings and infinity",
      text: "[~, null, .inf, -.inf]",
      want: [null, null, Infinity, -Infinity],
    },
    {
      name: "merge keys are plain keys",
      text: "a: {<<: {x: 1}}",
      want: { a: { "<<": { x: 1 } } },
    },
    {
      name: "JSON is YAML",
      text: '{"clusters": [{"name": "c", "cluster": {"server": "https://x"}}]}',
      want: { clusters: [{ name: "c", cluster: { server: "https://x" } }] },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.deepEqual(parseYaml(c.text), c.want);
    });
  }
});

Deno.test("`parseYaml()` throws on bad syntax, duplicate keys and several documents", async (t) => {
  for (
    const text of ["[a, b", "a: 1\na: 2", "- a\n---\n- b", "a: b: c"]
  ) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseYaml(text));
    });
  }
});
