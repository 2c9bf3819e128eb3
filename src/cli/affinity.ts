/**
 * `linstor-suite affinity`: the PV nodeAffinity controller, with the flags
 * and env users of linstor-affinity-controller's chart already set.
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
import {
  affinityLinstorFrom,
  type AffinityModeOptions,
  createAffinityMode,
} from "../modes/affinity/mod.ts";
import { parseRemoteAccessPolicy } from "../csi/mod.ts";
import { propertyNamespaceSetting } from "../domain/mod.ts";
import { errorMessage } from "../reconcile/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import {
  commonFlagsWithHealthAliases,
  nonNegativeFlag,
  positiveFlag,
} from "./common.ts";
import { type FlagSpec, type ParsedFlags, UsageError } from "./flags.ts";
import {
  leaderElectionFlags,
  MODE_WIRING,
  type ModeWiring,
  runMode,
} from "./run_mode.ts";

/** Env variable of the test-only crash hook (exit right after that replace step). */
export const AFFINITY_TEST_FAULT_ENV =
  "LINSTOR_SUITE_TEST_AFFINITY_EXIT_AFTER_STEP";
/** Exit code of the test-only crash hook. */
export const AFFINITY_TEST_FAULT_EXIT_CODE = 86;

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
    name: "affinity",
    summary: "Keep PV nodeAffinity equal to where LINSTOR placed the volume",
    description:
      "Keeps each LINSTOR CSI PV's spec.nodeAffinity equal to where LINSTOR holds its healthy " +
      "diskful replicas: in place when the apiserver allows it, otherwise by a crash-safe " +
      "replace under the same name. Never acts on doubt. See docs/affinity.md.",
    flags: AFFINITY_FLAGS,
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
