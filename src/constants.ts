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
