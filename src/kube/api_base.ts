/**
 * {@linkcode KubeApiBase}: the per-kind wrappers of {@linkcode KubeApi},
 * written once over the generic verbs, for the real adapter and the fake.
 *
 * @module
 */
import type {
  V1Lease,
  V1Namespace,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from "@kubernetes/client-node";
import type {
  DeleteOptions,
  EventDetails,
  EvictOptions,
  GetOptions,
  InvolvedObject,
  KubeApi,
  KubeKind,
  KubeObjectOf,
  KubeResource,
  KubeResourceOf,
  ListOptions,
  ListResult,
  ObjectName,
  Patch,
  ResourceRef,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from "./api.ts";

/**
 * A {@linkcode KubeApi} from its generic verbs: subclasses implement `list`,
 * `watch`, `get`, `create`, `replace`, `patch`, `delete`, `evict`,
 * `recordEvent` and `close`; the deprecated per-kind methods come from here.
 */
export abstract class KubeApiBase implements KubeApi {
  /** Lists every object of `kind`. */
  abstract list<K extends KubeKind>(
    kind: K,
    options?: ListOptions<KubeObjectOf<K>>,
  ): Promise<ListResult<KubeObjectOf<K>>>;
  /** Watches `kind`. */
  abstract watch<K extends KubeKind>(
    kind: K,
    options: WatchOptions,
  ): AsyncIterable<WatchEvent<KubeObjectOf<K>>>;
  /** Reads one object. */
  abstract get<K extends KubeResource>(
    ref: ResourceRef<K>,
    options?: GetOptions,
  ): Promise<KubeResourceOf<K>>;
  /** Creates an object. */
  abstract create<K extends KubeResource>(
    kind: K,
    obj: KubeResourceOf<K>,
    options?: WriteOptions,
  ): Promise<KubeResourceOf<K>>;
  /** Replaces an object. */
  abstract replace<K extends KubeResource>(
    kind: K,
    obj: KubeResourceOf<K>,
    options?: WriteOptions,
  ): Promise<KubeResourceOf<K>>;
  /** Patches an object. */
  abstract patch<K extends KubeResource>(
    ref: ResourceRef<K>,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<KubeResourceOf<K>>;
  /** Deletes an object. */
  abstract delete<K extends KubeResource>(
    ref: ResourceRef<K>,
    options?: DeleteOptions,
  ): Promise<void>;
  /** Evicts a pod. */
  abstract evict(ref: ObjectName, options?: EvictOptions): Promise<void>;
  /** Records an Event. */
  abstract recordEvent(
    involved: InvolvedObject,
    event: EventDetails,
  ): Promise<void>;
  /** Releases connections. */
  abstract close(): Promise<void>;

  /** @deprecated `get({ kind: "persistentVolumes", name })` */
  getPersistentVolume(
    name: string,
    options?: GetOptions,
  ): Promise<V1PersistentVolume> {
    return this.get({ kind: "persistentVolumes", name }, options);
  }

  /** @deprecated `create("persistentVolumes", pv)` */
  createPersistentVolume(
    pv: V1PersistentVolume,
    options?: WriteOptions,
  ): Promise<V1PersistentVolume> {
    return this.create("persistentVolumes", pv, options);
  }

  /** @deprecated `replace("persistentVolumes", pv)` */
  replacePersistentVolume(
    pv: V1PersistentVolume,
    options?: WriteOptions,
  ): Promise<V1PersistentVolume> {
    return this.replace("persistentVolumes", pv, options);
  }

  /** @deprecated `patch({ kind: "persistentVolumes", name }, patch)` */
  patchPersistentVolume(
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1PersistentVolume> {
    return this.patch({ kind: "persistentVolumes", name }, patch, options);
  }

  /** @deprecated `delete({ kind: "persistentVolumes", name })` */
  deletePersistentVolume(
    name: string,
    options?: DeleteOptions,
  ): Promise<void> {
    return this.delete({ kind: "persistentVolumes", name }, options);
  }

  /** @deprecated `get({ kind: "persistentVolumeClaims", namespace, name })` */
  getPersistentVolumeClaim(
    ref: ObjectName,
    options?: GetOptions,
  ): Promise<V1PersistentVolumeClaim> {
    return this.get({ kind: "persistentVolumeClaims", ...ref }, options);
  }

  /** @deprecated `patch({ kind: "persistentVolumeClaims", namespace, name }, patch)` */
  patchPersistentVolumeClaim(
    ref: ObjectName,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1PersistentVolumeClaim> {
    return this.patch(
      { kind: "persistentVolumeClaims", ...ref },
      patch,
      options,
    );
  }

  /** @deprecated `create("storageClasses", sc)` */
  createStorageClass(
    sc: V1StorageClass,
    options?: WriteOptions,
  ): Promise<V1StorageClass> {
    return this.create("storageClasses", sc, options);
  }

  /** @deprecated `patch({ kind: "storageClasses", name }, patch)` */
  patchStorageClass(
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1StorageClass> {
    return this.patch({ kind: "storageClasses", name }, patch, options);
  }

  /** @deprecated `delete({ kind: "storageClasses", name })` */
  deleteStorageClass(name: string, options?: DeleteOptions): Promise<void> {
    return this.delete({ kind: "storageClasses", name }, options);
  }

  /** @deprecated `get({ kind: "leases", namespace, name })` */
  getLease(ref: ObjectName, options?: GetOptions): Promise<V1Lease> {
    return this.get({ kind: "leases", ...ref }, options);
  }

  /** @deprecated `create("leases", lease)` */
  createLease(lease: V1Lease, options?: WriteOptions): Promise<V1Lease> {
    return this.create("leases", lease, options);
  }

  /** @deprecated `replace("leases", lease)` */
  replaceLease(lease: V1Lease, options?: WriteOptions): Promise<V1Lease> {
    return this.replace("leases", lease, options);
  }

  /** @deprecated `delete({ kind: "pods", namespace, name })` */
  deletePod(ref: ObjectName, options?: DeleteOptions): Promise<void> {
    return this.delete({ kind: "pods", ...ref }, options);
  }

  /** @deprecated `evict(ref)` */
  evictPod(ref: ObjectName, options?: EvictOptions): Promise<void> {
    return this.evict(ref, options);
  }

  /** @deprecated `delete({ kind: "volumeAttachments", name })` */
  deleteVolumeAttachment(
    name: string,
    options?: DeleteOptions,
  ): Promise<void> {
    return this.delete({ kind: "volumeAttachments", name }, options);
  }

  /** @deprecated `get({ kind: "namespaces", name })` */
  getNamespace(name: string, options?: GetOptions): Promise<V1Namespace> {
    return this.get({ kind: "namespaces", name }, options);
  }

  /** @deprecated `get({ kind: "nodes", name })` */
  getNode(name: string, options?: GetOptions): Promise<V1Node> {
    return this.get({ kind: "nodes", name }, options);
  }

  /** @deprecated `patch({ kind: "nodes", name }, patch)` */
  patchNode(
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ): Promise<V1Node> {
    return this.patch({ kind: "nodes", name }, patch, options);
  }
}
