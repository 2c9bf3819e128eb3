/**
 * `kubectl linstor-suite …`: the subcommands the binary offers when kubectl
 * runs it as the plugin `kubectl-linstor_suite` (or as
 * `linstor-suite kubectl …`): `explain NAMESPACE/POD`, `doctor` and
 * `version`, reading the kubeconfig as kubectl does (`--kubeconfig`, else
 * `KUBECONFIG`; `--context`).
 *
 * @module
 */
import { KUBECTL_PLUGIN_NAME } from "../constants.ts";
import { type Command, lazyCommand } from "./command.ts";
import { DOCTOR_COMMAND_INFO } from "./doctor_flags.ts";
import { EXTENDER_FLAGS } from "./extender_flags.ts";
import type { FlagSpec } from "./flags.ts";
import { VERSION_COMMAND } from "./version.ts";

/** kubectl's `--context`. */
const CONTEXT_FLAG: FlagSpec = {
  name: "context",
  type: "string",
  description: "The kubeconfig context to use (default: its current one)",
  valueName: "NAME",
};

/** `explain NAMESPACE/POD` of the plugin: `extender explain`, with `--context`. */
function explainCommand(): Command {
  const info = {
    name: "explain",
    summary:
      "Explain where the scheduler extender would place a pod, node by node",
    arguments: "NAMESPACE/POD",
    description:
      "Reads the pod through the kubeconfig and asks the running extender at --listen " +
      "(default 127.0.0.1:8099: reach an in-cluster one with `kubectl -n linstor-suite " +
      "port-forward deploy/linstor-scheduler 8099`) for every node's verdict, score and " +
      "reservations, as `linstor-suite extender explain` does.",
    flags: [...EXTENDER_FLAGS, CONTEXT_FLAG],
  };
  return lazyCommand(info, async () => {
    const { createExtenderCommand, EXTENDER_WIRING } = await import(
      "./extender.ts"
    );
    const { kubeApiFrom } = await import("./common.ts");
    const extender = createExtenderCommand({
      ...EXTENDER_WIRING,
      createKube: (context, options) =>
        Promise.resolve(kubeApiFrom(context, {
          ...options,
          kubeContext: context.flags.string("context"),
        })),
    });
    return {
      ...info,
      run: (context) =>
        extender.run({
          ...context,
          positionals: ["explain", ...context.positionals],
        }),
    };
  });
}

/** The `kubectl` subcommand: the plugin's own table. */
export function createKubectlPluginCommand(): Command {
  return {
    name: "kubectl",
    summary:
      "What `kubectl linstor-suite` runs (installed as kubectl-linstor_suite): explain NAMESPACE/POD, doctor, version",
    description:
      "Install the binary on PATH as kubectl-linstor_suite and run `kubectl linstor-suite " +
      "doctor` or `kubectl linstor-suite explain NAMESPACE/POD` (docs/doctor.md).",
    flags: [],
    programName: KUBECTL_PLUGIN_NAME,
    subcommands: [
      explainCommand(),
      lazyCommand(DOCTOR_COMMAND_INFO, async () => {
        const { createDoctorCommand, DOCTOR_WIRING } = await import(
          "./doctor.ts"
        );
        return createDoctorCommand(DOCTOR_WIRING);
      }),
      VERSION_COMMAND,
    ],
    run: () => Promise.resolve(2),
  };
}
