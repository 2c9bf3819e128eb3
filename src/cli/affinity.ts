/**
 * `linstor-suite affinity`: the PV nodeAffinity controller, with the flags
 * and env users of linstor-affinity-controller's chart already set.
 *
 * @module
 */
import { AFFINITY_DEFAULT_SETTLE_MS } from "../constants.ts";
import {
  affinityLinstorFrom,
  type AffinityModeOptions,
  createAffinityMode,
} from "../modes/affinity/mod.ts";
import { parseRemoteAccessPolicy } from "../csi/mod.ts";
import { propertyNamespaceSetting } from "../domain/mod.ts";
import { errorMessage } from "../reconcile/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import { AFFINITY_COMMAND_INFO } from "./affinity_flags.ts";
import { nonNegativeFlag, positiveFlag } from "./common.ts";
import { type ParsedFlags, UsageError } from "./flags.ts";
import { MODE_WIRING, type ModeWiring, runMode } from "./run_mode.ts";
export { AFFINITY_COMMAND_INFO, AFFINITY_FLAGS } from "./affinity_flags.ts";

/** Env variable of the test-only crash hook (exit right after that replace step). */
export const AFFINITY_TEST_FAULT_ENV =
  "LINSTOR_SUITE_TEST_AFFINITY_EXIT_AFTER_STEP";
/** Exit code of the test-only crash hook. */
export const AFFINITY_TEST_FAULT_EXIT_CODE = 86;

/** Mode options from parsed flags; throws `UsageError` on values that cannot work. */
export function affinityOptionsFromFlags(
  flags: ParsedFlags,
): AffinityModeOptions {
  const positive = (name: string) => positiveFlag(flags, name);
  const maxReplacements = nonNegativeFlag(flags, "max-replacements-per-pass", {
    fallback: 0,
  });
  const options: AffinityModeOptions = {
    reconcileRateMs: positive("reconcile-rate"),
    timeoutMs: positive("timeout"),
    workers: positive("workers"),
    maxReplacementsPerPass: maxReplacements,
    // "" (also for "auto") detects it once, from the first LINSTOR data.
    propertyNamespace:
      propertyNamespaceSetting(flags.string("property-namespace")) ?? "",
    dryRun: flags.boolean("dry-run"),
  };
  // Durations are never negative (parseFlags rejects them).
  options.settleMs = flags.number("settle-time") ?? AFFINITY_DEFAULT_SETTLE_MS;
  const grace = flags.number("grace-period");
  if (grace !== undefined) options.gracePeriodMs = grace;
  const inPlace = flags.string("in-place") ?? "auto";
  if (inPlace !== "auto") options.inPlace = inPlace === "always";
  const defaultPolicy = flags.string("default-remote-access-policy");
  if (defaultPolicy !== undefined && defaultPolicy !== "") {
    try {
      options.defaultPolicy = parseRemoteAccessPolicy(defaultPolicy);
    } catch (error) {
      throw new UsageError(
        `flag --default-remote-access-policy: ${errorMessage(error)}`,
      );
    }
  }
  return options;
}

/** What the command needs from the outside world. */
export type AffinityWiring = ModeWiring;

/** The production wiring: kubeconfig from `--kubeconfig`/`KUBECONFIG`/in-cluster. */
export const AFFINITY_WIRING: AffinityWiring = MODE_WIRING;

/** The `affinity` subcommand over `wiring`. */
export function createAffinityCommand(wiring: AffinityWiring): Command {
  return {
    ...AFFINITY_COMMAND_INFO,
    run: (context) => runAffinity(context, wiring),
  };
}

function runAffinity(
  context: CommandContext,
  wiring: AffinityWiring,
): Promise<number> {
  const { flags, env } = context;
  const options = affinityOptionsFromFlags(flags);
  const faultStep = Number(env[AFFINITY_TEST_FAULT_ENV] ?? "");
  if (Number.isInteger(faultStep) && faultStep > 0) {
    options.afterReplaceStep = (step) => {
      if (step === faultStep) Deno.exit(AFFINITY_TEST_FAULT_EXIT_CODE);
    };
  }
  const metricsAddress = flags.string("metrics-address");
  const resyncMs = flags.number("resync-rate") ?? 0;
  const clusterIdentity = flags.string("cluster-id");
  return runMode(context, {
    name: "affinity",
    wiring,
    leaderElection: true,
    dryRun: options.dryRun ?? false,
    ...(resyncMs > 0 ? { relistIntervalMs: resyncMs } : {}),
    extraHealthAddresses: metricsAddress ? [metricsAddress] : [],
    create: (environment) =>
      createAffinityMode({
        kube: environment.kube,
        linstor: affinityLinstorFrom(environment.linstor),
        clock: environment.clock,
        ...(clusterIdentity ? { clusterIdentity } : {}),
        isLeader: environment.isLeader,
        registry: environment.registry,
        logger: environment.logger,
      }, options),
    onStarted(environment) {
      if (faultStep > 0) {
        environment.logger.warn(
          "Test fault hook armed: exiting after replace step {step}",
          { step: faultStep },
        );
      }
      environment.logger.info(
        "Affinity mode started (cluster {identity}, dry-run {dryRun})",
        {
          identity: clusterIdentity || "from kube-system",
          dryRun: options.dryRun ?? false,
        },
      );
    },
  });
}
