/**
 * The flags every long-running mode shares (logging, health, Kubernetes,
 * LINSTOR, leader election): data only, so usage texts, the chart's values
 * schema and `doctor` read them without loading any mode.
 *
 * @module
 */
import {
  DEFAULT_HEALTH_ADDRESS,
  LEASE_DURATION_MS,
  LEASE_RENEW_DEADLINE_MS,
  LEASE_RETRY_PERIOD_MS,
  LINSTOR_DEFAULT_POLL_INTERVAL_MS,
  LINSTOR_DEFAULT_TIMEOUT_MS,
} from "../constants.ts";
import type { FlagSpec } from "./flags.ts";

/** `-v/--verbosity`, `--verbose` and `--log-format`, for every subcommand. */
export const LOG_FLAGS: readonly FlagSpec[] = [
  {
    name: "verbosity",
    short: "v",
    aliases: ["v"],
    type: "int",
    description:
      "Log verbosity as klog: 0-3 info, 4 debug, 5+ trace with request bodies",
    env: "LINSTOR_SUITE_VERBOSITY",
    default: 0,
  },
  {
    name: "verbose",
    type: "boolean",
    description:
      "Debug logging, as -v=4 (linstor-scheduler-extender's flag; a higher -v wins)",
    default: false,
  },
  {
    name: "log-format",
    type: "string",
    description: "Log line format",
    env: "LINSTOR_SUITE_LOG_FORMAT",
    default: "text",
    choices: ["text", "json"],
  },
];

/** `--kubeconfig`: modes and `doctor` find the apiserver the same way. */
export const KUBECONFIG_FLAG: FlagSpec = {
  name: "kubeconfig",
  type: "string",
  description:
    "Path to a kubeconfig; else KUBECONFIG, else the in-cluster service account",
  env: "KUBECONFIG",
  valueName: "FILE",
};

/** `--linstor-timeout`: the timeout of each LINSTOR request. */
export const LINSTOR_TIMEOUT_FLAG: FlagSpec = {
  name: "linstor-timeout",
  type: "duration",
  description: "Timeout of one LINSTOR request",
  env: "LINSTOR_SUITE_LINSTOR_TIMEOUT",
  default: LINSTOR_DEFAULT_TIMEOUT_MS,
};

/** Flags of every long-running mode (logging, health, Kubernetes, LINSTOR). */
export const COMMON_FLAGS: readonly FlagSpec[] = [
  ...LOG_FLAGS,
  {
    name: "health-address",
    type: "string",
    description: "Serve /healthz, /readyz and /metrics on this address",
    env: "LINSTOR_SUITE_HEALTH_ADDRESS",
    default: DEFAULT_HEALTH_ADDRESS,
    valueName: "HOST:PORT",
  },
  KUBECONFIG_FLAG,
  {
    name: "linstor-poll-interval",
    type: "duration",
    description: "How often the state model polls LINSTOR",
    env: "LINSTOR_SUITE_LINSTOR_POLL_INTERVAL",
    default: LINSTOR_DEFAULT_POLL_INTERVAL_MS,
  },
  LINSTOR_TIMEOUT_FLAG,
  {
    name: "linstor-requests-per-second",
    type: "number",
    aliases: ["linstor-api-requests-per-second"],
    description: "Rate limit of LINSTOR requests (0: unlimited)",
    env: "LINSTOR_SUITE_LINSTOR_QPS",
    default: 0,
  },
  {
    name: "linstor-burst",
    type: "int",
    aliases: ["linstor-api-burst"],
    description: "Burst of the LINSTOR rate limit",
    env: "LINSTOR_SUITE_LINSTOR_BURST",
    default: 10,
  },
];

/** `COMMON_FLAGS` with more names for `--health-address` (the flag names of the tool a mode replaces). */
export function commonFlagsWithHealthAliases(
  ...aliases: readonly string[]
): FlagSpec[] {
  return COMMON_FLAGS.map((flag) =>
    flag.name === "health-address"
      ? { ...flag, aliases: [...(flag.aliases ?? []), ...aliases] }
      : flag
  );
}

/** Leader-election flags of a mode whose Lease is `leaseName` by default. */
export function leaderElectionFlags(leaseName: string): FlagSpec[] {
  return [
    {
      name: "leader-election",
      type: "boolean",
      aliases: ["leader-elect"],
      description:
        "Only the holder of the Lease acts; every replica plans and logs",
      env: "LINSTOR_SUITE_LEADER_ELECTION",
      default: true,
    },
    {
      name: "leader-election-id",
      type: "string",
      description: "This replica's identity in the Lease; default the hostname",
      env: "LEASE_HOLDER_IDENTITY",
    },
    {
      name: "lease-lock-name",
      type: "string",
      description: "Name of the Lease",
      env: "LEASE_LOCK_NAME",
      default: leaseName,
    },
    {
      name: "lease-lock-namespace",
      type: "string",
      description:
        "Namespace of the Lease; default POD_NAMESPACE, then the service account's, then default",
      env: "POD_NAMESPACE",
    },
    {
      name: "leader-election-lease-duration",
      type: "duration",
      description: "Lease duration",
      default: LEASE_DURATION_MS,
    },
    {
      name: "leader-election-renew-deadline",
      type: "duration",
      description:
        "A leader that cannot renew for this long stops acting at once and campaigns again",
      default: LEASE_RENEW_DEADLINE_MS,
    },
    {
      name: "leader-election-retry-period",
      type: "duration",
      description: "Interval between Lease attempts",
      default: LEASE_RETRY_PERIOD_MS,
    },
  ];
}
