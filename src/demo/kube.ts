/**
 * The Kubernetes side of the demo: the objects a cluster running linstor-csi
 * would hold for the demo scenario (`DEMO_SCENARIO_YAML`): four nodes in two
 * zones, two LINSTOR StorageClasses, a bound PV and PVC per demo volume with
 * the nodeAffinity linstor-csi gave it at creation, and two pods.
 *
 * @module
 */
import type {
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from "@kubernetes/client-node";
import {
  CSI_DRIVER_NAME,
  LABEL_HOSTNAME,
  LABEL_ZONE,
  TOPOLOGY_LINBIT_HOSTNAME,
} from "../constants.ts";

/** The demo's Kubernetes objects, by kind. */
export interface DemoKubeObjects {
  readonly nodes: V1Node[];
  readonly storageClasses: V1StorageClass[];
  readonly persistentVolumes: V1PersistentVolume[];
  readonly persistentVolumeClaims: V1PersistentVolumeClaim[];
  readonly pods: V1Pod[];
}

/** Namespace of the demo's claims and pods. */
export const DEMO_NAMESPACE = "demo";

const ZONES: Record<string, string> = {
  "node-a1": "zone-a",
  "node-a2": "zone-a",
  "node-b1": "zone-b",
  "node-b2": "zone-b",
};

/**
 * Demo volumes: claim, StorageClass, size, and the nodeAffinity terms
 * linstor-csi gave each PV at creation (`[key, values]` per term).
 */
const VOLUMES: readonly {
  rd: string;
  claim: string;
  sc: string;
  size: string;
  terms: readonly (readonly [string, readonly string[]])[];
}[] = [
  // allowRemoteVolumeAccess "true": usable anywhere, no affinity.
  {
    rd: "pvc-web",
    claim: "web",
    sc: "linstor-thin-r2",
    size: "10Gi",
    terms: [],
  },
  // "false": pinned to the diskful replicas.
  {
    rd: "pvc-db",
    claim: "db",
    sc: "linstor-fat-local",
    size: "20Gi",
    terms: [[TOPOLOGY_LINBIT_HOSTNAME, ["node-a1"]], [
      TOPOLOGY_LINBIT_HOSTNAME,
      ["node-b2"],
    ]],
  },
  {
    rd: "pvc-cache",
    claim: "cache",
    sc: "linstor-thin-local",
    size: "5Gi",
    terms: [[TOPOLOGY_LINBIT_HOSTNAME, ["node-a2"]]],
  },
  // fromSame zone: any node in a zone holding a diskful replica.
  {
    rd: "pvc-logs",
    claim: "logs",
    sc: "linstor-thin-zone",
    size: "50Gi",
    terms: [[LABEL_ZONE, ["zone-a"]], [LABEL_ZONE, ["zone-b"]]],
  },
];

/** Builds the demo objects; `created` stamps their creation time (ms). */
export function demoKubeObjects(options: { created: number }): DemoKubeObjects {
  const creationTimestamp = new Date(options.created);
  const nodes: V1Node[] = Object.entries(ZONES).map(([name, zone]) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: `uid-node-${name}`,
      creationTimestamp,
      labels: {
        [LABEL_HOSTNAME]: name,
        [LABEL_ZONE]: zone,
        [TOPOLOGY_LINBIT_HOSTNAME]: name,
      },
    },
    status: {
      allocatable: { cpu: "8", memory: "32Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  }));
  const storageClasses: V1StorageClass[] = [
    storageClass("linstor-thin-r2", {
      "linstor.csi.linbit.com/storagePool": "thin",
      "linstor.csi.linbit.com/placementCount": "2",
      "linstor.csi.linbit.com/resourceGroup": "sc-thin-r2",
      "linstor.csi.linbit.com/allowRemoteVolumeAccess": "true",
    }, creationTimestamp),
    storageClass("linstor-thin-local", {
      "linstor.csi.linbit.com/storagePool": "thin",
      "linstor.csi.linbit.com/placementCount": "1",
      "linstor.csi.linbit.com/resourceGroup": "sc-thin-r2",
      "linstor.csi.linbit.com/allowRemoteVolumeAccess": "false",
    }, creationTimestamp),
    storageClass("linstor-thin-zone", {
      "linstor.csi.linbit.com/storagePool": "thin",
      "linstor.csi.linbit.com/placementCount": "2",
      "linstor.csi.linbit.com/resourceGroup": "sc-thin-r2",
      "linstor.csi.linbit.com/allowRemoteVolumeAccess":
        "- fromSame:\n  - topology.kubernetes.io/zone\n",
    }, creationTimestamp),
    storageClass("linstor-fat-local", {
      "linstor.csi.linbit.com/storagePool": "fat",
      "linstor.csi.linbit.com/placementCount": "2",
      "linstor.csi.linbit.com/resourceGroup": "sc-fat-r2",
      "linstor.csi.linbit.com/allowRemoteVolumeAccess": "false",
    }, creationTimestamp),
  ];
  const persistentVolumes: V1PersistentVolume[] = [];
  const persistentVolumeClaims: V1PersistentVolumeClaim[] = [];
  for (const v of VOLUMES) {
    const claimUid = `uid-pvc-${v.claim}`;
    persistentVolumeClaims.push({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: v.claim,
        namespace: DEMO_NAMESPACE,
        uid: claimUid,
        resourceVersion: "1",
        creationTimestamp,
      },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: v.sc,
        volumeName: v.rd,
        resources: { requests: { storage: v.size } },
      },
      status: { phase: "Bound" },
    });
    persistentVolumes.push({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: {
        name: v.rd,
        uid: `uid-pv-${v.rd}`,
        resourceVersion: "1",
        creationTimestamp,
        annotations: {
          "pv.kubernetes.io/provisioned-by": CSI_DRIVER_NAME,
        },
      },
      spec: {
        accessModes: ["ReadWriteOnce"],
        capacity: { storage: v.size },
        storageClassName: v.sc,
        persistentVolumeReclaimPolicy: "Delete",
        claimRef: {
          kind: "PersistentVolumeClaim",
          namespace: DEMO_NAMESPACE,
          name: v.claim,
          uid: claimUid,
        },
        csi: { driver: CSI_DRIVER_NAME, volumeHandle: v.rd, fsType: "ext4" },
        ...(v.terms.length === 0 ? {} : {
          nodeAffinity: {
            required: {
              nodeSelectorTerms: v.terms.map(([key, values]) => ({
                matchExpressions: [{
                  key,
                  operator: "In",
                  values: [...values],
                }],
              })),
            },
          },
        }),
      },
      status: { phase: "Bound" },
    });
  }
  persistentVolumeClaims.push({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: "new-data",
      namespace: DEMO_NAMESPACE,
      uid: "uid-pvc-new-data",
      creationTimestamp,
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: "linstor-thin-r2",
      resources: { requests: { storage: "120Gi" } },
    },
    status: { phase: "Pending" },
  });
  const pods: V1Pod[] = [
    pod("web-0", ["web"], creationTimestamp),
    pod("ingest-0", ["new-data"], creationTimestamp),
  ];
  return {
    nodes,
    storageClasses,
    persistentVolumes,
    persistentVolumeClaims,
    pods,
  };
}

function storageClass(
  name: string,
  parameters: Record<string, string>,
  creationTimestamp: Date,
): V1StorageClass {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name, uid: `uid-sc-${name}`, creationTimestamp },
    provisioner: CSI_DRIVER_NAME,
    parameters,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: true,
  };
}

function pod(name: string, claims: string[], creationTimestamp: Date): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: DEMO_NAMESPACE,
      uid: `uid-pod-${name}`,
      creationTimestamp,
    },
    spec: {
      schedulerName: "linstor",
      containers: [{
        name: "app",
        image: "registry.example/app:1",
        resources: { requests: { cpu: "100m", memory: "128Mi" } },
      }],
      volumes: claims.map((claimName) => ({
        name: claimName,
        persistentVolumeClaim: { claimName },
      })),
    },
    status: { phase: "Pending" },
  };
}
