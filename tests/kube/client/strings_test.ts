/**
 * The adapter's string table: values stay equal, the table stays bounded.
 *
 * @module
 */
import assert from "node:assert/strict";
import { StringTable } from "../../../src/kube/client/_strings.ts";

Deno.test("StringTable.internAll() keeps every value equal when it shares strings of nested objects and arrays", () => {
  const table = new StringTable();
  const text =
    '{"spec":{"csi":{"driver":"linstor.csi.linbit.com"},"accessModes":["ReadWriteOnce"]},"n":1,"b":true,"z":null}';
  const first = table.internAll(JSON.parse(text));
  const second = table.internAll(JSON.parse(text));
  assert.deepEqual(first, JSON.parse(text));
  assert.deepEqual(second, JSON.parse(text));
  // driver and access mode: two strings in the table, one copy each.
  assert.equal(table.size, 2);
});

Deno.test("StringTable.internAll() leaves Dates, frozen objects and long strings alone", () => {
  const table = new StringTable({ maxLength: 8 });
  const date = new Date(0);
  const frozen = Object.freeze({ name: "frozen" });
  const value = { date, frozen, long: "x".repeat(9), short: "short" };
  table.internAll(value);
  assert.equal(value.date, date);
  assert.equal(value.date.getTime(), 0);
  assert.equal(value.frozen, frozen);
  assert.equal(value.long, "x".repeat(9));
  assert.equal(table.size, 1); // "short" only
});

Deno.test("StringTable.intern() empties the table when it is full so unique values cannot grow it", () => {
  const table = new StringTable({ maxEntries: 3 });
  for (const text of ["a", "b", "c"]) table.intern(text);
  assert.equal(table.size, 3);
  assert.equal(table.intern("a"), "a");
  assert.equal(table.size, 3);
  table.intern("d");
  assert.equal(table.size, 1);
});
