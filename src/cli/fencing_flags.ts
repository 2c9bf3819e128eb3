/**
 * Usage and flags of `fencing` (the fencing agent), as data: usage texts and
 * the chart's values schema read them without loading the mode
 * (`fencing.ts`, imported when it runs).
 *
 * @module
 */
import {
  FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS,
  FENCING_DEFAULT_GRACE_PERIOD_SECONDS,
  FENCING_DEFAULT_MAX_FENCED_NODES,
  FENCING_DEFAULT_MIN_FENCING_INTERVAL_MS,
  FENCING_DEFAULT_OPERATIONS_TIMEOUT_MS,
  FENCING_DEFAULT_RECONCILE_INTERVAL_MS,
} from "../constants.ts";
import type { CommandInfo } from "./command.ts";
import { commonFlagsWithHealthAliases } from "./common_flags.ts";
import type { FlagSpec } from "./flags.ts";

/** Flags of `fencing` (piraeus-ha-controller's names, plus ours). */
export const FENCING_FLAGS: readonly FlagSpec[] = [
  ...commonFlagsWithHealthAliases(
    "health-bind-address",
    "health-probe-bind-address",
  ),
  {
    name: "node-name",
    type: "string",
    description: "This node's Kubernetes name",
    env: "NODE_NAME",
  },
  {
    name: "fail-over-timeout",
    type: "duration",
    description:
      "A DRBD connection must be down this long before its peer is fenced",
    env: "LINSTOR_SUITE_FAIL_OVER_TIMEOUT",
    default: FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS,
  },
  {
    name: "grace-period-seconds",
    type: "int",
    description:
      "Grace period of an eviction from a Ready node (a NotReady node's pods are deleted with 0)",
    default: FENCING_DEFAULT_GRACE_PERIOD_SECONDS,
  },
  {
    name: "operations-timeout",
    type: "duration",
    description: "Timeout of one Kubernetes action and of a pass",
    default: FENCING_DEFAULT_OPERATIONS_TIMEOUT_MS,
  },
  {
    name: "reconcile-interval",
    type: "duration",
    description:
      "A pass at least this often (also after every DRBD or Kubernetes change)",
    default: FENCING_DEFAULT_RECONCILE_INTERVAL_MS,
  },
  {
    name: "resync-interval",
    type: "duration",
    description:
      "Relist every watched Kubernetes kind this often; 0 turns it off",
    default: 15 * 60_000,
  },
  {
    name: "drbd-status-interval",
    type: "duration",
    description:
      "Accepted and ignored: drbdsetup events2 streams every change, nothing is polled",
    default: 5_000,
  },
  {
    name: "disable-node-taints",
    type: "boolean",
    description: `Never add or remove the drbd.linbit.com/lost-quorum taint`,
    default: false,
  },
  {
    name: "fail-over-unsafe-pods",
    type: "boolean",
    description:
      "Accepted and ignored: a pod is moved only when it carries the on-storage-lost label",
    default: false,
  },
  {
    name: "satellite-pod-label",
    type: "string",
    description:
      "Accepted and ignored: DRBD peers map to Nodes by name or hostname label, never through tenant-writable pods",
  },
  {
    name: "max-fenced-nodes",
    type: "int",
    description:
      "Storm guard: start no fencing while this many nodes carry the lost-quorum taint",
    env: "LINSTOR_SUITE_MAX_FENCED_NODES",
    default: FENCING_DEFAULT_MAX_FENCED_NODES,
  },
  {
    name: "min-fencing-interval",
    type: "duration",
    description:
      "Rate limit: at least this long between this agent starting to fence two nodes",
    env: "LINSTOR_SUITE_MIN_FENCING_INTERVAL",
    default: FENCING_DEFAULT_MIN_FENCING_INTERVAL_MS,
  },
  {
    name: "drbdsetup",
    type: "string",
    description: "The drbdsetup program",
    env: "LINSTOR_SUITE_DRBDSETUP",
    default: "drbdsetup",
    valueName: "PATH",
  },
  {
    name: "drbd-source",
    type: "string",
    description:
      "Where the DRBD view comes from: drbdsetup (events2 on this node) or linstor (fallback without drbdsetup access: a peer is lost once its LINSTOR node is OFFLINE for the fail-over timeout)",
    env: "LINSTOR_SUITE_DRBD_SOURCE",
    default: "drbdsetup",
    choices: ["drbdsetup", "linstor"],
  },
  {
    name: "leader-election-id",
    type: "string",
    description:
      "This agent's identity in Events (no leader election: every node acts for itself); default the hostname",
    env: "POD_NAME",
  },
  {
    name: "dry-run",
    type: "boolean",
    description: "Plan and print what would be done; change nothing",
    env: "LINSTOR_SUITE_DRY_RUN",
    default: false,
  },
];

/** Name, usage and flags of `fencing`. */
export const FENCING_COMMAND_INFO: CommandInfo = {
  name: "fencing",
  summary: "Remove opted-in pods from nodes that lost their storage",
  description:
    "A per-node agent (DaemonSet). It streams drbdsetup events2 and, from a node that kept " +
    "quorum, removes pods labelled linstor.csi.linbit.com/on-storage-lost=remove from a peer " +
    "that lost its storage: taint, evict or force-delete, delete the VolumeAttachment. Never " +
    "on a Kubernetes-only outage. See docs/fencing.md.",
  flags: FENCING_FLAGS,
};
