import assert from "node:assert/strict";
import {
  isQuorumPolicyEnabled,
  parseDrbdShowJson,
  parseEvents2Line,
} from "../../../src/modes/fencing/mod.ts";

Deno.test("parseEvents2Line() parses timestamped events and the dump end", async (t) => {
  await t.step("a connection change with a colon-bearing value", () => {
    const line = parseEvents2Line(
      "2026-07-01T10:00:11.512000+00:00 change connection name:pvc-7f3a peer-node-id:0 conn-name:worker-a connection:NetworkFailure role:Unknown",
    );
    assert.ok(line.kind === "event");
    assert.deepEqual({ ...line, fields: { ...line.fields } }, {
      kind: "event",
      timestamp: Date.UTC(2026, 6, 1, 10, 0, 11, 512),
      verb: "change",
      object: "connection",
      fields: {
        name: "pvc-7f3a",
        "peer-node-id": "0",
        "conn-name": "worker-a",
        connection: "NetworkFailure",
        role: "Unknown",
      },
    });
    const path = parseEvents2Line(
      "exists path name:r peer-node-id:1 conn-name:b local:ipv4:10.0.0.1:7000 peer:ipv4:10.0.0.2:7000 established:yes",
    );
    assert.ok(path.kind === "event");
    assert.equal(path.timestamp, undefined);
    assert.equal(path.fields["local"], "ipv4:10.0.0.1:7000");
  });
  await t.step("the end of the initial dump, with and without a stamp", () => {
    assert.deepEqual(parseEvents2Line("exists -"), {
      kind: "dump-complete",
      timestamp: undefined,
    });
    assert.deepEqual(
      parseEvents2Line("2026-07-01T10:00:00.000001+02:00 exists -"),
      { kind: "dump-complete", timestamp: Date.UTC(2026, 6, 1, 8, 0, 0) },
    );
  });
  await t.step("an empty line", () => {
    assert.deepEqual(parseEvents2Line("   "), { kind: "empty" });
  });
});

Deno.test("parseEvents2Line() reports garbage instead of throwing", async (t) => {
  const cases: [string, string][] = [
    ["hello world", "unknown verb"],
    ["2026-07-01T10:00:00+00:00", "unknown verb"],
    ["change frobnicator name:x", "unknown object"],
    ["change resource name:x role", "token without key"],
    ["change resource role:Primary", "missing name"],
    ["change device name:x minor:1", "missing volume"],
    ["change connection name:x conn-name:b", "missing peer-node-id"],
    ["change resource name: role:Primary", "missing name"],
    ["exists - extra", "unknown object"],
    ["\u0000\u0001 binary", "unknown verb"],
    [
      "change peer-device name:x peer-node-id:1 volume:0 replicat",
      "token without key",
    ],
  ];
  for (const [line, reason] of cases) {
    await t.step(JSON.stringify(line), () => {
      assert.deepEqual(parseEvents2Line(line), { kind: "garbage", reason });
    });
  }
});

Deno.test("parseDrbdShowJson() reads each resource's quorum policy", () => {
  const policies = parseDrbdShowJson(JSON.stringify([
    {
      resource: "a",
      options: { quorum: "majority", "on-no-quorum": "suspend-io" },
    },
    { resource: "b", options: {} },
    { resource: "c", options: { quorum: 2 } },
    { resource: "", options: { quorum: "all" } },
    "junk",
  ]));
  assert.deepEqual(
    policies,
    new Map([["a", "majority"], ["b", "off"], ["c", "2"]]),
  );
  assert.throws(() => parseDrbdShowJson("not json"), SyntaxError);
  assert.throws(() => parseDrbdShowJson("{}"), SyntaxError);
});

Deno.test("isQuorumPolicyEnabled() accepts majority, all and positive counts", () => {
  const table: [string | undefined, boolean][] = [
    ["majority", true],
    ["all", true],
    ["2", true],
    ["0", false],
    ["off", false],
    ["", false],
    [undefined, false],
    ["-1", false],
  ];
  for (const [policy, expected] of table) {
    assert.equal(isQuorumPolicyEnabled(policy), expected, String(policy));
  }
});
