/**
 * `linstor-suite affinity`: the PV nodeAffinity controller, with the flags
 * and env users of linstor-affinity-controller's chart already set.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  AFFINITY_DEFAULT_MAX_REPLACEMENTS_PER_PASS,
  AFFINITY_DEFAULT_RECONCILE_RATE_MS,
  AFFINITY_DEFAULT_RESYNC_RATE_MS,
  AFFINITY_DEFAULT_SETTLE_MS,
  AFFINITY_DEFAULT_TIMEOUT_MS,
  AFFINITY_DEFAULT_WORKERS,
  LEASE_DURATION_MS,
  LEASE_RENEW_DEADLINE_MS,
  LEASE_RETRY_PERIOD_MS,
  LOG_CATEGORY,
  METRIC_PREFIX,
} from "../constants.ts";
import { type KubeApi, startLeaderElection } from "../kube/mod.ts";
import {
  affinityLinstorFrom,
  type AffinityModeOptions,
  createAffinityMode,
} from "../modes/affinity/mod.ts";
import { parseRemoteAccessPolicy } from "../csi/mod.ts";
import {
  createOperationMetrics,
  createRegistry,
  LoopLiveness,
} from "../observability/mod.ts";
import { errorMessage } from "../reconcile/mod.ts";
import { createLinstorReader, startClusterState } from "../state/mod.ts";
import { SYSTEM_CLOCK } from "../system/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import {
  COMMON_FLAGS,
  kubeApiFrom,
  linstorClientFrom,
  serveHealth,
  setupLogging,
} from "./common.ts";
import { type FlagSpec, type ParsedFlags, UsageError } from "./flags.ts";

/** Env variable of the test-only crash hook (exit right after that replace step). */
export const AFFINITY_TEST_FAULT_ENV =
  "LINSTOR_SUITE_TEST_AFFINITY_EXIT_AFTER_STEP";
/** Exit code of the test-only crash hook. */
export const AFFINITY_TEST_FAULT_EXIT_CODE = 86;
/** File with the service account's namespace (in-cluster fallback of the lease namespace). */
const SERVICE_ACCOUNT_NAMESPACE_FILE =
  "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Flags of `affinity` (linstor-affinity-controller's names, plus ours). */
export const AFFINITY_FLAGS: readonly FlagSpec[] = [
  ...COMMON_FLAGS.map((flag) =>
    flag.name === "health-address"
      ? {
        ...flag,
        aliases: [
          ...(flag.aliases ?? []),
          "bind-address",
          "health-probe-bind-address",
        ],
      }
      : flag
  ),
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
      "Accepted for linstor-affinity-controller compatibility; the state model re-lists on its own",
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
    default: "linstor-suite-affinity",
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
    description: "A leader that cannot renew for this long steps down",
    default: LEASE_RENEW_DEADLINE_MS,
  },
  {
    name: "leader-election-retry-period",
    type: "duration",
    description: "Interval between Lease attempts",
    default: LEASE_RETRY_PERIOD_MS,
  },
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
  const positive = (name: string): number => {
    const value = flags.number(name);
    if (value === undefined || !(value > 0)) {
      throw new UsageError(`flag --${name} must be positive, got "${value}"`);
    }
    return value;
  };
  const maxReplacements = flags.number("max-replacements-per-pass") ?? 0;
  if (!(maxReplacements >= 0)) {
    throw new UsageError(
      `flag --max-replacements-per-pass must not be negative, got "${maxReplacements}"`,
    );
  }
  const options: AffinityModeOptions = {
    reconcileRateMs: positive("reconcile-rate"),
    timeoutMs: positive("timeout"),
    workers: positive("workers"),
    maxReplacementsPerPass: maxReplacements,
    propertyNamespace: (flags.string("property-namespace") ?? "").replace(
      /\/+$/,
      "",
    ),
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

/** What the command needs that the shared CLI wiring provides. */
export interface AffinityWiring {
  /** The Kubernetes API from `--kubeconfig`/in-cluster config. */
  createKube(context: CommandContext): Promise<KubeApi>;
  /** Reads this cluster's identity (the kube-system namespace UID). */
  clusterIdentity?(
    kube: KubeApi,
    signal: AbortSignal,
  ): Promise<string | undefined>;
  /** Host name, the default leader-election identity. */
  hostname?(): string;
}

/** The production wiring: kubeconfig from `--kubeconfig`/`KUBECONFIG`/in-cluster. */
export const AFFINITY_WIRING: AffinityWiring = Object.freeze({
  createKube(context: CommandContext): Promise<KubeApi> {
    return Promise.resolve(kubeApiFrom(context, {
      reportingInstance: context.flags.string("leader-election-id") ||
        Deno.hostname(),
    }));
  },
  async clusterIdentity(
    kube: KubeApi,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const namespace = await kube.getNamespace("kube-system", { signal });
    return namespace.metadata?.uid;
  },
  hostname(): string {
    return Deno.hostname();
  },
});

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

async function runAffinity(
  context: CommandContext,
  wiring: AffinityWiring,
): Promise<number> {
  await setupLogging(context);
  const logger = getLogger([LOG_CATEGORY, "affinity"]);
  const { flags, env, signal } = context;
  const options = affinityOptionsFromFlags(flags);
  const faultStep = Number(env[AFFINITY_TEST_FAULT_ENV] ?? "");
  if (Number.isInteger(faultStep) && faultStep > 0) {
    logger.warn("Test fault hook armed: exiting after replace step {step}", {
      step: faultStep,
    });
    options.afterReplaceStep = (step) => {
      if (step === faultStep) Deno.exit(AFFINITY_TEST_FAULT_EXIT_CODE);
    };
  }
  const registry = createRegistry({ mode: "affinity" });
  const linstor = linstorClientFrom(context, {
    mode: "affinity",
    metrics: registry,
  });
  let kube: KubeApi;
  try {
    kube = await wiring.createKube(context);
  } catch (error) {
    linstor.close();
    throw error;
  }
  const stop = new AbortController();
  const running = AbortSignal.any([signal, stop.signal]);
  try {
    const identity = flags.string("cluster-id") ||
      await wiring.clusterIdentity?.(kube, running);
    if (!identity) {
      context.stderr(
        "linstor-suite affinity: Cannot determine the cluster identity: set --cluster-id or allow reading the kube-system namespace\n",
      );
      return 1;
    }
    const cluster = startClusterState({
      clock: SYSTEM_CLOCK,
      linstor: createLinstorReader(linstor),
      kube,
    }, {
      kinds: ["persistentVolumes", "persistentVolumeClaims", "storageClasses"],
      signal: running,
      metrics: registry,
      ...(flags.number("linstor-poll-interval")
        ? { pollIntervalMs: flags.number("linstor-poll-interval")! }
        : {}),
    });
    let isLeader = () => true;
    let election: { stopped: Promise<void> } | undefined;
    if (flags.boolean("leader-election")) {
      const namespace = flags.string("lease-lock-namespace") ||
        (await context.readTextFile(SERVICE_ACCOUNT_NAMESPACE_FILE).then(
          (text) => text.trim(),
          () => "",
        )) || "default";
      const leader = startLeaderElection(kube, {
        namespace,
        name: flags.string("lease-lock-name") ?? "linstor-suite-affinity",
        identity: flags.string("leader-election-id") ||
          (wiring.hostname?.() ?? `affinity-${crypto.randomUUID()}`),
        clock: SYSTEM_CLOCK,
        signal: running,
        leaseDurationMs: flags.number("leader-election-lease-duration")!,
        renewDeadlineMs: flags.number("leader-election-renew-deadline")!,
        retryPeriodMs: flags.number("leader-election-retry-period")!,
      });
      isLeader = () => leader.isLeader();
      election = leader;
    }
    const liveness = new LoopLiveness({
      // A pass may last up to 10 × --timeout (see the mode's pass timeout).
      maxAgeMs: options.reconcileRateMs! + 10 * options.timeoutMs! + 30_000,
      now: () => SYSTEM_CLOCK.now(),
    });
    const metricsAddress = flags.string("metrics-address");
    serveHealth(context, {
      registry,
      signal: running,
      extraAddresses: metricsAddress ? [metricsAddress] : [],
      checks: {
        live: () => liveness.check(),
        ready: () =>
          cluster.state.isSynced()
            ? { ok: true, detail: "caches synced" }
            : { ok: false, detail: "caches not synced yet" },
      },
    });
    const mode = createAffinityMode({
      kube,
      linstor: affinityLinstorFrom(linstor),
      state: cluster.state,
      clock: SYSTEM_CLOCK,
      clusterIdentity: identity,
      isLeader,
      registry,
      operationMetrics: createOperationMetrics(registry, {
        prefix: `${METRIC_PREFIX}_affinity`,
      }),
      print: context.stdout,
      logger,
    }, { ...options, onPass: (result) => liveness.record(result) });
    logger.info(
      "Affinity mode started (cluster {identity}, dry-run {dryRun})",
      {
        identity,
        dryRun: options.dryRun ?? false,
      },
    );
    await mode.run(running);
    stop.abort();
    await Promise.all([cluster.stopped, election?.stopped]);
    return 0;
  } finally {
    stop.abort();
    linstor.close();
    await kube.close();
  }
}
