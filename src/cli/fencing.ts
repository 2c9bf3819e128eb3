/**
 * `linstor-suite fencing`: the per-node storage-loss agent, with the flags
 * users of piraeus-ha-controller already set (same meaning, or accepted and
 * ignored with the reason in docs/fencing.md).
 *
 * @module
 */
import {
  FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS,
  FENCING_DEFAULT_MIN_FENCING_INTERVAL_MS,
} from "../constants.ts";
import {
  createFencingMode,
  type FencingModeOptions,
} from "../modes/fencing/mod.ts";
import { type CommandRunner, createCommandRunner } from "../system/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import { FENCING_COMMAND_INFO } from "./fencing_flags.ts";
import { nonNegativeFlag, positiveFlag } from "./common.ts";
import { type ParsedFlags, UsageError } from "./flags.ts";
import { MODE_WIRING, type ModeWiring, runMode } from "./run_mode.ts";
export { FENCING_COMMAND_INFO, FENCING_FLAGS } from "./fencing_flags.ts";

/** Mode options from parsed flags; throws `UsageError` on values that cannot work. */
export function fencingOptionsFromFlags(
  flags: ParsedFlags,
): FencingModeOptions {
  const nodeName = flags.string("node-name") ?? "";
  if (nodeName === "") {
    throw new UsageError("flag --node-name (or NODE_NAME) is required");
  }
  const positive = (name: string) => positiveFlag(flags, name);
  const grace = nonNegativeFlag(flags, "grace-period-seconds", {
    fallback: 0,
  });
  return {
    nodeName,
    failOverTimeoutMs: flags.number("fail-over-timeout") ??
      FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS,
    gracePeriodSeconds: grace,
    operationsTimeoutMs: positive("operations-timeout"),
    reconcileIntervalMs: positive("reconcile-interval"),
    maxFencedNodes: positive("max-fenced-nodes"),
    minFencingIntervalMs: flags.number("min-fencing-interval") ??
      FENCING_DEFAULT_MIN_FENCING_INTERVAL_MS,
    disableNodeTaints: flags.boolean("disable-node-taints"),
    drbdsetup: flags.string("drbdsetup") ?? "drbdsetup",
    drbdSource: flags.string("drbd-source") === "linstor"
      ? "linstor"
      : "drbdsetup",
  };
}

/** What the command needs from the outside world. */
export interface FencingWiring extends ModeWiring {
  /** Runs `drbdsetup`. */
  commands(): CommandRunner;
}

/** The production wiring. */
export const FENCING_WIRING: FencingWiring = Object.freeze({
  ...MODE_WIRING,
  commands: createCommandRunner,
});

/** The `fencing` subcommand over `wiring`. */
export function createFencingCommand(wiring: FencingWiring): Command {
  return {
    ...FENCING_COMMAND_INFO,
    run: (context) => runFencing(context, wiring),
  };
}

function runFencing(
  context: CommandContext,
  wiring: FencingWiring,
): Promise<number> {
  const { flags } = context;
  const options = fencingOptionsFromFlags(flags);
  const dryRun = flags.boolean("dry-run");
  const resyncMs = flags.number("resync-interval") ?? 0;
  return runMode(context, {
    name: "fencing",
    wiring,
    leaderElection: false,
    dryRun,
    ...(resyncMs > 0 ? { relistIntervalMs: resyncMs } : {}),
    create: (environment) =>
      createFencingMode({
        kube: environment.kube,
        runner: wiring.commands(),
        clock: environment.clock,
        registry: environment.registry,
        logger: environment.logger,
      }, options),
    onStarted(environment) {
      environment.logger.info(
        "Fencing agent started on node {node} (fail-over timeout {timeout} ms, dry-run {dryRun})",
        {
          node: options.nodeName,
          timeout: options.failOverTimeoutMs,
          dryRun,
        },
      );
    },
  });
}
