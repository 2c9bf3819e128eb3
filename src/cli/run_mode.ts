/**
 * `runMode()`: the wiring every long-running mode shares, done once. State
 * model, LINSTOR client, leader election (gating execution only), the loop,
 * dry-run, `/healthz` `/readyz` `/metrics` by one readiness rule, extra
 * observed inputs, and graceful shutdown on SIGTERM/SIGINT. See
 * `docs/adding_a_mode.md`.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import {
  LOG_CATEGORY,
  METRIC_PREFIX,
  MODE_DEFAULT_MAX_LINSTOR_AGE_MS,
} from "../constants.ts";
import { type KubeApi, startLeaderElection } from "../kube/mod.ts";
import type { LinstorClient } from "../linstor/mod.ts";
import {
  type CheckResult,
  createHealthRoutes,
  createLeaderMetric,
  createLoopMetrics,
  createOperationMetrics,
  createRegistry,
  type HealthChecks,
  LoopLiveness,
  registerProcessMetrics,
  type Registry,
} from "../observability/mod.ts";
import {
  errorMessage,
  type Mode,
  modeReadiness,
  type ModeSource,
  passMode,
  runLoop,
  Wakeups,
} from "../reconcile/mod.ts";
import { createLinstorReader, startClusterState } from "../state/mod.ts";
import { type Clock, processStats, SYSTEM_CLOCK } from "../system/mod.ts";
import type { CommandContext, Write } from "./command.ts";
import {
  kubeApiFrom,
  linstorClientFrom,
  serveHealth,
  setupLogging,
} from "./common.ts";
export { leaderElectionFlags } from "./common_flags.ts";

/** File with the service account's namespace (in-cluster fallback of the lease namespace). */
const SERVICE_ACCOUNT_NAMESPACE_FILE =
  "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** What `runMode()` needs from the outside world (tests swap it). */
export interface ModeWiring {
  /** The Kubernetes API (`--kubeconfig`, `KUBECONFIG`, in-cluster). */
  createKube(
    context: CommandContext,
    options: { reportingInstance: string },
  ): Promise<KubeApi>;
  /** Host name, the default leader-election identity. */
  hostname(): string;
  /** Time source. @default {SYSTEM_CLOCK} */
  clock?: Clock;
  /** Called once the mode runs with every metric registered (tests read the registry). */
  onRunning?(environment: ModeEnvironment): void;
}

/** The production wiring: kubeconfig from `--kubeconfig`/`KUBECONFIG`/in-cluster, the host's name. */
export const MODE_WIRING: ModeWiring = Object.freeze({
  createKube(
    context: CommandContext,
    options: { reportingInstance: string },
  ) {
    return Promise.resolve(kubeApiFrom(context, options));
  },
  hostname(): string {
    return Deno.hostname();
  },
});

/** What a mode factory receives from `runMode()`. */
export interface ModeEnvironment {
  readonly kube: KubeApi;
  readonly linstor: LinstorClient;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Whether this replica leads (always `true` without leader election). */
  readonly isLeader: () => boolean;
  /** Standard output (dry-run lines). */
  readonly print: Write;
}

/** Options of `runMode()`. */
export interface RunModeOptions<Memory, Inputs extends object> {
  /** The mode name (log category, metric prefix, registry label). */
  name: string;
  /** Builds the mode; called once, synchronously (no start-up I/O: read values through sources). */
  create(environment: ModeEnvironment): Mode<Memory, Inputs>;
  /** The outside world. */
  wiring: ModeWiring;
  /** The mode has leader-only operations: campaign for a Lease (flags from `leaderElectionFlags()`). */
  leaderElection?: boolean;
  /** Plan and print; execute nothing. @default {false} */
  dryRun?: boolean;
  /** Relist every watched kind this often (ms) (`--resync-rate`). @default {no relist} */
  relistIntervalMs?: number;
  /** Also serve the health routes on these addresses (`--metrics-address`). */
  extraHealthAddresses?: readonly string[];
  /** Give request handlers the event loop during a large LINSTOR rebuild (the extender). @default {false} */
  cooperative?: boolean;
  /** Called once everything started (the log line of the mode). */
  onStarted?(environment: ModeEnvironment): void;
}

/**
 * Runs `options.create()`'s mode until `context.signal` aborts (SIGTERM,
 * SIGINT), then stops everything and resolves to exit code 0.
 *
 * - Start-up never exits on a transient failure: the state model and the
 *   sources retry with backoff and `/readyz` says why it is not ready.
 *   Configuration errors (flags, kubeconfig, LINSTOR env) throw before
 *   anything starts, so the CLI prints one line and exits non-zero.
 * - Leader election gates execution only: every replica observes and plans;
 *   leader-only operations run with the signal of the current leadership
 *   term, aborted the moment the Lease is lost (client-go's
 *   OnStoppedLeading); the replica then keeps its caches and campaigns
 *   again (a new leader re-plans from fresh state; operations are
 *   idempotent and multi-step ones resumable).
 * - Readiness is `modeReadiness()`: watched kinds listed, LINSTOR polled
 *   and fresh, every source and the mode's own condition ready. Liveness:
 *   the last loop pass started within interval + pass timeout (+30 s).
 */
export async function runMode<Memory, Inputs extends object>(
  context: CommandContext,
  options: RunModeOptions<Memory, Inputs>,
): Promise<number> {
  await setupLogging(context);
  const { flags } = context;
  const clock = options.wiring.clock ?? SYSTEM_CLOCK;
  const logger = getLogger([LOG_CATEGORY, options.name]);
  const registry = createRegistry({ mode: options.name });
  registerProcessMetrics(registry, { stats: processStats() });
  const identity =
    (options.leaderElection ? flags.string("leader-election-id") : undefined) ||
    options.wiring.hostname();
  const linstor = linstorClientFrom(context, {
    mode: options.name,
    metrics: registry,
  });
  let kube: KubeApi;
  try {
    kube = await options.wiring.createKube(context, {
      reportingInstance: identity,
    });
  } catch (error) {
    linstor.close();
    throw error;
  }
  const stop = new AbortController();
  const running = AbortSignal.any([context.signal, stop.signal]);
  const tasks: Promise<unknown>[] = [];
  let exitCode = 0;
  try {
    // Leadership: one AbortController per term, aborted when the term ends.
    let term = new AbortController();
    term.abort(new Error("Not the leader"));
    let isLeader = () => true;
    let leaderSignal: (() => AbortSignal) | undefined;
    // Flags of leader election exist only in modes that campaign.
    const leaseName = options.leaderElection
      ? flags.string("lease-lock-name") ?? `linstor-suite-${options.name}`
      : "";
    const electing = options.leaderElection === true &&
      flags.boolean("leader-election");
    const leaderMetric = options.leaderElection
      ? createLeaderMetric(registry, {
        mode: options.name,
        lease: leaseName,
        leading: !electing,
      })
      : undefined;
    if (electing) {
      const namespace = flags.string("lease-lock-namespace") ||
        (await context.readTextFile(SERVICE_ACCOUNT_NAMESPACE_FILE).then(
          (text) => text.trim(),
          () => "",
        )) || "default";
      const election = startLeaderElection(kube, {
        namespace,
        name: leaseName,
        identity,
        clock,
        signal: running,
        leaseDurationMs: flags.number("leader-election-lease-duration")!,
        renewDeadlineMs: flags.number("leader-election-renew-deadline")!,
        retryPeriodMs: flags.number("leader-election-retry-period")!,
        onChange(leading) {
          leaderMetric?.set(leading);
          if (leading) {
            term = new AbortController();
          } else {
            logger.warn(
              "Lost the Lease: stopping leader-only operations at once, campaigning again",
            );
            term.abort(
              new Error(
                "Cannot continue: this replica lost the Lease (it campaigns again)",
              ),
            );
          }
        },
      });
      isLeader = () => election.isLeader();
      leaderSignal = () => term.signal;
      tasks.push(election.stopped);
    }
    const environment: ModeEnvironment = {
      kube,
      linstor,
      clock,
      registry,
      logger,
      isLeader,
      print: context.stdout,
    };
    const mode = options.create(environment);
    const readsLinstor = mode.readsLinstor ?? true;
    const pollInterval = flags.number("linstor-poll-interval");
    const cluster = startClusterState({
      clock,
      ...(readsLinstor ? { linstor: createLinstorReader(linstor) } : {}),
      kube,
      ...(options.cooperative
        ? { yieldControl: () => clock.sleep(0, running) }
        : {}),
    }, {
      kinds: mode.kinds,
      ...(mode.fields === undefined ? {} : { fields: mode.fields }),
      signal: running,
      metrics: registry,
      ...(pollInterval ? { pollIntervalMs: pollInterval } : {}),
      ...(options.relistIntervalMs
        ? { relistIntervalMs: options.relistIntervalMs }
        : {}),
    });
    tasks.push(cluster.stopped);
    const wakeups = new Wakeups();
    const unsubscribe = cluster.state.wakeups.subscribe(() => wakeups.wake());
    tasks.push(cluster.stopped.then(unsubscribe));
    const sources = Object.entries(mode.sources ?? {}) as [
      string,
      ModeSource<unknown>,
    ][];
    for (const [, source] of sources) {
      tasks.push(
        source.run(running, () => wakeups.wake()).catch((error) => {
          if (!running.aborted) {
            logger.error("Source {source} stopped: {error}", {
              source: source.name,
              error: errorMessage(error),
            });
          }
        }),
      );
    }
    const inputs = () =>
      Object.fromEntries(
        sources.map(([key, source]) => [key, source.current()]),
      ) as Inputs;
    const loop = mode.plan !== undefined ? mode.loop : undefined;
    const liveness = loop
      ? new LoopLiveness({
        maxAgeMs: loop.intervalMs + loop.passTimeoutMs + 30_000,
        now: () => clock.now(),
      })
      : undefined;
    const checks: HealthChecks = {
      live: () => liveness?.check() ?? { ok: true, detail: "serving" },
      ready: (): CheckResult => {
        const snapshot = cluster.state.snapshot();
        const now = clock.now();
        return modeReadiness(snapshot, {
          now,
          readsLinstor,
          maxLinstorAgeMs: mode.maxLinstorAgeMs ??
            MODE_DEFAULT_MAX_LINSTOR_AGE_MS,
          sources: sources.flatMap(([, source]) =>
            source.ready ? [{ name: source.name, result: source.ready() }] : []
          ),
          ...(mode.ready
            ? { mode: mode.ready(snapshot, { now, inputs: inputs() }) }
            : {}),
        });
      },
    };
    const health = serveHealth(context, {
      registry,
      checks,
      signal: running,
      extraAddresses: options.extraHealthAddresses ?? [],
    });
    tasks.push(...health.map((server) => server.finished));
    for (const server of health) {
      logger.info("Serving /healthz, /readyz and /metrics on {url}", {
        url: `http://${server.address.hostname}:${server.address.port}`,
      });
    }
    const healthRoutes = createHealthRoutes({ registry, checks });
    for (const service of mode.services ?? []) {
      tasks.push(
        service.run(running, {
          snapshot: () => cluster.state.snapshot(),
          healthRoutes,
        }).catch((error) => {
          if (running.aborted) return;
          logger.error("Cannot keep {service} running: {error}", {
            service: service.name,
            error: errorMessage(error),
          });
          exitCode = 1;
          stop.abort();
        }),
      );
    }
    options.onStarted?.(environment);
    if (loop) {
      const metrics = createOperationMetrics(registry, {
        prefix: `${METRIC_PREFIX}_${options.name}`,
      });
      const loopMetrics = createLoopMetrics(registry, { mode: options.name });
      options.wiring.onRunning?.(environment);
      let memory = mode.memory;
      await runLoop(async (passSignal) => {
        const report = await passMode(mode, {
          snapshot: cluster.state.snapshot(),
          now: clock.now(),
          memory,
          inputs: inputs(),
        }, {
          signal: passSignal,
          dryRun: options.dryRun ?? false,
          print: context.stdout,
          isLeader,
          ...(leaderSignal ? { leaderSignal } : {}),
          logger,
          metrics,
        });
        memory = report.memory;
      }, {
        name: options.name,
        clock,
        signal: running,
        intervalMs: loop.intervalMs,
        passTimeoutMs: loop.passTimeoutMs,
        wakeups,
        debounceMs: loop.debounceMs ?? 1_000,
        logger,
        onPass: (result) => {
          liveness!.record(result);
          loopMetrics.record(result);
        },
      });
    } else {
      options.wiring.onRunning?.(environment);
      await new Promise<void>((resolve) => {
        if (running.aborted) resolve();
        running.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    logger.info("Stopping {mode}", { mode: options.name });
    stop.abort();
    await Promise.all(tasks);
    return exitCode;
  } finally {
    stop.abort();
    await Promise.allSettled(tasks);
    linstor.close();
    await kube.close();
  }
}
