/**
 * The affinity mode: every pass plans from the latest Snapshot (on every
 * replica, so each logs what it would do), and the leader executes.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { Counter, Gauge, type Registry } from "prom-client";
import {
  AFFINITY_ACTION_SKIPPED,
  AFFINITY_DEFAULT_MAX_LINSTOR_AGE_MS,
  AFFINITY_DEFAULT_MAX_REPLACEMENTS_PER_PASS,
  AFFINITY_DEFAULT_RECONCILE_RATE_MS,
  AFFINITY_DEFAULT_SETTLE_MS,
  AFFINITY_DEFAULT_TIMEOUT_MS,
  AFFINITY_DEFAULT_WORKERS,
  AFFINITY_IN_PLACE_PROBE_TTL_MS,
  EVENT_REASON_VOLUME_AFFINITY_SKIPPED,
  LOG_CATEGORY,
  METRIC_AFFINITY_DRIFTED_PVS,
  METRIC_AFFINITY_PASSES_TOTAL,
  METRIC_AFFINITY_SKIPS_TOTAL,
  PROPERTY_NAMESPACE_AUX,
  PROPERTY_NAMESPACE_TOPOLOGY,
} from "../../constants.ts";
import type { InvolvedObject, KubeApi } from "../../kube/mod.ts";
import {
  errorMessage,
  executeOperations,
  type ExecuteReport,
  type OperationMetrics,
  type PassResult,
  runLoop,
  Wakeups,
} from "../../reconcile/mod.ts";
import type { Snapshot } from "../../state/types.ts";
import type { Clock } from "../../system/clock.ts";
import { type AffinityLinstor, createAffinityOperation } from "./_execute.ts";
import type { RemoteAccessPolicy } from "../../csi/mod.ts";
import { type AffinityPlan, type AffinitySkip, planAffinity } from "./plan.ts";

/** What the affinity mode needs from the rest of the process. */
export interface AffinityModeDeps {
  kube: KubeApi;
  linstor: AffinityLinstor;
  /** The shared state model (or anything handing out Snapshots). */
  state: {
    snapshot(): Snapshot;
    readonly wakeups?: { subscribe(listener: () => void): () => void };
  };
  clock: Clock;
  /** This cluster's identity (kube-system namespace UID). */
  clusterIdentity: string;
  /** Leader gate; every replica plans, only the leader executes. @default {() => true} */
  isLeader?: () => boolean;
  /** Metrics registry (created by the CLI). */
  registry?: Registry;
  /** Operation metrics for `executeOperations()`. */
  operationMetrics?: OperationMetrics;
  /** Receives one line per operation in dry-run mode (the CLI prints them). */
  print?: (line: string) => void;
  /** @default {getLogger(["linstor-suite", "affinity"])} */
  logger?: Logger;
}

/** Options of the affinity mode (from flags). */
export interface AffinityModeOptions {
  /** `--reconcile-rate`: a pass at least this often (ms). @default {15000} */
  reconcileRateMs?: number;
  /** `--timeout`: per pass, per operation, and the new-PV grace period (ms). @default {60000} */
  timeoutMs?: number;
  /** `--workers`: operations at once. @default {10} */
  workers?: number;
  /** `--property-namespace`; `""` detects from LINSTOR nodes. @default {""} */
  propertyNamespace?: string;
  /** `--dry-run`: plan and print, change nothing. @default {false} */
  dryRun?: boolean;
  /** `--max-replacements-per-pass`. @default {20} */
  maxReplacementsPerPass?: number;
  /** PVs younger than this (ms) are left alone. @default {timeoutMs} */
  gracePeriodMs?: number;
  /** LINSTOR data older than this (ms) is stale. @default {60000} */
  maxLinstorAgeMs?: number;
  /** linstor-csi `--default-remote-access-policy`. */
  defaultPolicy?: RemoteAccessPolicy;
  /** `--settle-time`: a drift must persist this long (ms) before it is fixed. @default {30000} */
  settleMs?: number;
  /**
   * `true`/`false` skips the in-place probe (`--in-place=auto|always|never`).
   * @default {undefined} (probe with a server-side dry-run)
   */
  inPlace?: boolean;
  /** Called after every loop pass (liveness). */
  onPass?: (result: PassResult) => void;
  /** Test-only: called after each finished replace step; the CLI exits the process there. */
  afterReplaceStep?: (step: number, pvName: string) => void;
}

/** What one pass did. */
export interface AffinityPassReport {
  readonly plan: AffinityPlan;
  readonly execution: ExecuteReport;
  /** The property namespace used; `undefined` while LINSTOR was never read. */
  readonly propertyNamespace: string | undefined;
}

/** The running affinity mode. */
export interface AffinityMode {
  readonly name: "affinity";
  /** Runs passes until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
  /** Runs exactly one pass (tests, benchmarks, `--once`). */
  pass(signal: AbortSignal): Promise<AffinityPassReport>;
}

/**
 * Detects the property namespace as linstor-affinity-controller does:
 * `Aux/topology` if any LINSTOR node has `Aux/topology/kubernetes.io/hostname`,
 * else `Aux`; `undefined` while LINSTOR has not been read.
 */
function detectPropertyNamespace(
  snapshot: Snapshot,
): string | undefined {
  if (snapshot.linstor.observedAt === undefined) return undefined;
  const key = `${PROPERTY_NAMESPACE_TOPOLOGY}/kubernetes.io/hostname`;
  for (const node of snapshot.linstor.nodes.values()) {
    if ((node.props[key] ?? "") !== "") return PROPERTY_NAMESPACE_TOPOLOGY;
  }
  return PROPERTY_NAMESPACE_AUX;
}

/** Creates the affinity mode from its dependencies and options. */
export function createAffinityMode(
  deps: AffinityModeDeps,
  options: AffinityModeOptions = {},
): AffinityMode {
  const timeoutMs = options.timeoutMs ?? AFFINITY_DEFAULT_TIMEOUT_MS;
  const reconcileRateMs = options.reconcileRateMs ??
    AFFINITY_DEFAULT_RECONCILE_RATE_MS;
  const workers = options.workers ?? AFFINITY_DEFAULT_WORKERS;
  const maxReplacementsPerPass = options.maxReplacementsPerPass ??
    AFFINITY_DEFAULT_MAX_REPLACEMENTS_PER_PASS;
  const gracePeriodMs = options.gracePeriodMs ?? timeoutMs;
  const maxLinstorAgeMs = options.maxLinstorAgeMs ??
    AFFINITY_DEFAULT_MAX_LINSTOR_AGE_MS;
  const settleMs = options.settleMs ?? AFFINITY_DEFAULT_SETTLE_MS;
  for (
    const [flag, value, min] of [
      ["reconcile-rate", reconcileRateMs, 1],
      ["timeout", timeoutMs, 1],
      ["workers", workers, 1],
      ["max-replacements-per-pass", maxReplacementsPerPass, 0],
      ["grace period", gracePeriodMs, 0],
      ["max LINSTOR data age", maxLinstorAgeMs, 1],
      ["settle-time", settleMs, 0],
    ] as const
  ) {
    if (!Number.isFinite(value) || value < min) {
      throw new RangeError(
        `Cannot start affinity mode with ${flag} "${value}": must be at least ${min}`,
      );
    }
  }
  const logger = deps.logger ?? getLogger([LOG_CATEGORY, "affinity"]);
  const isLeader = deps.isLeader ?? (() => true);
  const metrics = deps.registry ? createMetrics(deps.registry) : undefined;
  let inPlace: { supported: boolean; at: number } | undefined =
    options.inPlace === undefined
      ? undefined
      : { supported: options.inPlace, at: Number.POSITIVE_INFINITY };
  let loggedNamespace: string | undefined;
  let detectedNamespace: string | undefined;
  let driftSeen: AffinityPlan["driftSeen"] = new Map();
  /** Last skip reason evented per PV, so a standing doubt is reported once, not every pass. */
  const evented = new Map<string, string>();

  const pass = async (signal: AbortSignal): Promise<AffinityPassReport> => {
    const snapshot = deps.state.snapshot();
    const now = deps.clock.now();
    // Detected once, from the first LINSTOR data (like
    // linstor-affinity-controller at start, but without crashing when
    // LINSTOR is unreachable then): a namespace must not flip mid-run.
    const propertyNamespace = options.propertyNamespace ||
      detectedNamespace || detectPropertyNamespace(snapshot);
    if (propertyNamespace !== undefined && loggedNamespace === undefined) {
      logger.info("Using LINSTOR property namespace {namespace}{how}", {
        namespace: propertyNamespace,
        how: options.propertyNamespace ? "" : " (detected)",
      });
      loggedNamespace = propertyNamespace;
      if (!options.propertyNamespace) detectedNamespace = propertyNamespace;
    }
    if (
      inPlace !== undefined &&
      now - inPlace.at > AFFINITY_IN_PLACE_PROBE_TTL_MS
    ) {
      inPlace = undefined;
    }
    const plan = planAffinity(snapshot, {
      now,
      clusterIdentity: deps.clusterIdentity,
      inPlaceSupported: inPlace?.supported,
      driftSeen,
      options: {
        // Until LINSTOR was read the planner skips the pass as stale anyway.
        propertyNamespace: propertyNamespace ?? PROPERTY_NAMESPACE_AUX,
        gracePeriodMs,
        maxLinstorAgeMs,
        maxReplacementsPerPass,
        settleMs,
        ...(options.defaultPolicy
          ? { defaultPolicy: options.defaultPolicy }
          : {}),
      },
    });
    driftSeen = plan.driftSeen;
    metrics?.passes.inc();
    metrics?.drifted.set(plan.drifted);
    for (const skip of plan.skips) {
      metrics?.skips.inc({ reason: skip.reason });
      const properties = {
        pv: skip.pvName || "(all)",
        reason: skip.reason,
        detail: skip.detail,
      };
      if (skip.event) {
        logger.warn("Leaving PV {pv} alone ({reason}): {detail}", properties);
      } else {
        logger.debug("Leaving PV {pv} alone ({reason}): {detail}", properties);
      }
    }
    for (const action of plan.actions) {
      logger.info("Planned {name} {key}: {summary}", {
        name: action.kind,
        key: action.key,
        summary: action.summary,
      });
    }
    const operations = plan.actions.map((action) =>
      createAffinityOperation(action, {
        kube: deps.kube,
        linstor: deps.linstor,
        clock: deps.clock,
        clusterIdentity: deps.clusterIdentity,
        logger,
      }, {
        ...(options.afterReplaceStep
          ? { afterStep: options.afterReplaceStep }
          : {}),
        isLeader,
        onInPlaceProbe(supported) {
          if (options.inPlace !== undefined) return; // forced by --in-place
          if (inPlace?.supported !== supported) {
            logger.info(
              "The apiserver {does} in-place PV nodeAffinity changes (MutablePVNodeAffinity)",
              { does: supported ? "allows" : "does not allow" },
            );
          }
          inPlace = { supported, at: deps.clock.now() };
        },
      })
    );
    if (options.dryRun) {
      for (const operation of operations) {
        deps.print?.(
          `dry-run: ${operation.name} ${operation.key}: ${operation.summary}\n`,
        );
      }
    }
    const execution = await executeOperations(operations, {
      signal,
      concurrency: workers,
      dryRun: options.dryRun ?? false,
      isLeader,
      timeoutMs,
      logger,
      ...(deps.operationMetrics ? { metrics: deps.operationMetrics } : {}),
    });
    if (!options.dryRun && isLeader()) {
      await emitSkipEvents(deps.kube, snapshot, plan, evented, logger);
    }
    return { plan, execution, propertyNamespace };
  };

  return {
    name: "affinity",
    pass,
    async run(signal: AbortSignal): Promise<void> {
      const wakeups = new Wakeups();
      const unsubscribe = deps.state.wakeups?.subscribe(() => wakeups.wake());
      try {
        await runLoop(async (passSignal) => {
          await pass(passSignal);
        }, {
          name: "affinity",
          clock: deps.clock,
          signal,
          intervalMs: reconcileRateMs,
          // A pass may run many operations (each bounded by timeoutMs); an
          // aborted pass is safe (records) but wasteful, so be generous.
          passTimeoutMs: timeoutMs * 10,
          wakeups,
          debounceMs: 1_000,
          logger,
          ...(options.onPass ? { onPass: options.onPass } : {}),
        });
      } finally {
        unsubscribe?.();
      }
    },
  };
}

async function emitSkipEvents(
  kube: KubeApi,
  snapshot: Snapshot,
  plan: AffinityPlan,
  evented: Map<string, string>,
  logger: Logger,
): Promise<void> {
  const current = new Map<string, string>();
  for (const skip of plan.skips) {
    if (!skip.event) continue;
    const involved = skipTarget(snapshot, skip);
    if (involved === undefined) continue;
    const key = skip.claim
      ? `pvc/${skip.claim.namespace}/${skip.claim.name}`
      : `pv/${skip.pvName}`;
    current.set(key, skip.reason);
    if (evented.get(key) === skip.reason) continue;
    try {
      await kube.recordEvent(involved, {
        type: "Warning",
        reason: EVENT_REASON_VOLUME_AFFINITY_SKIPPED,
        action: AFFINITY_ACTION_SKIPPED,
        message: `${skip.reason}: ${skip.detail}`,
      });
    } catch (error) {
      logger.warn("Cannot record Event on {key}: {error}", {
        key,
        error: errorMessage(error),
      });
    }
  }
  evented.clear();
  for (const [key, reason] of current) evented.set(key, reason);
}

/** The object a skip's Warning Event goes on: its PVC when it names one, else its PV. */
function skipTarget(
  snapshot: Snapshot,
  skip: AffinitySkip,
): InvolvedObject | undefined {
  if (skip.claim !== undefined) {
    return {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        namespace: skip.claim.namespace,
        name: skip.claim.name,
        uid: skip.claim.uid,
      },
    };
  }
  if (skip.pvName === "") return undefined;
  return snapshot.kube.persistentVolumes.get(skip.pvName);
}

function createMetrics(registry: Registry) {
  return {
    passes: new Counter({
      name: METRIC_AFFINITY_PASSES_TOTAL,
      help: "Planning passes of the affinity mode.",
      registers: [registry],
    }),
    skips: new Counter({
      name: METRIC_AFFINITY_SKIPS_TOTAL,
      help: "PVs left alone, by reason (counted once per pass).",
      labelNames: ["reason"],
      registers: [registry],
    }),
    drifted: new Gauge({
      name: METRIC_AFFINITY_DRIFTED_PVS,
      help: "PVs whose nodeAffinity differed from LINSTOR in the last pass.",
      registers: [registry],
    }),
  };
}
