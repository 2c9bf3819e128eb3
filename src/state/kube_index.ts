/**
 * Incrementally maintained Kubernetes object caches and indexes.
 *
 * Each informer event updates the caches and the derived indexes (PVs by
 * LINSTOR resource, pods by claim, pods by node, unbound claims with a
 * selected node) in O(entries / shards +
 * bucket size), never by rebuilding everything. `view()` is O(1) when nothing
 * changed and O(shards) otherwise: unchanged shards are shared between views
 * (see `_cow_map.ts`), so older views never change.
 *
 * @module
 */
import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
} from "@kubernetes/client-node";
import { ANNOTATION_SELECTED_NODE } from "../constants.ts";
import { CowMap } from "./_cow_map.ts";
import { KUBE_KINDS, type KubeKind, type KubeObjectOf } from "../kube/mod.ts";
import { claimsOfPod, volumeHandleOfPv } from "./queries.ts";
import type { KubeView } from "./types.ts";

/** Any object the state model caches. */
export type KubeObject = KubeObjectOf<KubeKind>;

const NAMESPACED: ReadonlySet<KubeKind> = new Set<KubeKind>([
  "pods",
  "persistentVolumeClaims",
]);

/** What an informer feeds: a full list, then single changes. */
export interface KubeSink<T> {
  /** The complete current list (initial list and every relist). */
  replace(items: readonly T[]): void;
  /** An added or modified object. */
  upsert(item: T): void;
  /** A deleted object. */
  remove(item: T): void;
}

/** The cache key of an object: `name`, or `namespace/name` for pods and PVCs. */
export function kubeObjectKey(kind: KubeKind, object: KubeObject): string {
  const name = object.metadata?.name;
  if (!name) {
    throw new TypeError(
      `Cannot index Kubernetes ${kind} object: it has no "metadata.name"`,
    );
  }
  if (!NAMESPACED.has(kind)) return name;
  return `${object.metadata?.namespace ?? "default"}/${name}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Copy of `bucket` with `item` added or replaced, sorted by `keyOf`. The
 * copy has no spare capacity (`with()`, `toSpliced()`): most buckets hold
 * one item (a PV per LINSTOR resource), and an array grown by `splice()` or
 * `push()` keeps room for 16 more (about 130 bytes each, 4 MiB at 33,000
 * PVs).
 */
function bucketWith<T>(
  bucket: readonly T[] | undefined,
  item: T,
  key: string,
  keyOf: (item: T) => string,
): readonly T[] {
  if (bucket === undefined) return Object.freeze([item]);
  let low = 0;
  let high = bucket.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareStrings(keyOf(bucket[mid]!), key) < 0) low = mid + 1;
    else high = mid;
  }
  return Object.freeze(
    low < bucket.length && keyOf(bucket[low]!) === key
      ? bucket.with(low, item)
      : bucket.toSpliced(low, 0, item),
  );
}

/** Copy of `bucket` without the item keyed `key`; `undefined` when empty. */
function bucketWithout<T>(
  bucket: readonly T[] | undefined,
  key: string,
  keyOf: (item: T) => string,
): readonly T[] | undefined {
  if (bucket === undefined) return undefined;
  const list = bucket.filter((item) => keyOf(item) !== key);
  return list.length === 0 ? undefined : Object.freeze(list);
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? "default"}/${pod.metadata?.name ?? ""}`;
}

function pvKey(pv: V1PersistentVolume): string {
  return pv.metadata?.name ?? "";
}

/** Whether a claim is unbound and carries `volume.kubernetes.io/selected-node`. */
function hasSelectedNode(pvc: V1PersistentVolumeClaim): boolean {
  return !pvc.spec?.volumeName &&
    !!pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE];
}

/** The LINSTOR resource of a LINSTOR CSI PV, `undefined` for others. */
function resourceOfPv(pv: V1PersistentVolume): string | undefined {
  return volumeHandleOfPv(pv)?.resource;
}

/** Options of `KubeIndex`. */
export interface KubeIndexOptions {
  /** Kinds this process watches; only they count for `isSynced()`. */
  subscribed: Iterable<KubeKind>;
  /**
   * Shards per map (a power of two): more shards make writes after a view
   * cheaper and views more expensive.
   * @default {256}
   */
  shards?: number;
}

/** The Kubernetes half of the state model, fed by informer sinks. */
export class KubeIndex {
  readonly #subscribed: ReadonlySet<KubeKind>;
  readonly #synced = new Set<KubeKind>();
  readonly #objects: { [K in KubeKind]: CowMap<KubeObjectOf<K>> };
  readonly #pvsByResource: CowMap<readonly V1PersistentVolume[]>;
  readonly #podsByClaim: CowMap<readonly V1Pod[]>;
  readonly #podsByNode: CowMap<readonly V1Pod[]>;
  readonly #claimsWithSelectedNode: CowMap<V1PersistentVolumeClaim>;
  #view: KubeView | undefined;
  #changes = 0;

  /** An empty index watching `options.subscribed`. */
  constructor(options: KubeIndexOptions) {
    const subscribed = new Set(options.subscribed);
    for (const kind of subscribed) {
      if (!KUBE_KINDS.includes(kind)) {
        throw new TypeError(
          `Cannot subscribe to Kubernetes kind "${kind}": expected one of ${
            KUBE_KINDS.join(", ")
          }`,
        );
      }
    }
    this.#subscribed = subscribed;
    const shards = options.shards;
    this.#objects = {
      nodes: new CowMap(shards),
      pods: new CowMap(shards),
      persistentVolumes: new CowMap(shards),
      persistentVolumeClaims: new CowMap(shards),
      storageClasses: new CowMap(shards),
      volumeAttachments: new CowMap(shards),
    };
    this.#pvsByResource = new CowMap(shards);
    this.#podsByClaim = new CowMap(shards);
    this.#podsByNode = new CowMap(shards);
    this.#claimsWithSelectedNode = new CowMap(shards);
  }

  /** Number of changes applied so far (grows by one per effective change). */
  get changes(): number {
    return this.#changes;
  }

  /** Whether every subscribed kind has listed at least once. */
  isSynced(): boolean {
    return this.#synced.size === this.#subscribed.size;
  }

  /** Number of cached objects of `kind`. */
  count(kind: KubeKind): number {
    return this.#objects[kind].size;
  }

  /** The sink an informer of `kind` feeds. */
  sink<K extends KubeKind>(kind: K): KubeSink<KubeObjectOf<K>> {
    if (!this.#subscribed.has(kind)) {
      throw new RangeError(
        `Cannot feed Kubernetes kind "${kind}": it is not subscribed`,
      );
    }
    return {
      replace: (items) => this.replace(kind, items),
      upsert: (item) => this.upsert(kind, item),
      remove: (item) => this.remove(kind, item),
    };
  }

  /** Replaces every object of `kind` (a list or relist); `true` if anything changed. */
  replace<K extends KubeKind>(
    kind: K,
    items: readonly KubeObjectOf<K>[],
  ): boolean {
    const before = this.#changes;
    const cache = this.#objects[kind] as CowMap<KubeObjectOf<K>>;
    const wasEmpty = cache.size === 0;
    const keep = new Set<string>();
    for (const item of items) {
      keep.add(kubeObjectKey(kind, item));
      this.upsert(kind, item);
    }
    if (!wasEmpty) {
      const gone: KubeObjectOf<K>[] = [];
      for (const item of cache.values()) {
        if (!keep.has(kubeObjectKey(kind, item))) gone.push(item);
      }
      for (const item of gone) this.remove(kind, item);
    }
    if (!this.#synced.has(kind) && this.#subscribed.has(kind)) {
      this.#synced.add(kind);
      this.#touch();
    }
    return this.#changes !== before;
  }

  /** Adds or updates one object; `true` if anything changed. */
  upsert<K extends KubeKind>(kind: K, item: KubeObjectOf<K>): boolean {
    const key = kubeObjectKey(kind, item);
    const cache = this.#objects[kind] as CowMap<KubeObjectOf<K>>;
    const old = cache.get(key);
    if (old === item) return false;
    if (old !== undefined && sameRevision(old, item)) return false;
    if (old !== undefined) this.#unindex(kind, key, old);
    cache.set(key, item);
    this.#index(kind, key, item);
    this.#touch();
    return true;
  }

  /** Removes one object (matched by key); `true` if it was cached. */
  remove<K extends KubeKind>(kind: K, item: KubeObjectOf<K>): boolean {
    const key = kubeObjectKey(kind, item);
    const cache = this.#objects[kind] as CowMap<KubeObjectOf<K>>;
    const old = cache.get(key);
    if (old === undefined) return false;
    this.#unindex(kind, key, old);
    cache.delete(key);
    this.#touch();
    return true;
  }

  /** The current content as an immutable view; the same object until a change. */
  view(): KubeView {
    if (this.#view === undefined) {
      this.#view = Object.freeze({
        subscribed: new Set(this.#subscribed) as ReadonlySet<KubeKind>,
        synced: Object.freeze(new Set(this.#synced)) as ReadonlySet<KubeKind>,
        nodes: this.#objects.nodes.view(),
        pods: this.#objects.pods.view(),
        persistentVolumes: this.#objects.persistentVolumes.view(),
        persistentVolumeClaims: this.#objects.persistentVolumeClaims.view(),
        storageClasses: this.#objects.storageClasses.view(),
        volumeAttachments: this.#objects.volumeAttachments.view(),
        pvsByResource: this.#pvsByResource.view(),
        podsByClaim: this.#podsByClaim.view(),
        podsByNode: this.#podsByNode.view(),
        claimsWithSelectedNode: this.#claimsWithSelectedNode.view(),
      });
    }
    return this.#view;
  }

  #touch(): void {
    this.#changes++;
    this.#view = undefined;
  }

  #index(kind: KubeKind, key: string, item: KubeObject): void {
    if (kind === "persistentVolumeClaims") {
      const pvc = item as V1PersistentVolumeClaim;
      if (hasSelectedNode(pvc)) this.#claimsWithSelectedNode.set(key, pvc);
    } else if (kind === "persistentVolumes") {
      const resource = resourceOfPv(item as V1PersistentVolume);
      if (resource !== undefined) {
        this.#pvsByResource.set(
          resource,
          bucketWith(
            this.#pvsByResource.get(resource),
            item as V1PersistentVolume,
            key,
            pvKey,
          ),
        );
      }
    } else if (kind === "pods") {
      const pod = item as V1Pod;
      for (const claim of claimsOfPod(pod)) {
        this.#podsByClaim.set(
          claim,
          bucketWith(this.#podsByClaim.get(claim), pod, key, podKey),
        );
      }
      const node = pod.spec?.nodeName;
      if (node) {
        this.#podsByNode.set(
          node,
          bucketWith(this.#podsByNode.get(node), pod, key, podKey),
        );
      }
    }
  }

  #unindex(kind: KubeKind, key: string, item: KubeObject): void {
    if (kind === "persistentVolumeClaims") {
      if (hasSelectedNode(item as V1PersistentVolumeClaim)) {
        this.#claimsWithSelectedNode.delete(key);
      }
    } else if (kind === "persistentVolumes") {
      const resource = resourceOfPv(item as V1PersistentVolume);
      if (resource !== undefined) {
        update(
          this.#pvsByResource,
          resource,
          (bucket) => bucketWithout(bucket, key, pvKey),
        );
      }
    } else if (kind === "pods") {
      const pod = item as V1Pod;
      for (const claim of claimsOfPod(pod)) {
        update(
          this.#podsByClaim,
          claim,
          (bucket) => bucketWithout(bucket, key, podKey),
        );
      }
      const node = pod.spec?.nodeName;
      if (node) {
        update(
          this.#podsByNode,
          node,
          (bucket) => bucketWithout(bucket, key, podKey),
        );
      }
    }
  }
}

function update<V>(
  map: CowMap<V>,
  key: string,
  change: (value: V | undefined) => V | undefined,
): void {
  const next = change(map.get(key));
  if (next === undefined) map.delete(key);
  else map.set(key, next);
}

/** Same uid and resourceVersion: an informer resync of an unchanged object. */
function sameRevision(a: KubeObject, b: KubeObject): boolean {
  const rv = a.metadata?.resourceVersion;
  return rv !== undefined && rv === b.metadata?.resourceVersion &&
    a.metadata?.uid === b.metadata?.uid;
}
