/**
 * The agent's scanner against real lvm2 on loop devices: real `vgs`/`lvs`
 * JSON through the real command edge, parsed and turned into candidates.
 *
 * Needs root and lvm2 (`.ci/run` installs lvm2 when missing). Thin pools
 * need device-mapper, which these machines lack, so thin pools are covered
 * by the recorded reports in `tests/_fixtures/lvm/` instead. Every loop
 * device and VG created here is removed again, also on failure.
 *
 * @module
 */
import assert from "node:assert/strict";
import { findCandidates, scanLvm } from "../../../src/modes/agent/mod.ts";
import { createCommandRunner } from "../../../src/system/mod.ts";

function skipReason(): string | undefined {
  if (Deno.uid() !== 0) return "not root";
  try {
    new Deno.Command("lvm", {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
  } catch {
    return "lvm2 is not installed";
  }
  return undefined;
}

function ignoreWithoutLvm(): boolean {
  const reason = skipReason();
  if (reason === undefined) return false;
  // In CI (as root) a missing lvm2 fails loudly: .ci/run installs it.
  if (Deno.env.get("CI") === "true" && reason !== "not root") return false;
  Deno.stderr.writeSync(
    new TextEncoder().encode(`\nSkipping real lvm tests: ${reason}\n`),
  );
  return true;
}

async function sh(program: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(program, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C", LVM_SUPPRESS_FD_WARNINGS: "1" },
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(
      `${program} ${args.join(" ")} failed: ${
        new TextDecoder().decode(output.stderr)
      }`,
    );
  }
  return text.trim();
}

/** Loop devices with VGs on them, removed by `cleanup()`. */
class LoopVgs {
  readonly #dir: string;
  readonly devices: string[] = [];
  readonly vgs: string[] = [];

  constructor(dir: string) {
    this.#dir = dir;
  }

  async create(name: string, tags: string[]): Promise<void> {
    const file = `${this.#dir}/${name}.img`;
    await Deno.writeFile(file, new Uint8Array());
    await Deno.truncate(file, 64 * 1024 * 1024);
    const device = await sh("losetup", ["-f", "--show", file]);
    this.devices.push(device);
    await sh("lvm", [
      "vgcreate",
      ...tags.flatMap((tag) => ["--addtag", tag]),
      name,
      device,
    ]);
    this.vgs.push(name);
  }

  async cleanup(): Promise<void> {
    for (const vg of this.vgs) {
      await sh("lvm", ["vgremove", "-f", vg]).catch(() => {});
    }
    for (const device of this.devices) {
      await sh("lvm", ["pvremove", "-ff", "-y", device]).catch(() => {});
      await sh("losetup", ["-d", device]).catch(() => {});
    }
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name:
    "scanLvm() reads tagged VGs from real lvm2 and findCandidates() maps them, with conflicts and tag changes",
  ignore: ignoreWithoutLvm(),
  async fn() {
    const id = crypto.randomUUID().slice(0, 8);
    const loops = new LoopVgs(await Deno.makeTempDir({ prefix: "agent-lvm-" }));
    const runner = createCommandRunner();
    const scan = async () => {
      const result = await scanLvm(runner, { timeoutMs: 30_000 });
      assert.ok(result.ok, result.ok ? "" : result.error);
      return result;
    };
    try {
      const a = `lsagent_${id}_a`;
      const b = `lsagent_${id}_b`;
      await loops.create(a, [`linstor-a${id}`]);
      await loops.create(b, [`linstor-b${id}`, `linstor-c${id}`]);

      const first = await scan();
      assert.equal(first.complete, true);
      const vg = first.report.volumeGroups.find((v) => v.name === a);
      assert.ok(vg, "VG a is reported");
      assert.equal(vg.sizeBytes, 60 * 1024 * 1024); // 64 MiB minus metadata, 4 MiB extents
      assert.match(vg.uuid, /^[\w]{6}(-[\w]{4}){5}-[\w]{6}$/);
      const found = findCandidates(first.report);
      assert.equal(found.candidates.get(`a${id}`)?.storPoolName, a);
      assert.equal(found.candidates.get(`a${id}`)?.kind, "LVM");
      assert.deepEqual(
        found.conflicts.filter((c) => c.pool.endsWith(id)).map((c) => c.pool),
        [`b${id}`, `c${id}`],
      );

      // The same tag on a second VG is a conflict.
      await sh("lvm", ["vgchange", "--addtag", `linstor-a${id}`, b]);
      await sh("lvm", ["vgchange", "--deltag", `linstor-b${id}`, b]);
      await sh("lvm", ["vgchange", "--deltag", `linstor-c${id}`, b]);
      const second = findCandidates((await scan()).report);
      assert.equal(second.candidates.has(`a${id}`), false);
      assert.match(
        second.conflicts.find((c) => c.pool === `a${id}`)?.reason ?? "",
        /carry tag/,
      );

      // Tag removed: the pool name is gone from the candidates.
      await sh("lvm", ["vgchange", "--deltag", `linstor-a${id}`, a]);
      const third = findCandidates((await scan()).report);
      assert.equal(third.candidates.get(`a${id}`)?.vg, b);
    } finally {
      await loops.cleanup();
    }
  },
});
