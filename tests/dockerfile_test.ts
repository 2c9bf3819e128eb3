/**
 * The Dockerfile cannot be built here (no Docker engine, and `deno compile`
 * downloads its runtime base), so this checks its stages against what they
 * build: the entry point and every file it imports are copied in, the
 * commands are the `deno.json` tasks' commands, the compiled binary is the one
 * copied out and run, and each drop-in program path has its launcher.
 */
import assert from "node:assert/strict";
import { runCli } from "../src/cli/mod.ts";
import { DROP_IN_PROGRAMS } from "../src/constants.ts";
import { parseAllDocuments } from "yaml";

const ROOT = new URL("../", import.meta.url);

function read(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

interface Stage {
  from: string;
  /** `FROM --platform=…`. */
  platform?: string;
  name?: string;
  /** Instructions with line continuations joined. */
  instructions: string[];
}

function stagesOf(text: string): Stage[] {
  const joined = text.replace(/\\\n/g, " ").split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of joined) {
    const from = /^FROM\s+(?:--platform=(\S+)\s+)?(\S+)(?:\s+AS\s+(\S+))?/i
      .exec(line);
    if (from) {
      stages.push({
        from: from[2]!,
        ...(from[1] ? { platform: from[1] } : {}),
        ...(from[3] ? { name: from[3] } : {}),
        instructions: [],
      });
    } else {
      assert.ok(stages.length > 0, `instruction before FROM: ${line}`);
      stages.at(-1)!.instructions.push(line);
    }
  }
  return stages;
}

/** main.ts and every local module it imports, transitively. */
function localImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const source = read(path);
    // Static imports and `import("./…")` (subcommands load their code when
    // they run; `deno compile` includes both).
    for (
      const match of source.matchAll(
        /(?:\bfrom\s+|\bimport\(\s*)"(\.{1,2}\/[^"]+)"/g,
      )
    ) {
      const url = new URL(match[1]!, new URL(path, ROOT));
      queue.push(url.pathname.slice(new URL(ROOT).pathname.length));
    }
  }
  return seen;
}

const STAGES = stagesOf(read("Dockerfile"));
const BUILDER = STAGES.find((s) => s.name === "builder")!;
const RUNTIME = STAGES.at(-1)!;
const TASKS = JSON.parse(read("deno.json")).tasks as Record<string, string>;

Deno.test("Dockerfile copies main.ts and every module it imports into the builder", () => {
  assert.ok(BUILDER, "no builder stage");
  const copied = BUILDER.instructions
    .filter((i) => /^COPY\s/i.test(i) && !/--from=/.test(i))
    .flatMap((i) => i.split(/\s+/).slice(1, -1));
  for (const needed of ["deno.json", "deno.lock", "tools/deno", "main.ts"]) {
    assert.ok(copied.includes(needed), `${needed} is not copied`);
  }
  const modules = localImports("main.ts");
  assert.ok(modules.size > 50, `only ${modules.size} modules found`);
  for (const module of modules) {
    assert.ok(
      copied.some((c) => module === c || module.startsWith(c)),
      `${module} is imported by main.ts but not copied`,
    );
  }
});

Deno.test("Dockerfile builds with the deno.json check command and a frozen lock", () => {
  const run = BUILDER.instructions.filter((i) => /^RUN\s/i.test(i)).join(
    " && ",
  );
  assert.match(TASKS.check!, /^deno check main\.ts\b/);
  assert.match(run, /\.\/tools\/deno check main\.ts/);
  assert.match(run, /\.\/tools\/deno install --frozen/);
  const compile = /\.\/tools\/deno compile (.*?) main\.ts/.exec(run);
  assert.ok(compile, "no deno compile of main.ts");
  assert.match(compile[1]!, /--frozen/);
  const output = /--output (\S+)/.exec(compile[1]!)![1]!;
  // The compiled binary answers `version` (a real subcommand) in the build.
  assert.match(run, new RegExp(`${output} version\\b`));
  const copyOut = RUNTIME.instructions.find((i) =>
    /^COPY\s+--from=builder\s/i.test(i)
  );
  assert.ok(copyOut, "the runtime stage does not copy the binary");
  const [, , source, target] = copyOut.split(/\s+/);
  assert.equal(source, output);
  const entrypoint = RUNTIME.instructions.find((i) => /^ENTRYPOINT\s/i.test(i));
  assert.deepEqual(JSON.parse(entrypoint!.replace(/^ENTRYPOINT\s+/i, "")), [
    target,
  ]);
  // Deno's Linux builds need glibc.
  assert.doesNotMatch(RUNTIME.from, /alpine|distroless\/static/);
  // main.ts is the CLI's entry point, nothing else.
  assert.match(
    read("main.ts"),
    /if \(import\.meta\.main\)[\s\S]*runCli\(Deno\.args/,
  );
});

Deno.test("Dockerfile's CMD and build smoke test name real subcommands", async () => {
  for (const args of [["version"], ["help"]]) {
    const code = await runCli(args, {
      env: {},
      stdout: () => {},
      stderr: () => {},
      signal: new AbortController().signal,
    });
    assert.equal(code, 0, args.join(" "));
  }
  const cmd = RUNTIME.instructions.find((i) => /^CMD\s/i.test(i))!;
  assert.deepEqual(JSON.parse(cmd.replace(/^CMD\s+/i, "")), ["help"]);
});

Deno.test("Dockerfile has a launcher for every drop-in program path", () => {
  const launcher = RUNTIME.instructions.find((i) => /for program in/.test(i));
  assert.ok(launcher, "no drop-in launchers");
  const programs = /for program in ([^;]+);/.exec(launcher)![1]!.trim().split(
    /\s+/,
  );
  const paths = Object.keys(DROP_IN_PROGRAMS).filter((p) => p.startsWith("/"));
  assert.deepEqual(programs.map((p) => `/${p}`).sort(), paths.sort());
  assert.match(launcher, /exec \/usr\/local\/bin\/linstor-suite \/%s "\$@"/);
});

Deno.test("Dockerfile cross-compiles for the TARGETARCH buildx sets, on the build platform", () => {
  assert.equal(BUILDER.platform, "$BUILDPLATFORM");
  assert.ok(BUILDER.instructions.includes("ARG TARGETARCH"));
  const run = BUILDER.instructions.filter((i) => /^RUN\s/i.test(i)).join(
    " && ",
  );
  // Deno's Linux targets, one per architecture buildx names.
  assert.match(run, /amd64\) target=x86_64-unknown-linux-gnu ;;/);
  assert.match(run, /arm64\) target=aarch64-unknown-linux-gnu ;;/);
  assert.match(run, /\*\) .*exit 1 ;;/);
  assert.match(run, /deno compile [^&]*--target "\$target"/);
  // A foreign-architecture binary cannot run in the builder.
  assert.match(
    run,
    /if \[ "\$TARGETARCH" = "\$BUILDARCH" \]; then \/out\/linstor-suite version; fi/,
  );
  // The runtime base is chosen per target platform (no --platform pin).
  assert.equal(RUNTIME.platform, undefined);
});

Deno.test("Dockerfile runs as a non-root user and keeps every write under /tmp", () => {
  const user = RUNTIME.instructions.find((i) => /^USER\s/i.test(i));
  assert.ok(user, "no USER");
  const [uid, gid] = user.split(/\s+/)[1]!.split(":").map(Number);
  assert.ok(uid! > 0 && gid! > 0, user);
  const env = RUNTIME.instructions.filter((i) => /^ENV\s/i.test(i)).join(" ");
  for (const name of ["TMPDIR", "HOME", "DENO_DIR"]) {
    assert.match(env, new RegExp(`\\b${name}=/tmp\\b`), name);
  }
  const install = RUNTIME.instructions.find((i) => /apt-get install/.test(i))!;
  // agent: lvm and nsenter; fencing: drbdsetup.
  for (const pkg of ["lvm2", "util-linux", "drbd-utils"]) {
    assert.match(install, new RegExp(`\\b${pkg}\\b`));
  }
});

/** The modes that need root and the host (see the Dockerfile's USER comment). */
const HOST_MODES = new Set(["agent", "fencing"]);

Deno.test("deploy/ manifests run each mode with the securityContext the image allows", async (t) => {
  const uid = Number(
    RUNTIME.instructions.find((i) => /^USER\s/i.test(i))!.split(/\s+|:/)[1],
  );
  let checked = 0;
  for (const mode of ["extender", "affinity", "agent", "fencing"]) {
    for await (const entry of Deno.readDir(new URL(`deploy/${mode}/`, ROOT))) {
      const path = `deploy/${mode}/${entry.name}`;
      if (!entry.name.endsWith(".yaml")) continue;
      for (const document of parseAllDocuments(read(path))) {
        const object = document.toJS();
        const pod = object?.spec?.template?.spec;
        if (!pod) continue;
        for (const container of pod.containers) {
          if (!/linstor-suite/.test(container.image)) continue;
          await t.step(`${path} ${container.name}`, () => {
            checked++;
            const security = {
              ...pod.securityContext,
              ...container.securityContext,
            };
            assert.equal(security.readOnlyRootFilesystem, true);
            const mounts = new Map(
              (container.volumeMounts ?? []).map((
                m: { mountPath: string; name: string },
              ) => [m.mountPath, m.name]),
            );
            const tmp = pod.volumes?.find((v: { name: string }) =>
              v.name === mounts.get("/tmp")
            );
            assert.ok(tmp?.emptyDir, "an emptyDir on /tmp (TMPDIR, HOME)");
            if (HOST_MODES.has(mode)) {
              // Privileged only helps root: the image's user is not.
              assert.equal(security.privileged, true);
              assert.equal(security.runAsUser, 0);
            } else {
              assert.equal(security.runAsNonRoot, true);
              assert.equal(security.runAsUser ?? uid, uid);
              assert.equal(security.allowPrivilegeEscalation, false);
              assert.deepEqual(security.capabilities?.drop, ["ALL"]);
              assert.notEqual(security.privileged, true);
            }
          });
        }
      }
    }
  }
  assert.ok(checked >= 5, `only ${checked} containers checked`);
});

Deno.test("Dockerfile sets V8 flags the pinned Deno accepts as environment a pod can replace, none of them a heap cap", async () => {
  // A compiled binary applies its own --v8-flags after DENO_V8_FLAGS: flags
  // compiled in could not be turned off from the pod's environment.
  const compile = BUILDER.instructions.join(" ");
  assert.match(compile, /deno compile /);
  assert.doesNotMatch(compile, /deno compile [^&]*--v8-flags/);
  const env = RUNTIME.instructions.filter((i) => /^ENV\s/i.test(i)).join(" ");
  const flags = /\bDENO_V8_FLAGS=(\S+)/.exec(env)?.[1];
  assert.ok(flags, "no DENO_V8_FLAGS in the runtime stage");
  const list = flags.split(",");
  // docs/benchmarks.md, "V8's heap growth": memory saver mode bounds the
  // heap's growth; a size limit would make a large cluster run out of heap.
  assert.ok(list.includes("--memory-saver-mode"), flags);
  for (const flag of list) {
    assert.doesNotMatch(
      flag,
      /^--(max-old-space-size|max-heap-size|initial-heap-size)=/,
    );
  }
  // V8 rejects a flag it does not know, and Deno exits with an error.
  const start = (v8Flags: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "0"],
      env: { DENO_V8_FLAGS: v8Flags },
      stdout: "null",
      stderr: "piped",
    }).output();
  const output = await start(flags);
  assert.equal(
    output.code,
    0,
    `${flags}: ${new TextDecoder().decode(output.stderr)}`,
  );
  assert.notEqual((await start(`${flags},--no-such-v8-flag`)).code, 0);
});
