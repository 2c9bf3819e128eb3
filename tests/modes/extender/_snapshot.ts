/**
 * Small literal → Snapshot builder for the extender tests.
 *
 * @module
 */
import { NodeIdMap } from "../../../src/modes/extender/_node_id_map.ts";
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type {
  KubeKind,
  ReplicaRole,
  Snapshot,
} from "../../../src/state/mod.ts";
import { CSI_DRIVER_NAME } from "../../../src/constants.ts";
import type { KubeFields } from "../../../src/kube/mod.ts";
import {
  EXTENDER_FIELDS,
  EXTENDER_KINDS,
} from "../../../src/modes/extender/mod.ts";
import {
  buildSnapshot as shared,
  type KubeInput,
  kubeNode,
  linstorNode,
  pv,
  pvc,
  resource,
  resourceDefinition,
  storageClass,
  storagePool,
} from "../../_builders/mod.ts";

/** Start time of every test (2026-01-01T00:00:00Z). */
export const T0 = Date.UTC(2026, 0, 1);
/** KiB per GiB. */
export const GIB = 1048576;

/** Literal description of a cluster. */
export interface World {
  now?: number;
  observedAt?: number | undefined;
  synced?: KubeKind[];
  linstorNodes?: {
    name: string;
    status?: string;
    props?: Record<string, string>;
    flags?: string[];
  }[];
  pools?: {
    node: string;
    name: string;
    kind?: string;
    freeGiB?: number | undefined;
    totalGiB?: number;
    props?: Record<string, string>;
  }[];
  replicas?: {
    resource: string;
    node: string;
    role?: ReplicaRole;
    diskState?: string | null;
    flags?: string[];
    pool?: string;
    sizeGiB?: number;
  }[];
  resourceGroups?: { name: string; storagePools?: string[] }[];
  kubeNodes?: { name: string; labels?: Record<string, string> }[];
  storageClasses?: {
    name: string;
    params?: Record<string, string>;
    wffc?: boolean;
    provisioner?: string;
    annotations?: Record<string, string>;
  }[];
  pvcs?: {
    ns?: string;
    name: string;
    uid?: string;
    sc?: string;
    size?: string;
    volumeName?: string;
    annotations?: Record<string, string>;
  }[];
  pvs?: {
    name: string;
    resource: string;
    sc?: string;
    attributes?: Record<string, string>;
    annotations?: Record<string, string>;
    driver?: string;
  }[];
}

/**
 * Builds a Snapshot from a `World` literal, through the real state model
 * (`ClusterState`), with the Kubernetes objects projected as the extender's
 * informers project them (`EXTENDER_FIELDS`, or `options.fields`): a read of
 * a field the projection drops changes the answers of the table tests.
 */
export function buildSnapshot(
  world: World,
  options: { fields?: KubeFields } = {},
): Snapshot {
  const now = world.now ?? T0;
  const replicaSizes = new Map<string, number>();
  const resources = (world.replicas ?? []).map((r) => {
    const role = r.role ?? "diskful";
    const flags = r.flags ??
      (role === "tie-breaker"
        ? ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"]
        : role === "diskless"
        ? ["DISKLESS", "DRBD_DISKLESS"]
        : []);
    const diskState = r.diskState === null
      ? undefined
      : (r.diskState ?? (role === "diskful" ? "UpToDate" : "Diskless"));
    const size = (r.sizeGiB ?? 1) * GIB;
    replicaSizes.set(r.resource, size);
    return resource(r.resource, r.node, {
      flags,
      volumes: [{
        volume_number: 0,
        storage_pool_name: role === "diskful"
          ? (r.pool ?? "pool1")
          : "DfltDisklessStorPool",
        provider_kind: role === "diskful" ? "LVM" : "DISKLESS",
        allocated_size_kib: size,
        usable_size_kib: size,
        ...(diskState === undefined
          ? {}
          : { state: { disk_state: diskState } }),
      }],
    });
  });
  const kube: KubeInput = {
    nodes: (world.kubeNodes ?? []).map((n) =>
      kubeNode(n.name, { labels: n.labels ?? {} })
    ),
    storageClasses: (world.storageClasses ?? []).map((sc) => ({
      ...storageClass(sc.name, {
        parameters: sc.params ?? {},
        annotations: sc.annotations ?? {},
      }),
      provisioner: sc.provisioner ?? CSI_DRIVER_NAME,
      volumeBindingMode: sc.wffc === false
        ? "Immediate"
        : "WaitForFirstConsumer",
    })),
    persistentVolumeClaims: (world.pvcs ?? []).map((c) => {
      const claim = pvc(c.ns ?? "default", c.name, {
        uid: c.uid ?? `uid-${c.name}`,
        annotations: c.annotations ?? {},
        ...(c.volumeName !== undefined ? { volumeName: c.volumeName } : {}),
      });
      return {
        ...claim,
        spec: {
          ...claim.spec,
          resources: { requests: { storage: c.size ?? "1Gi" } },
          ...(c.sc !== undefined
            ? { storageClassName: c.sc }
            : { storageClassName: undefined }),
        },
      } as V1PersistentVolumeClaim;
    }),
    persistentVolumes: (world.pvs ?? []).map((v) => {
      const base = pv(v.name, {
        handle: v.resource,
        ...(v.driver ? { driver: v.driver } : {}),
        ...(v.annotations ? { annotations: v.annotations } : {}),
      });
      return {
        ...base,
        spec: {
          ...base.spec,
          ...(v.sc !== undefined ? { storageClassName: v.sc } : {}),
          csi: {
            ...base.spec!.csi!,
            ...(v.attributes ? { volumeAttributes: v.attributes } : {}),
          },
        },
      };
    }),
  };
  const all = EXTENDER_KINDS;
  const synced = world.synced ?? all;
  const kubeSynced: KubeInput = {};
  for (const kind of synced) {
    (kubeSynced as Record<string, unknown>)[kind] = kube[kind];
  }
  return shared({
    takenAt: now,
    kinds: all,
    fields: options.fields ?? EXTENDER_FIELDS,
    kube: kubeSynced,
    linstor: {
      observedAt: "observedAt" in world ? (world.observedAt ?? null) : now,
      nodes: (world.linstorNodes ?? []).map((n) =>
        linstorNode(n.name, {
          connectionStatus: n.status ?? "ONLINE",
          ...(n.flags ? { flags: n.flags } : {}),
          ...(n.props ? { props: n.props } : {}),
        })
      ),
      storagePools: (world.pools ?? []).map((p) =>
        storagePool(p.node, p.name, {
          providerKind: p.kind ?? "LVM",
          freeKib: p.freeGiB === undefined ? null : p.freeGiB * GIB,
          totalKib: (p.totalGiB ?? p.freeGiB ?? 0) * GIB,
          ...(p.props ? { props: p.props } : {}),
        })
      ),
      resources,
      resourceDefinitions: [...replicaSizes].map(([name, size]) =>
        resourceDefinition(name, { volumeSizesKib: [size] })
      ),
      resourceGroups: (world.resourceGroups ?? []).map((g) => ({
        name: g.name,
        select_filter: g.storagePools
          ? { storage_pool_list: g.storagePools }
          : {},
      })),
    },
  });
}

/** A pod using `claims` (PVC names) and generic ephemeral volumes. */
export function makePod(
  name: string,
  options: {
    ns?: string;
    claims?: string[];
    ephemeral?: { volume: string; sc: string; size: string }[];
    uid?: string;
  } = {},
): V1Pod {
  return {
    metadata: {
      namespace: options.ns ?? "default",
      name,
      uid: options.uid ?? `pod-${name}`,
    },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      volumes: [
        ...(options.claims ?? []).map((c) => ({
          name: c,
          persistentVolumeClaim: { claimName: c },
        })),
        ...(options.ephemeral ?? []).map((e) => ({
          name: e.volume,
          ephemeral: {
            volumeClaimTemplate: {
              spec: {
                storageClassName: e.sc,
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: e.size } },
              },
            },
          },
        })),
      ],
    },
  };
}

/**
 * `value` with every map of node → pool (a reservation's or a hold's, which
 * the filter builds as a `NodeIdMap`) as a plain `Map`, for `deepEqual`:
 * it does not see a class's private fields.
 */
export function plainMaps<T>(value: T): T {
  if (value instanceof NodeIdMap) return new Map(value) as T;
  if (Array.isArray(value)) return value.map(plainMaps) as T;
  if (
    value !== null && typeof value === "object" && !(value instanceof Map) &&
    !(value instanceof Set) && Object.getPrototypeOf(value) === Object.prototype
  ) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, plainMaps(v)]),
    ) as T;
  }
  return value;
}
