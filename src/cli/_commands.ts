/**
 * The table of subcommands.
 *
 * @module
 */
import { AFFINITY_WIRING, createAffinityCommand } from "./affinity.ts";
import { AGENT_WIRING, createAgentCommand } from "./agent.ts";
import type { Command } from "./command.ts";
import { createExtenderCommand, EXTENDER_WIRING } from "./extender.ts";
import { DEMO_COMMAND } from "./demo.ts";
import { createDoctorCommand, DOCTOR_WIRING } from "./doctor.ts";
import { createFencingCommand, FENCING_WIRING } from "./fencing.ts";
import { createKubectlPluginCommand } from "./kubectl_plugin.ts";
import { SIM_COMMAND } from "./sim.ts";
import { VERSION_COMMAND } from "./version.ts";

/** Every subcommand, in usage order. */
export function commandTable(): readonly Command[] {
  return [
    createExtenderCommand(EXTENDER_WIRING),
    createAffinityCommand(AFFINITY_WIRING),
    createAgentCommand(AGENT_WIRING),
    createFencingCommand(FENCING_WIRING),
    SIM_COMMAND,
    DEMO_COMMAND,
    createDoctorCommand(DOCTOR_WIRING),
    createKubectlPluginCommand(),
    VERSION_COMMAND,
  ];
}
