/**
 * Usage and flags of `doctor` (the checks), as data: usage texts read them
 * without loading the command (`doctor.ts`, imported when it runs).
 *
 * @module
 */
import { AGENT_DEFAULT_LVM_PATH, DEPLOY_NAMESPACE } from "../constants.ts";
import type { CommandInfo } from "./command.ts";
import {
  KUBECONFIG_FLAG,
  LINSTOR_TIMEOUT_FLAG,
  LOG_FLAGS,
} from "./common_flags.ts";
import type { FlagSpec } from "./flags.ts";

/** Flags of `doctor`. */
export const DOCTOR_FLAGS: readonly FlagSpec[] = [
  ...LOG_FLAGS,
  {
    name: "mode",
    type: "list",
    description:
      "Check what these modes need (extender, affinity, agent, fencing, or all)",
    default: ["all"],
  },
  {
    name: "output",
    short: "o",
    type: "string",
    description: "Output format",
    default: "table",
    choices: ["table", "json"],
  },
  LINSTOR_TIMEOUT_FLAG,
  KUBECONFIG_FLAG,
  {
    name: "context",
    type: "string",
    description: "The kubeconfig context to use (default: its current one)",
    valueName: "NAME",
  },
  {
    name: "namespace",
    short: "n",
    type: "string",
    description:
      "Namespace the modes run in (their ServiceAccounts, Leases and the scheduler ConfigMap)",
    env: "POD_NAMESPACE",
    default: DEPLOY_NAMESPACE,
  },
  {
    name: "scheduler-config",
    type: "string",
    description:
      "KubeSchedulerConfiguration (or its ConfigMap manifest) to check; default: the ConfigMap linstor-scheduler-config in --namespace",
    valueName: "FILE",
  },
  {
    name: "host-lvm",
    type: "boolean",
    description:
      "With --mode agent: run the host's lvm through nsenter, as the agent's --host-lvm",
    default: false,
  },
  {
    name: "lvm-path",
    type: "string",
    description: "With --mode agent: the lvm binary, as the agent's --lvm-path",
    default: AGENT_DEFAULT_LVM_PATH,
  },
  {
    name: "property-namespace",
    type: "string",
    description:
      "The --property-namespace the modes are given (empty: they detect it)",
    env: "LINSTOR_SUITE_PROPERTY_NAMESPACE",
  },
];

/** Name, usage and flags of `doctor`. */
export const DOCTOR_COMMAND_INFO: CommandInfo = {
  name: "doctor",
  summary:
    "Check LINSTOR, Kubernetes access and permissions, the scheduler configuration and LVM; print the fix for each failure",
  description:
    "Runs every check the selected modes (--mode, default all) depend on and prints a table " +
    "(or --output json) with one fix line under each warning and failure; exits 1 when any " +
    "check fails. LINSTOR is configured as for the modes (LS_CONTROLLERS, LS_* TLS and " +
    "credentials). See docs/doctor.md.",
  flags: DOCTOR_FLAGS,
};
