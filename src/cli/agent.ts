/**
 * `linstor-suite agent`: the node agent. LVM volume groups and thin pools
 * tagged `linstor-<pool>` become LINSTOR storage pools of this node, and
 * (on the leader) StorageClasses `linstor-<pool>-r1..rN` follow.
 *
 * @module
 */
import {
  AGENT_DEFAULT_LVM_PATH,
  AGENT_DEFAULT_LVM_TIMEOUT_MS,
  AGENT_DEFAULT_REMOVAL_GRACE_MS,
} from "../constants.ts";
import {
  AgentMetrics,
  type AgentModeOptions,
  createAgentMode,
  nodeEventsFrom,
} from "../modes/agent/mod.ts";
import { createCommandRunner } from "../system/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import { AGENT_COMMAND_INFO } from "./agent_flags.ts";

import { type ParsedFlags, UsageError } from "./flags.ts";
import { MODE_WIRING, type ModeWiring, runMode } from "./run_mode.ts";
export { AGENT_COMMAND_INFO, AGENT_FLAGS } from "./agent_flags.ts";

const GIB = 1024 ** 3;

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
    ...AGENT_COMMAND_INFO,
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
