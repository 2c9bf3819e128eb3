/**
 * `linstor-suite version`: the program version, the commit it was built
 * from, and the Deno, V8 and TypeScript versions it runs on.
 *
 * @module
 */
import { PROGRAM_NAME, VERSION } from "../constants.ts";
import { createCommandRunner } from "../system/mod.ts";
import type { Command } from "./command.ts";

/** Environment variable the image build sets to the commit it was built from. */
export const COMMIT_ENV = "LINSTOR_SUITE_COMMIT";

const GIT_TIMEOUT_MS = 2_000;

/** Prints the version details. */
export const VERSION_COMMAND: Command = {
  name: "version",
  summary: "Print the version, commit, Deno and V8 versions",
  description:
    `The commit comes from ${COMMIT_ENV} (set by the image build), else from git when run from a source checkout, else "unknown".`,
  flags: [],
  async run(context) {
    const commit = context.env[COMMIT_ENV] || await sourceCommit() ||
      "unknown";
    context.stdout(
      [
        `${PROGRAM_NAME} ${VERSION}`,
        `commit: ${commit}`,
        `deno: ${Deno.version.deno}`,
        `v8: ${Deno.version.v8}`,
        `typescript: ${Deno.version.typescript}`,
        "",
      ].join("\n"),
    );
    return 0;
  },
};

/** The checkout's commit when this module runs from a git work tree, else `undefined`. */
async function sourceCommit(): Promise<string | undefined> {
  const here = new URL(".", import.meta.url);
  if (here.protocol !== "file:") return undefined;
  try {
    const output = await createCommandRunner().run({
      program: "git",
      args: ["-C", decodeURIComponent(here.pathname), "rev-parse", "HEAD"],
      timeoutMs: GIT_TIMEOUT_MS,
    });
    const commit = output.stdout.trim();
    return /^[0-9a-f]{40}$/.test(commit) ? commit.slice(0, 12) : undefined;
  } catch {
    return undefined;
  }
}
