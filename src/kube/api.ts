/**
 * The Kubernetes port: everything the modes may ask of the apiserver. The
 * real adapter (`createKubeApi()`) and the in-memory fake
 * (`tests/_fakes/fake_kube.ts`) both implement {@linkcode KubeApi}.
 *
 * Object shapes are `@kubernetes/client-node`'s `V1*` model types:
 * timestamps (`metadata.creationTimestamp`, `deletionTimestamp`, …) are `Date`
 * objects where client-node's models declare `Date` (the adapter revives them
 * from the wire JSON; objects are plain data, not model class instances).
 *
 * @module
 */
import type {
  EventsV1Event,
  V1Lease,
  V1Namespace,
  V1Node,
  V1ObjectReference,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
  V1VolumeAttachment,
} from "@kubernetes/client-node";

/** The Kubernetes object kinds that can be listed and watched. */
export type KubeKind =
  | "nodes"
  | "pods"
  | "persistentVolumes"
  | "persistentVolumeClaims"
  | "storageClasses"
  | "volumeAttachments";

/** Every {@linkcode KubeKind}, in a stable order. */
export const KUBE_KINDS: readonly KubeKind[] = Object.freeze([
  "nodes",
  "pods",
  "persistentVolumes",
  "persistentVolumeClaims",
  "storageClasses",
  "volumeAttachments",
]);

/** The object type of each {@linkcode KubeKind}. */
export interface KubeObjectMap {
  nodes: V1Node;
  pods: V1Pod;
  persistentVolumes: V1PersistentVolume;
  persistentVolumeClaims: V1PersistentVolumeClaim;
  storageClasses: V1StorageClass;
  volumeAttachments: V1VolumeAttachment;
}

/** The object type of kind `K`. */
export type KubeObjectOf<K extends KubeKind> = KubeObjectMap[K];

/**
 * Every resource the port reads or writes: the watchable kinds plus Leases,
 * Events (`events.k8s.io/v1`) and Namespaces.
 */
export type KubeResource = KubeKind | "leases" | "events" | "namespaces";

/** The object type of each {@linkcode KubeResource}. */
export interface KubeResourceMap extends KubeObjectMap {
  leases: V1Lease;
  events: EventsV1Event;
  namespaces: V1Namespace;
}

/** The object type of resource `R`. */
export type KubeResourceOf<R extends KubeResource> = KubeResourceMap[R];

/** One object of resource `K`: its kind, name and (for namespaced kinds) namespace. */
export interface ResourceRef<K extends KubeResource = KubeResource> {
  /** The resource (`"nodes"`, `"pods"`, `"persistentVolumes"`, …). */
  readonly kind: K;
  /** Object name. */
  readonly name: string;
  /** Namespace; required for pods, PVCs, Leases and Events, ignored otherwise. */
  readonly namespace?: string;
}

/** The name (and namespace, for namespaced objects) of an object. */
export interface ObjectName {
  /** Namespace; required for pods, PVCs and Leases. */
  readonly namespace: string;
  /** Object name. */
  readonly name: string;
}

/** A list response: the items and the collection's resourceVersion to watch from. */
export interface ListResult<T> {
  /** The objects. */
  readonly items: T[];
  /** The list's `metadata.resourceVersion`. */
  readonly resourceVersion: string;
}

/** One change reported by a watch. `ERROR` events surface as a thrown {@linkcode KubeApiError}. */
export type WatchEvent<T> =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: T }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string };

/** Options of {@linkcode KubeApi.list}. */
export interface ListOptions<T = unknown> {
  /** Aborts the request. */
  signal?: AbortSignal;
  /**
   * Applied to each object as its page arrives; the result holds what it
   * returns. An informer passes its projection here, so a large list's
   * original objects are garbage page by page instead of all alive until the
   * last page. Must not throw.
   */
  transform?: (obj: T) => T;
}

/** Options of {@linkcode KubeApi.watch}. */
export interface WatchOptions {
  /** Watch changes after this resourceVersion (usually the list's). */
  resourceVersion: string;
  /** Ends the watch: the iterable finishes without an error. */
  signal: AbortSignal;
  /**
   * Ask for BOOKMARK events.
   *
   * @default {true}
   */
  allowBookmarks?: boolean;
  /** Server-side timeout; the stream ends normally when it expires. */
  timeoutSeconds?: number;
}

/** Options shared by writes. */
export interface WriteOptions {
  /** `"All"`: validate and return the result without persisting (server-side dry-run). */
  dryRun?: "All";
  /**
   * Field manager of the write.
   *
   * @default {FIELD_MANAGER}
   */
  fieldManager?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** A patch and its content type. */
export type Patch =
  | {
    /** RFC 7386 JSON merge patch (`application/merge-patch+json`). */
    readonly type: "merge";
    readonly body: Record<string, unknown>;
  }
  | {
    /** Strategic merge patch (`application/strategic-merge-patch+json`); built-in kinds only. */
    readonly type: "strategic";
    readonly body: Record<string, unknown>;
  }
  | {
    /** RFC 6902 JSON patch (`application/json-patch+json`); use `test` operations as preconditions. */
    readonly type: "json";
    readonly body: readonly JsonPatchOperation[];
  }
  | {
    /** Server-side apply (`application/apply-patch+yaml`); the body is the full intent. */
    readonly type: "apply";
    readonly body: Record<string, unknown>;
    /** Take ownership of conflicting fields. */
    readonly force?: boolean;
  };

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  readonly op: "add" | "remove" | "replace" | "test" | "move" | "copy";
  readonly path: string;
  readonly value?: unknown;
  readonly from?: string;
}

/** Preconditions and grace period of a delete. */
export interface DeleteOptions {
  /** Delete only when the object still has these values (HTTP 409 otherwise). */
  preconditions?: { uid?: string; resourceVersion?: string };
  /** Graceful termination period (pods); `0` deletes immediately. */
  gracePeriodSeconds?: number;
  /** `"All"`: validate without deleting. */
  dryRun?: "All";
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Options of {@linkcode KubeApi.evict}. */
export interface EvictOptions {
  /** Evict only when the pod still has this UID. */
  uid?: string;
  /** Graceful termination period of the resulting delete. */
  gracePeriodSeconds?: number;
  /** `"All"`: validate without evicting. */
  dryRun?: "All";
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Options of a read. */
export interface GetOptions {
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** The object an Event is about: any object with `apiVersion`, `kind` and metadata. */
export interface InvolvedObject {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly metadata?: {
    readonly name?: string | undefined;
    readonly namespace?: string | undefined;
    readonly uid?: string | undefined;
    readonly resourceVersion?: string | undefined;
  } | undefined;
}

/** What an Event says. */
export interface EventDetails {
  /** `Normal` or `Warning`. */
  readonly type: "Normal" | "Warning";
  /** UpperCamelCase reason users grep for (from `src/constants.ts`). */
  readonly reason: string;
  /** Human-readable note (truncated to 1 KiB). */
  readonly message: string;
  /** UpperCamelCase action taken or failed (from `src/constants.ts`). */
  readonly action: string;
  /** A second object involved (e.g. the node a pod was evicted from). */
  readonly related?: InvolvedObject;
}

/**
 * The Kubernetes port, generic by resource: `list`, `watch`, `get`,
 * `create`, `replace`, `patch` and `delete` for every
 * {@linkcode KubeResource}, pod eviction, and Events. Errors are
 * {@linkcode KubeApiError}s (test them with `isNotFound()`, `isConflict()`,
 * …); an aborted call rejects with the signal's reason.
 *
 * The per-kind methods (`getPersistentVolume()`, `patchNode()`, …) are thin
 * wrappers kept while callers move to the generic verbs
 * ({@linkcode KubeApiBase} implements them once for every adapter).
 */
export interface KubeApi extends KubeApiByKind {
  /** Lists every object of `kind` (all namespaces). */
  list<K extends KubeKind>(
    kind: K,
    options?: ListOptions<KubeObjectOf<K>>,
  ): Promise<ListResult<KubeObjectOf<K>>>;
  /**
   * Watches `kind` from `options.resourceVersion`. The iterable ends when the
   * server closes the stream or `signal` aborts; it throws a
   * {@linkcode KubeApiError} for an `ERROR` event (410 Gone when the
   * resourceVersion is too old) or a failed request.
   */
  watch<K extends KubeKind>(
    kind: K,
    options: WatchOptions,
  ): AsyncIterable<WatchEvent<KubeObjectOf<K>>>;
  /** Reads one object (NotFound when absent). */
  get<K extends KubeResource>(
    ref: ResourceRef<K>,
    options?: GetOptions,
  ): Promise<KubeResourceOf<K>>;
  /** Creates `obj` (AlreadyExists when the name is taken; `metadata.generateName` works). */
  create<K extends KubeResource>(
    kind: K,
    obj: KubeResourceOf<K>,
    options?: WriteOptions,
  ): Promise<KubeResourceOf<K>>;
  /**
   * Replaces (updates) `obj`; its `metadata.resourceVersion`, when set, must
   * be current (Conflict otherwise). Kinds with a status subresource keep
   * their stored status.
   */
  replace<K extends KubeResource>(
    kind: K,
    obj: KubeResourceOf<K>,
    options?: WriteOptions,
  ): Promise<KubeResourceOf<K>>;
  /** Patches one object (`{type: "apply"}`: server-side apply, which creates it when absent). */
  patch<K extends KubeResource>(
    ref: ResourceRef<K>,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<KubeResourceOf<K>>;
  /**
   * Deletes one object; `preconditions` (UID, resourceVersion) make it
   * conditional (Conflict otherwise). With finalizers it only gets a
   * `deletionTimestamp`.
   */
  delete<K extends KubeResource>(
    ref: ResourceRef<K>,
    options?: DeleteOptions,
  ): Promise<void>;
  /** Evicts a pod through `policy/v1` Eviction (429 when a PodDisruptionBudget forbids it). */
  evict(ref: ObjectName, options?: EvictOptions): Promise<void>;

  /**
   * Records an `events.k8s.io/v1` Event about `involved` (any object: pods,
   * PVs, Nodes, StorageClasses, …; Events about cluster-scoped objects go to
   * the `default` namespace). A repeat of the same (object, type, reason,
   * action, message) within `EVENT_SERIES_WINDOW_MS` updates the existing
   * Event's `series` instead of creating a new one. Best effort: failures are
   * logged, not thrown.
   */
  recordEvent(involved: InvolvedObject, event: EventDetails): Promise<void>;

  /** Releases connections (HTTP clients); the API is unusable afterwards. */
  close(): Promise<void>;
}

/** The per-kind wrappers of {@linkcode KubeApi}, each one generic verb. */
export interface KubeApiByKind {
  /** @deprecated `get({ kind: "persistentVolumes", name })` */
  getPersistentVolume(
    name: string,
    options?: GetOptions,
  ): Promise<V1PersistentVolume>;
  /** @deprecated `create("persistentVolumes", pv)` */
  createPersistentVolume(
    pv: V1PersistentVolume,
    options?: WriteOptions,
  ): Promise<V1PersistentVolume>;
  /** @deprecated `replace("persistentVolumes", pv)` */
  replacePersistentVolume(
    pv: V1PersistentVolume,
    options?: WriteOptions,
  ): Promise<V1PersistentVolume>;
  /** @deprecated `patch({ kind: "persistentVolumes", name }, patch)` */
  patchPersistentVolume(
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1PersistentVolume>;
  /** @deprecated `delete({ kind: "persistentVolumes", name })` */
  deletePersistentVolume(name: string, options?: DeleteOptions): Promise<void>;
  /** @deprecated `get({ kind: "persistentVolumeClaims", namespace, name })` */
  getPersistentVolumeClaim(
    ref: ObjectName,
    options?: GetOptions,
  ): Promise<V1PersistentVolumeClaim>;
  /** @deprecated `patch({ kind: "persistentVolumeClaims", namespace, name }, patch)` */
  patchPersistentVolumeClaim(
    ref: ObjectName,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1PersistentVolumeClaim>;
  /** @deprecated `create("storageClasses", sc)` */
  createStorageClass(
    sc: V1StorageClass,
    options?: WriteOptions,
  ): Promise<V1StorageClass>;
  /** @deprecated `patch({ kind: "storageClasses", name }, patch)` */
  patchStorageClass(
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1StorageClass>;
  /** @deprecated `delete({ kind: "storageClasses", name })` */
  deleteStorageClass(name: string, options?: DeleteOptions): Promise<void>;
  /** @deprecated `get({ kind: "leases", namespace, name })` */
  getLease(ref: ObjectName, options?: GetOptions): Promise<V1Lease>;
  /** @deprecated `create("leases", lease)` */
  createLease(lease: V1Lease, options?: WriteOptions): Promise<V1Lease>;
  /** @deprecated `replace("leases", lease)` */
  replaceLease(lease: V1Lease, options?: WriteOptions): Promise<V1Lease>;
  /** @deprecated `delete({ kind: "pods", namespace, name })` */
  deletePod(ref: ObjectName, options?: DeleteOptions): Promise<void>;
  /** @deprecated `evict(ref)` */
  evictPod(ref: ObjectName, options?: EvictOptions): Promise<void>;
  /** @deprecated `delete({ kind: "volumeAttachments", name })` */
  deleteVolumeAttachment(name: string, options?: DeleteOptions): Promise<void>;
  /** @deprecated `get({ kind: "namespaces", name })` */
  getNamespace(name: string, options?: GetOptions): Promise<V1Namespace>;
  /** @deprecated `get({ kind: "nodes", name })` */
  getNode(name: string, options?: GetOptions): Promise<V1Node>;
  /** @deprecated `patch({ kind: "nodes", name }, patch)` */
  patchNode(
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1Node>;
}

/** Re-exported so callers need not import client-node types for Events. */
export type { EventsV1Event, V1ObjectReference };
