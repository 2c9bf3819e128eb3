/**
 * Running a benchmark script in a process of its own.
 *
 * @module
 */

/**
 * Runs `script` (relative to this folder) with `args`; the last line of its
 * standard output, parsed as JSON.
 */
export async function runChild(
  script: string,
  args: readonly string[],
): Promise<unknown> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL(script, import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(output.stdout).trim().split("\n")
    .at(-1);
  if (!output.success || !line) {
    throw new Error(
      `Cannot measure with ${script} ${
        args.join(" ")
      }: exit code ${output.code}`,
    );
  }
  return JSON.parse(line);
}
