import assert from "node:assert/strict";
import { NodeIdMap } from "../../../src/modes/extender/_node_id_map.ts";

const IDS: ReadonlyMap<string, number> = new Map([["n1", 0], ["n2", 1], [
  "n3",
  2,
]]);

function filled(): NodeIdMap {
  const map = new NodeIdMap(IDS);
  map.add("n3", 2, "pool1");
  map.add("n1", 0, "pool2");
  return map;
}

Deno.test("`NodeIdMap` reads like a Map of the entries added, in the order added", () => {
  const map = filled();
  assert.equal(map.size, 2);
  assert.equal(map.get("n1"), "pool2");
  assert.equal(map.get("n3"), "pool1");
  assert.equal(map.get("n2"), undefined);
  assert.equal(map.get("unknown"), undefined);
  assert.equal(map.has("n1"), true);
  assert.equal(map.has("n2"), false);
  const expected = [["n3", "pool1"], ["n1", "pool2"]];
  assert.deepEqual([...map], expected);
  assert.deepEqual([...map.entries()], expected);
  assert.deepEqual([...map.keys()], ["n3", "n1"]);
  assert.deepEqual([...map.values()], ["pool1", "pool2"]);
  const seen: string[] = [];
  map.forEach((value, key, self) => {
    assert.equal(self, map);
    seen.push(`${key}=${value}`);
  });
  assert.deepEqual(seen, ["n3=pool1", "n1=pool2"]);
  assert.deepEqual(new Map(map), new Map(expected as [string, string][]));
});

Deno.test("`NodeIdMap.add()` replaces the value of a name added again, keeping its place", () => {
  const map = filled();
  map.add("n3", 2, "pool9");
  assert.equal(map.size, 2);
  assert.deepEqual([...map], [["n3", "pool9"], ["n1", "pool2"]]);
});

Deno.test("`NodeIdMap.byId()` hands out its values by id for its own id table only", () => {
  const map = filled();
  assert.deepEqual([...map.byId(IDS)!], ["pool2", undefined, "pool1"]);
  assert.equal(map.byId(new Map(IDS)), undefined);
});
