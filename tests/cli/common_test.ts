import assert from "node:assert/strict";
import type { CommandContext } from "../../src/cli/command.ts";
import {
  COMMON_FLAGS,
  linstorClientFrom,
  serveHealth,
  verbosityOf,
} from "../../src/cli/common.ts";
import { parseFlags, UsageError } from "../../src/cli/flags.ts";
import { createRegistry } from "../../src/observability/mod.ts";

function contextOf(
  args: string[],
  env: Record<string, string> = {},
): CommandContext {
  const { flags, positionals } = parseFlags(args, { flags: COMMON_FLAGS, env });
  return {
    flags,
    positionals,
    env,
    stdout: () => {},
    stderr: () => {},
    signal: new AbortController().signal,
    readTextFile: (path) => Deno.readTextFile(path),
  };
}

Deno.test("linstorClientFrom() names the variable when LS_* is invalid", async (t) => {
  const cases = [
    { env: { LS_CONTROLLERS: "http://[bad" }, message: /LS_CONTROLLERS/ },
    {
      env: {
        LS_USER_CERTIFICATE:
          "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----",
      },
      message: /LS_USER_KEY/,
    },
  ];
  for (const c of cases) {
    await t.step(Object.keys(c.env).join(","), () => {
      assert.throws(
        () => linstorClientFrom(contextOf([], c.env), { mode: "test" }),
        (error) => {
          assert.ok(error instanceof UsageError);
          assert.match(error.message, c.message);
          return true;
        },
      );
    });
  }
});

Deno.test("linstorClientFrom() rejects a negative rate limit", () => {
  assert.throws(
    () =>
      linstorClientFrom(contextOf(["--linstor-requests-per-second=-1"]), {
        mode: "test",
      }),
    /Cannot rate-limit LINSTOR requests with "-1"/,
  );
});

Deno.test("linstorClientFrom() uses LS_CONTROLLERS with golinstor's default port", () => {
  const client = linstorClientFrom(
    contextOf(["--linstor-api-requests-per-second=50"], {
      LS_CONTROLLERS: "ctrl.example",
    }),
    { mode: "test" },
  );
  try {
    assert.equal(client.activeController, "http://ctrl.example:3370");
  } finally {
    client.close();
  }
});

Deno.test("serveHealth() answers /healthz, /readyz and /metrics from the checks", async () => {
  const stop = new AbortController();
  const registry = createRegistry({ mode: "test" });
  const [server] = serveHealth(contextOf(["--health-address=127.0.0.1:0"]), {
    registry,
    signal: stop.signal,
    checks: {
      live: () => ({ ok: true, detail: "looping" }),
      ready: () => ({ ok: false, detail: "caches not synced yet" }),
    },
  });
  try {
    const base = `http://127.0.0.1:${server!.address.port}`;
    const live = await fetch(`${base}/healthz`);
    assert.equal(live.status, 200);
    assert.equal(await live.text(), "ok: looping\n");
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(await ready.text(), "not ok: caches not synced yet\n");
    const metrics = await fetch(`${base}/metrics`);
    assert.match(
      await metrics.text(),
      /linstor_suite_build_info\{version="[^"]+",mode="test"\} 1/,
    );
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    stop.abort();
    await server!.finished;
  }
});

Deno.test("serveHealth() turns a bad --health-address into a usage error", () => {
  assert.throws(
    () =>
      serveHealth(contextOf(["--health-address=nowhere"]), {
        registry: createRegistry({ mode: "test" }),
        signal: AbortSignal.abort(),
        checks: {
          live: () => ({ ok: true, detail: "" }),
          ready: () => ({ ok: true, detail: "" }),
        },
      }),
    (error) => error instanceof UsageError && /nowhere/.test(error.message),
  );
});

Deno.test("verbosityOf() takes --verbose as klog's debug level 4 unless -v is higher", async (t) => {
  const cases: {
    args: string[];
    env?: Record<string, string>;
    want: number;
  }[] = [
    { args: [], want: 0 },
    { args: ["-v=2"], want: 2 },
    { args: ["--verbose"], want: 4 },
    { args: ["--verbose=true"], want: 4 },
    { args: ["--verbose=false"], want: 0 },
    { args: ["--verbose=true", "--v=6"], want: 6 },
    { args: ["--verbose", "-v=1"], want: 4 },
    { args: ["--verbose"], env: { LINSTOR_SUITE_VERBOSITY: "5" }, want: 5 },
  ];
  for (const c of cases) {
    await t.step(c.args.join(" ") || "(none)", () => {
      assert.equal(verbosityOf(contextOf(c.args, c.env)), c.want);
    });
  }
});
