/**
 * Where a benchmark ran: the commit, the date and the machine, recorded next
 * to its figures (docs/benchmarks.md).
 *
 * @module
 */

/** Commit, date and machine of a benchmark run. */
export interface Provenance {
  /** Short commit, with `+` when `paths` have uncommitted changes. */
  readonly commit: string;
  /** UTC, `YYYY-MM-DD HH:MM`. */
  readonly date: string;
  /** Cores, CPU model, memory, load average, nice value and Deno version. */
  readonly machine: string;
}

/** The standard output of a command, trimmed; empty when it cannot run. */
async function capture(
  command: string,
  args: readonly string[],
): Promise<string> {
  try {
    const output = await new Deno.Command(command, {
      args: [...args],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(output.stdout).trim();
  } catch {
    return "";
  }
}

/**
 * The run's provenance; `loads` are the 1-minute load averages sampled
 * during the run (their range is recorded), else the current one.
 */
export async function provenance(
  options: { paths: readonly string[]; loads?: readonly string[] },
): Promise<Provenance> {
  const root = new URL("../../", import.meta.url).pathname;
  const commit = await capture("git", [
    "-C",
    root,
    "rev-parse",
    "--short=7",
    "HEAD",
  ]);
  const dirty = await capture("git", [
    "-C",
    root,
    "status",
    "--porcelain",
    "--",
    ...options.paths,
  ]);
  let model = "unknown CPU";
  let nice = "0";
  const loads = [...options.loads ?? []];
  try {
    const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
    model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? model;
    if (loads.length === 0) {
      loads.push((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]!);
    }
    nice = (await Deno.readTextFile("/proc/self/stat")).split(") ")[1]
      ?.split(" ")[16] ?? nice;
  } catch {
    // Not Linux: the model stays unknown.
  }
  const numbers = loads.map(Number).filter(Number.isFinite);
  const load = numbers.length === 0
    ? "?"
    : Math.min(...numbers) === Math.max(...numbers)
    ? numbers[0]!.toFixed(1)
    : `${Math.min(...numbers).toFixed(1)}–${Math.max(...numbers).toFixed(1)}`;
  const mem = Math.round(Deno.systemMemoryInfo().total / 2 ** 30);
  return {
    commit: commit ? `${commit}${dirty ? "+" : ""}` : "unknown",
    date: new Date().toISOString().slice(0, 16).replace("T", " "),
    machine:
      `${navigator.hardwareConcurrency}× ${model}, ${mem} GiB, load ${load}${
        nice !== "0" ? `, nice ${nice}` : ""
      }, Deno ${Deno.version.deno}`,
  };
}
