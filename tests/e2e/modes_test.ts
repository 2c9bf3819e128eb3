/**
 * The long-running modes as processes (`deno run main.ts <mode>`), as a user
 * runs them, against the LINSTOR simulator and a loopback fake apiserver:
 * JSON logs, readiness, start-up retry and a clean exit on SIGTERM.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  createSimulator,
  parseScenario,
  serveSimulator,
  type SimulatorServer,
} from "../../src/sim/mod.ts";
import { SYSTEM_CLOCK } from "../../src/system/mod.ts";
import {
  type FakeApiServer,
  startFakeApiServer,
} from "../_support/fake_apiserver.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** Upper bound of every wait in this file (a loaded 2-core machine). */
const BOUND_MS = 60_000;

const SCENARIO = `
nodes:
  - { name: n1, pools: [{ name: pool1, provider_kind: LVM, capacity: 10GiB }] }
`;

interface World extends AsyncDisposable {
  readonly sim: SimulatorServer;
  readonly api: FakeApiServer;
  readonly kubeconfig: string;
}

async function startWorld(): Promise<World> {
  const stopSim = new AbortController();
  const sim = await serveSimulator(
    createSimulator({
      clock: SYSTEM_CLOCK,
      scenario: parseScenario(SCENARIO, "modes-e2e"),
    }),
    { hostname: "127.0.0.1", port: 0, signal: stopSim.signal },
  );
  const api = startFakeApiServer({ clock: SYSTEM_CLOCK });
  const kubeconfig = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  await Deno.writeTextFile(kubeconfig, api.kubeConfig().exportConfig());
  return {
    sim,
    api,
    kubeconfig,
    async [Symbol.asyncDispose]() {
      stopSim.abort();
      await sim.finished;
      await api.close();
      await Deno.remove(kubeconfig);
    },
  };
}

/** A `main.ts` child with its stderr collected line by line. */
interface Child {
  /** Waits (bounded) for a log line matching `pattern`; returns it parsed. */
  waitForLog(pattern: RegExp): Promise<Record<string, unknown>>;
  /** Every stderr line so far. */
  lines(): string[];
  /** Every stdout line (complete once terminated). */
  stdout(): string[];
  /** SIGTERM, then the exit code (bounded). */
  terminate(): Promise<number>;
}

function spawnMode(
  world: World,
  args: string[],
  options: { verbosity?: number } = {},
): Child {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      MAIN,
      ...args,
      `--kubeconfig=${world.kubeconfig}`,
      "--health-address=127.0.0.1:0",
      "--linstor-poll-interval=200ms",
      "--log-format=json",
      ...(options.verbosity === undefined ? [] : [`-v=${options.verbosity}`]),
    ],
    env: { LS_CONTROLLERS: world.sim.url, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let notify = () => {};
  const pump = (async () => {
    let rest = "";
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
      notify();
    }
    if (rest !== "") lines.push(rest);
    notify();
  })();
  const out: string[] = [];
  const stdout = (async () => {
    let text = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) text += chunk;
    out.push(...text.split("\n").filter((l) => l !== ""));
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    notify();
    return s;
  });
  return {
    async waitForLog(pattern) {
      const deadline = Date.now() + BOUND_MS;
      for (;;) {
        const line = lines.find((l) => pattern.test(l));
        if (line !== undefined) return JSON.parse(line);
        assert.ok(
          !exited,
          `exited before logging ${pattern}:\n${lines.join("\n")}`,
        );
        assert.ok(
          Date.now() < deadline,
          `no log line ${pattern}:\n${lines.join("\n")}`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 200);
          notify = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    lines: () => lines,
    stdout: () => out,
    async terminate() {
      if (!exited) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), BOUND_MS);
      try {
        const { code } = await status;
        await pump;
        await stdout;
        return code;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The health URL a mode logged. */
async function healthUrl(child: Child): Promise<string> {
  const record = await child.waitForLog(/Serving \/healthz/);
  const url = (record.properties as { url: string }).url;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  return url;
}

/** Polls `url` (bounded) until `accept` says yes; returns the last body. */
async function pollUntil(
  url: string,
  accept: (status: number, body: string) => boolean,
): Promise<string> {
  const deadline = Date.now() + BOUND_MS;
  let last = "";
  for (;;) {
    const response = await fetch(url);
    last = `${response.status} ${await response.text()}`;
    if (accept(response.status, last)) return last;
    assert.ok(Date.now() < deadline, `${url} never as expected: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every stderr line is one JSON object with a level, logger and message. */
function assertJsonLines(lines: readonly string[]): void {
  assert.ok(lines.length > 0, "some log lines");
  for (const line of lines) {
    if (line === "") continue;
    const record = JSON.parse(line);
    assert.equal(typeof record.level, "string", line);
    assert.equal(typeof record.message, "string", line);
    assert.match(String(record.logger), /^linstor-suite/, line);
  }
}

Deno.test("main.ts extender is ready on synced state, logs JSON lines and exits 0 on SIGTERM", async () => {
  await using world = await startWorld();
  const child = spawnMode(world, ["extender", "--listen=127.0.0.1:0"]);
  let code: number | undefined;
  try {
    const health = await healthUrl(child);
    const listening = await child.waitForLog(/Extender listening/);
    const port = (listening.properties as { port: number }).port;
    assert.match(
      await pollUntil(`${health}/readyz`, (status) => status === 200),
      /caches synced/,
    );
    // The extender listener answers /readyz by the same rule.
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);
    assert.match(await ready.text(), /caches synced/);
    const metrics = await (await fetch(`${health}/metrics`)).text();
    assert.match(metrics, /linstor_suite_build_info\{[^}]*mode="extender"/);
    assert.match(metrics, /^process_cpu_seconds_total \d/m);
    assert.match(metrics, /^process_resident_memory_bytes \d+/m);
  } finally {
    code = await child.terminate();
  }
  assert.equal(code, 0, child.lines().join("\n"));
  assertJsonLines(child.lines());
  assert.ok(child.lines().some((l) => /Stopping/.test(l)), "logged its stop");
});

Deno.test("main.ts affinity keeps running and not ready while the cluster identity cannot be read, and exits 0 on SIGTERM", async () => {
  await using world = await startWorld();
  // The fake apiserver has no namespaces: reading kube-system fails, as on
  // a fresh control plane whose RBAC or namespaces are not there yet.
  const child = spawnMode(world, [
    "affinity",
    "--lease-lock-namespace=default",
    "--reconcile-rate=1s",
  ]);
  let code: number | undefined;
  try {
    const health = await healthUrl(child);
    const body = await pollUntil(
      `${health}/readyz`,
      (status, text) => status === 503 && /cluster identity/.test(text),
    );
    assert.match(body, /not read yet after \d+ attempts/);
    await child.waitForLog(/Cannot read .*cluster identity.* yet/);
    const live = await fetch(`${health}/healthz`);
    assert.equal(live.status, 200, await live.text());
  } finally {
    code = await child.terminate();
  }
  assert.equal(code, 0, child.lines().join("\n"));
  assertJsonLines(child.lines());
});

Deno.test("main.ts affinity with --cluster-id becomes ready, leads and exits 0 on SIGTERM, releasing its Lease", async () => {
  await using world = await startWorld();
  const child = spawnMode(world, [
    "affinity",
    "--cluster-id=cluster-1",
    "--lease-lock-namespace=default",
    "--leader-election-id=replica-1",
    "--reconcile-rate=1s",
  ]);
  let code: number | undefined;
  try {
    const health = await healthUrl(child);
    await pollUntil(`${health}/readyz`, (status) => status === 200);
    await child.waitForLog(/Became leader/);
    const metrics = await (await fetch(`${health}/metrics`)).text();
    assert.match(
      metrics,
      /^linstor_suite_leader\{mode="affinity",lease="linstor-suite-affinity"\} 1$/m,
    );
    assert.match(
      metrics,
      /^leader_election_master_status\{name="linstor-suite-affinity"\} 1$/m,
    );
    assert.match(metrics, /^process_resident_memory_bytes \d+/m);
  } finally {
    code = await child.terminate();
  }
  assert.equal(code, 0, child.lines().join("\n"));
  assertJsonLines(child.lines());
  const lease = world.api.kube.get("leases", "default/linstor-suite-affinity");
  assert.equal(lease?.spec?.holderIdentity, "", "the Lease was released");
});

/** A fake `lvm` that answers `vgs` and `lvs` from recorded reports in `dir`. */
async function fakeLvm(dir: string): Promise<string> {
  const fixtures = new URL("../_fixtures/lvm/", import.meta.url);
  await Deno.copyFile(new URL("vgs_loop.json", fixtures), `${dir}/vgs.json`);
  await Deno.copyFile(new URL("lvs_loop.json", fixtures), `${dir}/lvs.json`);
  const path = `${dir}/lvm`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\ncase "$1" in\n  vgs) cat "${dir}/vgs.json" ;;\n  lvs) cat "${dir}/lvs.json" ;;\n  *) exit 3 ;;\nesac\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

/** The drbdsetup test double replaying a recorded stream that stays open. */
async function fakeDrbdsetup(dir: string): Promise<string> {
  const fixtures = new URL("../_fixtures/drbdsetup/", import.meta.url);
  const path = `${dir}/drbdsetup`;
  await Deno.copyFile(new URL("drbdsetup_double.sh", fixtures), path);
  await Deno.chmod(path, 0o755);
  await Deno.copyFile(
    new URL("events2_peer_lost.txt", fixtures),
    `${dir}/events2.1`,
  );
  await Deno.writeTextFile(`${dir}/events2.1.end`, "hang");
  return path;
}

Deno.test("main.ts writes only JSON lines on stdout and stderr with --log-format=json, in every mode at -v=0 and -v=5", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "json-logs-" });
  try {
    const lvm = await fakeLvm(dir);
    const drbdsetup = await fakeDrbdsetup(dir);
    const modes: [string, string[], RegExp][] = [
      ["extender", ["extender", "--listen=127.0.0.1:0"], /Extender listening/],
      ["affinity", [
        "affinity",
        "--cluster-id=cluster-1",
        "--lease-lock-namespace=default",
        "--reconcile-rate=1s",
      ], /Became leader/],
      ["agent", [
        "agent",
        "--node-name=n1",
        `--lvm-path=${lvm}`,
        "--scan-interval=1s",
        "--lease-lock-namespace=default",
      ], /Serving \/healthz/],
      ["fencing", [
        "fencing",
        "--node-name=n1",
        `--drbdsetup=${drbdsetup}`,
      ], /Serving \/healthz/],
    ];
    for (const [mode, args, started] of modes) {
      for (const verbosity of [0, 5]) {
        await t.step(`${mode} at -v=${verbosity}`, async () => {
          await using world = await startWorld();
          const child = spawnMode(world, args, { verbosity });
          let code: number | undefined;
          try {
            await child.waitForLog(started);
            // At -v=5 the mode's work logs debug records (LINSTOR calls,
            // passes, lease renewals): wait for one.
            if (verbosity === 5) await child.waitForLog(/"level":"DEBUG"/);
          } finally {
            code = await child.terminate();
          }
          const all = child.lines().join("\n");
          assert.equal(code, 0, all);
          assertJsonLines(child.lines());
          assert.deepEqual(child.stdout(), [], "nothing on stdout");
          assert.doesNotMatch(all, /DeprecationWarning|punycode/);
          if (verbosity === 0) {
            assert.doesNotMatch(all, /"level":"(DEBUG|TRACE)"/);
          }
        });
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
