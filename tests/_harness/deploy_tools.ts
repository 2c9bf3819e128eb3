/**
 * The deployment tools `tests/deploy_tools/build.sh` builds (helm, …): where
 * their binaries are, and the skip-or-fail rule of tests that need them.
 *
 * ```ts
 * Deno.test({ name: "…", ignore: ignoreWithoutDeployTool("helm"), fn() {
 *   const helm = deployToolPath("helm");
 * } });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { cacheRoot, isCi } from "./control_plane.ts";

const TOOLS = new URL("../deploy_tools/", import.meta.url);

/** A tool's binary is not in the cache. */
export class DeployToolUnavailableError extends Error {
  override name = "DeployToolUnavailableError";
  readonly tool: string;
  readonly path: string;
  constructor(tool: string, path: string) {
    super(
      `Cannot find "${tool}" at "${path}": build it with: bash tests/deploy_tools/build.sh`,
    );
    this.tool = tool;
    this.path = path;
  }
}

/**
 * The version go.mod requires for the module holding the tool's main package
 * (the longest required module path that prefixes it), as build.sh reads it.
 */
export function deployToolVersion(tool: string): string {
  const dir = new URL(`${tool}/`, TOOLS);
  const pkg = Deno.readTextFileSync(new URL("package", dir)).trim();
  const goMod = Deno.readTextFileSync(new URL("go.mod", dir));
  let best: { path: string; version: string } | undefined;
  for (const line of goMod.split("\n")) {
    const match = /^\s*(?:require\s+)?(\S+)\s+(v\d\S*)/.exec(line);
    if (!match) continue;
    const [, path, version] = match as unknown as [string, string, string];
    const holds = pkg === path || pkg.startsWith(`${path}/`);
    if (holds && (!best || path.length > best.path.length)) {
      best = { path, version };
    }
  }
  if (!best) {
    throw new SyntaxError(
      `Cannot read the version of "${pkg}" from tests/deploy_tools/${tool}/go.mod: no require line holds it`,
    );
  }
  return best.version;
}

/**
 * Path of the tool's binary in `<cache>/<tool>-<version>/<tool>`; throws
 * {@linkcode DeployToolUnavailableError} when it is not there.
 */
export function deployToolPath(tool: string): string {
  const path = join(cacheRoot(), `${tool}-${deployToolVersion(tool)}`, tool);
  try {
    const info = Deno.statSync(path);
    if (info.isFile && ((info.mode ?? 0o755) & 0o111) !== 0) return path;
  } catch {
    // Reported below.
  }
  throw new DeployToolUnavailableError(tool, path);
}

/**
 * For `Deno.test({ ignore })`: `true` (after saying how to build it) when the
 * tool is missing outside CI; `false` in CI (`CI=true`), so the test runs and
 * fails loudly there.
 */
export function ignoreWithoutDeployTool(tool: string): boolean {
  try {
    deployToolPath(tool);
    return false;
  } catch (error) {
    if (isCi() || !(error instanceof DeployToolUnavailableError)) return false;
    Deno.stderr.writeSync(
      new TextEncoder().encode(`\nSkipping ${tool} tests: ${error.message}\n`),
    );
    return true;
  }
}

/**
 * Runs the tool with `args` in the repository root (or `options.cwd`) and
 * returns its stdout; throws with its stderr when it exits non-zero.
 */
export async function runDeployTool(
  tool: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<string> {
  const output = await new Deno.Command(deployToolPath(tool), {
    args: [...args],
    cwd: options.cwd ?? new URL("../../", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(
      `Cannot run "${tool} ${args.join(" ")}": exit ${output.code}: ${
        decoder.decode(output.stderr).trim()
      }`,
    );
  }
  return decoder.decode(output.stdout);
}
