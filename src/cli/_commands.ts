/**
 * The table of subcommands.
 *
 * @module
 */
import { AFFINITY_WIRING, createAffinityCommand } from "./affinity.ts";
import type { Command } from "./command.ts";
import { createExtenderCommand, EXTENDER_WIRING } from "./extender.ts";
import { DEMO_COMMAND } from "./demo.ts";
import { createFencingCommand, FENCING_WIRING } from "./fencing.ts";
import { SIM_COMMAND } from "./sim.ts";
import { notImplementedCommand } from "./stubs.ts";
import { VERSION_COMMAND } from "./version.ts";

/** Every subcommand, in usage order. */
export function commandTable(): readonly Command[] {
  return [
    createExtenderCommand(EXTENDER_WIRING),
    createAffinityCommand(AFFINITY_WIRING),
    notImplementedCommand(
      "agent",
      "Node agent: LVM volume groups and thin pools tagged linstor-<pool> become storage pools",
    ),
    createFencingCommand(FENCING_WIRING),
    SIM_COMMAND,
    DEMO_COMMAND,
    VERSION_COMMAND,
  ];
}
