import assert from "node:assert/strict";
import {
  parseLinstorJson,
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
