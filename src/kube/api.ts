/**
 * The Kubernetes port: everything the modes may ask of the apiserver. The
 * real adapter (`createKubeApi()`) and the in-memory fake
 * (`tests/_fakes/fake_kube.ts`) both implement {@linkcode KubeApi}.
 *
 * Object shapes are `@kubernetes/client-node`'s `V1*` model types:
 * timestamps (`metadata.creationTimestamp`, `deletionTimestamp`, …) are `Date`
 * objects, as client-node's deserializer produces them.
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
export interface ListOptions {
  /** Aborts the request. */
  signal?: AbortSignal;
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

/** Options of {@linkcode KubeApi.evictPod}. */
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
 * The Kubernetes port. Errors are {@linkcode KubeApiError}s (test them with
 * `isNotFound()`, `isConflict()`, …); an aborted call rejects with the
 * signal's reason.
 */
export interface KubeApi {
  /** Lists every object of `kind` (all namespaces). */
  list<K extends KubeKind>(
    kind: K,
    options?: ListOptions,
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

  /** Reads a PersistentVolume. */
  getPersistentVolume(
    name: string,
    options?: GetOptions,
  ): Promise<V1PersistentVolume>;
  /** Creates a PersistentVolume (AlreadyExists when the name is taken). */
  createPersistentVolume(
    pv: V1PersistentVolume,
    options?: WriteOptions,
  ): Promise<V1PersistentVolume>;
  /** Replaces a PersistentVolume; `metadata.resourceVersion` (if set) must be current (Conflict otherwise). */
  replacePersistentVolume(
    pv: V1PersistentVolume,
    options?: WriteOptions,
  ): Promise<V1PersistentVolume>;
  /** Patches a PersistentVolume. */
  patchPersistentVolume(
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1PersistentVolume>;
  /** Deletes a PersistentVolume (with finalizers it only gets a deletionTimestamp). */
  deletePersistentVolume(name: string, options?: DeleteOptions): Promise<void>;

  /** Reads a PersistentVolumeClaim. */
  getPersistentVolumeClaim(
    ref: ObjectName,
    options?: GetOptions,
  ): Promise<V1PersistentVolumeClaim>;
  /** Patches a PersistentVolumeClaim. */
  patchPersistentVolumeClaim(
    ref: ObjectName,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1PersistentVolumeClaim>;

  /** Creates a StorageClass. */
  createStorageClass(
    sc: V1StorageClass,
    options?: WriteOptions,
  ): Promise<V1StorageClass>;
  /** Patches a StorageClass (`{type: "apply"}` for server-side apply; creates it when absent). */
  patchStorageClass(
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1StorageClass>;
  /** Deletes a StorageClass (`preconditions` with UID and resourceVersion to be sure it is the same one). */
  deleteStorageClass(name: string, options?: DeleteOptions): Promise<void>;

  /**
   * Records an `events.k8s.io/v1` Event about `involved`. A repeat of the
   * same (object, type, reason, action, message) within
   * `EVENT_SERIES_WINDOW_MS` updates the existing Event's `series` instead
   * of creating a new one. Best effort: failures are logged, not thrown.
   */
  recordEvent(involved: InvolvedObject, event: EventDetails): Promise<void>;

  /** Reads a Lease. */
  getLease(ref: ObjectName, options?: GetOptions): Promise<V1Lease>;
  /** Creates a Lease. */
  createLease(lease: V1Lease, options?: WriteOptions): Promise<V1Lease>;
  /** Replaces a Lease; `metadata.resourceVersion` must be current (Conflict otherwise). */
  replaceLease(lease: V1Lease, options?: WriteOptions): Promise<V1Lease>;

  /** Deletes a pod (`preconditions.uid` to be sure it is the same pod). */
  deletePod(ref: ObjectName, options?: DeleteOptions): Promise<void>;
  /** Evicts a pod through `policy/v1` Eviction (429 when a PodDisruptionBudget forbids it). */
  evictPod(ref: ObjectName, options?: EvictOptions): Promise<void>;

  /** Deletes a VolumeAttachment (fencing: after the pods on a lost node are gone). */
  deleteVolumeAttachment(name: string, options?: DeleteOptions): Promise<void>;

  /** Reads a Namespace (e.g. `kube-system`, whose UID identifies the cluster). */
  getNamespace(name: string, options?: GetOptions): Promise<V1Namespace>;

  /** Reads a Node. */
  getNode(name: string, options?: GetOptions): Promise<V1Node>;
  /** Patches a Node (labels, taints, annotations). */
  patchNode(
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1Node>;

  /** Releases connections (HTTP clients); the API is unusable afterwards. */
  close(): Promise<void>;
}

/** Re-exported so callers need not import client-node types for Events. */
export type { EventsV1Event, V1ObjectReference };
