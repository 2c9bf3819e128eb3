/**
 * Usage and flags of `demo` (the demo), as data: usage texts read them
 * without loading the command (`demo.ts`, imported when it runs).
 *
 * @module
 */
import type { CommandInfo } from "./command.ts";
import { LOG_FLAGS } from "./common_flags.ts";

/** Name, usage and flags of `demo`. */
export const DEMO_COMMAND_INFO: CommandInfo = {
  name: "demo",
  summary:
    "Run the main job on the embedded default: LINSTOR simulator + demo scenario",
  description:
    "Starts the LINSTOR simulator on the embedded demo scenario, polls it over HTTP with the " +
    "shared LINSTOR client into the cluster state model (with the Kubernetes objects a " +
    "linstor-csi cluster would hold), prints the model's view and the extender's answers, " +
    "then plays the scenario's timeline (fast-forwarded) and prints what changed.",
  flags: [...LOG_FLAGS],
};
