import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { LOG_CATEGORY } from "../../src/constants.ts";
import {
  configureLogging,
  errorChain,
  type LogFormat,
  resetLogging,
  rootCause,
  verbosityToLevel,
} from "../../src/observability/mod.ts";

/** Lines written while `fn` logs under `level` and `format`. */
async function captured(
  options: { level: "info" | "debug"; format: LogFormat },
  fn: () => void,
): Promise<string> {
  let out = "";
  await configureLogging({ ...options, write: (line) => out += line });
  try {
    fn();
  } finally {
    await resetLogging();
  }
  return out;
}

/** "fetch failed" three levels above the real cause, as `fetch()` reports it. */
function nestedFailure(): Error {
  const root = new Error("connect ECONNREFUSED 127.0.0.1:3370");
  const fetchError = new TypeError("fetch failed", { cause: root });
  return new Error('Cannot GET "/v1/nodes"', { cause: fetchError });
}

Deno.test("`verbosityToLevel()` follows klog's levels", async (t) => {
  const cases: [number, string][] = [
    [0, "info"],
    [1, "info"],
    [2, "info"],
    [3, "info"],
    [4, "debug"],
    [5, "trace"],
    [9, "trace"],
  ];
  for (const [verbosity, level] of cases) {
    await t.step(`-v=${verbosity} → ${level}`, () => {
      assert.equal(verbosityToLevel(verbosity), level);
    });
  }
});

Deno.test("`configureLogging()` writes text lines as plain sentences with key=value context", async () => {
  const out = await captured({ level: "info", format: "text" }, () => {
    getLogger([LOG_CATEGORY, "test"]).info(
      "Extender listening on {scheme}://{host}:{port}{prefix}/{{{filter},{prioritize}}}",
      {
        scheme: "http",
        host: "127.0.0.1",
        port: 8099,
        prefix: "",
        filter: "filter",
        prioritize: "prioritize",
        mode: "sidecar",
        note: "two words",
      },
    );
  });
  assert.match(
    out,
    /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO linstor-suite\.test: Extender listening on http:\/\/127\.0\.0\.1:8099\/\{filter,prioritize\} mode=sidecar note="two words"\n$/,
  );
});

Deno.test("`configureLogging()` writes stack traces only at debug level", async (t) => {
  const log = () =>
    getLogger([LOG_CATEGORY, "test"]).warn("Pass failed: {error}", {
      error: nestedFailure(),
    });
  await t.step("info: one line with the message chain", async () => {
    const out = await captured({ level: "info", format: "text" }, log);
    assert.equal(out.split("\n").length, 2, out);
    assert.match(
      out,
      /WARN linstor-suite\.test: Pass failed: Cannot GET "\/v1\/nodes": fetch failed: connect ECONNREFUSED 127\.0\.0\.1:3370\n$/,
    );
    assert.doesNotMatch(out, /\s+at /);
  });
  await t.step("debug: the stack follows, causes included", async () => {
    const out = await captured({ level: "debug", format: "text" }, log);
    assert.match(out, /\n {4}Error: Cannot GET[^\n]*\n {4}\s*at /);
    assert.match(out, /Caused by: Error: connect ECONNREFUSED/);
  });
});

Deno.test("`configureLogging()` puts the root cause at the top level of JSON lines", async (t) => {
  for (const level of ["info", "debug"] as const) {
    await t.step(level, async () => {
      const out = await captured({ level, format: "json" }, () => {
        getLogger([LOG_CATEGORY, "test"]).error(
          "Cannot reach LINSTOR: {error}",
          { error: nestedFailure(), controller: "http://127.0.0.1:3370" },
        );
      });
      const lines = out.trimEnd().split("\n");
      assert.equal(lines.length, 1);
      const line = JSON.parse(lines[0]!);
      assert.equal(line.level, "ERROR");
      assert.equal(line.logger, "linstor-suite.test");
      assert.equal(line.root_cause, "connect ECONNREFUSED 127.0.0.1:3370");
      assert.equal(
        line.error,
        'Cannot GET "/v1/nodes": fetch failed: connect ECONNREFUSED 127.0.0.1:3370',
      );
      assert.equal(line.message, `Cannot reach LINSTOR: ${line.error}`);
      assert.equal(line.properties.controller, "http://127.0.0.1:3370");
      assert.equal(
        line.properties.error.cause.cause.message,
        "connect ECONNREFUSED 127.0.0.1:3370",
      );
      assert.equal("stack" in line.properties.error, level === "debug");
    });
  }
});

Deno.test("`errorChain()` and `rootCause()` skip causes the message already names", () => {
  const root = new Error("no route to host");
  const outer = new Error("Cannot list nodes: no route to host", {
    cause: root,
  });
  assert.equal(errorChain(outer), "Cannot list nodes: no route to host");
  assert.equal(rootCause(outer), root);
  assert.equal(rootCause(root), root);
});
