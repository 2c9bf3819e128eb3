/**
 * The table of subcommands. Each one's usage and flags are data loaded with
 * the table; its code is imported when it runs, so a mode's process loads
 * that mode's modules only.
 *
 * @module
 */
import { AFFINITY_COMMAND_INFO } from "./affinity_flags.ts";
import { AGENT_COMMAND_INFO } from "./agent_flags.ts";
import { type Command, lazyCommand } from "./command.ts";
import { DEMO_COMMAND_INFO } from "./demo_flags.ts";
import { DOCTOR_COMMAND_INFO } from "./doctor_flags.ts";
import { EXTENDER_COMMAND_INFO } from "./extender_flags.ts";
import { FENCING_COMMAND_INFO } from "./fencing_flags.ts";
import { createKubectlPluginCommand } from "./kubectl_plugin.ts";
import { SIM_COMMAND_INFO } from "./sim_flags.ts";
import { VERSION_COMMAND } from "./version.ts";

/** Every subcommand, in usage order. */
export function commandTable(): readonly Command[] {
  return [
    lazyCommand(EXTENDER_COMMAND_INFO, async () => {
      const { createExtenderCommand, EXTENDER_WIRING } = await import(
        "./extender.ts"
      );
      return createExtenderCommand(EXTENDER_WIRING);
    }),
    lazyCommand(AFFINITY_COMMAND_INFO, async () => {
      const { AFFINITY_WIRING, createAffinityCommand } = await import(
        "./affinity.ts"
      );
      return createAffinityCommand(AFFINITY_WIRING);
    }),
    lazyCommand(AGENT_COMMAND_INFO, async () => {
      const { AGENT_WIRING, createAgentCommand } = await import("./agent.ts");
      return createAgentCommand(AGENT_WIRING);
    }),
    lazyCommand(FENCING_COMMAND_INFO, async () => {
      const { createFencingCommand, FENCING_WIRING } = await import(
        "./fencing.ts"
      );
      return createFencingCommand(FENCING_WIRING);
    }),
    lazyCommand(
      SIM_COMMAND_INFO,
      async () => (await import("./sim.ts")).SIM_COMMAND,
    ),
    lazyCommand(
      DEMO_COMMAND_INFO,
      async () => (await import("./demo.ts")).DEMO_COMMAND,
    ),
    lazyCommand(DOCTOR_COMMAND_INFO, async () => {
      const { createDoctorCommand, DOCTOR_WIRING } = await import(
        "./doctor.ts"
      );
      return createDoctorCommand(DOCTOR_WIRING);
    }),
    createKubectlPluginCommand(),
    VERSION_COMMAND,
  ];
}
