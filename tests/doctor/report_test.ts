import assert from "node:assert/strict";
import {
  exitCodeOf,
  fail,
  formatCheckJson,
  formatCheckTable,
  ok,
  summarize,
  warn,
} from "../../src/doctor/mod.ts";

const CHECKS = [
  ok("LINSTOR http://c:3370 reachable", "answered"),
  warn("scheduler percentageOfNodesToScore", "unset", "set it to 100"),
  fail(
    "permission affinity",
    "cannot patch\npersistentvolumeclaims",
    "grant patch",
  ),
];

Deno.test("`formatCheckTable()` prints one row per check and the fix under each non-ok one", () => {
  const text = formatCheckTable(CHECKS);
  const lines = text.split("\n");
  assert.match(lines[0]!, /^STATUS\s+CHECK\s+DETAIL$/);
  assert.match(
    lines[1]!,
    /^ok\s+LINSTOR http:\/\/c:3370 reachable\s+answered$/,
  );
  assert.match(
    lines[2]!,
    /^WARN\s+scheduler percentageOfNodesToScore\s+unset$/,
  );
  assert.match(lines[3]!, /^\s+fix: set it to 100$/);
  assert.match(
    lines[4]!,
    /^FAIL\s+permission affinity\s+cannot patch persistentvolumeclaims$/,
  );
  assert.match(lines[5]!, /^\s+fix: grant patch$/);
  assert.ok(text.includes("1 ok, 1 warning(s), 1 failure(s)"));
});

Deno.test("`formatCheckJson()` carries every check and the summary", () => {
  const json = JSON.parse(formatCheckJson(CHECKS));
  assert.equal(json.checks.length, 3);
  assert.deepEqual(json.checks[0], {
    name: "LINSTOR http://c:3370 reachable",
    status: "ok",
    detail: "answered",
  });
  assert.equal(json.checks[2].fix, "grant patch");
  assert.deepEqual(json.summary, { ok: 1, warn: 1, fail: 1 });
});

Deno.test("`exitCodeOf()` is 1 only when a check failed", () => {
  assert.equal(exitCodeOf(CHECKS), 1);
  assert.equal(exitCodeOf(CHECKS.slice(0, 2)), 0);
  assert.deepEqual(summarize([]), { ok: 0, warn: 0, fail: 0 });
});
