import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { LinstorClient } from "../../src/linstor/mod.ts";
import { apiCallRcResponse, refusedPort, serve } from "./_servers.ts";

const WARN_NOT_CONNECTED = BigInt.asIntN(64, 0x8000_0000_0000_0000n | 1002n);

Deno.test("`LinstorClient` logs failover, configuration and ApiCallRc warnings but never credentials", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category: ["linstor-suite"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
    reset: true,
  });
  try {
    await using server = serve(() =>
      apiCallRcResponse(200, [{
        ret_code: WARN_NOT_CONNECTED,
        message: "No active connection to satellite 'n1'",
      }])
    );
    const dead = `http://127.0.0.1:${refusedPort()}`;
    for (
      const auth of [
        { type: "basic", username: "admin", password: "s3cret-pw" },
        { type: "bearer", token: "s3cret-token" },
      ] as const
    ) {
      using client = new LinstorClient({
        controllers: [dead, server.url],
        auth,
      });
      await client.nodes.modify("n1", { override_props: { "Aux/a": "b" } });
    }
    using tlsOnPlain = new LinstorClient({
      controllers: ["http://ctrl"],
      tls: {},
    });
    assert.equal(tlsOnPlain.activeController, "http://ctrl:3370");
    const text = records.map((r) =>
      JSON.stringify({ message: r.message, properties: r.properties })
    ).join("\n");
    assert.match(text, /did not answer/);
    assert.match(text, /No active connection to satellite/);
    assert.match(text, /basic auth is sent over plain HTTP/);
    assert.match(text, /TLS settings are ignored for plain HTTP/);
    assert.ok(records.some((r) => r.level === "debug"));
    assert.doesNotMatch(text, /s3cret|authorization|YWRtaW4/i);
  } finally {
    await reset();
  }
});

Deno.test("`LinstorClient` logs request and response bodies only at trace level", async (t) => {
  for (const level of ["debug", "trace"] as const) {
    await t.step(level, async () => {
      const records: LogRecord[] = [];
      await configure({
        sinks: { memory: (record) => records.push(record) },
        loggers: [
          {
            category: ["linstor-suite"],
            lowestLevel: level,
            sinks: ["memory"],
          },
          { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
        ],
        reset: true,
      });
      try {
        await using server = serve(() => apiCallRcResponse(200, []));
        using client = new LinstorClient({ controllers: [server.url] });
        await client.nodes.modify("n1", { override_props: { "Aux/a": "b" } });
        const bodies = records.filter((r) => r.level === "trace");
        assert.equal(bodies.length, level === "trace" ? 1 : 0);
        if (level === "trace") {
          assert.match(String(bodies[0]?.properties.request), /"Aux\/a":"b"/);
          assert.equal(bodies[0]?.properties.response, "[]");
        }
      } finally {
        await reset();
      }
    });
  }
});
