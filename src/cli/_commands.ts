/**
 * The table of subcommands.
 *
 * @module
 */
import type { Command } from "./command.ts";
import { createExtenderCommand, EXTENDER_WIRING } from "./extender.ts";
import { DEMO_COMMAND } from "./demo.ts";
import { SIM_COMMAND } from "./sim.ts";
import { notImplementedCommand } from "./stubs.ts";
import { VERSION_COMMAND } from "./version.ts";

/** Every subcommand, in usage order. */
export function commandTable(): readonly Command[] {
  return [
    createExtenderCommand(EXTENDER_WIRING),
    notImplementedCommand(
      "affinity",
      "Keep PV nodeAffinity equal to where LINSTOR placed the volume",
    ),
    notImplementedCommand(
      "agent",
      "Node agent: LVM volume groups and thin pools tagged linstor-<pool> become storage pools",
    ),
    notImplementedCommand(
      "fencing",
      "Remove opted-in pods from nodes that lost their storage",
    ),
    SIM_COMMAND,
    DEMO_COMMAND,
    VERSION_COMMAND,
  ];
}
