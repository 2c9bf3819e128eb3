/**
 * Informers: keep a local copy of one kind up to date through list + watch.
 *
 * @module
 */
import { getLogger, type Logger } from "@logtape/logtape";
import {
  ANNOTATION_LAST_APPLIED,
  INFORMER_BACKOFF_INITIAL_MS,
  INFORMER_BACKOFF_MAX_MS,
  INFORMER_WATCH_GRACE_MS,
  INFORMER_WATCH_TIMEOUT_SECONDS,
  LOG_CATEGORY,
} from "../constants.ts";
import type { Clock } from "../system/clock.ts";
import type { KubeApi, KubeKind, KubeObjectOf } from "./api.ts";
import { isGone } from "./errors.ts";

/** Receives an informer's view of one kind. Called synchronously, in order. */
export interface InformerSink<T> {
  /** The complete current set (after every list, including a relist after 410 Gone). */
  replace(items: T[]): void;
  /** An object was added or changed. */
  upsert(item: T): void;
  /** An object was deleted (its last state). */
  remove(item: T): void;
}

/** Options of {@linkcode startInformer}. */
export interface InformerOptions<K extends KubeKind> {
  /** Where objects go. */
  sink: InformerSink<KubeObjectOf<K>>;
  /** Stops the informer. */
  signal: AbortSignal;
  /** Backoff timer. */
  clock: Clock;
  /**
   * Applied to every object before it reaches the sink (strip what no mode
   * reads, to save memory). Must not throw.
   *
   * @default {stripObject} for the kind
   */
  transform?: (obj: KubeObjectOf<K>) => KubeObjectOf<K>;
  /**
   * Logger.
   *
   * @default {getLogger(["linstor-suite", "kube", "informer"])}
   */
  logger?: Logger;
  /**
   * Server-side timeout of each watch request.
   *
   * @default {INFORMER_WATCH_TIMEOUT_SECONDS}
   */
  watchTimeoutSeconds?: number;
  /**
   * Relist this often (ms) even when the watch is healthy: a periodic full
   * resync that repairs a cache that missed an event.
   *
   * @default {never (only after 410 Gone)}
   */
  relistIntervalMs?: number;
}

/** A running informer. */
export interface Informer {
  /** Resolves after the first successful list reached the sink; rejects if stopped before. */
  readonly synced: Promise<void>;
  /** Resolves when the informer has stopped (after `signal` aborted). */
  readonly stopped: Promise<void>;
  /** `true` once the first list reached the sink. */
  isSynced(): boolean;
  /** The last resourceVersion seen (list, event or bookmark); `undefined` before the first list. */
  resourceVersion(): string | undefined;
}

/**
 * Starts an informer for `kind`: list → `sink.replace`, then watch from the
 * list's resourceVersion (ADDED/MODIFIED → `upsert`, DELETED → `remove`,
 * BOOKMARK → remember the resourceVersion). A 410 Gone relists at once;
 * other errors reconnect after an exponential backoff on `clock` (1 s
 * doubling to 30 s, reset by a successful list or any event), resuming from
 * the last resourceVersion. A watch the server closes normally is resumed at
 * once when it delivered events, after the backoff otherwise (so a server
 * that closes every stream at once is not hammered). With
 * `relistIntervalMs`, the watch is ended and the kind listed again (→
 * `sink.replace`) that long after each list.
 */
export function startInformer<K extends KubeKind>(
  kube: KubeApi,
  kind: K,
  options: InformerOptions<K>,
): Informer {
  const { sink, signal, clock } = options;
  const transform = options.transform ??
    ((obj: KubeObjectOf<K>) => stripObject(kind, obj));
  const logger = options.logger ??
    getLogger([LOG_CATEGORY, "kube", "informer"]);
  const timeoutSeconds = options.watchTimeoutSeconds ??
    INFORMER_WATCH_TIMEOUT_SECONDS;
  const relistIntervalMs = options.relistIntervalMs;
  if (
    relistIntervalMs !== undefined &&
    !(Number.isFinite(relistIntervalMs) && relistIntervalMs > 0)
  ) {
    throw new RangeError(
      `Cannot start informer "${kind}" with relist interval "${relistIntervalMs}": must be a positive number of ms`,
    );
  }
  let synced = false;
  let listedAt = 0;
  let resourceVersion: string | undefined;
  let resolveSynced!: () => void;
  let rejectSynced!: (reason: unknown) => void;
  const syncedPromise = new Promise<void>((resolve, reject) => {
    resolveSynced = resolve;
    rejectSynced = reject;
  });
  // Callers that never await `synced` must not see an unhandled rejection.
  syncedPromise.catch(() => {});

  /** Lists `kind` into the sink; `false` when stopped meanwhile. */
  async function listIntoSink(): Promise<boolean> {
    // Transformed page by page: the original objects do not wait for the
    // last page.
    const list = await kube.list(kind, { signal, transform });
    if (signal.aborted) return false;
    sink.replace(list.items);
    resourceVersion = list.resourceVersion;
    logger.debug("Listed {count} {kind} at {resourceVersion}", {
      count: list.items.length,
      kind,
      resourceVersion,
    });
    return true;
  }

  async function run(): Promise<void> {
    let delay = INFORMER_BACKOFF_INITIAL_MS;
    let needList = true;
    const backoff = async () => {
      try {
        await clock.sleep(delay, signal);
      } catch {
        return; // aborted
      }
      delay = Math.min(delay * 2, INFORMER_BACKOFF_MAX_MS);
    };
    while (!signal.aborted) {
      let relist = false;
      try {
        if (needList) {
          // In its own function: a list held in this (suspended) frame would
          // keep every untransformed object alive for the whole watch.
          if (!(await listIntoSink())) break;
          listedAt = clock.now();
          needList = false;
          delay = INFORMER_BACKOFF_INITIAL_MS;
          if (!synced) {
            synced = true;
            resolveSynced();
          }
        }
        let events = 0;
        // The server ends the stream after `timeoutSeconds`; a stream still
        // open well after that sits on a dead connection: abandon it.
        const watchController = new AbortController();
        const stopWatch = () => watchController.abort(signal.reason);
        signal.addEventListener("abort", stopWatch, { once: true });
        let stalled = false;
        clock.sleep(
          timeoutSeconds * 1000 + INFORMER_WATCH_GRACE_MS,
          watchController.signal,
        ).then(() => {
          stalled = true;
          watchController.abort();
        }, () => {});
        if (relistIntervalMs !== undefined) {
          clock.sleep(
            Math.max(0, listedAt + relistIntervalMs - clock.now()),
            watchController.signal,
          ).then(() => {
            relist = true;
            watchController.abort();
          }, () => {});
        }
        const stream = kube.watch(kind, {
          resourceVersion: resourceVersion!,
          signal: watchController.signal,
          allowBookmarks: true,
          timeoutSeconds,
        });
        try {
          for await (const event of stream) {
            if (watchController.signal.aborted) break;
            events++;
            delay = INFORMER_BACKOFF_INITIAL_MS;
            if (event.type === "BOOKMARK") {
              if (event.resourceVersion) {
                resourceVersion = event.resourceVersion;
              }
              continue;
            }
            const rv = event.object.metadata?.resourceVersion;
            if (event.type === "DELETED") sink.remove(transform(event.object));
            else sink.upsert(transform(event.object));
            if (rv) resourceVersion = rv;
          }
        } finally {
          signal.removeEventListener("abort", stopWatch);
          watchController.abort();
        }
        if (relist && !signal.aborted) {
          logger.debug("Relisting {kind} (periodic resync)", { kind });
          needList = true;
          continue;
        }
        if (stalled) {
          logger.warn(
            "Watch of {kind} did not end {graceMs} ms after its timeout; reconnecting",
            { kind, graceMs: INFORMER_WATCH_GRACE_MS },
          );
        }
        if (events === 0 && !signal.aborted) await backoff();
      } catch (error) {
        if (signal.aborted) break;
        if (relist) {
          logger.debug("Relisting {kind} (periodic resync)", { kind });
          needList = true;
          continue;
        }
        if (isGone(error)) {
          logger.info(
            "Watch of {kind} expired at {resourceVersion}; relisting",
            { kind, resourceVersion },
          );
          needList = true;
          continue;
        }
        logger.warn(
          "Watch of {kind} failed; retrying in {delayMs} ms: {error}",
          { kind, delayMs: delay, error },
        );
        await backoff();
      }
    }
    if (!synced) {
      rejectSynced(
        new Error(
          `Cannot sync informer "${kind}": stopped before the first list`,
        ),
      );
    }
  }

  const stopped = run();
  return {
    synced: syncedPromise,
    stopped,
    isSynced: () => synced,
    resourceVersion: () => resourceVersion,
  };
}

/**
 * The default informer transform: drops `metadata.managedFields` and the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation from every
 * object, and additionally
 * - pods: keeps of each container (init and ephemeral included) only `name`,
 *   `volumeMounts`, `volumeDevices` and `resources.requests`; keeps of the
 *   status only `phase`, `conditions`, `reason`, `startTime` (fencing and
 *   the extender read volumes, node, owners, annotations and phase);
 * - nodes: keeps of the status only `conditions`, each without its
 *   timestamps (`isNodeReady()` reads type and status); images, node info,
 *   addresses, capacity and the condition heartbeats are most of a node and
 *   nothing reads them;
 * - persistent volumes: keeps of the status `phase`, `reason` and `message`
 *   (drops `lastPhaseTransitionTime`); claims: only `phase`.
 * Returns a new object; the input is not changed.
 */
export function stripObject<K extends KubeKind>(
  kind: K,
  obj: KubeObjectOf<K>,
): KubeObjectOf<K> {
  // Copies leave fields out instead of `delete`-ing them: an object that
  // lost a property turns into a hash table (about 0.4 KB more each).
  const out = { ...obj } as KubeObjectOf<K>;
  if (obj.metadata) {
    const { managedFields: _, ...metadata } = obj.metadata;
    if (metadata.annotations?.[ANNOTATION_LAST_APPLIED] !== undefined) {
      const { [ANNOTATION_LAST_APPLIED]: _, ...annotations } =
        metadata.annotations;
      metadata.annotations = annotations;
    }
    out.metadata = metadata;
  }
  if (kind === "pods") {
    // deno-lint-ignore no-explicit-any
    const pod = out as any;
    if (pod.spec) {
      pod.spec = { ...pod.spec };
      for (const field of ["containers", "initContainers"]) {
        if (Array.isArray(pod.spec[field])) {
          pod.spec[field] = pod.spec[field].map(stripContainer);
        }
      }
      if (Array.isArray(pod.spec.ephemeralContainers)) {
        pod.spec.ephemeralContainers = pod.spec.ephemeralContainers.map(
          stripContainer,
        );
      }
    }
    if (pod.status) {
      const { phase, conditions, reason, startTime } = pod.status;
      pod.status = dropUndefined({ phase, conditions, reason, startTime });
    }
  } else if (kind === "nodes") {
    // deno-lint-ignore no-explicit-any
    const node = out as any;
    if (node.status) {
      const conditions = node.status.conditions;
      node.status = Array.isArray(conditions)
        ? { conditions: conditions.map(stripNodeCondition) }
        : {};
    }
  } else if (kind === "persistentVolumes") {
    // deno-lint-ignore no-explicit-any
    const pv = out as any;
    if (pv.status) {
      const { phase, reason, message } = pv.status;
      pv.status = dropUndefined({ phase, reason, message });
    }
  } else if (kind === "persistentVolumeClaims") {
    // deno-lint-ignore no-explicit-any
    const pvc = out as any;
    if (pvc.status) pvc.status = dropUndefined({ phase: pvc.status.phase });
  }
  return out;
}

// deno-lint-ignore no-explicit-any
function stripNodeCondition(condition: any): any {
  const { type, status, reason, message } = condition;
  return dropUndefined({ type, status, reason, message });
}

// deno-lint-ignore no-explicit-any
function stripContainer(container: any): any {
  const out: Record<string, unknown> = { name: container.name };
  if (container.volumeMounts) out.volumeMounts = container.volumeMounts;
  if (container.volumeDevices) out.volumeDevices = container.volumeDevices;
  if (container.resources?.requests) {
    out.resources = { requests: container.resources.requests };
  }
  return out;
}

function dropUndefined(
  obj: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(obj).filter(([, v]) => v !== undefined),
  );
}
