/**
 * The agent's passes: the per-node pool pass (every agent, for its own
 * node) and the StorageClass pass (the leader only).
 *
 * @module
 */
import type { Logger } from "@logtape/logtape";
import {
  AGENT_CREATE_RETRY_MS,
  METRIC_AGENT_CANDIDATES,
  METRIC_AGENT_CONFLICTS,
  METRIC_AGENT_LAST_SCAN_SECONDS,
  METRIC_AGENT_LVM_CALLS_TOTAL,
  METRIC_AGENT_POOL_FREE_BYTES,
  METRIC_AGENT_POOL_SIZE_BYTES,
  METRIC_AGENT_SCANS_TOTAL,
} from "../../constants.ts";
import { isNotFound, type StoragePool } from "../../linstor/mod.ts";
import { Counter, Gauge, type Registry } from "../../observability/mod.ts";
import {
  errorMessage,
  executeOperations,
  type ExecuteReport,
  type Mode,
  type ModeSource,
  type Operation,
  type OperationMetrics,
  passMode,
} from "../../reconcile/mod.ts";
import { emptyLinstorView } from "../../state/mod.ts";
import type { Snapshot } from "../../state/types.ts";
import type { Clock, CommandRunner } from "../../system/mod.ts";
import { type CandidateSet, findCandidates } from "./_candidates.ts";
import type { LvmCommandOptions } from "./_lvm.ts";
import {
  type AgentKube,
  type AgentLinstor,
  type NodeEvents,
  poolOperations,
  storageClassOperations,
} from "./_operations.ts";
import {
  type AgentMemory,
  EMPTY_MEMORY,
  hasPoolErrors,
  type LvmScan,
  type NodeView,
  planPools,
  planStorageClasses,
  type PoolPlan,
  type PoolPlanOptions,
  type StorageClassPlan,
  type StorageClassPlanOptions,
} from "./plan.ts";
import { scanLvm } from "./scan.ts";

/** Metrics of the agent (in the registry the CLI made). */
export class AgentMetrics {
  readonly #free: Gauge;
  readonly #size: Gauge;
  readonly #scans: Counter;
  readonly #calls: Counter;
  readonly #candidates: Gauge;
  readonly #conflicts: Gauge;
  readonly #lastScan: Gauge;

  /** Registers the agent's metrics in `registry`. */
  constructor(registry: Registry) {
    const registers = [registry];
    this.#free = new Gauge({
      name: METRIC_AGENT_POOL_FREE_BYTES,
      help:
        "Free bytes of a tagged pool as the agent computes them (thick: VG free minus spare; thin: min(physical, ratio x size - thin volumes)).",
      labelNames: ["node", "pool", "kind"],
      registers,
    });
    this.#size = new Gauge({
      name: METRIC_AGENT_POOL_SIZE_BYTES,
      help: "Size in bytes of a tagged pool (VG or thin pool).",
      labelNames: ["node", "pool", "kind"],
      registers,
    });
    this.#scans = new Counter({
      name: METRIC_AGENT_SCANS_TOTAL,
      help: "LVM scans by outcome (ok, incomplete, failed).",
      labelNames: ["node", "outcome"],
      registers,
    });
    this.#calls = new Counter({
      name: METRIC_AGENT_LVM_CALLS_TOTAL,
      help: "lvm invocations.",
      labelNames: ["node"],
      registers,
    });
    this.#candidates = new Gauge({
      name: METRIC_AGENT_CANDIDATES,
      help: "Tagged VGs and thin pools of the last good scan.",
      labelNames: ["node"],
      registers,
    });
    this.#conflicts = new Gauge({
      name: METRIC_AGENT_CONFLICTS,
      help:
        "Pool names claimed by several objects on this node (kind: tag) and invalid tags (kind: invalid).",
      labelNames: ["node", "kind"],
      registers,
    });
    this.#lastScan = new Gauge({
      name: METRIC_AGENT_LAST_SCAN_SECONDS,
      help: "Time of the last good LVM scan (seconds since the epoch).",
      labelNames: ["node"],
      registers,
    });
  }

  /** Counts one `lvm` call. */
  lvmCall(node: string): void {
    this.#calls.inc({ node });
  }

  /** Records one observation (scan outcome, capacity, candidates, conflicts). */
  observe(
    node: string,
    observation: { scan: LvmScan; at: number; candidates?: CandidateSet },
  ): void {
    const { scan, candidates } = observation;
    this.#scans.inc({
      node,
      outcome: !scan.ok ? "failed" : scan.complete ? "ok" : "incomplete",
    });
    if (!scan.ok || !candidates) return;
    this.#lastScan.set({ node }, observation.at / 1000);
    this.#candidates.set({ node }, candidates.candidates.size);
    this.#free.reset();
    this.#size.reset();
    for (const candidate of candidates.candidates.values()) {
      const labels = { node, pool: candidate.pool, kind: candidate.kind };
      this.#free.set(labels, candidate.capacity.freeBytes);
      this.#size.set(labels, candidate.capacity.sizeBytes);
    }
    this.#conflicts.set({ node, kind: "tag" }, candidates.conflicts.length);
    this.#conflicts.set({ node, kind: "invalid" }, candidates.invalid.length);
  }
}

/** One observation of this node: its LVM scan and what LINSTOR says about it. */
export interface NodeObservation {
  readonly scan: LvmScan;
  readonly linstor: NodeView;
  /** When the observation finished (ms). */
  readonly observedAt: number;
  /** `lvm` calls it took. */
  readonly lvmCalls: number;
}

/** Scans LVM, then reads the node from LINSTOR. Never throws except on abort. */
export async function observeNode(
  deps: {
    runner: CommandRunner;
    linstor: AgentLinstor;
    clock: Clock;
    metrics?: AgentMetrics | undefined;
  },
  options: LvmCommandOptions & { node: string; signal: AbortSignal },
): Promise<NodeObservation> {
  const { node, signal } = options;
  let lvmCalls = 0;
  const scan = await scanLvm(deps.runner, {
    ...lvmOptions(options),
    signal,
    onCall: () => {
      lvmCalls++;
      deps.metrics?.lvmCall(node);
    },
  });
  const linstor = await readNode(deps.linstor, { node, signal });
  return { scan, linstor, observedAt: deps.clock.now(), lvmCalls };
}

function lvmOptions(o: LvmCommandOptions): LvmCommandOptions {
  return {
    ...(o.hostLvm !== undefined ? { hostLvm: o.hostLvm } : {}),
    ...(o.lvmPath !== undefined ? { lvmPath: o.lvmPath } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  };
}

/** What the agent mode needs. */
export interface AgentModeDeps {
  readonly runner: CommandRunner;
  readonly linstor: AgentLinstor;
  readonly events: NodeEvents;
  readonly kube: AgentKube;
  readonly clock: Clock;
  /** Whether this replica leads (the all-pools source polls only then). */
  readonly isLeader: () => boolean;
  readonly logger?: Logger;
  readonly metrics?: AgentMetrics;
}

/** Options of the agent mode. */
export interface AgentModeOptions
  extends PoolPlanOptions, LvmCommandOptions, StorageClassPlanOptions {
  /** This node's name in LINSTOR (and Kubernetes). */
  node: string;
  /** Time between two scans (ms). */
  scanIntervalMs: number;
  /** Manage StorageClasses (leader only). @default {true} */
  storageClasses?: boolean;
  /** A failed create is retried after this long (ms). @default {AGENT_CREATE_RETRY_MS} */
  createRetryMs?: number;
}

/** The agent's memory between passes. */
export interface AgentModeMemory {
  /** The pool planner's memory. */
  readonly pools: AgentMemory;
  /** Pool → no create before this time (ms) after a failed create. */
  readonly retryAfter: Readonly<Record<string, number>>;
  /** Pool → observation time of the pass that created or deleted it: not again until a newer observation. */
  readonly acted: Readonly<Record<string, number>>;
  /** Time and observation time of the last plan (for `settle`). */
  readonly now: number;
  readonly observedAt: number;
}

/** The agent's observed inputs. */
export interface AgentInputs {
  /** This node (undefined before the first scan). */
  readonly node: NodeObservation | undefined;
  /** Every pool in LINSTOR, polled by the leader only (undefined otherwise). */
  readonly pools: readonly StoragePool[] | undefined;
}

/**
 * The agent mode: a source scans LVM and reads this node from LINSTOR every
 * `scanIntervalMs` (waking the loop when anything changed); the plan creates
 * and deletes this node's pools (every replica, for itself) and, on the
 * leader, syncs the StorageClasses from a second source polling every pool.
 */
export function createAgentMode(
  deps: AgentModeDeps,
  options: AgentModeOptions,
): Mode<AgentModeMemory, AgentInputs> {
  const manageClasses = options.storageClasses ?? true;
  const nodeSource = createNodeSource(deps, options);
  const poolSource = createPoolSource(deps, options);
  return {
    name: "agent",
    kinds: manageClasses ? ["storageClasses"] : [],
    readsLinstor: false,
    memory: {
      pools: EMPTY_MEMORY,
      retryAfter: {},
      acted: {},
      now: 0,
      observedAt: 0,
    },
    sources: { node: nodeSource, pools: poolSource },
    loop: {
      intervalMs: options.scanIntervalMs,
      passTimeoutMs: Math.max(60_000, 4 * options.scanIntervalMs),
      workers: 1,
      debounceMs: 200,
    },
    plan(snapshot, { now, memory, inputs }) {
      const observation = inputs.node;
      if (!observation) return { operations: [], memory };
      const plan = planPools({
        node: options.node,
        scan: observation.scan,
        linstor: observation.linstor,
      }, { now, memory: memory.pools, options });
      const acted: Record<string, number> = {};
      for (const [pool, at] of Object.entries(memory.acted)) {
        if (at >= observation.observedAt) acted[pool] = at;
      }
      const actions = plan.actions.filter((action) => {
        if (action.type === "NodeEvent") return true;
        const pool = action.type === "CreatePool"
          ? action.candidate.pool
          : action.pool;
        if (acted[pool] !== undefined) return false;
        return action.type !== "CreatePool" ||
          (memory.retryAfter[pool] ?? 0) <= now;
      });
      const operations: Operation[] = poolOperations(actions, {
        linstor: deps.linstor,
        events: deps.events,
      }).map((operation) => ({ ...operation, leaderOnly: false }));
      if (
        manageClasses && inputs.pools !== undefined &&
        snapshot.kube.synced.has("storageClasses")
      ) {
        const classes = planStorageClasses({
          pools: inputs.pools,
          storageClasses: [...snapshot.kube.storageClasses.values()],
        }, options);
        operations.push(
          ...storageClassOperations(classes.actions, { kube: deps.kube }),
        );
      }
      return {
        operations,
        memory: {
          pools: plan.memory,
          retryAfter: memory.retryAfter,
          acted,
          now,
          observedAt: observation.observedAt,
        },
      };
    },
    settle(memory, report) {
      const retryAfter = { ...memory.retryAfter };
      const acted = { ...memory.acted };
      const reported = { ...memory.pools.reported };
      const poolOf = (key: string) => key.split("/").at(-1)!;
      for (const { operation } of report.failed) {
        if (operation.name === "CreateStoragePool") {
          retryAfter[poolOf(operation.key)] = memory.now +
            (options.createRetryMs ?? AGENT_CREATE_RETRY_MS);
        }
        if (operation.name === "RecordNodeEvent") {
          // Not recorded: try again next pass.
          delete reported[operation.key.split("/").slice(2).join("/")];
        }
      }
      for (const operation of report.executed) {
        if (
          operation.name === "CreateStoragePool" ||
          operation.name === "DeleteStoragePool" ||
          operation.name === "PublishPoolCapacity"
        ) {
          acted[poolOf(operation.key)] = memory.observedAt;
          delete retryAfter[poolOf(operation.key)];
        }
      }
      return {
        ...memory,
        retryAfter,
        acted,
        pools: { ...memory.pools, reported },
      };
    },
    ready(_snapshot, { inputs }) {
      const observation = inputs.node;
      if (!observation) return { ok: false, detail: "no LVM scan yet" };
      if (!observation.scan.ok) {
        return {
          ok: false,
          detail: `the last LVM scan failed: ${observation.scan.error}`,
        };
      }
      return { ok: true, detail: "scanning" };
    },
  };
}

/** The source of this node's observations. */
function createNodeSource(
  deps: AgentModeDeps,
  options: AgentModeOptions,
): ModeSource<NodeObservation | undefined> {
  let current: NodeObservation | undefined;
  let fingerprint = "";
  return {
    name: "lvm",
    current: () => current,
    async run(signal, wake) {
      while (!signal.aborted) {
        let observation: NodeObservation;
        try {
          observation = await observeNode(deps, { ...options, signal });
        } catch {
          return; // aborted
        }
        const next = JSON.stringify([
          observation.scan.ok ? observation.scan.report : observation.scan,
          observation.linstor,
        ]);
        current = observation;
        logObservation(deps, options, observation, next !== fingerprint);
        if (next !== fingerprint) {
          fingerprint = next;
          wake();
        }
        try {
          await deps.clock.sleep(options.scanIntervalMs, signal);
        } catch {
          return;
        }
      }
    },
    ready: () =>
      current === undefined
        ? { ok: false, detail: "no LVM scan yet" }
        : { ok: true, detail: "scanned" },
  };
}

function logObservation(
  deps: AgentModeDeps,
  options: AgentModeOptions,
  observation: NodeObservation,
  changed: boolean,
): void {
  const { logger, metrics } = deps;
  const { scan, linstor } = observation;
  if (!scan.ok) {
    logger?.warn("LVM scan failed; nothing is deleted: {error}", {
      error: scan.error,
    });
  }
  if (!linstor.ok) {
    logger?.warn("Cannot read LINSTOR node {node}: {error}", {
      node: options.node,
      error: linstor.error,
    });
  }
  const found = scan.ok ? findCandidates(scan.report, options) : undefined;
  if (metrics) {
    metrics.observe(options.node, {
      scan,
      at: observation.observedAt,
      ...(found ? { candidates: found } : {}),
    });
  }
  if (!changed || !found) return;
  logger?.info(
    "Scan: {candidates} candidate(s) [{names}], {conflicts} conflict(s), {invalid} invalid tag(s)",
    {
      candidates: found.candidates.size,
      names: [...found.candidates.keys()].sort().join(", "),
      conflicts: found.conflicts.length,
      invalid: found.invalid.length,
    },
  );
  for (const conflict of found.conflicts) {
    logger?.warn("Conflict on pool {pool}: {reason}", { ...conflict });
  }
}

/** The leader's source of every pool (LINSTOR's cached view). */
function createPoolSource(
  deps: AgentModeDeps,
  options: AgentModeOptions,
): ModeSource<readonly StoragePool[] | undefined> {
  let current: readonly StoragePool[] | undefined;
  let fingerprint = "";
  return {
    name: "storage-pools",
    current: () => current,
    async run(signal, wake) {
      if (options.storageClasses === false) return;
      while (!signal.aborted) {
        if (deps.isLeader()) {
          try {
            const pools = await deps.linstor.storagePools.view({
              cached: true,
              signal,
            });
            const next = JSON.stringify(
              pools.map((p) => [
                p.node_name,
                p.storage_pool_name,
                p.props,
                hasPoolErrors(p),
              ]),
            );
            current = pools;
            if (next !== fingerprint) {
              fingerprint = next;
              wake();
            }
          } catch (error) {
            if (signal.aborted) return;
            deps.logger?.warn("Cannot list storage pools: {error}", {
              error: errorMessage(error),
            });
          }
        } else {
          current = undefined;
          fingerprint = "";
        }
        try {
          await deps.clock.sleep(options.scanIntervalMs, signal);
        } catch {
          return;
        }
      }
    },
  };
}

/** What the pool pass needs (tests, demo, benchmark). */
export interface NodeAgentDeps {
  readonly runner: CommandRunner;
  readonly linstor: AgentLinstor;
  readonly events: NodeEvents;
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly metrics?: AgentMetrics;
  readonly operationMetrics?: OperationMetrics;
}

/** Options of the pool pass. */
export interface NodeAgentOptions extends PoolPlanOptions, LvmCommandOptions {
  /** This node's name in LINSTOR (and Kubernetes). */
  node: string;
  /** Plan and log; change nothing. @default {false} */
  dryRun?: boolean;
  /** A failed create is retried after this long (ms). @default {AGENT_CREATE_RETRY_MS} */
  createRetryMs?: number;
}

/** The outcome of one pool pass. */
export interface PoolPassResult {
  readonly plan: PoolPlan;
  readonly report: ExecuteReport;
  /** `lvm` calls of this pass. */
  readonly lvmCalls: number;
}

/**
 * The pool part of the agent mode, one pass at a time, without StorageClasses
 * or Kubernetes watches: observe, plan, execute, settle (the same
 * `createAgentMode()` plan). For tests, the demo and the benchmark.
 */
export class NodeAgent {
  readonly #deps: NodeAgentDeps;
  readonly #options: NodeAgentOptions;
  readonly #mode: Mode<AgentModeMemory, AgentInputs>;
  #memory: AgentModeMemory;

  /** Creates the agent of `options.node`. */
  constructor(deps: NodeAgentDeps, options: NodeAgentOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#mode = createAgentMode({
      ...deps,
      kube: NO_KUBE,
      isLeader: () => false,
    }, { ...options, scanIntervalMs: 1, storageClasses: false });
    this.#memory = this.#mode.memory;
  }

  /** The pool planner's memory carried into the next pass. */
  get memory(): AgentMemory {
    return this.#memory.pools;
  }

  /** Scans LVM, reads LINSTOR, plans and executes (unless dry-run). */
  async pass(signal: AbortSignal): Promise<PoolPassResult> {
    const { clock } = this.#deps;
    const observation = await observeNode(this.#deps, {
      ...this.#options,
      signal,
    });
    const now = clock.now();
    const plan = planPools({
      node: this.#options.node,
      scan: observation.scan,
      linstor: observation.linstor,
    }, { now, memory: this.#memory.pools, options: this.#options });
    const report = await passMode(this.#mode, {
      snapshot: NO_SNAPSHOT,
      now,
      memory: this.#memory,
      inputs: { node: observation, pools: undefined },
    }, {
      signal,
      dryRun: this.#options.dryRun ?? false,
      ...(this.#deps.logger ? { logger: this.#deps.logger } : {}),
      ...(this.#deps.operationMetrics
        ? { metrics: this.#deps.operationMetrics }
        : {}),
    });
    this.#memory = report.memory;
    return { plan, report: report.execution, lvmCalls: observation.lvmCalls };
  }
}

const EMPTY_MAP = new Map<string, never>();
const NO_SNAPSHOT: Snapshot = {
  version: 0,
  takenAt: 0,
  linstor: emptyLinstorView(),
  kube: {
    subscribed: new Set(),
    synced: new Set(),
    nodes: EMPTY_MAP,
    pods: EMPTY_MAP,
    persistentVolumes: EMPTY_MAP,
    persistentVolumeClaims: EMPTY_MAP,
    storageClasses: EMPTY_MAP,
    volumeAttachments: EMPTY_MAP,
    pvsByResource: EMPTY_MAP,
    podsByClaim: EMPTY_MAP,
    podsByNode: EMPTY_MAP,
    claimsWithSelectedNode: EMPTY_MAP,
  },
};

const NO_KUBE: AgentKube = {
  create: () => Promise.reject(new Error("no Kubernetes")),
  delete: () => Promise.reject(new Error("no Kubernetes")),
  list: () => Promise.reject(new Error("no Kubernetes")),
};

/** Reads this node's connection status and storage pools. */
export async function readNode(
  linstor: AgentLinstor,
  options: { node: string; signal?: AbortSignal },
): Promise<NodeView> {
  const call = options.signal ? { signal: options.signal } : {};
  try {
    let connectionStatus: string | undefined;
    try {
      const node = await linstor.nodes.get(options.node, call);
      connectionStatus = node.connection_status ?? "UNKNOWN";
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return { ok: true, connectionStatus: undefined, pools: [] };
    }
    const pools = await linstor.storagePools.list(options.node, {
      cached: true,
      ...call,
    });
    return { ok: true, connectionStatus, pools };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { ok: false, error: errorMessage(error) };
  }
}

/** What the StorageClass pass needs. */
export interface StorageClassSyncDeps {
  readonly linstor: AgentLinstor;
  readonly kube: AgentKube;
  readonly logger?: Logger;
  readonly operationMetrics?: OperationMetrics;
}

/** Options of the StorageClass pass. */
export interface StorageClassSyncOptions extends StorageClassPlanOptions {
  /** @default {false} */
  dryRun?: boolean;
}

/**
 * The StorageClass pass: reads every pool (LINSTOR's cached view) and the
 * StorageClasses, plans and executes. The CLI runs it only while holding
 * the Lease, so one agent of the DaemonSet acts.
 */
export async function syncStorageClasses(
  deps: StorageClassSyncDeps,
  options: StorageClassSyncOptions & { signal: AbortSignal },
): Promise<{ plan: StorageClassPlan; report: ExecuteReport }> {
  const { linstor, kube, logger } = deps;
  const { signal } = options;
  const [pools, classes] = await Promise.all([
    linstor.storagePools.view({ cached: true, signal }),
    kube.list("storageClasses", { signal }),
  ]);
  const plan = planStorageClasses(
    { pools, storageClasses: classes.items },
    options,
  );
  for (const name of plan.foreign) {
    logger?.warn(
      "StorageClass {name} exists without the agent's label: left alone",
      { name },
    );
  }
  const report = await executeOperations(
    storageClassOperations(plan.actions, { kube }),
    {
      signal,
      concurrency: 1,
      dryRun: options.dryRun ?? false,
      ...(logger ? { logger } : {}),
      ...(deps.operationMetrics ? { metrics: deps.operationMetrics } : {}),
    },
  );
  return { plan, report };
}
