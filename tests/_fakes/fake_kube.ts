/**
 * A faithful in-memory {@linkcode KubeApi}: the apiserver behaviour the modes
 * rely on, without a network.
 *
 * What it reproduces (and its own tests pin down):
 * - `metadata.uid`, `resourceVersion` (one global counter, like etcd),
 *   `creationTimestamp` (whole seconds, from the injected clock),
 *   `generation`; `generateName`.
 * - NotFound (404), AlreadyExists (409), Conflict (409) on a stale
 *   `resourceVersion` or a failed delete precondition (`uid`,
 *   `resourceVersion`), Invalid (422) for missing names and immutable fields,
 *   Gone (410) for watches from a compacted resourceVersion.
 * - Status subresources: updates and patches of pods, PVs, PVCs and nodes keep
 *   the stored `status`.
 * - Finalizers: deleting an object with finalizers only sets
 *   `deletionTimestamp`; removing the last finalizer then removes it.
 * - PV `spec.nodeAffinity` is immutable once set (422 like an apiserver
 *   without `MutablePVNodeAffinity`) unless `mutablePvNodeAffinity: true`;
 *   PV sources and the PVC spec (except `resources` and a first
 *   `volumeName`) are immutable too.
 * - Server-side dry-run (`dryRun: "All"`): validated, returned, not stored.
 * - Watches replay history after the given resourceVersion, then stream live
 *   changes; BOOKMARKs on demand; `closeWatches()` ends the streams.
 * - Events (events.k8s.io/v1, with `series` aggregation), Leases, pod
 *   evictions (blockable to emulate a PodDisruptionBudget).
 * - A minimal PV binder (`pvBinder`, on by default): a PV whose `claimRef`
 *   names an existing PVC (matching UID, when the ref has one) that points
 *   back at it by `volumeName` becomes `Bound` (and so does the PVC); a PV
 *   whose claim is gone (or has another UID) becomes `Released`; a PV without
 *   `claimRef` is `Available`.
 *
 * - Kubelets: graceful pod deletion completes at once, except on a node
 *   marked with `setKubeletDown()`, where pods stay Terminating until a
 *   delete with grace period 0 (or the kubelet's return).
 *
 * Not reproduced: admission,
 * strategic-merge list semantics (lists are replaced, as in a JSON merge
 * patch), field ownership of server-side apply (apply is a merge that creates
 * the object when absent).
 *
 * @module
 */
import type {
  EventsV1Event,
  V1Lease,
  V1Namespace,
} from "@kubernetes/client-node";
import {
  type DeleteOptions,
  type EventDetails,
  type EvictOptions,
  type GetOptions,
  type InvolvedObject,
  type JsonPatchOperation,
  type KubeApi,
  KubeApiBase,
  KubeApiError,
  type KubeKind,
  type KubeObjectOf,
  type KubeResource,
  type KubeResourceOf,
  type ListOptions,
  type ListResult,
  type ObjectName,
  objectReference,
  type Patch,
  type ResourceRef,
  truncateUtf8,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from "../../src/kube/mod.ts";
import {
  EVENT_NOTE_MAX_LENGTH,
  EVENT_REPORTING_CONTROLLER,
  EVENT_SERIES_WINDOW_MS,
} from "../../src/constants.ts";
import type { Clock } from "../../src/system/clock.ts";

/** Kinds the fake stores: every {@linkcode KubeResource}. */
export type FakeKind = KubeResource;

// deno-lint-ignore no-explicit-any
type AnyObject = Record<string, any>;

interface KindInfo {
  readonly resource: string;
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespaced: boolean;
  readonly statusSubresource: boolean;
}

const KINDS: Readonly<Record<FakeKind, KindInfo>> = Object.freeze({
  nodes: info("nodes", "Node", "v1", false, true),
  pods: info("pods", "Pod", "v1", true, true),
  persistentVolumes: info(
    "persistentvolumes",
    "PersistentVolume",
    "v1",
    false,
    true,
  ),
  persistentVolumeClaims: info(
    "persistentvolumeclaims",
    "PersistentVolumeClaim",
    "v1",
    true,
    true,
  ),
  storageClasses: info(
    "storageclasses",
    "StorageClass",
    "storage.k8s.io/v1",
    false,
    false,
  ),
  volumeAttachments: info(
    "volumeattachments",
    "VolumeAttachment",
    "storage.k8s.io/v1",
    false,
    true,
  ),
  leases: info("leases", "Lease", "coordination.k8s.io/v1", true, false),
  events: info("events", "Event", "events.k8s.io/v1", true, false),
  namespaces: info("namespaces", "Namespace", "v1", false, true),
});

function info(
  resource: string,
  kind: string,
  apiVersion: string,
  namespaced: boolean,
  statusSubresource: boolean,
): KindInfo {
  return Object.freeze({
    resource,
    kind,
    apiVersion,
    namespaced,
    statusSubresource,
  });
}

/** Options of {@linkcode FakeKube}. */
export interface FakeKubeOptions {
  /** Source of `creationTimestamp`, `deletionTimestamp` and Event times. */
  clock: Clock;
  /**
   * Allow changing a PV's `spec.nodeAffinity` once set (the
   * `MutablePVNodeAffinity` feature gate).
   *
   * @default {false}
   */
  mutablePvNodeAffinity?: boolean;
  /**
   * Changes kept for watches; older resourceVersions get 410 Gone (bounds
   * memory in long runs, like etcd compaction).
   *
   * @default {10000}
   */
  historyLimit?: number;
  /**
   * Emulate the PV binder's phases (see the module doc).
   *
   * @default {true}
   */
  pvBinder?: boolean;
}

/** One write the fake accepted (dry-runs included), for assertions on options. */
export interface FakeAction {
  readonly verb:
    | "create"
    | "replace"
    | "patch"
    | "delete"
    | "evict"
    | "event";
  readonly kind: FakeKind;
  /** `namespace/name` or `name`. */
  readonly key: string;
  readonly dryRun: boolean;
  /** Delete/evict grace period, when given. */
  readonly gracePeriodSeconds?: number;
  /** Patch type, for patches. */
  readonly patchType?: Patch["type"];
}

interface Fault {
  readonly verb: string;
  readonly kind: FakeKind | undefined;
  readonly error: Error;
  remaining: number;
}

interface HistoryEntry {
  readonly kind: FakeKind;
  readonly rv: number;
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly object: AnyObject;
}

interface Watcher {
  readonly kind: FakeKind;
  readonly bookmarks: boolean;
  readonly queue: WatchEvent<AnyObject>[];
  wake: (() => void) | undefined;
  closed: boolean;
}

/** A faithful in-memory Kubernetes API (see the module doc for what it reproduces). */
export class FakeKube extends KubeApiBase implements KubeApi {
  #clock: Clock;
  #mutablePvNodeAffinity: boolean;
  #pvBinder: boolean;
  #stores = new Map<FakeKind, Map<string, AnyObject>>();
  // Starts above 0: "0" means "any version" to a real apiserver.
  #rv = 100;
  #compactedRv = 0;
  #historyLimit: number;
  #history: HistoryEntry[] = [];
  #watchers = new Set<Watcher>();
  #faults: Fault[] = [];
  #actions: FakeAction[] = [];
  #blockedEvictions = new Set<string>();
  #downKubelets = new Set<string | undefined>();
  #uidCounter = 0;
  #nameCounter = 0;
  #closed = false;

  /** Creates an empty cluster. */
  constructor(options: FakeKubeOptions) {
    super();
    this.#clock = options.clock;
    this.#mutablePvNodeAffinity = options.mutablePvNodeAffinity ?? false;
    this.#pvBinder = options.pvBinder ?? true;
    this.#historyLimit = options.historyLimit ?? 10_000;
  }

  // ---- test helpers ------------------------------------------------------

  /**
   * Stores `obj` as given (status included), filling in metadata the server
   * would have assigned; emits ADDED (or MODIFIED when it replaces one).
   */
  seed<K extends FakeKind>(kind: K, obj: FakeObjectOf<K>): FakeObjectOf<K> {
    const stored = clone(obj as AnyObject);
    const meta = (stored.metadata ??= {});
    this.#checkName(kind, meta, "create");
    meta.uid ??= this.#nextUid();
    meta.creationTimestamp ??= this.#nowSeconds();
    stored.apiVersion ??= KINDS[kind].apiVersion;
    stored.kind ??= KINDS[kind].kind;
    const key = keyOf(meta);
    const existed = this.#store(kind).has(key);
    meta.resourceVersion = String(++this.#rv);
    this.#store(kind).set(key, stored);
    this.#emit(kind, existed ? "MODIFIED" : "ADDED", stored);
    if (kind === "persistentVolumes" || kind === "persistentVolumeClaims") {
      this.#runBinder();
    }
    return clone(this.#store(kind).get(key)!) as FakeObjectOf<K>;
  }

  /** The stored object of `kind` under `key` (`namespace/name` or `name`), or `undefined`. */
  peek<K extends FakeKind>(kind: K, key: string): FakeObjectOf<K> | undefined {
    const obj = this.#store(kind).get(key);
    return obj === undefined ? undefined : clone(obj) as FakeObjectOf<K>;
  }

  /** Every stored object of `kind`, sorted by key. */
  all<K extends FakeKind>(kind: K): FakeObjectOf<K>[] {
    return [...this.#store(kind).entries()]
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .map(([, obj]) => clone(obj) as FakeObjectOf<K>);
  }

  /** Recorded Events (events.k8s.io/v1), oldest first. */
  events(): EventsV1Event[] {
    return this.all("events").sort((a, b) =>
      Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion)
    );
  }

  /** Every accepted write, oldest first. */
  actions(): FakeAction[] {
    return [...this.#actions];
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Makes the next `times` calls of `verb` (on `kind`, if given) fail with `error`. */
  failNext(
    verb:
      | "list"
      | "watch"
      | "get"
      | "create"
      | "replace"
      | "patch"
      | "delete"
      | "evict"
      | "event",
    error: Error,
    options: { kind?: FakeKind; times?: number } = {},
  ): void {
    this.#faults.push({
      verb,
      kind: options.kind,
      error,
      remaining: options.times ?? 1,
    });
  }

  /** Forgets the change history: watches from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.#history = [];
    this.#compactedRv = this.#rv;
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that asked for them. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      w.queue.push({ type: "BOOKMARK", resourceVersion: String(this.#rv) });
      w.wake?.();
    }
  }

  /** Ends every open watch stream (as the server does on timeout). */
  closeWatches(): void {
    for (const w of this.#watchers) {
      w.closed = true;
      w.wake?.();
    }
  }

  /** Number of open watch streams. */
  get openWatches(): number {
    return this.#watchers.size;
  }

  /** Evictions of pod `namespace/name` fail with 429 (a PodDisruptionBudget) while blocked. */
  blockEviction(key: string, blocked = true): void {
    if (blocked) this.#blockedEvictions.add(key);
    else this.#blockedEvictions.delete(key);
  }

  /**
   * Marks the kubelet of `node` down (or up again). While it is down, a
   * graceful delete or eviction of a pod on that node only sets its
   * `deletionTimestamp` (the pod stays Terminating, as on a lost node); a
   * delete with `gracePeriodSeconds: 0` removes it. When the kubelet comes
   * back, it finishes the pending terminations. Kubelets are up by default:
   * graceful deletes then complete at once.
   */
  setKubeletDown(node: string, down = true): void {
    if (down) {
      this.#downKubelets.add(node);
      return;
    }
    this.#downKubelets.delete(node);
    for (const [key, pod] of [...this.#store("pods")]) {
      if (
        pod.spec?.nodeName === node &&
        pod.metadata.deletionTimestamp !== undefined &&
        (pod.metadata.finalizers ?? []).length === 0
      ) {
        this.#remove("pods", key, pod);
      }
    }
  }

  // ---- KubeApi -----------------------------------------------------------

  /** Lists every object of `kind`. */
  list<K extends KubeKind>(
    kind: K,
    options: ListOptions<KubeObjectOf<K>> = {},
  ): Promise<ListResult<KubeObjectOf<K>>> {
    return this.#call(options.signal, () => {
      this.#fault("list", kind);
      const items = this.all(kind) as KubeObjectOf<K>[];
      const transform = options.transform;
      return {
        items: transform === undefined ? items : items.map(transform),
        resourceVersion: String(this.#rv),
      };
    });
  }

  /** Watches `kind` from `options.resourceVersion` (see the module doc). */
  watch<K extends KubeKind>(
    kind: K,
    options: WatchOptions,
  ): AsyncIterable<WatchEvent<KubeObjectOf<K>>> {
    return this.#watch(kind, options) as AsyncIterable<
      WatchEvent<KubeObjectOf<K>>
    >;
  }

  /**
   * Reads one object (NotFound when absent). The older test-helper form
   * `get(kind, key)` still returns the stored object or `undefined`
   * synchronously; use {@linkcode FakeKube.peek} for that.
   */
  get<K extends KubeResource>(
    ref: ResourceRef<K>,
    options?: GetOptions,
  ): Promise<KubeResourceOf<K>>;
  /** @deprecated `peek(kind, key)` */
  get<K extends FakeKind>(kind: K, key: string): FakeObjectOf<K> | undefined;
  get<K extends KubeResource>(
    ref: ResourceRef<K> | K,
    options?: GetOptions | string,
  ): Promise<KubeResourceOf<K>> | FakeObjectOf<K> | undefined {
    if (typeof ref === "string") return this.peek(ref, options as string);
    const signal = (options as GetOptions | undefined)?.signal;
    return this.#call(
      signal,
      () => this.#get(ref.kind, refKey(ref)) as KubeResourceOf<K>,
    );
  }

  /** Creates an object. */
  create<K extends KubeResource>(
    kind: K,
    obj: KubeResourceOf<K>,
    options: WriteOptions = {},
  ): Promise<KubeResourceOf<K>> {
    return this.#call(
      options.signal,
      () => this.#create(kind, obj, options) as KubeResourceOf<K>,
    );
  }

  /** Replaces an object. */
  replace<K extends KubeResource>(
    kind: K,
    obj: KubeResourceOf<K>,
    options: WriteOptions = {},
  ): Promise<KubeResourceOf<K>> {
    return this.#call(
      options.signal,
      () => this.#replace(kind, obj, options) as KubeResourceOf<K>,
    );
  }

  /** Patches an object (apply creates it when absent). */
  patch<K extends KubeResource>(
    ref: ResourceRef<K>,
    patch: Patch,
    options: WriteOptions = {},
  ): Promise<KubeResourceOf<K>> {
    return this.#call(
      options.signal,
      () =>
        this.#patch(ref.kind, refKey(ref), patch, options) as KubeResourceOf<
          K
        >,
    );
  }

  /** Deletes an object. */
  delete<K extends KubeResource>(
    ref: ResourceRef<K>,
    options: DeleteOptions = {},
  ): Promise<void> {
    return this.#call(
      options.signal,
      () => this.#delete(ref.kind, refKey(ref), options, "delete"),
    );
  }

  /** Records an Event, aggregating repeats into `series`. */
  recordEvent(involved: InvolvedObject, event: EventDetails): Promise<void> {
    return this.#call(undefined, () => {
      this.#fault("event", "events");
      this.#recordEvent(involved, event);
    });
  }

  /** Evicts a pod (429 while {@linkcode FakeKube.blockEviction} holds it). */
  evict(ref: ObjectName, options: EvictOptions = {}): Promise<void> {
    return this.#call(options.signal, () => {
      const key = refKey({ kind: "pods", ...ref });
      this.#fault("evict", "pods");
      this.#existing("pods", key, "evict");
      if (this.#blockedEvictions.has(key)) {
        throw apiError(
          "evict",
          "pods",
          key,
          429,
          "TooManyRequests",
          "Cannot evict pod as it would violate the pod's disruption budget.",
        );
      }
      const deleteOptions: DeleteOptions = {};
      if (options.uid !== undefined) {
        deleteOptions.preconditions = { uid: options.uid };
      }
      if (options.gracePeriodSeconds !== undefined) {
        deleteOptions.gracePeriodSeconds = options.gracePeriodSeconds;
      }
      if (options.dryRun !== undefined) deleteOptions.dryRun = options.dryRun;
      this.#delete("pods", key, deleteOptions, "evict");
    });
  }

  /** Ends every watch; further calls fail. */
  close(): Promise<void> {
    this.#closed = true;
    this.closeWatches();
    return Promise.resolve();
  }

  // ---- internals ---------------------------------------------------------

  #store(kind: FakeKind): Map<string, AnyObject> {
    let store = this.#stores.get(kind);
    if (!store) {
      store = new Map();
      this.#stores.set(kind, store);
    }
    return store;
  }

  async #call<T>(
    signal: AbortSignal | undefined,
    fn: () => T,
  ): Promise<T> {
    // Like a real request: the result arrives asynchronously.
    await Promise.resolve();
    signal?.throwIfAborted();
    if (this.#closed) throw new TypeError("Cannot call FakeKube: it is closed");
    return fn();
  }

  #fault(verb: string, kind: FakeKind): void {
    const index = this.#faults.findIndex((f) =>
      f.verb === verb && (f.kind === undefined || f.kind === kind)
    );
    if (index < 0) return;
    const fault = this.#faults[index]!;
    if (--fault.remaining <= 0) this.#faults.splice(index, 1);
    throw fault.error;
  }

  #nextUid(): string {
    const n = (++this.#uidCounter).toString(16).padStart(12, "0");
    return `00000000-0000-4000-8000-${n}`;
  }

  #nowSeconds(): Date {
    return new Date(Math.floor(this.#clock.now() / 1000) * 1000);
  }

  #checkName(kind: FakeKind, meta: AnyObject, verb: string): void {
    if (!meta.name && meta.generateName) {
      meta.name = `${meta.generateName}${
        (++this.#nameCounter).toString(36).padStart(5, "x")
      }`;
    }
    if (typeof meta.name !== "string" || meta.name === "") {
      throw apiError(
        verb,
        kind,
        "",
        422,
        "Invalid",
        `${
          KINDS[kind].kind
        } "" is invalid: metadata.name: Required value: name or generateName is required`,
      );
    }
    if (KINDS[kind].namespaced) {
      if (typeof meta.namespace !== "string" || meta.namespace === "") {
        throw apiError(
          verb,
          kind,
          meta.name,
          422,
          "Invalid",
          `${
            KINDS[kind].kind
          } "${meta.name}" is invalid: metadata.namespace: Required value`,
        );
      }
    } else {
      delete meta.namespace;
    }
  }

  #existing(kind: FakeKind, key: string, verb: string): AnyObject {
    const obj = this.#store(kind).get(key);
    if (!obj) {
      throw apiError(
        verb,
        kind,
        key,
        404,
        "NotFound",
        `${KINDS[kind].resource} "${nameOf(key)}" not found`,
      );
    }
    return obj;
  }

  #get(kind: FakeKind, key: string): AnyObject {
    this.#fault("get", kind);
    return clone(this.#existing(kind, key, "get"));
  }

  #create(kind: FakeKind, input: AnyObject, options: WriteOptions): AnyObject {
    this.#fault("create", kind);
    const obj = clone(input);
    const meta: AnyObject = (obj.metadata ??= {});
    this.#checkName(kind, meta, "create");
    const key = keyOf(meta);
    if (meta.resourceVersion) {
      throw apiError(
        "create",
        kind,
        key,
        500,
        "InternalError",
        "resourceVersion should not be set on objects to be created",
      );
    }
    if (this.#store(kind).has(key)) {
      throw apiError(
        "create",
        kind,
        key,
        409,
        "AlreadyExists",
        `${KINDS[kind].resource} "${meta.name}" already exists`,
      );
    }
    obj.apiVersion = KINDS[kind].apiVersion;
    obj.kind = KINDS[kind].kind;
    meta.uid = this.#nextUid();
    meta.creationTimestamp = this.#nowSeconds();
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (kind === "persistentVolumes") {
      obj.status = {
        phase: this.#pvBinder ? this.#pvPhase(obj) : "Available",
      };
    } else if (kind === "persistentVolumeClaims") {
      obj.status = { phase: "Pending" };
    }
    this.#validate(kind, undefined, obj, "create");
    this.#actions.push(action("create", kind, key, options));
    if (options.dryRun === "All") {
      meta.resourceVersion = undefined;
      return obj;
    }
    this.#put(kind, key, obj, "ADDED");
    this.#runBinder();
    return clone(this.#store(kind).get(key)!);
  }

  #replace(kind: FakeKind, input: AnyObject, options: WriteOptions): AnyObject {
    this.#fault("replace", kind);
    const obj = clone(input);
    const meta: AnyObject = (obj.metadata ??= {});
    if (!KINDS[kind].namespaced) delete meta.namespace;
    const key = keyOf(meta);
    const old = this.#existing(kind, key, "replace");
    this.#checkVersion(kind, key, old, meta, "replace");
    return this.#commitUpdate(kind, key, old, obj, options, "replace");
  }

  #patch(
    kind: FakeKind,
    key: string,
    patch: Patch,
    options: WriteOptions,
  ): AnyObject {
    this.#fault("patch", kind);
    let old = this.#store(kind).get(key);
    if (!old && patch.type === "apply") {
      const body = clone(patch.body) as AnyObject;
      body.metadata ??= {};
      body.metadata.name = nameOf(key);
      if (KINDS[kind].namespaced) body.metadata.namespace = key.split("/")[0];
      const created = this.#create(kind, body, options);
      this.#actions.pop();
      this.#actions.push(action("patch", kind, key, options, patch.type));
      return created;
    }
    old = this.#existing(kind, key, "patch");
    let patched: AnyObject;
    switch (patch.type) {
      case "merge":
      case "strategic":
      case "apply":
        patched = mergePatch(clone(old), clone(patch.body)) as AnyObject;
        break;
      case "json":
        patched = jsonPatch(clone(old), patch.body, (message) =>
          apiError(
            "patch",
            kind,
            key,
            422,
            "Invalid",
            message,
          ));
        break;
    }
    const meta: AnyObject = (patched.metadata ??= {});
    // A patch may carry a resourceVersion: it is then a precondition.
    if (
      meta.resourceVersion !== undefined &&
      meta.resourceVersion !== old.metadata.resourceVersion
    ) {
      throw conflict("patch", kind, key);
    }
    meta.resourceVersion = old.metadata.resourceVersion;
    return this.#commitUpdate(kind, key, old, patched, options, "patch", patch);
  }

  #checkVersion(
    kind: FakeKind,
    key: string,
    old: AnyObject,
    meta: AnyObject,
    verb: string,
  ): void {
    if (meta.uid !== undefined && meta.uid !== old.metadata.uid) {
      throw uidConflict(verb, kind, key, {
        wanted: meta.uid,
        actual: old.metadata.uid,
      });
    }
    if (
      meta.resourceVersion !== undefined && meta.resourceVersion !== "" &&
      meta.resourceVersion !== old.metadata.resourceVersion
    ) {
      throw conflict(verb, kind, key);
    }
  }

  #commitUpdate(
    kind: FakeKind,
    key: string,
    old: AnyObject,
    obj: AnyObject,
    options: WriteOptions,
    verb: "replace" | "patch",
    patch?: Patch,
  ): AnyObject {
    const meta: AnyObject = obj.metadata;
    const oldMeta: AnyObject = old.metadata;
    obj.apiVersion = KINDS[kind].apiVersion;
    obj.kind = KINDS[kind].kind;
    meta.name = oldMeta.name;
    if (KINDS[kind].namespaced) meta.namespace = oldMeta.namespace;
    meta.uid = oldMeta.uid;
    meta.creationTimestamp = oldMeta.creationTimestamp;
    // deletionTimestamp is set only by the server and never unset.
    if (oldMeta.deletionTimestamp !== undefined) {
      meta.deletionTimestamp = oldMeta.deletionTimestamp;
      meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
      const added = (meta.finalizers ?? []).filter((f: string) =>
        !(oldMeta.finalizers ?? []).includes(f)
      );
      if (added.length > 0) {
        throw apiError(
          verb,
          kind,
          key,
          422,
          "Invalid",
          `${KINDS[kind].kind} "${
            nameOf(key)
          }" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${
            JSON.stringify(added)
          }`,
        );
      }
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (KINDS[kind].statusSubresource) {
      if (old.status === undefined) delete obj.status;
      else obj.status = clone(old.status);
    }
    this.#validate(kind, old, obj, verb);
    const specChanged = JSON.stringify(old.spec) !== JSON.stringify(obj.spec);
    meta.generation = (oldMeta.generation ?? 1) + (specChanged ? 1 : 0);
    this.#actions.push(
      action(verb, kind, key, options, patch?.type),
    );
    if (options.dryRun === "All") return obj;
    const unchanged = JSON.stringify({ ...obj, metadata: { ...meta } }) ===
      JSON.stringify(old);
    if (unchanged) return clone(old);
    if (
      meta.deletionTimestamp !== undefined &&
      (meta.finalizers ?? []).length === 0
    ) {
      this.#remove(kind, key, obj);
      return obj;
    }
    this.#put(kind, key, obj, "MODIFIED");
    this.#runBinder();
    return clone(this.#store(kind).get(key)!);
  }

  #validate(
    kind: FakeKind,
    old: AnyObject | undefined,
    obj: AnyObject,
    verb: string,
  ): void {
    const invalid = (field: string, detail: string) =>
      apiError(
        verb,
        kind,
        keyOf(obj.metadata),
        422,
        "Invalid",
        `${
          KINDS[kind].kind
        } "${obj.metadata.name}" is invalid: ${field}: ${detail}`,
      );
    if (kind === "persistentVolumes") {
      if (!obj.spec) throw invalid("spec", "Required value");
      if (!old) return;
      const oldAffinity = old.spec?.nodeAffinity;
      if (
        oldAffinity !== undefined && !this.#mutablePvNodeAffinity &&
        JSON.stringify(oldAffinity) !== JSON.stringify(obj.spec.nodeAffinity)
      ) {
        throw invalid(
          "spec.nodeAffinity",
          `Invalid value: ${
            JSON.stringify(obj.spec.nodeAffinity ?? null)
          }: field is immutable`,
        );
      }
      for (
        const source of ["csi", "hostPath", "local", "nfs", "iscsi", "fc"]
      ) {
        if (
          old.spec?.[source] !== undefined &&
          JSON.stringify(old.spec[source]) !==
            JSON.stringify(obj.spec[source])
        ) {
          throw invalid(
            "spec.persistentvolumesource",
            "Forbidden: spec.persistentvolumesource is immutable after creation",
          );
        }
      }
    } else if (kind === "persistentVolumeClaims" && old) {
      const strip = (spec: AnyObject | undefined) => {
        const copy = clone(spec ?? {});
        delete copy.resources;
        delete copy.volumeAttributesClassName;
        if (!old.spec?.volumeName) delete copy.volumeName;
        return JSON.stringify(copy);
      };
      if (strip(old.spec) !== strip(obj.spec)) {
        throw invalid(
          "spec",
          "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        );
      }
    } else if (kind === "storageClasses" && old) {
      for (const field of ["provisioner", "parameters", "reclaimPolicy"]) {
        if (JSON.stringify(old[field]) !== JSON.stringify(obj[field])) {
          throw invalid(
            field,
            "Forbidden: updates to " + field + " are forbidden.",
          );
        }
      }
    }
  }

  #delete(
    kind: FakeKind,
    key: string,
    options: DeleteOptions,
    verb: "delete" | "evict",
  ): void {
    if (verb === "delete") this.#fault("delete", kind);
    const old = this.#existing(kind, key, verb);
    const pre = options.preconditions;
    if (pre?.uid !== undefined && pre.uid !== old.metadata.uid) {
      throw uidConflict(verb, kind, key, {
        wanted: pre.uid,
        actual: old.metadata.uid,
      });
    }
    if (
      pre?.resourceVersion !== undefined &&
      pre.resourceVersion !== old.metadata.resourceVersion
    ) {
      throw apiError(
        verb,
        kind,
        key,
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${KINDS[kind].resource} "${
          nameOf(key)
        }": Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    const entry: FakeAction = {
      verb,
      kind,
      key,
      dryRun: options.dryRun === "All",
      ...(options.gracePeriodSeconds === undefined
        ? {}
        : { gracePeriodSeconds: options.gracePeriodSeconds }),
    };
    this.#actions.push(entry);
    if (options.dryRun === "All") return;
    if (kind === "pods" && this.#downKubelets.has(old.spec?.nodeName)) {
      // A graceful delete of a pod on a node whose kubelet is down leaves it
      // Terminating (nobody confirms); only a grace period of 0 removes it.
      const grace = options.gracePeriodSeconds ??
        old.spec?.terminationGracePeriodSeconds ?? 30;
      if (grace > 0 || (old.metadata.finalizers ?? []).length > 0) {
        this.#markDeleting(kind, key, old, grace);
        return;
      }
    }
    if ((old.metadata.finalizers ?? []).length > 0) {
      this.#markDeleting(kind, key, old, 0);
      return;
    }
    this.#remove(kind, key, old);
  }

  /** Sets the deletionTimestamp `graceSeconds` from now, once. */
  #markDeleting(
    kind: FakeKind,
    key: string,
    old: AnyObject,
    graceSeconds: number,
  ): void {
    if (old.metadata.deletionTimestamp !== undefined) return;
    const obj = clone(old);
    obj.metadata.deletionTimestamp = new Date(
      this.#nowSeconds().getTime() + graceSeconds * 1000,
    );
    obj.metadata.deletionGracePeriodSeconds = graceSeconds;
    this.#put(kind, key, obj, "MODIFIED");
  }

  #remove(kind: FakeKind, key: string, last: AnyObject): void {
    this.#store(kind).delete(key);
    const obj = clone(last);
    obj.metadata.resourceVersion = String(++this.#rv);
    this.#emit(kind, "DELETED", obj);
    this.#runBinder();
  }

  #recordEvent(involved: InvolvedObject, details: EventDetails): void {
    const meta = involved.metadata ?? {};
    const namespace = meta.namespace || "default";
    const note = truncateUtf8(details.message, EVENT_NOTE_MAX_LENGTH);
    const now = this.#clock.now();
    const existing = this.all("events").find((e) =>
      e.regarding?.uid === meta.uid &&
      e.regarding?.name === meta.name &&
      e.type === details.type && e.reason === details.reason &&
      e.action === details.action && e.note === note &&
      now - new Date(
              e.series?.lastObservedTime ?? e.eventTime ?? 0,
            ).getTime() <= EVENT_SERIES_WINDOW_MS
    );
    if (existing) {
      existing.series = {
        count: (existing.series?.count ?? 1) + 1,
        lastObservedTime: new Date(now),
      };
      existing.metadata!.resourceVersion = String(++this.#rv);
      this.#store("events").set(keyOf(existing.metadata!), existing);
      this.#actions.push(
        action("event", "events", keyOf(existing.metadata!), {}),
      );
      return;
    }
    const event: EventsV1Event = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: {
        name: `${meta.name ?? "unknown"}.${
          (this.#uidCounter + 1).toString(16)
        }`,
        namespace,
      },
      eventTime: new Date(now),
      reportingController: EVENT_REPORTING_CONTROLLER,
      reportingInstance: "fake",
      type: details.type,
      reason: details.reason,
      action: details.action,
      note,
      regarding: objectReference(involved),
      ...(details.related ? { related: objectReference(details.related) } : {}),
    };
    this.#create("events", event as AnyObject, {});
    this.#actions.pop();
    this.#actions.push(action("event", "events", keyOf(event.metadata!), {}));
  }

  #runBinder(): void {
    if (!this.#pvBinder) return;
    // Settle phases until nothing changes (a PV and its PVC affect each other).
    for (let round = 0; round < 3; round++) {
      let changed = false;
      for (const [key, pv] of this.#store("persistentVolumes")) {
        const phase = this.#pvPhase(pv);
        if (pv.status?.phase !== phase) {
          this.#setStatus("persistentVolumes", key, pv, { phase });
          changed = true;
        }
      }
      for (const [key, pvc] of this.#store("persistentVolumeClaims")) {
        const pv = pvc.spec?.volumeName
          ? this.#store("persistentVolumes").get(pvc.spec.volumeName)
          : undefined;
        const bound = pv !== undefined && this.#pvPhase(pv) === "Bound" &&
          pv.spec.claimRef?.uid === pvc.metadata.uid;
        const phase = bound
          ? "Bound"
          : pvc.status?.phase === "Bound"
          ? "Lost"
          : (pvc.status?.phase ?? "Pending");
        if (pvc.status?.phase !== phase) {
          this.#setStatus("persistentVolumeClaims", key, pvc, {
            ...(pvc.status ?? {}),
            phase,
          });
          changed = true;
        }
      }
      if (!changed) return;
    }
  }

  #pvPhase(pv: AnyObject): string {
    const ref = pv.spec?.claimRef;
    if (!ref?.name) return "Available";
    const pvc = this.#store("persistentVolumeClaims").get(
      `${ref.namespace ?? ""}/${ref.name}`,
    );
    const sameClaim = pvc !== undefined &&
      (ref.uid === undefined || ref.uid === "" ||
        ref.uid === pvc.metadata.uid);
    if (sameClaim && pvc.spec?.volumeName === pv.metadata.name) return "Bound";
    if (!sameClaim && ref.uid) return "Released";
    return "Available";
  }

  #setStatus(
    kind: FakeKind,
    key: string,
    obj: AnyObject,
    status: AnyObject,
  ): void {
    const next = clone(obj);
    next.status = status;
    this.#put(kind, key, next, "MODIFIED");
  }

  /** Stores `obj` under `key` with a new resourceVersion and tells the watches. */
  #put(
    kind: FakeKind,
    key: string,
    obj: AnyObject,
    type: "ADDED" | "MODIFIED",
  ): void {
    obj.metadata.resourceVersion = String(++this.#rv);
    this.#store(kind).set(key, obj);
    this.#emit(kind, type, obj);
  }

  #emit(
    kind: FakeKind,
    type: "ADDED" | "MODIFIED" | "DELETED",
    obj: AnyObject,
  ): void {
    const entry: HistoryEntry = {
      kind,
      rv: Number(obj.metadata.resourceVersion),
      type,
      object: clone(obj),
    };
    this.#history.push(entry);
    if (this.#history.length > this.#historyLimit) {
      // Like etcd compaction: watches from before the kept window get 410.
      const dropped = this.#history.splice(
        0,
        this.#history.length - this.#historyLimit,
      );
      this.#compactedRv = dropped.at(-1)!.rv;
    }
    for (const w of this.#watchers) {
      if (w.kind !== kind) continue;
      w.queue.push({ type, object: clone(obj) });
      w.wake?.();
    }
  }

  async *#watch(
    kind: KubeResource,
    options: WatchOptions,
  ): AsyncGenerator<WatchEvent<AnyObject>> {
    await Promise.resolve();
    if (options.signal.aborted) return;
    if (this.#closed) throw new TypeError("Cannot call FakeKube: it is closed");
    this.#fault("watch", kind);
    const rv = options.resourceVersion;
    const watcher: Watcher = {
      kind,
      bookmarks: options.allowBookmarks ?? true,
      queue: [],
      wake: undefined,
      closed: false,
    };
    if (rv === "" || rv === "0") {
      for (const obj of this.all(kind)) {
        watcher.queue.push({ type: "ADDED", object: obj as AnyObject });
      }
    } else {
      const from = Number(rv);
      if (!Number.isSafeInteger(from) || from < 0) {
        throw apiError(
          "watch",
          kind,
          "",
          400,
          "BadRequest",
          `invalid resource version: ${JSON.stringify(rv)}`,
        );
      }
      if (from < this.#compactedRv) {
        throw apiError(
          "watch",
          kind,
          "",
          410,
          "Expired",
          `too old resource version: ${from} (${this.#compactedRv})`,
        );
      }
      for (const e of this.#history) {
        if (e.kind === kind && e.rv > from) {
          watcher.queue.push({ type: e.type, object: clone(e.object) });
        }
      }
    }
    this.#watchers.add(watcher);
    const onAbort = () => watcher.wake?.();
    options.signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        if (options.signal.aborted) return;
        const next = watcher.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (watcher.closed) return;
        await new Promise<void>((resolve) => {
          watcher.wake = resolve;
        });
        watcher.wake = undefined;
      }
    } finally {
      options.signal.removeEventListener("abort", onAbort);
      this.#watchers.delete(watcher);
    }
  }
}

/** The object type of each kind the fake stores. */
export type FakeObjectOf<K extends FakeKind> = K extends KubeKind
  ? KubeObjectOf<K>
  : K extends "leases" ? V1Lease
  : K extends "namespaces" ? V1Namespace
  : EventsV1Event;

function action(
  verb: FakeAction["verb"],
  kind: FakeKind,
  key: string,
  options: { dryRun?: "All" },
  patchType?: Patch["type"],
): FakeAction {
  return {
    verb,
    kind,
    key,
    dryRun: options.dryRun === "All",
    ...(patchType === undefined ? {} : { patchType }),
  };
}

function apiError(
  verb: string,
  kind: FakeKind,
  key: string,
  status: number,
  reason: string,
  message: string,
): KubeApiError {
  return new KubeApiError({
    status,
    reason,
    message,
    verb,
    kind: KINDS[kind].resource,
    name: key,
    cause: {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message,
      reason,
      code: status,
    },
  });
}

function conflict(verb: string, kind: FakeKind, key: string): KubeApiError {
  return apiError(
    verb,
    kind,
    key,
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${KINDS[kind].resource} "${
      nameOf(key)
    }": the object has been modified; please apply your changes to the latest version and try again`,
  );
}

/** The 409 of a failed UID precondition. */
function uidConflict(
  verb: string,
  kind: FakeKind,
  key: string,
  { wanted, actual }: { wanted: string; actual: string },
): KubeApiError {
  return apiError(
    verb,
    kind,
    key,
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${KINDS[kind].resource} "${
      nameOf(key)
    }": Precondition failed: UID in precondition: ${wanted}, UID in object meta: ${actual}`,
  );
}

function keyOf(meta: AnyObject): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : String(meta.name);
}

function refKey(ref: ResourceRef): string {
  return KINDS[ref.kind].namespaced
    ? `${ref.namespace ?? ""}/${ref.name}`
    : ref.name;
}

function nameOf(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? key : key.slice(slash + 1);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function isPlainObject(value: unknown): value is AnyObject {
  return typeof value === "object" && value !== null &&
    !Array.isArray(value) && !(value instanceof Date);
}

/** RFC 7386 JSON merge patch (also used, approximately, for strategic and apply patches). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: AnyObject = isPlainObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902 JSON patch; `invalid(message)` builds the error for a failed operation. */
function jsonPatch(
  doc: AnyObject,
  ops: readonly JsonPatchOperation[],
  invalid: (message: string) => Error,
): AnyObject {
  let root: unknown = doc;
  const parse = (path: string): string[] => {
    if (path === "") return [];
    if (!path.startsWith("/")) throw invalid(`invalid JSON pointer "${path}"`);
    return path.slice(1).split("/").map((p) =>
      p.replaceAll("~1", "/").replaceAll("~0", "~")
    );
  };
  const parentOf = (path: string): [AnyObject | unknown[], string] => {
    const parts = parse(path);
    const last = parts.pop();
    if (last === undefined) throw invalid(`cannot address the root "${path}"`);
    let node: unknown = root;
    for (const part of parts) {
      node = (node as AnyObject)?.[part];
      if (typeof node !== "object" || node === null) {
        throw invalid(`doc is missing path: "${path}"`);
      }
    }
    return [node as AnyObject, last];
  };
  const read = (path: string): unknown => {
    let node: unknown = root;
    for (const part of parse(path)) {
      if (typeof node !== "object" || node === null || !(part in node)) {
        throw invalid(`doc is missing path: "${path}"`);
      }
      node = (node as AnyObject)[part];
    }
    return node;
  };
  const add = (path: string, value: unknown) => {
    if (path === "") {
      root = value;
      return;
    }
    const [parent, key] = parentOf(path);
    if (Array.isArray(parent)) {
      const index = key === "-" ? parent.length : Number(key);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) {
        throw invalid(`invalid array index in "${path}"`);
      }
      parent.splice(index, 0, value);
    } else {
      parent[key] = value;
    }
  };
  const remove = (path: string): unknown => {
    const [parent, key] = parentOf(path);
    if (Array.isArray(parent)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0 || index >= parent.length) {
        throw invalid(`doc is missing path: "${path}"`);
      }
      return parent.splice(index, 1)[0];
    }
    if (!(key in parent)) throw invalid(`doc is missing path: "${path}"`);
    const old = parent[key];
    delete parent[key];
    return old;
  };
  for (const op of ops) {
    switch (op.op) {
      case "add":
        add(op.path, clone(op.value));
        break;
      case "remove":
        remove(op.path);
        break;
      case "replace":
        remove(op.path);
        add(op.path, clone(op.value));
        break;
      case "test":
        if (JSON.stringify(read(op.path)) !== JSON.stringify(op.value)) {
          throw invalid(
            `the server rejected our request due to an error in our request: testing value ${op.path} failed`,
          );
        }
        break;
      case "move":
        add(op.path, remove(op.from ?? ""));
        break;
      case "copy":
        add(op.path, clone(read(op.from ?? "")));
        break;
    }
  }
  if (!isPlainObject(root)) throw invalid("patched document is not an object");
  return root;
}
