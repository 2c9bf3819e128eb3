/**
 * The binary as the kubectl plugin `kubectl-linstor_suite`: `runCli()` with
 * that program name, and `main.ts` run by a `deno` whose argv[0] is a
 * symlink of that name (what kubectl executes), reading the kubeconfig as
 * kubectl does (`KUBECONFIG`, `--kubeconfig`, `--context`).
 */
import assert from "node:assert/strict";
import { runCli } from "../../src/cli/mod.ts";
import { KUBECTL_PLUGIN_PROGRAM } from "../../src/constants.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function plugin(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, {
    env,
    stdout: (text) => out += text,
    stderr: (text) => err += text,
    signal: new AbortController().signal,
    program: `/usr/local/bin/${KUBECTL_PLUGIN_PROGRAM}`,
  });
  return { code, out, err };
}

/** A port nothing listens on. */
function deadPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A kubeconfig with contexts `a` (current) and `b`, each on its own dead port. */
async function twoContexts(dir: string): Promise<{
  path: string;
  a: number;
  b: number;
}> {
  const a = deadPort();
  const b = deadPort();
  const path = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "a", cluster: { server: `http://127.0.0.1:${a}` } },
        { name: "b", cluster: { server: `http://127.0.0.1:${b}` } },
      ],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [
        { name: "a", context: { cluster: "a", user: "u" } },
        { name: "b", context: { cluster: "b", user: "u" } },
      ],
      "current-context": "a",
    }),
  );
  return { path, a, b };
}

const NO_LINSTOR = {
  LS_CONTROLLERS: "http://127.0.0.1:9",
  LINSTOR_SUITE_LINSTOR_TIMEOUT: "1s",
};

Deno.test("`runCli()` under the plugin name offers explain, doctor and version", async () => {
  const { code, out } = await plugin(["help"]);
  assert.equal(code, 0);
  assert.match(out, /^Usage: kubectl linstor-suite <subcommand> \[flags\]/);
  const names = [...out.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(names, ["explain", "doctor", "version", "help"]);
  const explain = await plugin(["explain", "--help"]);
  assert.match(
    explain.out,
    /^Usage: kubectl linstor-suite explain \[flags\] NAMESPACE\/POD/,
  );
  assert.match(explain.out, /--context/);
});

Deno.test("`runCli()` under the plugin name refuses the modes' subcommands", async () => {
  const { code, err } = await plugin(["extender"]);
  assert.equal(code, 2);
  assert.match(err, /^kubectl linstor-suite: unknown subcommand "extender"/);
});

Deno.test("`runCli()` keeps a first argument naming a replaced program over the program name", async () => {
  let out = "";
  const code = await runCli(["/linstor-affinity-controller", "--help"], {
    env: {},
    stdout: (text) => out += text,
    stderr: () => {},
    signal: new AbortController().signal,
    program: `/bin/${KUBECTL_PLUGIN_PROGRAM}`,
  });
  assert.equal(code, 0);
  assert.match(out, /^Usage: linstor-suite affinity /);
});

Deno.test("`kubectl linstor-suite doctor` reads KUBECONFIG, --kubeconfig and --context", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const config = await twoContexts(dir);
    const access = async (args: string[], env: Record<string, string>) => {
      const { out } = await plugin(
        ["doctor", "--mode", "fencing", "-o", "json", ...args],
        { ...NO_LINSTOR, ...env },
      );
      const rows = JSON.parse(out).checks as { name: string; detail: string }[];
      return rows.find((r) => r.name === "Kubernetes access")!.detail;
    };
    await t.step("KUBECONFIG and its current context", async () => {
      assert.match(
        await access([], { KUBECONFIG: config.path }),
        new RegExp(`127\\.0\\.0\\.1:${config.a}`),
      );
    });
    await t.step("--context", async () => {
      assert.match(
        await access(["--context", "b"], { KUBECONFIG: config.path }),
        new RegExp(`127\\.0\\.0\\.1:${config.b}`),
      );
    });
    await t.step("--kubeconfig over KUBECONFIG", async () => {
      assert.match(
        await access(["--kubeconfig", config.path, "--context=b"], {
          KUBECONFIG: `${dir}/missing`,
        }),
        new RegExp(`127\\.0\\.0\\.1:${config.b}`),
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts run as kubectl-linstor_suite (a symlink, as kubectl runs plugins) dispatches explain and doctor", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = await twoContexts(dir);
    const link = `${dir}/${KUBECTL_PLUGIN_PROGRAM}`;
    await Deno.symlink(Deno.execPath(), link);
    const run = async (args: string[]) => {
      const output = await new Deno.Command(link, {
        args: ["run", "--allow-all", "main.ts", ...args],
        cwd: ROOT,
        env: { ...NO_LINSTOR, KUBECONFIG: config.path, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      return {
        code: output.code,
        out: decoder.decode(output.stdout),
        err: decoder.decode(output.stderr),
      };
    };
    const doctor = await run([
      "doctor",
      "--mode",
      "fencing",
      "-o",
      "json",
      "--context",
      "b",
    ]);
    assert.equal(doctor.code, 1, doctor.err);
    const access = JSON.parse(doctor.out).checks.find((
      r: { name: string },
    ) => r.name === "Kubernetes access");
    assert.match(access.detail, new RegExp(`127\\.0\\.0\\.1:${config.b}`));
    const explain = await run(["explain", "ns1/pod1", "--context", "b"]);
    assert.equal(explain.code, 1);
    assert.match(explain.err, /^kubectl linstor-suite explain: /m);
    assert.match(explain.err, new RegExp(`127\\.0\\.0\\.1:${config.b}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
