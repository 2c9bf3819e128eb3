/**
 * One LVM scan through the command edge: `vgs`, then `lvs`, parsed into an
 * {@linkcode LvmScan} that never throws (a failure is a value the planner
 * knows not to delete on).
 *
 * @module
 */
import { errorMessage } from "../../reconcile/mod.ts";
import type { CommandOutput, CommandRunner } from "../../system/mod.ts";
import {
  type LogicalVolume,
  type LvmCommandOptions,
  lvmCommands,
  parseLogicalVolumes,
  parseVolumeGroups,
  type VolumeGroup,
} from "./_lvm.ts";
import type { LvmScan } from "./plan.ts";

/** Options of `scanLvm()`. */
export interface ScanOptions extends LvmCommandOptions {
  /** Aborts the running `lvm` call. */
  signal?: AbortSignal;
  /** Called once per `lvm` invocation (metrics). */
  onCall?: () => void;
}

/**
 * Runs `vgs` and `lvs` and parses them. A spawn failure, a timeout or an
 * unparsable report is `{ok: false}`; a non-zero exit whose report still
 * parses is `{ok: true, complete: false}` (lvm fails the whole command for
 * one broken VG).
 */
export async function scanLvm(
  runner: CommandRunner,
  options: ScanOptions = {},
): Promise<LvmScan> {
  const commands = lvmCommands(options);
  const warnings: string[] = [];
  let complete = true;
  const run = async (
    spec: typeof commands.vgs,
  ): Promise<CommandOutput> => {
    options.onCall?.();
    const output = await runner.run({
      ...spec,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (output.code !== 0) complete = false;
    warnings.push(...stderrLines(output.stderr));
    return output;
  };
  let volumeGroups: VolumeGroup[];
  let logicalVolumes: LogicalVolume[];
  try {
    const vgs = await run(commands.vgs);
    const parsedVgs = parseVolumeGroups(vgs.stdout);
    warnings.push(...parsedVgs.warnings);
    const lvs = await run(commands.lvs);
    const parsedLvs = parseLogicalVolumes(lvs.stdout);
    warnings.push(...parsedLvs.warnings);
    volumeGroups = parsedVgs.volumeGroups;
    logicalVolumes = parsedLvs.logicalVolumes;
  } catch (error) {
    const detail = warnings.length > 0 ? ` (${warnings[0]})` : "";
    return { ok: false, error: `${errorMessage(error)}${detail}` };
  }
  return {
    ok: true,
    complete,
    warnings,
    report: { volumeGroups, logicalVolumes },
  };
}

function stderrLines(text: string): string[] {
  return text.split("\n").map((line) => line.trim()).filter((line) =>
    line !== ""
  );
}
