/**
 * `linstor-suite agent`: the node agent. LVM volume groups and thin pools
 * tagged `linstor-<pool>` become LINSTOR storage pools of this node, and
 * (on the leader) StorageClasses `linstor-<pool>-r1..rN` follow.
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
import {
  AgentMetrics,
  type AgentModeOptions,
  createAgentMode,
  nodeEventsFrom,
} from "../modes/agent/mod.ts";
import { createCommandRunner } from "../system/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import { COMMON_FLAGS } from "./common.ts";
import { type FlagSpec, type ParsedFlags, UsageError } from "./flags.ts";
import {
  leaderElectionFlags,
  MODE_WIRING,
  type ModeWiring,
  runMode,
} from "./run_mode.ts";

const GIB = 1024 ** 3;

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

/** Mode options from parsed flags; throws `UsageError` on values that cannot work. */
export function agentOptionsFromFlags(
  flags: ParsedFlags,
): AgentModeOptions & { dryRun: boolean } {
  const node = flags.string("node-name") ?? "";
  if (node === "") {
    throw new UsageError(
      "Cannot start the agent without a node name: set --node-name or NODE_NAME",
    );
  }
  const scanIntervalMs = flags.number("scan-interval") ?? 0;
  if (!(scanIntervalMs > 0)) {
    throw new UsageError(
      `flag --scan-interval must be positive, got "${scanIntervalMs}"`,
    );
  }
  const spare = flags.number("spare-gb") ?? 0;
  const ratio = flags.number("overprovision-ratio") ?? 0;
  const maxReplicas = flags.number("max-replicas") ?? 0;
  if (!(spare >= 0)) {
    throw new UsageError(
      `flag --spare-gb must not be negative, got "${spare}"`,
    );
  }
  if (!(ratio > 0)) {
    throw new UsageError(
      `flag --overprovision-ratio must be positive, got "${ratio}"`,
    );
  }
  if (!(maxReplicas >= 1)) {
    throw new UsageError(
      `flag --max-replicas must be at least 1, got "${maxReplicas}"`,
    );
  }
  return {
    node,
    scanIntervalMs,
    removalGraceMs: flags.number("removal-grace") ??
      AGENT_DEFAULT_REMOVAL_GRACE_MS,
    hostLvm: flags.boolean("host-lvm"),
    lvmPath: flags.string("lvm-path") ?? AGENT_DEFAULT_LVM_PATH,
    timeoutMs: flags.number("lvm-timeout") ?? AGENT_DEFAULT_LVM_TIMEOUT_MS,
    spareBytes: Math.round(spare * GIB),
    overprovisionRatio: ratio,
    storageClasses: flags.boolean("storage-classes"),
    maxReplicas,
    prune: flags.boolean("prune-storage-classes"),
    dryRun: flags.boolean("dry-run"),
  };
}

/** The production wiring: kubeconfig from `--kubeconfig`/`KUBECONFIG`/in-cluster. */
export const AGENT_WIRING: ModeWiring = MODE_WIRING;

/** The `agent` subcommand over `wiring`. */
export function createAgentCommand(wiring: ModeWiring): Command {
  return {
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
    run: (context) => runAgent(context, wiring),
  };
}

function runAgent(
  context: CommandContext,
  wiring: ModeWiring,
): Promise<number> {
  const { dryRun, ...options } = agentOptionsFromFlags(context.flags);
  const runner = createCommandRunner();
  return runMode(context, {
    name: "agent",
    wiring,
    leaderElection: options.storageClasses ?? true,
    dryRun,
    create: (environment) =>
      createAgentMode({
        runner,
        linstor: environment.linstor,
        kube: environment.kube,
        events: nodeEventsFrom(environment.kube),
        clock: environment.clock,
        isLeader: environment.isLeader,
        logger: environment.logger,
        metrics: new AgentMetrics(environment.registry),
      }, options),
    onStarted(environment) {
      environment.logger.info(
        "Agent started on node {node} (scan every {interval} ms, host lvm {hostLvm}, StorageClasses {classes}, dry-run {dryRun})",
        {
          node: options.node,
          interval: options.scanIntervalMs,
          hostLvm: options.hostLvm ?? false,
          classes: options.storageClasses ?? true,
          dryRun,
        },
      );
    },
  });
}
