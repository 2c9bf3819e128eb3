/**
 * The affinity mode as a `Mode`: every pass plans from the latest Snapshot
 * (on every replica, so each logs what it would do), and the leader
 * executes (`runMode()` runs the loop).
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { Counter, Gauge, type Registry } from "../../observability/mod.ts";
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
} from "../../constants.ts";
import type { InvolvedObject, KubeApi, KubeKind } from "../../kube/mod.ts";
import {
  constantSource,
  createOnceSource,
  type ExecuteReport,
  type Mode,
  type ModePlan,
  type ModeSource,
  type Operation,
  type OperationMetrics,
  passMode,
  type PlanContext,
} from "../../reconcile/mod.ts";
import type { Snapshot } from "../../state/types.ts";
import type { Clock } from "../../system/clock.ts";
import {
  detectPropertyNamespace,
  propertyNamespaceSetting,
} from "../../domain/mod.ts";
import { type AffinityLinstor, createAffinityOperation } from "./_execute.ts";
import type { RemoteAccessPolicy } from "../../csi/mod.ts";
import { type AffinityPlan, type AffinitySkip, planAffinity } from "./plan.ts";

/** Kubernetes kinds the affinity mode reads. */
export const AFFINITY_KINDS: readonly KubeKind[] = Object.freeze([
  "nodes",
  "persistentVolumes",
  "persistentVolumeClaims",
  "storageClasses",
]);

/** Operation name of a skip Warning Event on a PV. */
const SKIP_EVENT_OPERATION = "RecordAffinitySkipEvent";

/** What the affinity mode needs from the rest of the process. */
export interface AffinityModeDeps {
  kube: KubeApi;
  linstor: AffinityLinstor;
  clock: Clock;
  /**
   * This cluster's identity (kube-system namespace UID, or `--cluster-id`).
   * @default {read from the kube-system namespace, retried with backoff}
   */
  clusterIdentity?: string;
  /**
   * Leader gate, checked between replace steps (execution is gated by
   * `runMode()`). @default {() => true}
   */
  isLeader?: () => boolean;
  /** Metrics registry (created by the CLI). */
  registry?: Registry;
  /** Operation metrics, for `pass()`. */
  operationMetrics?: OperationMetrics;
  /** Receives one line per operation in dry-run mode, for `pass()`. */
  print?: (line: string) => void;
  /** The snapshot source of `pass()` (`runMode()` hands snapshots itself). */
  state?: { snapshot(): Snapshot };
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
  /** `--property-namespace`; `""` or `auto` detects it once, from the first LINSTOR data (`detectPropertyNamespace()`). @default {""} */
  propertyNamespace?: string;
  /** `--dry-run` (for `pass()`; `runMode()` takes it from its own options). @default {false} */
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
  /** Test-only: called after each finished replace step; the CLI exits the process there. */
  afterReplaceStep?: (step: number, pvName: string) => void;
}

/** What the affinity mode remembers from one pass to the next. */
export interface AffinityMemory {
  /** Drifts seen so far (for `--settle-time`). */
  readonly driftSeen: AffinityPlan["driftSeen"];
  /** Skip reason last evented per `pv/<name>` or `pvc/<ns>/<name>`: a standing doubt is reported once. */
  readonly evented: ReadonlyMap<string, string>;
  /** The property namespace, decided once from the first LINSTOR data. */
  readonly propertyNamespace: string | undefined;
}

/** The observed inputs of the affinity mode. */
export interface AffinityInputs {
  /** The cluster identity; `undefined` until read. */
  readonly clusterIdentity: string | undefined;
}

/** What one pass did. */
export interface AffinityPassReport {
  readonly plan: AffinityPlan;
  readonly execution: ExecuteReport;
  /** The property namespace used; `undefined` while LINSTOR was never read. */
  readonly propertyNamespace: string | undefined;
}

/** The affinity mode: a `Mode` for `runMode()`, plus `pass()` for tests. */
export interface AffinityMode extends Mode<AffinityMemory, AffinityInputs> {
  readonly name: "affinity";
  /**
   * Runs exactly one pass over `deps.state` with this object's own memory
   * (tests, benchmarks); `runMode()` does not use it.
   */
  pass(signal: AbortSignal): Promise<AffinityPassReport>;
}

/**
 * Creates the affinity mode. `Mode.plan` runs the pure `planAffinity()` and
 * binds its actions to the apiserver and LINSTOR; skip Warning Events are
 * operations too, so dry-run and leader gating apply to them.
 */
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
  // What the in-place probe (an operation) observed of the apiserver.
  let inPlace: { supported: boolean; at: number } | undefined =
    options.inPlace === undefined
      ? undefined
      : { supported: options.inPlace, at: Number.POSITIVE_INFINITY };
  let lastPlan: AffinityPlan | undefined;
  const identitySource: ModeSource<string | undefined> =
    deps.clusterIdentity !== undefined
      ? constantSource("cluster identity", deps.clusterIdentity)
      : createOnceSource("cluster identity", {
        clock: deps.clock,
        logger,
        async read(signal) {
          const namespace = await deps.kube.get({
            kind: "namespaces",
            name: "kube-system",
          }, {
            signal,
          });
          const uid = namespace.metadata?.uid;
          if (!uid) {
            throw new Error(
              'Cannot determine the cluster identity: namespace "kube-system" has no UID (set --cluster-id)',
            );
          }
          return uid;
        },
      });

  const plan = (
    snapshot: Snapshot,
    context: PlanContext<AffinityMemory, AffinityInputs>,
  ): ModePlan<AffinityMemory> => {
    const { now, memory } = context;
    const identity = context.inputs.clusterIdentity;
    // Decided once, from the first LINSTOR data (like
    // linstor-affinity-controller at start, but without crashing when
    // LINSTOR is unreachable then): a namespace must not flip mid-run.
    let propertyNamespace = propertyNamespaceSetting(
      options.propertyNamespace,
    ) ?? memory.propertyNamespace;
    if (propertyNamespace === undefined) {
      propertyNamespace = detectPropertyNamespace(snapshot);
      if (propertyNamespace !== undefined) {
        logger.info("Using LINSTOR property namespace {namespace} (detected)", {
          namespace: propertyNamespace,
        });
      }
    }
    if (identity === undefined) {
      // Not ready (the identity source says why); records cannot be
      // checked without it, so nothing is planned.
      return { operations: [], memory: { ...memory, propertyNamespace } };
    }
    if (
      inPlace !== undefined &&
      now - inPlace.at > AFFINITY_IN_PLACE_PROBE_TTL_MS
    ) {
      inPlace = undefined;
    }
    const planned = planAffinity(snapshot, {
      now,
      clusterIdentity: identity,
      inPlaceSupported: inPlace?.supported,
      driftSeen: memory.driftSeen,
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
    lastPlan = planned;
    metrics?.passes.inc();
    metrics?.drifted.set(planned.drifted);
    const evented = new Map<string, string>();
    const operations: Operation[] = [];
    for (const skip of planned.skips) {
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
      if (!skip.event) continue;
      const involved = skipTarget(snapshot, skip);
      if (involved === undefined) continue;
      const target = skip.claim
        ? `pvc/${skip.claim.namespace}/${skip.claim.name}`
        : `pv/${skip.pvName}`;
      evented.set(target, skip.reason);
      if (memory.evented.get(target) === skip.reason) continue;
      operations.push(skipEventOperation(deps.kube, involved, target, skip));
    }
    for (const action of planned.actions) {
      logger.info("Planned {name} {key}: {summary}", {
        name: action.kind,
        key: action.key,
        summary: action.summary,
      });
      operations.push(createAffinityOperation(action, {
        kube: deps.kube,
        linstor: deps.linstor,
        clock: deps.clock,
        clusterIdentity: identity,
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
      }));
    }
    operations.sort((a, b) => compareKeys(a.key, b.key));
    return {
      operations,
      memory: { driftSeen: planned.driftSeen, evented, propertyNamespace },
    };
  };

  const mode: AffinityMode = {
    name: "affinity",
    kinds: AFFINITY_KINDS,
    maxLinstorAgeMs,
    memory: {
      driftSeen: new Map(),
      evented: new Map(),
      propertyNamespace: undefined,
    },
    sources: { clusterIdentity: identitySource },
    loop: {
      intervalMs: reconcileRateMs,
      // A pass may run many operations (each bounded by timeoutMs); an
      // aborted pass is safe (records) but wasteful, so be generous.
      passTimeoutMs: timeoutMs * 10,
      workers,
      operationTimeoutMs: timeoutMs,
      debounceMs: 1_000,
    },
    plan,
    settle(memory, report) {
      // An Event not sent (dry-run, not the leader, failed) is sent by a
      // later pass.
      const unsent = [
        ...report.skipped.map((s) => s.operation),
        ...report.failed.map((f) => f.operation),
      ].filter((operation) => operation.name === SKIP_EVENT_OPERATION);
      if (unsent.length === 0) return memory;
      const evented = new Map(memory.evented);
      for (const operation of unsent) {
        evented.delete(operation.key.slice(0, -"/event".length));
      }
      return { ...memory, evented };
    },
    async pass(signal: AbortSignal): Promise<AffinityPassReport> {
      if (deps.state === undefined) {
        throw new TypeError(
          "Cannot run an affinity pass: no state given (runMode() runs the mode)",
        );
      }
      const report = await passMode(mode, {
        snapshot: deps.state.snapshot(),
        now: deps.clock.now(),
        memory: passMemory,
        inputs: { clusterIdentity: identitySource.current() },
      }, {
        signal,
        dryRun: options.dryRun ?? false,
        isLeader,
        logger,
        ...(deps.print ? { print: deps.print } : {}),
        ...(deps.operationMetrics ? { metrics: deps.operationMetrics } : {}),
      });
      passMemory = report.memory;
      return {
        plan: lastPlan!,
        execution: report.execution,
        propertyNamespace: report.memory.propertyNamespace,
      };
    },
  };
  let passMemory = mode.memory;
  return mode;
}

/** Byte-wise key order (operations are sorted by key). */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A Warning Event on the PV (or PVC) the mode leaves alone, as an operation. */
function skipEventOperation(
  kube: KubeApi,
  involved: InvolvedObject,
  target: string,
  skip: AffinitySkip,
): Operation {
  return {
    name: SKIP_EVENT_OPERATION,
    key: `${target}/event`,
    summary:
      `record Warning ${EVENT_REASON_VOLUME_AFFINITY_SKIPPED} on ${target}: ${skip.reason}`,
    execute(): Promise<void> {
      return kube.recordEvent(involved, {
        type: "Warning",
        reason: EVENT_REASON_VOLUME_AFFINITY_SKIPPED,
        action: AFFINITY_ACTION_SKIPPED,
        message: `${skip.reason}: ${skip.detail}`,
      });
    },
  };
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
