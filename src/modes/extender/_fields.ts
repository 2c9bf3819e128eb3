/**
 * The fields of each Kubernetes kind the extender reads: its informers keep
 * only these (plus the identity fields, `IDENTITY_FIELDS`). The extender's
 * table tests build their snapshots through this projection, so a read of a
 * field left out here changes an answer there.
 *
 * @module
 */
import {
  ANNOTATION_NODE_SELECTOR,
  ANNOTATION_PREFIX_POLICY_OVERRIDE,
  ANNOTATION_SELECTED_NODE,
  ANNOTATION_STORAGE_POOL_SELECTOR,
  VOLUME_CONTEXT_REMOTE_ACCESS_POLICY,
  VOLUME_CONTEXT_USES_VOLUME_CONTEXT,
} from "../../constants.ts";
import type { KubeFields } from "../../kube/mod.ts";

/** What the extender reads of each kind it watches (`EXTENDER_KINDS`). */
export const EXTENDER_FIELDS: KubeFields = Object.freeze({
  // Labels: node selectors, locality levels and the hostname label that
  // maps a Kubernetes node to its LINSTOR node. Not the spec (taints are
  // kube-scheduler's) nor the status.
  nodes: { metadata: { labels: true } },
  // The CSI volume handle (LINSTOR resource), the remote-access policy
  // (override annotations, volume context) and the class.
  persistentVolumes: {
    metadata: {
      annotations: { [`${ANNOTATION_PREFIX_POLICY_OVERRIDE}*`]: true },
    },
    spec: {
      storageClassName: true,
      csi: {
        driver: true,
        volumeHandle: true,
        volumeAttributes: {
          [VOLUME_CONTEXT_REMOTE_ACCESS_POLICY]: true,
          [VOLUME_CONTEXT_USES_VOLUME_CONTEXT]: true,
        },
      },
    },
  },
  // The binding, the class and size of a pending claim, the scheduler's
  // selected node and the suite's selector annotations.
  persistentVolumeClaims: {
    metadata: {
      annotations: {
        [ANNOTATION_SELECTED_NODE]: true,
        [ANNOTATION_NODE_SELECTOR]: true,
        [ANNOTATION_STORAGE_POOL_SELECTOR]: true,
      },
    },
    spec: {
      volumeName: true,
      storageClassName: true,
      resources: { requests: { storage: true } },
    },
  },
  // StorageClasses: few objects, read almost whole (provisioner, binding
  // mode, parameters, allowed topologies, default-class and selector
  // annotations): left to `stripObject()`.
});
