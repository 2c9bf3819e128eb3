/**
 * Usage and flags of `affinity` (the PV nodeAffinity controller), as data:
 * usage texts and the chart's values schema read them without loading the
 * mode (`affinity.ts`, imported when it runs).
 *
 * @module
 */
import {
  AFFINITY_DEFAULT_MAX_REPLACEMENTS_PER_PASS,
  AFFINITY_DEFAULT_RECONCILE_RATE_MS,
  AFFINITY_DEFAULT_RESYNC_RATE_MS,
  AFFINITY_DEFAULT_SETTLE_MS,
  AFFINITY_DEFAULT_TIMEOUT_MS,
  AFFINITY_DEFAULT_WORKERS,
} from "../constants.ts";
import type { CommandInfo } from "./command.ts";
import {
  commonFlagsWithHealthAliases,
  leaderElectionFlags,
} from "./common_flags.ts";
import type { FlagSpec } from "./flags.ts";

/** Flags of `affinity` (linstor-affinity-controller's names, plus ours). */
export const AFFINITY_FLAGS: readonly FlagSpec[] = [
  ...commonFlagsWithHealthAliases("bind-address", "health-probe-bind-address"),
  {
    name: "reconcile-rate",
    type: "duration",
    description: "A pass at least this often (also after every state change)",
    env: "LINSTOR_SUITE_RECONCILE_RATE",
    default: AFFINITY_DEFAULT_RECONCILE_RATE_MS,
  },
  {
    name: "resync-rate",
    type: "duration",
    description:
      "Relist every watched Kubernetes kind this often (periodic full resync of the caches); 0 turns it off",
    env: "LINSTOR_SUITE_RESYNC_RATE",
    default: AFFINITY_DEFAULT_RESYNC_RATE_MS,
  },
  {
    name: "timeout",
    type: "duration",
    description:
      "Timeout of a pass and of one operation; PVs younger than this are left alone",
    env: "LINSTOR_SUITE_TIMEOUT",
    default: AFFINITY_DEFAULT_TIMEOUT_MS,
  },
  {
    name: "grace-period",
    type: "duration",
    description:
      "PVs younger than this are left alone (LINSTOR may not list every replica yet); default --timeout",
    env: "LINSTOR_SUITE_GRACE_PERIOD",
  },
  {
    name: "settle-time",
    type: "duration",
    description:
      "A drift must point at the same nodes this long before the PV is changed (no flapping on reboots)",
    env: "LINSTOR_SUITE_SETTLE_TIME",
    default: AFFINITY_DEFAULT_SETTLE_MS,
  },
  {
    name: "workers",
    type: "int",
    description: "Operations executed at once",
    env: "LINSTOR_SUITE_WORKERS",
    default: AFFINITY_DEFAULT_WORKERS,
  },
  {
    name: "property-namespace",
    type: "string",
    description:
      "LINSTOR node property namespace linstor-csi reads topology from; empty detects it",
    env: "LINSTOR_SUITE_PROPERTY_NAMESPACE",
    default: "",
  },
  {
    name: "default-remote-access-policy",
    type: "string",
    description:
      "linstor-csi's --default-remote-access-policy, when it was changed there",
    valueName: "POLICY",
  },
  {
    name: "max-replacements-per-pass",
    type: "int",
    description: "At most this many PV replacements per pass",
    env: "LINSTOR_SUITE_MAX_REPLACEMENTS_PER_PASS",
    default: AFFINITY_DEFAULT_MAX_REPLACEMENTS_PER_PASS,
  },
  {
    name: "in-place",
    type: "string",
    description:
      "In-place nodeAffinity changes (MutablePVNodeAffinity): probe, always or never",
    default: "auto",
    choices: ["auto", "always", "never"],
  },
  {
    name: "dry-run",
    type: "boolean",
    description: "Plan and print what would be done; change nothing",
    env: "LINSTOR_SUITE_DRY_RUN",
    default: false,
  },
  {
    name: "cluster-id",
    type: "string",
    description:
      "This cluster's identity in recovery records; default the kube-system namespace UID",
    env: "LINSTOR_SUITE_CLUSTER_ID",
  },
  ...leaderElectionFlags("linstor-suite-affinity"),
  {
    name: "metrics-address",
    type: "string",
    aliases: ["metrics-bind-address"],
    description:
      "Also serve /metrics here (linstor-affinity-controller compatibility); /metrics is always on --health-address",
    valueName: "HOST:PORT",
  },
];

/** Name, usage and flags of `affinity`. */
export const AFFINITY_COMMAND_INFO: CommandInfo = {
  name: "affinity",
  summary: "Keep PV nodeAffinity equal to where LINSTOR placed the volume",
  description:
    "Keeps each LINSTOR CSI PV's spec.nodeAffinity equal to where LINSTOR holds its healthy " +
    "diskful replicas: in place when the apiserver allows it, otherwise by a crash-safe " +
    "replace under the same name. Never acts on doubt. See docs/affinity.md.",
  flags: AFFINITY_FLAGS,
};
