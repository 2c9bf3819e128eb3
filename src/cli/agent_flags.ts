/**
 * Usage and flags of `agent` (the node agent), as data: usage texts and the
 * chart's values schema read them without loading the mode (`agent.ts`,
 * imported when it runs).
 *
 * @module
 */
import {
  AGENT_DEFAULT_LEASE_NAME,
  AGENT_DEFAULT_LVM_PATH,
  AGENT_DEFAULT_LVM_TIMEOUT_MS,
  AGENT_DEFAULT_MAX_REPLICAS,
  AGENT_DEFAULT_REMOVAL_GRACE_MS,
  AGENT_DEFAULT_SCAN_INTERVAL_MS,
  AGENT_DEFAULT_SPARE_GIB,
  LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO,
} from "../constants.ts";
import type { CommandInfo } from "./command.ts";
import { COMMON_FLAGS, leaderElectionFlags } from "./common_flags.ts";
import type { FlagSpec } from "./flags.ts";

/** Flags of `agent`. */
export const AGENT_FLAGS: readonly FlagSpec[] = [
  ...COMMON_FLAGS,
  {
    name: "node-name",
    type: "string",
    description: "This node's name in Kubernetes and LINSTOR (required)",
    env: "NODE_NAME",
    valueName: "NODE",
  },
  {
    name: "scan-interval",
    type: "duration",
    description: "Time between two LVM scans",
    env: "LINSTOR_SUITE_SCAN_INTERVAL",
    default: AGENT_DEFAULT_SCAN_INTERVAL_MS,
  },
  {
    name: "removal-grace",
    type: "duration",
    description:
      "A pool of ours whose tag is gone is deleted after this long (if no volume uses it)",
    env: "LINSTOR_SUITE_REMOVAL_GRACE",
    default: AGENT_DEFAULT_REMOVAL_GRACE_MS,
  },
  {
    name: "host-lvm",
    type: "boolean",
    description:
      "Run the host's lvm in the host's namespaces (nsenter -t 1; needs hostPID and privileges)",
    env: "LINSTOR_SUITE_HOST_LVM",
    default: false,
  },
  {
    name: "lvm-path",
    type: "string",
    description: "The lvm binary (on the host with --host-lvm)",
    env: "LINSTOR_SUITE_LVM_PATH",
    default: AGENT_DEFAULT_LVM_PATH,
    valueName: "PATH",
  },
  {
    name: "lvm-timeout",
    type: "duration",
    description: "Timeout of one lvm call (a hung lvm is a failed scan)",
    env: "LINSTOR_SUITE_LVM_TIMEOUT",
    default: AGENT_DEFAULT_LVM_TIMEOUT_MS,
  },
  {
    name: "spare-gb",
    type: "number",
    description: "GiB kept free on thick pools in the published free capacity",
    env: "LINSTOR_SUITE_SPARE_GB",
    default: AGENT_DEFAULT_SPARE_GIB,
  },
  {
    name: "overprovision-ratio",
    type: "number",
    description:
      "Thin pools: volumes may add up to this many times the pool size (LINSTOR's MaxOversubscriptionRatio)",
    env: "LINSTOR_SUITE_OVERPROVISION_RATIO",
    default: LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO,
  },
  {
    name: "storage-classes",
    type: "boolean",
    description:
      "Manage StorageClasses linstor-<pool>-r1..rN (the Lease holder acts)",
    env: "LINSTOR_SUITE_STORAGE_CLASSES",
    default: true,
  },
  {
    name: "max-replicas",
    type: "int",
    description: "N of the largest StorageClass -rN",
    env: "LINSTOR_SUITE_MAX_REPLICAS",
    default: AGENT_DEFAULT_MAX_REPLICAS,
  },
  {
    name: "prune-storage-classes",
    type: "boolean",
    description:
      "Delete managed StorageClasses of vanished pools and beyond N (default: keep them)",
    env: "LINSTOR_SUITE_PRUNE_STORAGE_CLASSES",
    default: false,
  },
  {
    name: "dry-run",
    type: "boolean",
    description: "Plan and print what would be done; change nothing",
    env: "LINSTOR_SUITE_DRY_RUN",
    default: false,
  },
  ...leaderElectionFlags(AGENT_DEFAULT_LEASE_NAME),
];

/** Name, usage and flags of `agent`. */
export const AGENT_COMMAND_INFO: CommandInfo = {
  name: "agent",
  summary:
    "Node agent: LVM volume groups and thin pools tagged linstor-<pool> become storage pools",
  description:
    "Runs on every storage node (a DaemonSet). Every --scan-interval it reads LVM; a VG or " +
    "thin pool with exactly one tag linstor-<pool> becomes LINSTOR storage pool <pool> of " +
    "this node, and the Lease holder keeps StorageClasses linstor-<pool>-r1..rN. Conflicts " +
    "register nothing; only pools the agent created are ever deleted, after --removal-grace " +
    "and only when unused. See docs/agent.md.",
  flags: AGENT_FLAGS,
};
