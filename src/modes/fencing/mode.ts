/**
 * The fencing mode as a `Mode`: a per-node agent (no leader election: every
 * node is its own witness, actions are idempotent), one source (the
 * `drbdsetup events2` stream), readiness false while blind. With
 * `drbdSource: "linstor"` there is no source: the DRBD view is mapped from
 * the snapshot's LINSTOR view in each pass (`linstorDrbdView()`).
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import { Counter, Gauge, type Registry } from "../../observability/mod.ts";
import {
  FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS,
  FENCING_DEFAULT_OPERATIONS_TIMEOUT_MS,
  FENCING_DEFAULT_RECONCILE_INTERVAL_MS,
  LOG_CATEGORY,
  METRIC_FENCING_ACTIONS_TOTAL,
  METRIC_FENCING_DECISIONS,
  METRIC_FENCING_DRBD_SYNCED,
  METRIC_FENCING_DRBDSETUP_STARTS_TOTAL,
  METRIC_FENCING_EVENTS2_LINES_TOTAL,
  METRIC_FENCING_NODE_TAINT_TIMESTAMP_SECONDS,
  MODE_DEFAULT_MAX_LINSTOR_AGE_MS,
  TAINT_LOST_QUORUM,
} from "../../constants.ts";
import type { KubeKind } from "../../kube/mod.ts";
import type { Snapshot } from "../../state/mod.ts";
import type { Mode, ModeSource } from "../../reconcile/mod.ts";
import type { Clock, CommandRunner } from "../../system/mod.ts";
import { DrbdState, type DrbdView } from "./drbd_state.ts";
import { type FencingKube, fencingOperations } from "./_execute.ts";
import {
  emptyFencingMemory,
  type FencingDecision,
  type FencingMemory,
  type FencingPlanOptions,
  planFencing,
} from "./plan.ts";
import { runDrbdSource } from "./source.ts";
import {
  emptyLinstorDrbdMemory,
  type LinstorDrbdMemory,
  linstorDrbdView,
} from "./linstor_drbd.ts";

/** The Kubernetes kinds fencing watches. */
export const FENCING_KINDS: readonly KubeKind[] = Object.freeze([
  "nodes",
  "pods",
  "persistentVolumes",
  "persistentVolumeClaims",
  "volumeAttachments",
]);

/** What the fencing mode needs from the rest of the process. */
export interface FencingModeDeps {
  readonly kube: FencingKube;
  readonly runner: CommandRunner;
  readonly clock: Clock;
  /** Metrics registry (created by the CLI). */
  readonly registry?: Registry;
  /** @default {getLogger(["linstor-suite", "fencing"])} */
  readonly logger?: Logger;
  /** The DRBD state to fill (tests and the demo pass their own). @default {a new one} */
  readonly state?: DrbdState;
}

/** Options of the fencing mode (from flags). */
export interface FencingModeOptions extends FencingPlanOptions {
  /** This node's Kubernetes name (`--node-name`, `NODE_NAME`). */
  nodeName: string;
  /** `--reconcile-interval`: a pass at least this often (ms). @default {10000} */
  reconcileIntervalMs?: number;
  /** `--operations-timeout` (ms). @default {30000} */
  operationsTimeoutMs?: number;
  /** The `drbdsetup` program. @default {"drbdsetup"} */
  drbdsetup?: string;
  /** Wake-up debounce (ms). @default {100} */
  debounceMs?: number;
  /**
   * `--drbd-source`: `drbdsetup` streams events2 on this node; `linstor`
   * (the fallback without `drbdsetup` access) maps the state model's LINSTOR
   * view instead (`linstorDrbdView()`). @default {"drbdsetup"}
   */
  drbdSource?: "drbdsetup" | "linstor";
}

/** The fencing mode's memory: the planner's, plus the LINSTOR mapping's with `--drbd-source=linstor`. */
export interface FencingModeMemory extends FencingMemory {
  readonly linstor?: LinstorDrbdMemory;
}

/** The inputs of a fencing plan. */
export interface FencingInputs {
  /** Absent with `--drbd-source=linstor` (the view then comes from the snapshot). */
  readonly drbd?: DrbdView;
}

function createMetrics(registry: Registry) {
  return {
    lines: new Counter({
      name: METRIC_FENCING_EVENTS2_LINES_TOTAL,
      help: "drbdsetup events2 lines by kind",
      labelNames: ["kind"],
      registers: [registry],
    }),
    starts: new Counter({
      name: METRIC_FENCING_DRBDSETUP_STARTS_TOTAL,
      help: "Starts of drbdsetup events2 (1 + restarts)",
      registers: [registry],
    }),
    synced: new Gauge({
      name: METRIC_FENCING_DRBD_SYNCED,
      help: "1 while the DRBD state is synced, 0 while blind",
      registers: [registry],
    }),
    decisions: new Gauge({
      name: METRIC_FENCING_DECISIONS,
      help: "(resource, peer) pairs with a down connection by outcome",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    actions: new Counter({
      name: METRIC_FENCING_ACTIONS_TOTAL,
      help: "Fencing actions by action and outcome",
      labelNames: ["action", "outcome"],
      registers: [registry],
    }),
    taints: new Gauge({
      name: METRIC_FENCING_NODE_TAINT_TIMESTAMP_SECONDS,
      help:
        "When each node carrying the lost-quorum taint got it (timeAdded, else first seen), in seconds since the epoch",
      labelNames: ["node"],
      registers: [registry],
    }),
  };
}

/**
 * Sets `gauge` to one series per node that carries the lost-quorum taint in
 * `snapshot`: its `timeAdded`, else when `seen` first saw it (updated here).
 */
function recordTaints(
  gauge: Gauge,
  snapshot: Snapshot,
  now: number,
  seen: Map<string, number>,
): void {
  gauge.reset();
  const present = new Set<string>();
  for (const node of snapshot.kube.nodes.values()) {
    const name = node.metadata?.name;
    const taint = node.spec?.taints?.find((t) => t.key === TAINT_LOST_QUORUM);
    if (name === undefined || taint === undefined) continue;
    present.add(name);
    if (!seen.has(name)) seen.set(name, now);
    // The wire object carries an RFC 3339 string, typed as a Date.
    const added = taint.timeAdded === undefined
      ? NaN
      : new Date(taint.timeAdded as Date | string).getTime();
    gauge.set(
      { node: name },
      (Number.isFinite(added) ? added : seen.get(name)!) / 1000,
    );
  }
  for (const name of [...seen.keys()]) {
    if (!present.has(name)) seen.delete(name);
  }
}

function decisionText(decision: FencingDecision): string {
  return `${decision.resource}/${decision.peer}: ${decision.outcome} (${decision.reason})`;
}

/** The `fencing` mode. */
export function createFencingMode(
  deps: FencingModeDeps,
  options: FencingModeOptions,
): Mode<FencingModeMemory, FencingInputs> {
  if (options.nodeName === "") {
    throw new RangeError(
      'Cannot start fencing mode with node name "": set --node-name or NODE_NAME',
    );
  }
  const logger = deps.logger ?? getLogger([LOG_CATEGORY, "fencing"]);
  const state = deps.state ?? new DrbdState();
  const metrics = deps.registry ? createMetrics(deps.registry) : undefined;
  let lastDecisions = new Map<string, string>();
  const taintSeen = new Map<string, number>();
  const drbdSource: ModeSource<DrbdView> = {
    name: "drbd",
    current: () => state.view(),
    async run(signal, wake) {
      // A pass right when a change's fail-over timeout has run out, not only
      // at the next --reconcile-interval: the latest change re-arms it.
      const delayMs = (options.failOverTimeoutMs ??
        FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS) + 100;
      let latestDue: number | undefined;
      let timer: Promise<void> | undefined;
      const armTimer = () => {
        latestDue = deps.clock.now() + delayMs;
        timer ??= (async () => {
          while (latestDue !== undefined && !signal.aborted) {
            const due: number = latestDue;
            try {
              await deps.clock.sleep(due - deps.clock.now(), signal);
            } catch {
              break;
            }
            wake();
            if (latestDue === due) latestDue = undefined;
          }
          timer = undefined;
        })();
      };
      await runDrbdSource({
        runner: deps.runner,
        clock: deps.clock,
        state,
        logger: getLogger([LOG_CATEGORY, "fencing", "drbd"]),
        onChange: () => {
          metrics?.synced.set(state.synced ? 1 : 0);
          wake();
          armTimer();
        },
        onStart: () => metrics?.starts.inc(),
        onLine: (kind) => metrics?.lines.inc({ kind }),
      }, {
        signal,
        ...(options.drbdsetup ? { program: options.drbdsetup } : {}),
      });
      await timer;
    },
    ready: () =>
      state.synced ? { ok: true, detail: "drbdsetup events2 synced" } : {
        ok: false,
        detail:
          "blind: drbdsetup events2 has not completed its initial dump (never fencing while blind)",
      },
  };
  const fromLinstor = options.drbdSource === "linstor";
  return {
    name: "fencing",
    kinds: FENCING_KINDS,
    readsLinstor: fromLinstor,
    maxLinstorAgeMs: MODE_DEFAULT_MAX_LINSTOR_AGE_MS,
    memory: fromLinstor
      ? { ...emptyFencingMemory(), linstor: emptyLinstorDrbdMemory() }
      : emptyFencingMemory(),
    sources: fromLinstor ? {} : { drbd: drbdSource },
    loop: {
      intervalMs: options.reconcileIntervalMs ??
        FENCING_DEFAULT_RECONCILE_INTERVAL_MS,
      passTimeoutMs: options.operationsTimeoutMs ??
        FENCING_DEFAULT_OPERATIONS_TIMEOUT_MS,
      operationTimeoutMs: options.operationsTimeoutMs ??
        FENCING_DEFAULT_OPERATIONS_TIMEOUT_MS,
      workers: 8,
      debounceMs: options.debounceMs ?? 100,
    },
    plan(snapshot, context) {
      const mapped = fromLinstor
        ? linstorDrbdView(
          snapshot,
          context.memory.linstor ?? emptyLinstorDrbdMemory(),
          {
            nodeName: options.nodeName,
            now: context.now,
            maxAgeMs: MODE_DEFAULT_MAX_LINSTOR_AGE_MS,
          },
        )
        : undefined;
      const drbd = mapped?.view ?? context.inputs.drbd ?? state.view();
      const plan = planFencing({ drbd, snapshot }, {
        now: context.now,
        nodeName: options.nodeName,
        memory: context.memory,
        options,
      });
      // Log decisions when they change, not on every pass.
      const current = new Map(
        plan.decisions.map((d) => [`${d.resource}/${d.peer}`, decisionText(d)]),
      );
      for (const [key, text] of current) {
        if (lastDecisions.get(key) !== text) {
          logger.info("Decision {decision}", { decision: text });
        }
      }
      lastDecisions = current;
      if (metrics) {
        metrics.decisions.reset();
        for (const d of plan.decisions) {
          metrics.decisions.inc({ outcome: d.outcome });
        }
        recordTaints(metrics.taints, snapshot, context.now, taintSeen);
      }
      return {
        operations: fencingOperations(plan.actions, {
          kube: deps.kube,
          observe: (action, outcome) =>
            metrics?.actions.inc({ action, outcome }),
        }),
        memory: mapped
          ? { ...plan.memory, linstor: mapped.memory }
          : plan.memory,
      };
    },
  };
}
