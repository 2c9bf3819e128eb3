/**
 * Types of the shared in-memory cluster state model.
 *
 * A `Snapshot` is immutable: modes read it, never change it. The state model
 * (`ClusterState`) builds a new one whenever LINSTOR or Kubernetes data
 * changes. All maps are keyed exactly as documented on each field.
 *
 * @module
 */
import type { KubeKind, KubeObjectOf } from "../kube/mod.ts";
import type { AutoSelectFilter, Props } from "../linstor/types.ts";

/** How a LINSTOR resource holds a volume's data on its node. */
export type ReplicaRole = "diskful" | "diskless" | "tie-breaker";

/** One volume of a replica. */
export interface ReplicaVolume {
  readonly volumeNumber: number;
  readonly storagePool: string | undefined;
  readonly providerKind: string | undefined;
  /** DRBD disk state as sent (`UpToDate`, `Outdated`, …); `undefined` when LINSTOR reports none (non-DRBD or unknown). */
  readonly diskState: string | undefined;
  readonly allocatedKib: number | undefined;
  readonly usableKib: number | undefined;
}

/** One LINSTOR resource (a replica of a resource definition on one node). */
export interface Replica {
  /** Resource definition name, as LINSTOR spells it. */
  readonly resource: string;
  /** LINSTOR node name. */
  readonly node: string;
  readonly role: ReplicaRole;
  /** Upper-cased flags as sent (cumulative: a tie-breaker has `DISKLESS`, `DRBD_DISKLESS`, `TIE_BREAKER`). */
  readonly flags: readonly string[];
  /** `true` when the resource is being deleted (`DELETE` or `DRBD_DELETE`). */
  readonly deleting: boolean;
  /** `true` when the resource is `INACTIVE` (incl. evicted). */
  readonly inactive: boolean;
  /** `state.in_use`; `undefined` when the satellite state is unknown. */
  readonly inUse: boolean | undefined;
  readonly volumes: readonly ReplicaVolume[];
  /** `true` when every volume reports `UpToDate`. */
  readonly upToDate: boolean;
  /** `create_timestamp` in ms since the epoch. */
  readonly createdAt: number | undefined;
  readonly props: Readonly<Props>;
}

/** A LINSTOR node. */
export interface LinstorNodeInfo {
  readonly name: string;
  /** Upper-cased node type (`SATELLITE`, `COMBINED`, …). */
  readonly type: string;
  /** Upper-cased connection status (`ONLINE`, `OFFLINE`, …); `UNKNOWN` when absent. */
  readonly connectionStatus: string;
  /** `connectionStatus === "ONLINE"`. */
  readonly online: boolean;
  readonly flags: readonly string[];
  readonly props: Readonly<Props>;
}

/** A storage pool on one node. */
export interface PoolInfo {
  readonly node: string;
  readonly name: string;
  /** Upper-cased provider kind (`LVM`, `LVM_THIN`, `ZFS`, `DISKLESS`, …). */
  readonly providerKind: string;
  /** Thin provisioned (`LVM_THIN`, `ZFS_THIN`, `FILE_THIN` or `static_traits.Provisioning` = `Thin`). */
  readonly thin: boolean;
  /** Free capacity in KiB; `undefined` when LINSTOR does not know it. */
  readonly freeKib: number | undefined;
  /** Total capacity in KiB; `undefined` when LINSTOR does not know it. */
  readonly totalKib: number | undefined;
  readonly props: Readonly<Props>;
}

/** A volume definition. */
export interface VolumeDefinitionInfo {
  readonly volumeNumber: number;
  readonly sizeKib: number | undefined;
  readonly props: Readonly<Props>;
}

/** A resource definition. */
export interface ResourceDefinitionInfo {
  readonly name: string;
  readonly resourceGroup: string | undefined;
  readonly flags: readonly string[];
  readonly props: Readonly<Props>;
  readonly volumeDefinitions: readonly VolumeDefinitionInfo[];
}

/** A resource group. */
export interface ResourceGroupInfo {
  readonly name: string;
  readonly selectFilter: Readonly<AutoSelectFilter>;
  readonly props: Readonly<Props>;
}

/** What the state model knows about LINSTOR. */
export interface LinstorView {
  /** When the last successful poll finished (ms since the epoch); `undefined` before the first one. */
  readonly observedAt: number | undefined;
  /** Message of the last failed poll, cleared by the next successful one. */
  readonly lastError: string | undefined;
  /** Nodes by LINSTOR node name. */
  readonly nodes: ReadonlyMap<string, LinstorNodeInfo>;
  /**
   * Nodes by the Kubernetes hostname in their `Aux/topology/kubernetes.io/hostname`
   * (else `Aux/kubernetes.io/hostname`) property; nodes without one are absent.
   */
  readonly nodesByHostname: ReadonlyMap<string, LinstorNodeInfo>;
  /** Pools by node name, then by pool name. */
  readonly poolsByNode: ReadonlyMap<string, ReadonlyMap<string, PoolInfo>>;
  /** Resource definitions by name. */
  readonly resourceDefinitions: ReadonlyMap<string, ResourceDefinitionInfo>;
  /** Resource groups by name. */
  readonly resourceGroups: ReadonlyMap<string, ResourceGroupInfo>;
  /** Replicas by resource definition name, sorted by node name. */
  readonly replicasByResource: ReadonlyMap<string, readonly Replica[]>;
  /** Replicas by node name, sorted by resource name. */
  readonly replicasByNode: ReadonlyMap<string, readonly Replica[]>;
}

/** The Kubernetes object kinds the state model can watch (defined by `src/kube`). */
export type { KubeKind } from "../kube/mod.ts";

/**
 * What the state model knows about Kubernetes. The maps are runtime-immutable
 * views; their iteration order is unspecified (not insertion order), so sort
 * where order matters.
 */
export interface KubeView {
  /** The kinds this process subscribed to. */
  readonly subscribed: ReadonlySet<KubeKind>;
  /** The subscribed kinds that have listed successfully at least once. */
  readonly synced: ReadonlySet<KubeKind>;
  /** Nodes by name. */
  readonly nodes: ReadonlyMap<string, KubeObjectOf<"nodes">>;
  /** Pods by `namespace/name`. */
  readonly pods: ReadonlyMap<string, KubeObjectOf<"pods">>;
  /** PersistentVolumes by name. */
  readonly persistentVolumes: ReadonlyMap<
    string,
    KubeObjectOf<"persistentVolumes">
  >;
  /** PersistentVolumeClaims by `namespace/name`. */
  readonly persistentVolumeClaims: ReadonlyMap<
    string,
    KubeObjectOf<"persistentVolumeClaims">
  >;
  /** StorageClasses by name. */
  readonly storageClasses: ReadonlyMap<string, KubeObjectOf<"storageClasses">>;
  /** VolumeAttachments by name. */
  readonly volumeAttachments: ReadonlyMap<
    string,
    KubeObjectOf<"volumeAttachments">
  >;
  /** LINSTOR CSI PVs by resource definition name (the volume handle without `/volNr`), sorted by PV name. */
  readonly pvsByResource: ReadonlyMap<
    string,
    readonly KubeObjectOf<"persistentVolumes">[]
  >;
  /** Pods by the `namespace/name` of each PVC they use (incl. generic ephemeral volumes), sorted by `namespace/name`. */
  readonly podsByClaim: ReadonlyMap<string, readonly KubeObjectOf<"pods">[]>;
  /** Pods by `spec.nodeName` (unscheduled pods are absent), sorted by `namespace/name`. */
  readonly podsByNode: ReadonlyMap<string, readonly KubeObjectOf<"pods">[]>;
  /**
   * Unbound PVCs (no `spec.volumeName`) carrying
   * `volume.kubernetes.io/selected-node`, by `namespace/name`: the claims the
   * scheduler has placed whose volume is not provisioned yet (a small part of
   * all claims; the extender counts them against their node's capacity).
   */
  readonly claimsWithSelectedNode: ReadonlyMap<
    string,
    KubeObjectOf<"persistentVolumeClaims">
  >;
}

/** An immutable view of the whole cluster state. */
export interface Snapshot {
  /** Increases with every change; equal versions mean equal content. */
  readonly version: number;
  /** When this snapshot was built (ms since the epoch, from the injected clock). */
  readonly takenAt: number;
  readonly linstor: LinstorView;
  readonly kube: KubeView;
}
