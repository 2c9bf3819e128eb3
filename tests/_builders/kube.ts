/**
 * Small builders of Kubernetes objects (`@kubernetes/client-node` shapes)
 * for tests.
 *
 * @module
 */
import type {
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
  V1Volume,
  V1VolumeAttachment,
} from "@kubernetes/client-node";
import { CSI_DRIVER_NAME, LABEL_HOSTNAME } from "../../src/constants.ts";

/** Options shared by the builders. */
export interface MetaOptions {
  uid?: string;
  /** @default {"1"} */
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function meta(
  name: string,
  namespace: string | undefined,
  options: MetaOptions,
) {
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    uid: options.uid ?? `uid-${namespace ?? ""}-${name}`,
    resourceVersion: options.resourceVersion ?? "1",
    ...(options.labels ? { labels: options.labels } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
}

/** A Node labelled `kubernetes.io/hostname=<name>` unless `labels` says otherwise. */
export function kubeNode(name: string, options: MetaOptions = {}): V1Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: meta(name, undefined, {
      ...options,
      labels: options.labels ?? { [LABEL_HOSTNAME]: name },
    }),
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
}

/** Options of `pod()`. */
export interface PodOptions extends MetaOptions {
  nodeName?: string;
  /** PVC names used through `persistentVolumeClaim` volumes. */
  claims?: string[];
  /** Names of generic ephemeral volumes (claim `<pod>-<volume>`). */
  ephemeral?: string[];
}

/** A Pod in `namespace`. */
export function pod(
  namespace: string,
  name: string,
  options: PodOptions = {},
): V1Pod {
  const volumes: V1Volume[] = [
    ...(options.claims ?? []).map((claimName, i) => ({
      name: `data-${i}`,
      persistentVolumeClaim: { claimName },
    })),
    ...(options.ephemeral ?? []).map((volume) => ({
      name: volume,
      ephemeral: { volumeClaimTemplate: { spec: {} } },
    })),
  ];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta(name, namespace, options),
    spec: {
      containers: [{ name: "main", image: "busybox" }],
      ...(options.nodeName ? { nodeName: options.nodeName } : {}),
      volumes,
    },
  };
}

/** Options of `pv()`. */
export interface PvOptions extends MetaOptions {
  /** CSI volume handle. @default {name} */
  handle?: string;
  /** @default {"linstor.csi.linbit.com"} */
  driver?: string;
  /** Bound claim as `namespace/name`. */
  claim?: string;
  /** Nodes of a `linbit.com/hostname In [...]` nodeAffinity. */
  affinityNodes?: string[];
}

/** A CSI PersistentVolume. */
export function pv(name: string, options: PvOptions = {}): V1PersistentVolume {
  const [claimNamespace, claimName] = options.claim?.split("/") ?? [];
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: meta(name, undefined, options),
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      csi: {
        driver: options.driver ?? CSI_DRIVER_NAME,
        volumeHandle: options.handle ?? name,
      },
      ...(claimName
        ? { claimRef: { namespace: claimNamespace!, name: claimName } }
        : {}),
      ...(options.affinityNodes
        ? {
          nodeAffinity: {
            required: {
              nodeSelectorTerms: options.affinityNodes.map((node) => ({
                matchExpressions: [{
                  key: "linbit.com/hostname",
                  operator: "In",
                  values: [node],
                }],
              })),
            },
          },
        }
        : {}),
    },
    status: { phase: claimName ? "Bound" : "Available" },
  };
}

/** Options of `pvc()`. */
export interface PvcOptions extends MetaOptions {
  volumeName?: string;
  /** @default {"linstor"} */
  storageClassName?: string;
}

/** A PersistentVolumeClaim in `namespace`. */
export function pvc(
  namespace: string,
  name: string,
  options: PvcOptions = {},
): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: meta(name, namespace, options),
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: options.storageClassName ?? "linstor",
      resources: { requests: { storage: "1Gi" } },
      ...(options.volumeName ? { volumeName: options.volumeName } : {}),
    },
    status: { phase: options.volumeName ? "Bound" : "Pending" },
  };
}

/** A StorageClass of the LINSTOR CSI driver. */
export function storageClass(
  name: string,
  options: MetaOptions & { parameters?: Record<string, string> } = {},
): V1StorageClass {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: meta(name, undefined, options),
    provisioner: CSI_DRIVER_NAME,
    parameters: options.parameters ?? {},
    volumeBindingMode: "WaitForFirstConsumer",
  };
}

/** Options of `volumeAttachment()`. */
export interface VolumeAttachmentOptions extends MetaOptions {
  /** @default {true} */
  attached?: boolean;
  /** @default {"linstor.csi.linbit.com"} */
  attacher?: string;
}

/** A VolumeAttachment of PV `pvName` to node `nodeName`. */
export function volumeAttachment(
  name: string,
  target: { pvName: string; nodeName: string },
  options: VolumeAttachmentOptions = {},
): V1VolumeAttachment {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "VolumeAttachment",
    metadata: meta(name, undefined, options),
    spec: {
      attacher: options.attacher ?? CSI_DRIVER_NAME,
      nodeName: target.nodeName,
      source: { persistentVolumeName: target.pvName },
    },
    status: { attached: options.attached ?? true },
  };
}
