import assert from "node:assert/strict";
import { verbosityOf } from "../../src/cli/common.ts";
import { verbosityToLevel } from "../../src/observability/mod.ts";
import {
  createExtenderCommand,
  EXTENDER_FLAGS,
  extenderConfigFromFlags,
} from "../../src/cli/extender.ts";
import {
  type CommandContext,
  parseFlags,
  runCli,
  UsageError,
} from "../../src/cli/mod.ts";
import {
  DEFAULT_EXTENDER_CONFIG,
  startExtender,
} from "../../src/modes/extender/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/mod.ts";
import { FakeKube } from "../_fakes/fake_kube.ts";
import { buildSnapshot, makePod } from "../modes/extender/_snapshot.ts";
import { POLICY_LOCAL_ONLY } from "../../src/csi/mod.ts";
import { EXTENDER_TLS_RELOAD_INTERVAL_MS } from "../../src/constants.ts";
import { resetLogging } from "../../src/observability/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";

function context(
  args: string[],
  files: Record<string, string> = {},
): CommandContext {
  const parsed = parseFlags(args, { flags: EXTENDER_FLAGS, env: {} });
  return {
    flags: parsed.flags,
    positionals: parsed.positionals,
    env: {},
    stdout: () => {},
    stderr: () => {},
    signal: new AbortController().signal,
    readTextFile: (path) =>
      path in files
        ? Promise.resolve(files[path]!)
        : Promise.reject(new Deno.errors.NotFound(`no ${path}`)),
  };
}

Deno.test("`extenderConfigFromFlags()` layers defaults, the config file and flags", async (t) => {
  await t.step("defaults without flags", async () => {
    assert.deepEqual(
      await extenderConfigFromFlags(context([])),
      DEFAULT_EXTENDER_CONFIG,
    );
  });
  await t.step("flags override the file", async () => {
    const config = await extenderConfigFromFlags(context(
      [
        "--config=/c.yaml",
        "--max-staleness=2m",
        "--prefix=scheduler",
        "--filter-verb",
        "predicate",
      ],
      {
        "/c.yaml":
          "maxStaleness: 30s\nreservationTTL: 10s\ncapacity: {hardFilter: always}\n",
      },
    ));
    assert.equal(config.maxStalenessMs, 120_000);
    assert.equal(config.reservationTtlMs, 10_000);
    assert.equal(config.capacity.hardFilter, "always");
    assert.equal(config.prefix, "/scheduler");
    assert.equal(config.filterVerb, "predicate");
  });
  await t.step(
    "--default-remote-access-policy overrides the file's",
    async () => {
      const fromFile = await extenderConfigFromFlags(context(
        ["--config=/c.yaml"],
        { "/c.yaml": "defaultRemoteAccessPolicy: false\n" },
      ));
      assert.deepEqual(fromFile.defaultRemoteAccessPolicy, POLICY_LOCAL_ONLY);
      const fromFlag = await extenderConfigFromFlags(context(
        [
          "--config=/c.yaml",
          "--default-remote-access-policy=- fromSame: [topology.kubernetes.io/zone]",
        ],
        { "/c.yaml": "defaultRemoteAccessPolicy: false\n" },
      ));
      assert.deepEqual(fromFlag.defaultRemoteAccessPolicy, [{
        fromSame: ["topology.kubernetes.io/zone"],
      }]);
    },
  );
  await t.step("--max-request-body takes a quantity", async () => {
    assert.equal(
      (await extenderConfigFromFlags(context([]))).maxRequestBodyBytes,
      10 * 1024 * 1024,
    );
    const cases: [string, number][] = [["64Mi", 64 * 1024 * 1024], [
      "2M",
      2e6,
    ]];
    for (const [text, bytes] of cases) {
      const config = await extenderConfigFromFlags(
        context([`--max-request-body=${text}`]),
      );
      assert.equal(config.maxRequestBodyBytes, bytes, text);
    }
  });
  const bad: [string, string[], Record<string, string>, RegExp][] = [
    [
      "a request body limit that is not a quantity",
      ["--max-request-body=64MB"],
      {},
      /--max-request-body must be a quantity such as 64Mi, got "64MB"/,
    ],
    [
      "a request body limit below 1Ki",
      ["--max-request-body=100"],
      {},
      /--max-request-body must be at least 1Ki/,
    ],
    [
      "missing config file",
      ["--config=/nope.yaml"],
      {},
      /Cannot read extender config "\/nope.yaml"/,
    ],
    ["bad config file", ["--config=/c.yaml"], {
      "/c.yaml": "predicates: [nope]",
    }, /unknown predicate "nope" .*\(in \/c.yaml\)$/],
    [
      "zero staleness",
      ["--max-staleness=0s"],
      {},
      /--max-staleness must be positive/,
    ],
    ["verb with a slash", ["--filter-verb=a/b"], {}, /single path segment/],
    [
      "an invalid default remote-access policy",
      ["--default-remote-access-policy=[]"],
      {},
      /^flag --default-remote-access-policy: Cannot parse remote-access policy/,
    ],
    [
      "equal verbs",
      ["--filter-verb=x", "--prioritize-verb=x"],
      {},
      /must differ/,
    ],
  ];
  for (const [name, args, files, pattern] of bad) {
    await t.step(`rejects ${name}`, async () => {
      await assert.rejects(
        () => extenderConfigFromFlags(context(args, files)),
        (e: unknown) => e instanceof UsageError && pattern.test(e.message),
      );
    });
  }
});

Deno.test("`linstor-suite extender` exits 2 with one line on usage errors, before connecting", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["unknown argument", ["extender", "serve"], /unknown argument "serve"/],
    [
      "explain without a pod",
      ["extender", "explain"],
      /explain takes exactly one NAMESPACE\/POD/,
    ],
    [
      "certificate without key",
      ["extender", "--tls-cert=/c.pem"],
      /--tls-cert and --tls-key go together/,
    ],
    [
      "bad listen address",
      ["extender", "--listen=nowhere"],
      /flag --listen: Cannot parse listen address "nowhere"/,
    ],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, async () => {
      let connected = false;
      const command = createExtenderCommand({
        createKube: () => {
          connected = true;
          return Promise.reject(new Error("must not connect"));
        },
        hostname: () => "test",
      });
      let stderr = "";
      const code = await runCli(args, {
        env: {},
        commands: [command],
        stdout: () => {},
        stderr: (text) => stderr += text,
        signal: new AbortController().signal,
      });
      assert.equal(code, 2);
      assert.match(stderr.split("\n")[0] ?? "", pattern);
      assert.equal(connected, false);
    });
  }
});

Deno.test("`extender` accepts linstor-scheduler-extender's `--verbose=true` as debug logging", () => {
  const ctx = context(["--verbose=true"]);
  assert.equal(ctx.flags.boolean("verbose"), true);
  assert.equal(verbosityToLevel(verbosityOf(ctx)), "debug");
});

Deno.test("`linstor-suite extender explain` asks the running extender and shows its live reservations", async () => {
  const now = SYSTEM_CLOCK.now();
  const snapshot = buildSnapshot({
    now,
    linstorNodes: [{ name: "n1" }, { name: "n2" }],
    kubeNodes: [{ name: "n1" }, { name: "n2" }],
    pools: [{ node: "n1", name: "pool1", freeGiB: 10 }, {
      node: "n2",
      name: "pool1",
      freeGiB: 10,
    }],
    storageClasses: [{
      name: "local",
      params: { storagePool: "pool1", allowRemoteVolumeAccess: "false" },
    }],
    pvcs: ["a", "b"].map((name) => ({ name, sc: "local", size: "4Gi" })),
  });
  const stop = new AbortController();
  const extender = startExtender({
    clock: SYSTEM_CLOCK,
    snapshot: () => snapshot,
  }, {
    config: DEFAULT_EXTENDER_CONFIG,
    listen: { hostname: "127.0.0.1", port: 0 },
    signal: stop.signal,
  });
  const kube = new FakeKube({ clock: SYSTEM_CLOCK });
  try {
    // Another pod holds 4 GiB on both nodes in the running extender.
    const base = `http://127.0.0.1:${extender.server.address.port}`;
    const filtered = await fetch(`${base}/filter`, {
      method: "POST",
      body: JSON.stringify({
        Pod: makePod("q", { claims: ["b"] }),
        NodeNames: ["n1", "n2"],
      }),
    });
    assert.deepEqual((await filtered.json()).NodeNames, ["n1", "n2"]);
    kube.seed("pods", makePod("p", { claims: ["a"] }));
    const command = createExtenderCommand({
      createKube: () => Promise.resolve(kube),
      hostname: () => "test",
    });
    let stdout = "";
    let stderr = "";
    const code = await runCli([
      "extender",
      "explain",
      "default/p",
      `--listen=:${extender.server.address.port}`,
    ], {
      env: {},
      commands: [command],
      stdout: (text) => stdout += text,
      stderr: (text) => stderr += text,
      signal: new AbortController().signal,
    });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^Pod default\/p\n/);
    assert.match(
      stdout,
      /\nn1 +n1 +pass +\d+ .*reserved default\/b 4\.0GiB@pool1/,
    );
    assert.match(
      stdout,
      /\nn2 +n2 +pass +\d+ .*reserved default\/b 4\.0GiB@pool1/,
    );
  } finally {
    stop.abort();
    await extender.server.finished;
    await kube.close();
  }
});

Deno.test("`linstor-suite extender explain` fails with one line when no extender answers", async () => {
  const kube = new FakeKube({ clock: SYSTEM_CLOCK });
  kube.seed("pods", makePod("p"));
  // A port nothing listens on: bound and released at once.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  let stderr = "";
  const code = await runCli(
    ["extender", "explain", "default/p", `--listen=127.0.0.1:${port}`],
    {
      env: {},
      commands: [createExtenderCommand({
        createKube: () => Promise.resolve(kube),
        hostname: () => "test",
      })],
      stdout: () => {},
      stderr: (text) => stderr += text,
      signal: new AbortController().signal,
    },
  );
  await kube.close();
  assert.equal(code, 1);
  assert.match(
    stderr,
    new RegExp(
      `^linstor-suite extender: Cannot explain "default/p": extender at http://127\\.0\\.0\\.1:${port}/explain not reachable`,
    ),
  );
});

Deno.test("`extender --tls-cert-dir` serves HTTPS only when tls.crt and tls.key both exist there", async (t) => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const cases: [string, Record<string, string>, string][] = [
    [
      "both files",
      { "/certs/tls.crt": "CERT", "/certs/tls.key": "KEY" },
      "https",
    ],
    ["no files", {}, "http"],
    ["only the certificate", { "/certs/tls.crt": "CERT" }, "http"],
  ];
  for (const [name, files, scheme] of cases) {
    await t.step(name, async () => {
      // `explain` closes the Kubernetes client it was given.
      const kube = new FakeKube({ clock: SYSTEM_CLOCK });
      kube.seed("pods", makePod("p"));
      let stderr = "";
      const code = await runCli([
        "extender",
        "explain",
        "default/p",
        `--listen=127.0.0.1:${port}`,
        "--tls-cert-dir=/certs",
      ], {
        env: {},
        commands: [createExtenderCommand({
          createKube: () => Promise.resolve(kube),
          hostname: () => "test",
        })],
        stdout: () => {},
        stderr: (text) => stderr += text,
        signal: new AbortController().signal,
        readTextFile: (path) =>
          path in files
            ? Promise.resolve(files[path]!)
            : Promise.reject(new Deno.errors.NotFound(`no ${path}`)),
      });
      assert.equal(code, 1);
      assert.match(
        stderr,
        new RegExp(`extender at ${scheme}://127\\.0\\.0\\.1:${port}/explain`),
      );
    });
  }
});

Deno.test("`linstor-suite extender` serves a renewed certificate from its files without restarting", async () => {
  const fixture = (name: string) =>
    Deno.readTextFileSync(new URL(`../_fixtures/tls/${name}`, import.meta.url));
  const files: Record<string, string> = {
    "/certs/tls.crt": fixture("server.pem"),
    "/certs/tls.key": fixture("server-key.pem"),
  };
  const clock = new FakeClock();
  const kube = new FakeKube({ clock });
  const stop = new AbortController();
  let stderr = "";
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] =
    [];
  const logged = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve) => {
      const match = stderr.match(pattern);
      if (match) resolve(match);
      else waiters.push({ pattern, resolve });
    });
  const get = async (url: string, ca: string) => {
    const client = Deno.createHttpClient({ caCerts: [fixture(ca)] });
    try {
      const response = await fetch(url, { client });
      await response.body?.cancel();
      return response.status;
    } catch {
      return "refused";
    } finally {
      client.close();
    }
  };
  const run = runCli([
    "extender",
    "--listen=127.0.0.1:0",
    "--health-address=127.0.0.1:0",
    "--tls-cert=/certs/tls.crt",
    "--tls-key=/certs/tls.key",
  ], {
    env: { LS_CONTROLLERS: "http://127.0.0.1:9" },
    commands: [createExtenderCommand({
      createKube: () => Promise.resolve(kube),
      hostname: () => "test",
      clock,
    })],
    stdout: () => {},
    stderr: (text) => {
      stderr += text;
      for (const waiter of [...waiters]) {
        const match = stderr.match(waiter.pattern);
        if (match) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(match);
        }
      }
    },
    signal: stop.signal,
    readTextFile: (path) =>
      path in files
        ? Promise.resolve(files[path]!)
        : Promise.reject(new Deno.errors.NotFound(path)),
  });
  try {
    const [, port] = await logged(
      /Extender listening on https:\/\/127\.0\.0\.1:(\d+)/,
    );
    const url = `https://127.0.0.1:${port}/healthz`;
    assert.notEqual(await get(url, "ca.pem"), "refused");
    files["/certs/tls.crt"] = fixture("wrong-server.pem");
    files["/certs/tls.key"] = fixture("wrong-server-key.pem");
    const renewed = logged(/Serving the new TLS certificate/);
    await clock.advance(EXTENDER_TLS_RELOAD_INTERVAL_MS);
    await renewed;
    assert.notEqual(await get(url, "wrong-ca.pem"), "refused");
    assert.equal(await get(url, "ca.pem"), "refused");
  } finally {
    stop.abort();
    assert.equal(await run, 0, stderr);
    await resetLogging();
  }
});
