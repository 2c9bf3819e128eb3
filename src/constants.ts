/**
 * Every domain constant of linstor-suite: names users and other tools see
 * (labels, annotations, properties, event reasons, metric names, defaults).
 *
 * Add new constants here, never inline in a mode.
 *
 * @module
 */

/** Program name, used in the user agent, field manager and logs. */
export const PROGRAM_NAME = "linstor-suite";

/** Version of this build; `deno.json` `version` must match (a test checks it). */
export const VERSION = "0.1.0";

/** The LINSTOR CSI driver name. */
export const CSI_DRIVER_NAME = "linstor.csi.linbit.com";

/** Field manager for server-side apply and updates. */
export const FIELD_MANAGER = "linstor-suite";

/** Root category of every log record. */
export const LOG_CATEGORY = "linstor-suite";

/** Prefix of every metric name (`linstor_suite_<area>_…`). */
export const METRIC_PREFIX = "linstor_suite";

/** Default LINSTOR ports by scheme. */
export const LINSTOR_DEFAULT_HTTP_PORT = 3370;
/** Default LINSTOR HTTPS port. */
export const LINSTOR_DEFAULT_HTTPS_PORT = 3371;

/** Default per-request LINSTOR timeout. */
export const LINSTOR_DEFAULT_TIMEOUT_MS = 10_000;

/** Default LINSTOR poll interval of the state model. */
export const LINSTOR_DEFAULT_POLL_INTERVAL_MS = 10_000;

/** Default `--health-address`. */
export const DEFAULT_HEALTH_ADDRESS = ":8080";

/** Leader election defaults (client-go's usual values). */
export const LEASE_DURATION_MS = 15_000;
/** Renew deadline of the leader lease. */
export const LEASE_RENEW_DEADLINE_MS = 10_000;
/** Retry period of the leader lease. */
export const LEASE_RETRY_PERIOD_MS = 2_000;

/** LINSTOR disk state of a healthy replica. */
export const DISK_STATE_UP_TO_DATE = "UpToDate";

/** LINSTOR connection status of a healthy node. */
export const CONNECTION_ONLINE = "ONLINE";

/** Kubernetes label with the node's hostname. */
export const LABEL_HOSTNAME = "kubernetes.io/hostname";
/** Kubernetes topology zone label. */
export const LABEL_ZONE = "topology.kubernetes.io/zone";
/** Kubernetes topology region label. */
export const LABEL_REGION = "topology.kubernetes.io/region";
/** Topology key linstor-csi always reports. */
export const TOPOLOGY_LINBIT_HOSTNAME = "linbit.com/hostname";

/** PVC annotation set by kube-scheduler for WaitForFirstConsumer claims. */
export const ANNOTATION_SELECTED_NODE = "volume.kubernetes.io/selected-node";

/** LINSTOR node property namespaces linstor-csi reads topology from. */
export const PROPERTY_NAMESPACE_TOPOLOGY = "Aux/topology";
/** Fallback LINSTOR property namespace. */
export const PROPERTY_NAMESPACE_AUX = "Aux";

/** Extender: default route prefix (kube-scheduler `urlPrefix` path part). */
export const EXTENDER_DEFAULT_PREFIX = "";
/** Extender: default filter verb. */
export const EXTENDER_DEFAULT_FILTER_VERB = "filter";
/** Extender: default prioritize verb. */
export const EXTENDER_DEFAULT_PRIORITIZE_VERB = "prioritize";
/** Extender: default listen address. */
export const EXTENDER_DEFAULT_LISTEN = "127.0.0.1:8099";
/** Extender: internal answer deadline, under kube-scheduler's 5 s `httpTimeout`. */
export const EXTENDER_DEFAULT_DEADLINE_MS = 4_000;
/** Extender: maximum accepted request body. */
export const EXTENDER_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Extender: LINSTOR data older than this makes the extender fail open. */
export const EXTENDER_DEFAULT_MAX_STALENESS_MS = 60_000;
/** Extender: lifetime of a capacity reservation. */
export const EXTENDER_DEFAULT_RESERVATION_TTL_MS = 60_000;
/** Extender: smallest and largest score kube-scheduler accepts from an extender. */
export const EXTENDER_MIN_SCORE = 0;
/** Extender: largest extender score (`MaxExtenderPriority`). */
export const EXTENDER_MAX_SCORE = 10;
/** Extender: the weight we ship in the KubeSchedulerConfiguration (see docs/extender.md). */
export const EXTENDER_DEFAULT_WEIGHT = 2;
/** PVC / StorageClass annotation: Kubernetes label selector over node labels. */
export const ANNOTATION_NODE_SELECTOR = "linstor-suite.io/node-selector";
/** PVC / StorageClass annotation: label selector over storage-pool `Aux/` properties. */
export const ANNOTATION_STORAGE_POOL_SELECTOR =
  "linstor-suite.io/storage-pool-selector";
/** linstor-csi parameter prefix (StorageClass parameters and PV volume attributes). */
export const CSI_PARAMETER_PREFIX = "linstor.csi.linbit.com/";
/** PV volume attribute marking that linstor-csi stored its parameters in the volume context. */
export const CSI_ATTRIBUTE_USES_VOLUME_CONTEXT =
  "linstor.csi.linbit.com/uses-volume-context";
/** PV volume attribute holding the remote-access policy. */
export const CSI_ATTRIBUTE_REMOTE_ACCESS_POLICY =
  "linstor.csi.linbit.com/remote-access-policy";
/** StorageClass annotation marking the default class. */
export const ANNOTATION_DEFAULT_STORAGE_CLASS =
  "storageclass.kubernetes.io/is-default-class";
/** LINSTOR thin-pool over-subscription properties and their default ratio. */
export const LINSTOR_PROP_MAX_OVERSUBSCRIPTION_RATIO =
  "MaxOversubscriptionRatio";
/** Ratio applied to a thin pool's free capacity. */
export const LINSTOR_PROP_MAX_FREE_OVERSUBSCRIPTION_RATIO =
  "MaxFreeCapacityOversubscriptionRatio";
/** Ratio applied to a thin pool's total capacity. */
export const LINSTOR_PROP_MAX_TOTAL_OVERSUBSCRIPTION_RATIO =
  "MaxTotalCapacityOversubscriptionRatio";
/** LINSTOR's default over-subscription ratio. */
export const LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO = 20;
