import assert from "node:assert/strict";
import { type Command, runCli } from "../../src/cli/mod.ts";
import { VERSION } from "../../src/constants.ts";

function capture(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    options: {
      env,
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      signal: new AbortController().signal,
    },
  };
}

const ECHO: Command = {
  name: "echo",
  summary: "Echo a flag",
  flags: [{
    name: "word",
    type: "string",
    description: "The word",
    env: "WORD",
    default: "hi",
  }],
  run(context) {
    context.stdout(
      `${context.flags.string("word")} ${context.positionals.join(" ")}\n`,
    );
    return Promise.resolve(0);
  },
};
const FAILS: Command = {
  name: "fails",
  summary: "Fail at startup",
  flags: [],
  run() {
    return Promise.reject(new Error('Cannot connect to "x": refused'));
  },
};

Deno.test("runCli() dispatches to the named subcommand with flags, env and positionals", async () => {
  const io = capture();
  const code = await runCli(["echo", "--word", "yo", "a", "b"], {
    ...io.options,
    commands: [ECHO],
  });
  assert.equal(code, 0);
  assert.equal(io.out.join(""), "yo a b\n");
  const env = capture();
  await runCli(["echo"], {
    ...env.options,
    env: { WORD: "env" },
    commands: [ECHO],
  });
  assert.equal(env.out.join(""), "env \n");
});

Deno.test("runCli() prints usage with flags, env and default for help forms", async (t) => {
  for (const args of [["help", "echo"], ["echo", "--help"], ["echo", "-h"]]) {
    await t.step(args.join(" "), async () => {
      const io = capture();
      assert.equal(await runCli(args, { ...io.options, commands: [ECHO] }), 0);
      const text = io.out.join("");
      assert.match(text, /Usage: linstor-suite echo/);
      assert.match(text, /--word VALUE +The word \(env WORD; default hi\)/);
    });
  }
  const io = capture();
  assert.equal(
    await runCli(["--help"], { ...io.options, commands: [ECHO] }),
    0,
  );
  assert.match(io.out.join(""), /echo +Echo a flag/);
});

Deno.test("runCli() exits 2 with one line and usage on an unknown subcommand or flag", async (t) => {
  const cases = [
    { args: ["nope"], line: 'linstor-suite: unknown subcommand "nope"' },
    {
      args: ["echo", "--nope"],
      line: 'linstor-suite echo: Cannot parse flags: unknown flag "--nope"',
    },
    { args: [], line: "Usage: linstor-suite <subcommand> [flags]" },
  ];
  for (const c of cases) {
    await t.step(c.args.join(" ") || "(none)", async () => {
      const io = capture();
      assert.equal(
        await runCli(c.args, { ...io.options, commands: [ECHO] }),
        2,
      );
      assert.equal(io.err.join("").split("\n")[0], c.line);
      assert.match(io.err.join(""), /Usage: linstor-suite/);
      assert.equal(io.out.length, 0);
    });
  }
});

Deno.test("runCli() exits 1 with the error message when startup fails", async () => {
  const io = capture();
  assert.equal(
    await runCli(["fails"], { ...io.options, commands: [FAILS] }),
    1,
  );
  assert.equal(
    io.err.join(""),
    'linstor-suite fails: Cannot connect to "x": refused\n',
  );
});

Deno.test("runCli() prints the version line for `--version`", async () => {
  const io = capture();
  assert.equal(await runCli(["--version"], io.options), 0);
  assert.equal(io.out.join(""), `linstor-suite ${VERSION}\n`);
});

Deno.test("runCli() prints version, commit, Deno and V8 versions for `version`", async (t) => {
  await t.step("commit from LINSTOR_SUITE_COMMIT", async () => {
    const io = capture({ LINSTOR_SUITE_COMMIT: "0123456789ab" });
    assert.equal(await runCli(["version"], io.options), 0);
    assert.equal(
      io.out.join(""),
      [
        `linstor-suite ${VERSION}`,
        "commit: 0123456789ab",
        `deno: ${Deno.version.deno}`,
        `v8: ${Deno.version.v8}`,
        `typescript: ${Deno.version.typescript}`,
        "",
      ].join("\n"),
    );
  });
  await t.step("commit from the source checkout", async () => {
    const io = capture();
    assert.equal(await runCli(["version"], io.options), 0);
    assert.match(io.out.join(""), /^commit: ([0-9a-f]{12}|unknown)$/m);
    assert.match(io.out.join(""), /^v8: \d+\.\d+/m);
  });
});

Deno.test("runCli() lists every mode subcommand in the built-in table", async () => {
  const io = capture();
  await runCli(["help"], io.options);
  for (const name of ["extender", "affinity", "agent", "fencing", "version"]) {
    assert.match(io.out.join(""), new RegExp(`^  ${name} `, "m"));
  }
});

Deno.test("deno.json version matches VERSION", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  );
  assert.equal(config.version, VERSION);
});
