/**
 * `ClusterState`: the one in-memory model per process, fed by one LINSTOR
 * poller and the Kubernetes informers of the kinds a mode subscribes to.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import {
  Counter,
  Gauge,
  Histogram,
  type Registry,
} from "../observability/mod.ts";
import {
  LINSTOR_DEFAULT_POLL_INTERVAL_MS,
  LOG_CATEGORY,
  METRIC_STATE_KUBE_OBJECTS,
  METRIC_STATE_LINSTOR_DATA_AGE_SECONDS,
  METRIC_STATE_LINSTOR_POLL_DURATION_SECONDS,
  METRIC_STATE_LINSTOR_POLL_TOTAL,
  STATE_DEFAULT_POLL_TIMEOUT_MS,
  STATE_DEFAULT_WAKEUP_DEBOUNCE_MS,
  STATE_MIN_POLL_GAP_MS,
} from "../constants.ts";
import type { Clock } from "../system/clock.ts";
import { linstorDataAge } from "../domain/mod.ts";
import {
  type KubeApi,
  type KubeFields,
  type KubeKind,
  type KubeObjectOf,
  projectionOf,
  startInformer,
} from "../kube/mod.ts";
import { KubeIndex, type KubeSink } from "./kube_index.ts";
import {
  buildLinstorView,
  buildLinstorViewCooperatively,
  createLinstorViewMemo,
  emptyLinstorView,
  type LinstorData,
  linstorDataChanged,
} from "./linstor_view.ts";
import { type LinstorReader, pollLinstor } from "./poller.ts";
import type { LinstorView, Snapshot } from "./types.ts";

/**
 * Debounced change notifications: subscribers are called `debounceMs` after
 * the first change of a burst, so any number of changes within that window
 * yields one notification (and at most one per window under steady churn).
 * Level-triggered loops only use it to schedule a pass, then read
 * `snapshot()`, which already holds every change made before the call.
 */
export class StateWakeups {
  readonly #listeners = new Set<() => void>();
  #fired = 0;

  /** Calls `listener` after every debounced change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Number of notifications sent so far. */
  get fired(): number {
    return this.#fired;
  }

  /** Resolves at the next notification, or rejects with the signal's reason. */
  next(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const unsubscribe = this.subscribe(() => {
        unsubscribe();
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      const onAbort = () => {
        unsubscribe();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Notifies every subscriber (called by the state model). */
  notify(): void {
    this.#fired++;
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // A failing subscriber must not stop the others or the state model.
      }
    }
  }
}

/** Options of `ClusterState`. */
export interface ClusterStateOptions {
  /** Kubernetes kinds this process watches (only they count for `isSynced()`). */
  kinds: Iterable<KubeKind>;
  /**
   * Whether readiness waits for one successful LINSTOR poll.
   * @default {true}
   */
  requireLinstor?: boolean;
  /**
   * Wake-ups are sent at most once per this many ms (0: after the current
   * microtask).
   * @default {200}
   */
  wakeupDebounceMs?: number;
  /** Ends pending wake-up timers. */
  signal?: AbortSignal;
  /** Where invalid LINSTOR objects are logged. */
  logger?: Logger;
  /** Shards per Kubernetes index map (see `KubeIndex`). */
  shards?: number;
}

/** The dependencies of `ClusterState`. */
export interface ClusterStateDeps {
  /** Time source for `takenAt`, `observedAt` and debouncing. */
  clock: Clock;
}

/**
 * The cluster state model. Hands out immutable `Snapshot`s: `snapshot()` is
 * O(1) when nothing changed; after a Kubernetes event it costs O(shards)
 * (the indexes are maintained incrementally, see `KubeIndex`); a LINSTOR poll
 * builds a new `LinstorView` once per poll.
 */
export class ClusterState {
  readonly #clock: Clock;
  readonly #kube: KubeIndex;
  readonly #requireLinstor: boolean;
  readonly #debounceMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #logger: Logger;
  #linstor: LinstorView = emptyLinstorView();
  #linstorPolled = false;
  /** The lists the current view was built from. */
  #lastData: LinstorData | undefined;
  /** What the last LINSTOR view build remembers for an incremental next one. */
  readonly #viewMemo = createLinstorViewMemo();
  #snapshot: Snapshot | undefined;
  #version = 0;
  #wakeScheduled = false;
  /** The change wake-ups; see `StateWakeups`. */
  readonly wakeups: StateWakeups = new StateWakeups();
  /**
   * Notified right after every LINSTOR poll attempt, successful or not, even
   * when nothing changed (for "wait for fresh data" callers; level-triggered
   * loops use `wakeups`).
   */
  readonly polls: StateWakeups = new StateWakeups();
  /** Notified by `requestLinstorPoll()` (the poller listens). */
  readonly pollRequests: StateWakeups = new StateWakeups();
  #pollRequested = false;

  /** An empty model; feed it with `applyLinstor*()` and `sink()`. */
  constructor(deps: ClusterStateDeps, options: ClusterStateOptions) {
    this.#clock = deps.clock;
    this.#requireLinstor = options.requireLinstor ?? true;
    const debounceMs = options.wakeupDebounceMs ??
      STATE_DEFAULT_WAKEUP_DEBOUNCE_MS;
    if (!Number.isFinite(debounceMs) || debounceMs < 0) {
      throw new RangeError(
        `Cannot create cluster state with wake-up debounce "${debounceMs}": must be a non-negative number of ms`,
      );
    }
    this.#debounceMs = debounceMs;
    this.#signal = options.signal;
    this.#logger = options.logger ?? getLogger([LOG_CATEGORY, "state"]);
    this.#kube = new KubeIndex(
      options.shards === undefined
        ? { subscribed: options.kinds }
        : { subscribed: options.kinds, shards: options.shards },
    );
  }

  /** The current immutable snapshot; the same object until something changes. */
  snapshot(): Snapshot {
    const kube = this.#kube.view();
    const current = this.#snapshot;
    if (
      current !== undefined && current.kube === kube &&
      current.linstor === this.#linstor
    ) {
      return current;
    }
    this.#version++;
    this.#snapshot = Object.freeze({
      version: this.#version,
      takenAt: this.#clock.now(),
      linstor: this.#linstor,
      kube,
    });
    return this.#snapshot;
  }

  /** LINSTOR polled successfully once and every subscribed kind listed once. */
  isSynced(): boolean {
    return (this.#linstorPolled || !this.#requireLinstor) &&
      this.#kube.isSynced();
  }

  /**
   * Asks the poller for a poll soon (e.g. after this process changed
   * LINSTOR): the interval is cut short, but polls stay at least
   * `STATE_MIN_POLL_GAP_MS` apart and requests made while a poll runs
   * collapse into one more poll.
   */
  requestLinstorPoll(): void {
    this.#pollRequested = true;
    this.pollRequests.notify();
  }

  /** Returns and clears the pending poll request (used by the poller). */
  takePollRequest(): boolean {
    const requested = this.#pollRequested;
    this.#pollRequested = false;
    return requested;
  }

  /** Number of cached Kubernetes objects of `kind`. */
  kubeObjectCount(kind: KubeKind): number {
    return this.#kube.count(kind);
  }

  /** The sink the informer of `kind` feeds (`kind` must be subscribed). */
  sink<K extends KubeKind>(kind: K): KubeSink<KubeObjectOf<K>> {
    this.#kube.sink(kind); // validates that `kind` is subscribed
    // An object the index cannot take (no name) is logged and skipped: an
    // informer must never die on one bad object.
    const guard = (apply: () => boolean) => {
      try {
        this.#afterKube(apply());
      } catch (error) {
        this.#logger.warn("Skipped a Kubernetes {kind} object: {error}", {
          kind,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    };
    return {
      replace: (items) =>
        guard(() => {
          const valid = items.filter((item) => item.metadata?.name);
          if (valid.length !== items.length) {
            this.#logger.warn(
              "Skipped {count} Kubernetes {kind} objects without a name",
              { count: items.length - valid.length, kind },
            );
          }
          return this.#kube.replace(kind, valid);
        }),
      upsert: (item) => guard(() => this.#kube.upsert(kind, item)),
      remove: (item) => guard(() => this.#kube.remove(kind, item)),
    };
  }

  /**
   * The view of the same lists as the last poll, with the new time, when
   * every list is the identical array (the LINSTOR client hands back the
   * same frozen array for an unchanged body): no rebuild at all.
   */
  #unchanged(data: LinstorData, observedAt: number): LinstorView | undefined {
    const last = this.#lastData;
    if (
      last === undefined || !this.#linstorPolled ||
      last.nodes !== data.nodes || last.storagePools !== data.storagePools ||
      last.resources !== data.resources ||
      last.resourceDefinitions !== data.resourceDefinitions ||
      last.resourceGroups !== data.resourceGroups
    ) {
      return undefined;
    }
    return Object.freeze({
      ...this.#linstor,
      observedAt,
      lastError: undefined,
    });
  }

  /** Records a successful poll of `data` fetched at `observedAt`. */
  applyLinstorData(data: LinstorData, observedAt: number): void {
    const same = this.#unchanged(data, observedAt);
    if (same !== undefined) return this.#publishLinstor(same);
    const report = this.#invalidReporter();
    const next = buildLinstorView(data, {
      observedAt,
      previous: this.#linstor,
      onInvalid: report.onInvalid,
      memo: this.#viewMemo,
    });
    report.flush();
    this.#publishLinstor(next);
    this.#lastData = data;
  }

  /**
   * Same as `applyLinstorData()`, giving the event loop a turn every few
   * thousand objects (see `buildLinstorViewCooperatively()`). Only one
   * apply may run at a time (the poller's).
   */
  async applyLinstorDataCooperatively(
    data: LinstorData,
    observedAt: number,
    options: {
      yieldControl: () => Promise<void>;
      signal?: AbortSignal;
      sliceSize?: number;
    },
  ): Promise<void> {
    const same = this.#unchanged(data, observedAt);
    if (same !== undefined) return this.#publishLinstor(same);
    const report = this.#invalidReporter();
    const next = await buildLinstorViewCooperatively(data, {
      observedAt,
      previous: this.#linstor,
      onInvalid: report.onInvalid,
      memo: this.#viewMemo,
      ...options,
    });
    report.flush();
    this.#publishLinstor(next);
    this.#lastData = data;
  }

  #invalidReporter(): {
    onInvalid: (message: string) => void;
    flush: () => void;
  } {
    let invalid = 0;
    return {
      onInvalid: (message) => {
        if (invalid++ < 10) this.#logger.warn(message);
      },
      flush: () => {
        if (invalid > 10) {
          this.#logger.warn("{count} invalid LINSTOR objects left out", {
            count: invalid,
          });
        }
      },
    };
  }

  #publishLinstor(next: LinstorView): void {
    const changed = !this.#linstorPolled ||
      linstorDataChanged(this.#linstor, next);
    this.#linstor = next;
    this.#linstorPolled = true;
    if (changed) this.#scheduleWakeup();
    this.polls.notify();
  }

  /** Records a failed poll: keeps the last good data, sets `lastError`. */
  applyLinstorError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#linstor = Object.freeze({ ...this.#linstor, lastError: message });
    this.polls.notify();
  }

  #afterKube(changed: boolean): void {
    if (changed) this.#scheduleWakeup();
  }

  #scheduleWakeup(): void {
    if (this.#wakeScheduled || this.#signal?.aborted) return;
    this.#wakeScheduled = true;
    const fire = () => {
      this.#wakeScheduled = false;
      this.wakeups.notify();
    };
    if (this.#debounceMs === 0) {
      queueMicrotask(fire);
      return;
    }
    this.#clock.sleep(this.#debounceMs, this.#signal).then(fire, () => {
      this.#wakeScheduled = false;
    });
  }
}

/** What `startClusterState()` reads from. */
export interface StartClusterStateDeps {
  /** Time source of every timer and timestamp. */
  clock: Clock;
  /** LINSTOR; without it no poller runs and readiness does not wait for it. */
  linstor?: LinstorReader;
  /** Kubernetes; required when `options.kinds` is not empty. */
  kube?: KubeApi;
  /**
   * Gives the event loop a turn during a LINSTOR rebuild (e.g.
   * `() => SYSTEM_CLOCK.sleep(0)`), so request handlers (the extender) are
   * not blocked for the whole rebuild of a large cluster; without it the
   * rebuild runs in one go.
   */
  yieldControl?: () => Promise<void>;
}

/** Options of `startClusterState()`. */
export interface StartClusterStateOptions {
  /** Kubernetes kinds to watch; only these are cached. */
  kinds: Iterable<KubeKind>;
  /**
   * The fields of each kind to keep in the caches (`projectionOf()`); a kind
   * without an entry keeps what `stripObject()` keeps.
   * @default {every kind left to `stripObject()`}
   */
  fields?: KubeFields;
  /** Stops the poller and the informers. */
  signal: AbortSignal;
  /**
   * Pause between the end of one LINSTOR poll and the start of the next.
   * @default {10000}
   */
  pollIntervalMs?: number;
  /**
   * A poll (all five calls) taking longer is aborted and counted as failed.
   * @default {30000}
   */
  pollTimeoutMs?: number;
  /**
   * Debounce of the change wake-ups.
   * @default {200}
   */
  wakeupDebounceMs?: number;
  /**
   * Relist every watched kind this often (ms), a periodic full resync of
   * the Kubernetes caches (linstor-affinity-controller's `--resync-rate`).
   * @default {never (only after 410 Gone)}
   */
  relistIntervalMs?: number;
  /** Logger; default category `["linstor-suite", "state"]`. */
  logger?: Logger;
  /** Registry for the `linstor_suite_state_*` metrics. */
  metrics?: Registry;
}

/** A running `ClusterState`. */
export interface RunningClusterState {
  /** The model. */
  readonly state: ClusterState;
  /** Settles when the poller and every informer stopped (after the signal aborted). */
  readonly stopped: Promise<void>;
}

function validateMs(what: string, value: number, allowZero: boolean): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(
      `Cannot start cluster state with ${what} "${value}": must be a ${
        allowZero ? "non-negative" : "positive"
      } number of ms`,
    );
  }
  return value;
}

/**
 * Creates the `ClusterState` and runs its LINSTOR poller and the informers of
 * `options.kinds` until `options.signal` aborts. A failed or timed-out poll
 * keeps the last good data (only `lastError` changes) and is retried at the
 * next interval.
 */
export function startClusterState(
  deps: StartClusterStateDeps,
  options: StartClusterStateOptions,
): RunningClusterState {
  const intervalMs = validateMs(
    "poll interval",
    options.pollIntervalMs ?? LINSTOR_DEFAULT_POLL_INTERVAL_MS,
    false,
  );
  const timeoutMs = validateMs(
    "poll timeout",
    options.pollTimeoutMs ?? STATE_DEFAULT_POLL_TIMEOUT_MS,
    false,
  );
  const relistIntervalMs = options.relistIntervalMs === undefined
    ? undefined
    : validateMs("relist interval", options.relistIntervalMs, false);
  const kinds = [...new Set(options.kinds)];
  if (kinds.length > 0 && deps.kube === undefined) {
    throw new TypeError(
      `Cannot watch Kubernetes kinds "${
        kinds.join(", ")
      }": no Kubernetes API given`,
    );
  }
  const logger = options.logger ?? getLogger([LOG_CATEGORY, "state"]);
  const state = new ClusterState({ clock: deps.clock }, {
    kinds,
    requireLinstor: deps.linstor !== undefined,
    signal: options.signal,
    logger,
    ...(options.wakeupDebounceMs === undefined
      ? {}
      : { wakeupDebounceMs: options.wakeupDebounceMs }),
  });
  const metrics = options.metrics === undefined
    ? undefined
    : registerMetrics(options.metrics, state, deps.clock);
  const tasks: Promise<unknown>[] = [];
  if (deps.linstor !== undefined) {
    tasks.push(runPoller(state, deps.linstor, {
      clock: deps.clock,
      yieldControl: deps.yieldControl,
      intervalMs,
      timeoutMs,
      signal: options.signal,
      logger,
      metrics,
    }));
  }
  for (const kind of kinds) {
    tasks.push(startOneInformer(deps.kube!, kind, state, {
      clock: deps.clock,
      signal: options.signal,
      logger,
      relistIntervalMs,
      fields: options.fields ?? {},
    }));
  }
  return {
    state,
    stopped: Promise.allSettled(tasks).then(() => {}),
  };
}

async function startOneInformer<K extends KubeKind>(
  kube: KubeApi,
  kind: K,
  state: ClusterState,
  options: {
    clock: Clock;
    signal: AbortSignal;
    logger: Logger;
    relistIntervalMs: number | undefined;
    fields: KubeFields;
  },
): Promise<void> {
  try {
    const informer = startInformer(kube, kind, {
      sink: state.sink(kind),
      signal: options.signal,
      clock: options.clock,
      transform: projectionOf(kind, options.fields),
      ...(options.relistIntervalMs === undefined
        ? {}
        : { relistIntervalMs: options.relistIntervalMs }),
    });
    await informer.stopped;
  } catch (error) {
    if (!options.signal.aborted) {
      options.logger.error("Informer of {kind} stopped: {error}", {
        kind,
        error,
      });
    }
  }
}

interface PollMetrics {
  polls: Counter<"result">;
  duration: Histogram;
}

function registerMetrics(
  registry: Registry,
  state: ClusterState,
  clock: Clock,
): PollMetrics {
  const polls = new Counter({
    name: METRIC_STATE_LINSTOR_POLL_TOTAL,
    help: "LINSTOR polls of the state model by result",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  polls.inc({ result: "success" }, 0);
  polls.inc({ result: "error" }, 0);
  const duration = new Histogram({
    name: METRIC_STATE_LINSTOR_POLL_DURATION_SECONDS,
    help: "Duration of LINSTOR polls (all five list calls) in seconds",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: METRIC_STATE_LINSTOR_DATA_AGE_SECONDS,
    help:
      "Age of the last good LINSTOR data in seconds (+Inf before the first successful poll)",
    registers: [registry],
    collect() {
      const ageMs = linstorDataAge(state.snapshot(), clock.now());
      this.set(ageMs === undefined ? Infinity : ageMs / 1000);
    },
  });
  new Gauge({
    name: METRIC_STATE_KUBE_OBJECTS,
    help: "Kubernetes objects cached by the state model by kind",
    labelNames: ["kind"] as const,
    registers: [registry],
    collect() {
      for (const kind of state.snapshot().kube.subscribed) {
        this.set({ kind }, state.kubeObjectCount(kind));
      }
    },
  });
  return { polls, duration };
}

async function runPoller(
  state: ClusterState,
  reader: LinstorReader,
  options: {
    clock: Clock;
    yieldControl: (() => Promise<void>) | undefined;
    intervalMs: number;
    timeoutMs: number;
    signal: AbortSignal;
    logger: Logger;
    metrics: PollMetrics | undefined;
  },
): Promise<void> {
  const { clock, signal, logger, metrics } = options;
  let failing = false;
  while (!signal.aborted) {
    const startedAt = clock.now();
    try {
      const data = await pollLinstor(reader, {
        clock,
        timeoutMs: options.timeoutMs,
        signal,
      });
      const observedAt = clock.now();
      if (options.yieldControl === undefined) {
        state.applyLinstorData(data, observedAt);
      } else {
        await state.applyLinstorDataCooperatively(data, observedAt, {
          yieldControl: options.yieldControl,
          signal,
        });
      }
      metrics?.polls.inc({ result: "success" });
      metrics?.duration.observe((observedAt - startedAt) / 1000);
      if (failing) logger.info("LINSTOR poll recovered");
      failing = false;
    } catch (error) {
      if (signal.aborted) break;
      state.applyLinstorError(error);
      metrics?.polls.inc({ result: "error" });
      metrics?.duration.observe((clock.now() - startedAt) / 1000);
      // Log the first failure loudly, repeats at debug level.
      logger[failing ? "debug" : "warn"](
        "LINSTOR poll failed, keeping the last good data: {error}",
        {
          error: error instanceof Error ? error.message : String(error),
        },
      );
      failing = true;
    }
    try {
      await waitForNextPoll(state, clock, {
        intervalMs: options.intervalMs,
        signal,
      });
    } catch {
      break;
    }
  }
}

/**
 * Sleeps `intervalMs`, or less when `requestLinstorPoll()` was called: then
 * the next poll starts `min(intervalMs, STATE_MIN_POLL_GAP_MS)` after the
 * previous one ended, so a burst of requests costs one extra poll.
 */
async function waitForNextPoll(
  state: ClusterState,
  clock: Clock,
  options: { intervalMs: number; signal: AbortSignal },
): Promise<void> {
  const { intervalMs, signal } = options;
  const endedAt = clock.now();
  const gapMs = Math.min(intervalMs, STATE_MIN_POLL_GAP_MS);
  const cut = new AbortController();
  const unsubscribe = state.pollRequests.subscribe(() =>
    cut.abort(new Error("poll requested"))
  );
  try {
    if (!state.takePollRequest()) {
      await clock.sleep(intervalMs, AbortSignal.any([signal, cut.signal]));
      return;
    }
  } catch (error) {
    signal.throwIfAborted();
    if (!cut.signal.aborted) throw error;
  } finally {
    unsubscribe();
  }
  state.takePollRequest();
  const waitMs = endedAt + gapMs - clock.now();
  if (waitMs > 0) await clock.sleep(waitMs, signal);
  else signal.throwIfAborted();
}
