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
import { isNotFound } from "../../linstor/mod.ts";
import { Counter, Gauge, type Registry } from "../../observability/mod.ts";
import {
  errorMessage,
  executeOperations,
  type ExecuteReport,
  type OperationMetrics,
} from "../../reconcile/mod.ts";
import type { Clock, CommandRunner } from "../../system/mod.ts";
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
  type NodeView,
  planPools,
  planStorageClasses,
  type PoolPlan,
  type PoolPlanOptions,
  type StorageClassPlan,
  type StorageClassPlanOptions,
} from "./plan.ts";
import { scanLvm } from "./scan.ts";

/** Metrics of the agent (prom-client, in the registry the CLI made). */
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
        "Pool names this node cannot register (kind: tag, linstor) and invalid tags (kind: invalid).",
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

  /** Records a pass. */
  pass(
    node: string,
    plan: PoolPlan,
    scan: { ok: boolean; complete?: boolean; at: number },
  ): void {
    this.#scans.inc({
      node,
      outcome: !scan.ok ? "failed" : scan.complete ? "ok" : "incomplete",
    });
    if (!scan.ok) return;
    this.#lastScan.set({ node }, scan.at / 1000);
    this.#candidates.set({ node }, plan.candidates.candidates.size);
    this.#free.reset();
    this.#size.reset();
    for (const candidate of plan.candidates.candidates.values()) {
      const labels = { node, pool: candidate.pool, kind: candidate.kind };
      this.#free.set(labels, candidate.capacity.freeBytes);
      this.#size.set(labels, candidate.capacity.sizeBytes);
    }
    this.#conflicts.set(
      { node, kind: "tag" },
      plan.candidates.conflicts.length,
    );
    this.#conflicts.set(
      { node, kind: "linstor" },
      plan.pools.filter((p) => p.state === "conflict" && p.candidate).length,
    );
    this.#conflicts.set(
      { node, kind: "invalid" },
      plan.candidates.invalid.length,
    );
  }
}

/** What the pool pass needs. */
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

/** The per-node pool pass, with its memory between passes. */
export class NodeAgent {
  readonly #deps: NodeAgentDeps;
  readonly #options: NodeAgentOptions;
  #memory: AgentMemory = EMPTY_MEMORY;
  #retryAfter = new Map<string, number>();

  /** Creates the agent of `options.node`. */
  constructor(deps: NodeAgentDeps, options: NodeAgentOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  /** The memory carried into the next pass (for tests and status). */
  get memory(): AgentMemory {
    return this.#memory;
  }

  /** Scans LVM, reads LINSTOR, plans and executes (unless dry-run). */
  async pass(signal: AbortSignal): Promise<PoolPassResult> {
    const { runner, linstor, clock, logger, metrics } = this.#deps;
    const { node } = this.#options;
    let lvmCalls = 0;
    const scan = await scanLvm(runner, {
      ...this.#lvmOptions(),
      signal,
      onCall: () => {
        lvmCalls++;
        metrics?.lvmCall(node);
      },
    });
    if (!scan.ok) {
      logger?.warn("LVM scan failed; nothing is deleted: {error}", {
        error: scan.error,
      });
    } else if (scan.warnings.length > 0) {
      logger?.debug("lvm warnings: {warnings}", {
        warnings: scan.warnings.join(" | "),
      });
    }
    const view = await readNode(linstor, { node, signal });
    if (!view.ok) {
      logger?.warn("Cannot read LINSTOR node {node}: {error}", {
        node,
        error: view.error,
      });
    }
    const now = clock.now();
    const plan = planPools({ node, scan, linstor: view }, {
      now,
      memory: this.#memory,
      options: this.#options,
    });
    const actions = plan.actions.filter((action) =>
      action.type !== "CreatePool" ||
      (this.#retryAfter.get(action.candidate.pool) ?? 0) <= now
    );
    for (const status of plan.pools) {
      if (status.state !== "ready") {
        logger?.info("Pool {pool}: {state}: {detail}", { ...status });
      }
    }
    const operations = poolOperations(actions, {
      linstor,
      events: this.#deps.events,
    });
    const report = await executeOperations(operations, {
      signal,
      concurrency: 1,
      dryRun: this.#options.dryRun ?? false,
      ...(logger ? { logger } : {}),
      ...(this.#deps.operationMetrics
        ? { metrics: this.#deps.operationMetrics }
        : {}),
    });
    for (const { operation } of report.failed) {
      if (operation.name === "CreateStoragePool") {
        this.#retryAfter.set(
          operation.key.split("/").at(-1)!,
          now + (this.#options.createRetryMs ?? AGENT_CREATE_RETRY_MS),
        );
      }
    }
    for (const operation of report.executed) {
      this.#retryAfter.delete(operation.key.split("/").at(-1)!);
    }
    this.#memory = plan.memory;
    metrics?.pass(node, plan, {
      ok: scan.ok,
      ...(scan.ok ? { complete: scan.complete } : {}),
      at: now,
    });
    return { plan, report, lvmCalls };
  }

  #lvmOptions(): LvmCommandOptions {
    const o = this.#options;
    return {
      ...(o.hostLvm !== undefined ? { hostLvm: o.hostLvm } : {}),
      ...(o.lvmPath !== undefined ? { lvmPath: o.lvmPath } : {}),
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    };
  }
}

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
