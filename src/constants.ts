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

/**
 * The program name kubectl looks for on `PATH` to run
 * `kubectl linstor-suite …` (a dash in a plugin's command is an underscore
 * in its file name). Invoked under it, the binary runs the `kubectl`
 * subcommand table (`explain`, `doctor`, `version`).
 */
export const KUBECTL_PLUGIN_PROGRAM = "kubectl-linstor_suite";

/** How usage texts name the plugin. */
export const KUBECTL_PLUGIN_NAME = "kubectl linstor-suite";

/**
 * Program paths and names of the tools linstor-suite replaces, each mapped to
 * the mode that runs in its place. Their charts and manifests pass the path as
 * the container's first argument (`args: [/linstor-affinity-controller, …]`),
 * so `linstor-suite /linstor-affinity-controller --v=1` runs `affinity`.
 * `agent` alone stays our node agent: only the path `/agent` (how
 * piraeus-operator and the piraeus-ha-controller chart start the HA
 * controller) means fencing. The same table maps the invoked program's base
 * name (argv[0]), so a binary installed as `kubectl-linstor_suite` (a kubectl
 * plugin) or `linstor-affinity-controller` runs that subcommand.
 */
export const DROP_IN_PROGRAMS: Readonly<Record<string, string>> = Object
  .freeze({
    "/linstor-affinity-controller": "affinity",
    "linstor-affinity-controller": "affinity",
    "/linstor-scheduler-extender": "extender",
    "linstor-scheduler-extender": "extender",
    "/piraeus-ha-controller": "fencing",
    "piraeus-ha-controller": "fencing",
    "/agent": "fencing",
    // kubectl runs `kubectl-linstor_suite` for `kubectl linstor-suite …`.
    [KUBECTL_PLUGIN_PROGRAM]: "kubectl",
  });

/**
 * The modes tried, in order, when the first argument is a flag and no
 * subcommand is named: the first whose flag table takes every flag runs.
 * These replaced tools' images have their program as entrypoint, so their
 * manifests pass only flags: linstor-scheduler-extender's all.yaml, the
 * linstor-scheduler chart and Deckhouse (`args: [--verbose=true]`), and
 * Deckhouse's linstor-affinity-controller (`args: [--leader-election=true,
 * --lease-lock-name=…, …]`, flags the extender does not have). The other
 * manifests name the program first (`DROP_IN_PROGRAMS`).
 */
export const BARE_FLAGS_MODES: readonly string[] = Object.freeze([
  "extender",
  "affinity",
]);

/**
 * Where Deckhouse mounts the extender's serving certificate (`tls.crt`,
 * `tls.key`); its patched linstor-scheduler-extender serves HTTPS when both
 * exist there and plain HTTP otherwise.
 */
export const DECKHOUSE_EXTENDER_CERT_DIR =
  "/etc/sds-replicated-volume-scheduler-extender/certs";

/**
 * Flags a mode gets when it runs in place of a replaced tool (through
 * `DROP_IN_PROGRAMS` or `BARE_FLAGS_MODES`): that tool's own defaults where
 * they differ from linstor-suite's. They come before the container's args,
 * so a flag the manifest passes wins.
 */
export const DROP_IN_DEFAULT_ARGS: Readonly<
  Record<string, readonly string[]>
> = Object.freeze({
  // Upstream hard-codes :8099 on every interface (Deckhouse reaches it
  // through a Service) and Deckhouse's build serves HTTPS from its mount.
  extender: Object.freeze([
    "--listen=:8099",
    `--tls-cert-dir=${DECKHOUSE_EXTENDER_CERT_DIR}`,
  ]),
  // linstor-affinity-controller: probes on :8000, a 5m resync, and
  // 30s/25s/10s leader election.
  affinity: Object.freeze([
    "--health-address=:8000",
    "--resync-rate=5m",
    "--leader-election-lease-duration=30s",
    "--leader-election-renew-deadline=25s",
    "--leader-election-retry-period=10s",
  ]),
  // piraeus-ha-controller: probes on :8000.
  fencing: Object.freeze(["--health-address=:8000"]),
});

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

/** Mode start-up: first retry delay of a value read at start-up (cluster identity). */
export const STARTUP_BACKOFF_INITIAL_MS = 500;
/** Mode start-up: longest retry delay of a value read at start-up. */
export const STARTUP_BACKOFF_MAX_MS = 30_000;
/** Mode: LINSTOR data older than this makes a mode not ready (unless the mode says otherwise). */
export const MODE_DEFAULT_MAX_LINSTOR_AGE_MS = 60_000;

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
/** The extender `weight` deploy/extender/ ships (docs/extender.md, "The weight we ship"). */
export const EXTENDER_SHIPPED_WEIGHT = 3;
/** Above this weight a replica-local node outvotes every in-tree score plugin together. */
export const EXTENDER_MAX_SENSIBLE_WEIGHT = 5;
/** kube-scheduler's default extender `httpTimeout`. */
export const KUBE_SCHEDULER_DEFAULT_EXTENDER_TIMEOUT_MS = 5_000;
/** The ConfigMap of deploy/extender/scheduler-config.yaml (the second scheduler's configuration). */
export const EXTENDER_SCHEDULER_CONFIG_MAP = "linstor-scheduler-config";
/**
 * Extender: how often the serving certificate's files are re-read (a
 * Kubernetes Secret volume is updated within about a minute).
 */
export const EXTENDER_TLS_RELOAD_INTERVAL_MS = 30_000;
/** Extender: maximum accepted request body. */
export const EXTENDER_MAX_BODY_BYTES = 10 * 1024 * 1024;
/**
 * Extender: bytes of validated Node object text kept between requests
 * (full Node objects, `nodeCacheCapable: false`); about 5,000 kubelet-like
 * Nodes of 3.3 KB.
 */
export const EXTENDER_NODE_ITEMS_MAX_BYTES = 16 * 1024 * 1024;
/** Extender: LINSTOR data older than this makes the extender fail open. */
export const EXTENDER_DEFAULT_MAX_STALENESS_MS = 60_000;
/** Extender: lifetime of a capacity reservation. */
export const EXTENDER_DEFAULT_RESERVATION_TTL_MS = 60_000;
/** Extender: smallest and largest score kube-scheduler accepts from an extender. */
export const EXTENDER_MIN_SCORE = 0;
/** Extender: largest extender score (`MaxExtenderPriority`). */
export const EXTENDER_MAX_SCORE = 10;
/** Extender: the weight we ship in the KubeSchedulerConfiguration (see docs/extender.md). */
export const EXTENDER_DEFAULT_WEIGHT = 3;
/** PVC / StorageClass annotation: Kubernetes label selector over node labels. */
export const ANNOTATION_NODE_SELECTOR = "linstor-suite.io/node-selector";
/** PVC / StorageClass annotation: label selector over storage-pool `Aux/` properties. */
export const ANNOTATION_STORAGE_POOL_SELECTOR =
  "linstor-suite.io/storage-pool-selector";
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

/** State model: default timeout of one LINSTOR poll (all five list calls). */
export const STATE_DEFAULT_POLL_TIMEOUT_MS = 30_000;
/** State model: default debounce of change wake-ups (at most one per this many ms). */
export const STATE_DEFAULT_WAKEUP_DEBOUNCE_MS = 200;
/** State model: smallest pause between two LINSTOR polls when a poll was requested early. */
export const STATE_MIN_POLL_GAP_MS = 1_000;
/** State model metric: LINSTOR polls by `result` (`success`, `error`). */
export const METRIC_STATE_LINSTOR_POLL_TOTAL =
  "linstor_suite_state_linstor_poll_total";
/** State model metric: duration of LINSTOR polls in seconds. */
export const METRIC_STATE_LINSTOR_POLL_DURATION_SECONDS =
  "linstor_suite_state_linstor_poll_duration_seconds";
/** State model metric: age of the last good LINSTOR data in seconds. */
export const METRIC_STATE_LINSTOR_DATA_AGE_SECONDS =
  "linstor_suite_state_linstor_data_age_seconds";
/** State model metric: cached Kubernetes objects by `kind`. */
export const METRIC_STATE_KUBE_OBJECTS = "linstor_suite_state_kube_objects";
/** LINSTOR resource flag of a tie-breaker (comes with `DISKLESS` and `DRBD_DISKLESS`). */
export const RESOURCE_FLAG_TIE_BREAKER = "TIE_BREAKER";
/** LINSTOR resource flags that make a replica diskless. */
export const RESOURCE_FLAGS_DISKLESS: readonly string[] = Object.freeze([
  "DISKLESS",
  "DRBD_DISKLESS",
  "NVME_INITIATOR",
  "EBS_INITIATOR",
]);
/** LINSTOR resource flags of a resource being deleted. */
export const RESOURCE_FLAGS_DELETING: readonly string[] = Object.freeze([
  "DELETE",
  "DRBD_DELETE",
]);
/** LINSTOR resource flags of an inactive resource (`EVICTED` and `INACTIVE_PERMANENTLY` imply `INACTIVE`). */
export const RESOURCE_FLAGS_INACTIVE: readonly string[] = Object.freeze([
  "INACTIVE",
  "INACTIVE_PERMANENTLY",
  "EVICTED",
]);
/** LINSTOR storage-pool provider kinds that are thin provisioned. */
export const THIN_PROVIDER_KINDS: readonly string[] = Object.freeze([
  "LVM_THIN",
  "ZFS_THIN",
  "FILE_THIN",
  "STORAGE_SPACES_THIN",
]);
/** LINSTOR node properties holding the Kubernetes hostname, in lookup order. */
export const LINSTOR_HOSTNAME_PROPS: readonly string[] = Object.freeze([
  "Aux/topology/kubernetes.io/hostname",
  "Aux/kubernetes.io/hostname",
]);
/** LINSTOR node property with the Kubernetes topology zone (operator v2). */
export const LINSTOR_PROP_TOPOLOGY_ZONE =
  "Aux/topology/topology.kubernetes.io/zone";
/** Largest CSI volume number plus one (linstor-csi `ParseVolumeId`). */
export const CSI_VOLUME_NUMBER_LIMIT = 65_536;
/**
 * Prefix external-provisioner gives a CSI volume name (`pvc-<PVC UID>`, its
 * `--volume-name-prefix` default); linstor-csi uses that name as the LINSTOR
 * resource definition name.
 */
export const CSI_VOLUME_NAME_PREFIX = "pvc";

/** `reportingController` of the Events linstor-suite records (events.k8s.io/v1). */
export const EVENT_REPORTING_CONTROLLER = "linbit.com/linstor-suite";
/** A repeat of the same Event within this window updates its `series` instead of creating a new Event. */
export const EVENT_SERIES_WINDOW_MS = 6 * 60_000;
/** Maximum length of an Event note (the apiserver rejects longer ones). */
export const EVENT_NOTE_MAX_LENGTH = 1024;
/** First delay before an informer reconnects after a failed list or watch. */
export const INFORMER_BACKOFF_INITIAL_MS = 1_000;
/** Largest delay between informer reconnects. */
export const INFORMER_BACKOFF_MAX_MS = 30_000;
/** Server-side timeout asked for each informer watch (the server closes the stream after it). */
export const INFORMER_WATCH_TIMEOUT_SECONDS = 300;
/** Annotation `kubectl apply` stores the last applied configuration in (stripped by informers). */
export const ANNOTATION_LAST_APPLIED =
  "kubectl.kubernetes.io/last-applied-configuration";

/** Affinity: PV annotation that opts a PV out (linstor-affinity-controller compatible; any non-empty value). */
export const ANNOTATION_SKIP_AFFINITY = "piraeus.io/skip-affinity-controller";
/** Prefix of PV annotations overriding the remote-access policy (linstor-affinity-controller compatible; extender and affinity). */
export const ANNOTATION_PREFIX_POLICY_OVERRIDE = "override.piraeus.io";
/** Affinity: LINSTOR resource-definition property that opts a volume out (any non-empty value). */
export const LINSTOR_PROP_AFFINITY_SKIP = "Aux/affinity-updater-skip";
/** Affinity: LINSTOR volume-definition property holding the replace recovery record. */
export const LINSTOR_PROP_AFFINITY_RECORD =
  "Aux/linstor-suite.io/affinity-recovery";
/** Affinity: PVC annotation mirroring the replace recovery record in Kubernetes. */
export const ANNOTATION_AFFINITY_RECORD = "affinity.linstor-suite.io/recovery";
/** Affinity: transient PV annotation marking that replace step 2 (Retain) was applied; value = the old PV UID. */
export const ANNOTATION_AFFINITY_REPLACING =
  "affinity.linstor-suite.io/replacing";
/** csi-reclaim-controller: PV annotation that keeps the backing volume when a Retain PV is deleted. */
export const ANNOTATION_SKIP_RECLAIM = "linstor.csi.linbit.com/skip-reclaim";
/** Kubernetes finalizer protecting bound PVs. */
export const FINALIZER_PV_PROTECTION = "kubernetes.io/pv-protection";
/** linstor-csi volume-context marker (PV volume attribute): the PV carries the volume parameters. */
export const VOLUME_CONTEXT_USES_VOLUME_CONTEXT =
  "linstor.csi.linbit.com/uses-volume-context";
/** linstor-csi volume-context key (PV volume attribute) with the remote-access policy. */
export const VOLUME_CONTEXT_REMOTE_ACCESS_POLICY =
  "linstor.csi.linbit.com/remote-access-policy";
/** linstor-csi StorageClass parameter namespace (keys may be written with or without it). */
export const CSI_PARAMETER_NAMESPACE = "linstor.csi.linbit.com";
/** linstor-csi StorageClass parameter (lower-cased) with the remote-access policy. */
export const CSI_PARAM_ALLOW_REMOTE_VOLUME_ACCESS = "allowremotevolumeaccess";
/** linstor-csi StorageClass parameter (lower-cased) with the layer list. */
export const CSI_PARAM_LAYER_LIST = "layerlist";
/** linstor-csi StorageClass parameter (lower-cased) choosing the volume scheduler. */
export const CSI_PARAM_PLACEMENT_POLICY = "placementpolicy";
/** linstor-csi StorageClass parameter (lower-cased): explicit diskful nodes (makes the placement `Manual`). */
export const CSI_PARAM_NODE_LIST = "nodelist";
/** linstor-csi StorageClass parameter (lower-cased): explicit diskless nodes (makes the placement `Manual`). */
export const CSI_PARAM_CLIENT_LIST = "clientlist";
/** linstor-csi: resource-definition property with the volume parameters of volumes made before the volume context. */
export const LINSTOR_PROP_CSI_LEGACY_PARAMETERS = "Aux/csi-volume-annotations";
/** linstor-csi `Balanced` scheduler: the Kubernetes Node label holding a node's rack, its only topology key. */
export const TOPOLOGY_BALANCER_RACK = "failure-domain.beta.kubernetes.io/zone";
/** Affinity: Event reason when a PV's nodeAffinity was brought in line with LINSTOR (linstor-affinity-controller's string). */
export const EVENT_REASON_VOLUME_AFFINITY_UPDATED = "VolumeAffinityUpdated";
/** Affinity: Event reason when a drifted PV is left alone because of doubt. */
export const EVENT_REASON_VOLUME_AFFINITY_SKIPPED = "VolumeAffinitySkipped";
/** Affinity: Event reason when a replaced PV was re-created while its claim was gone. */
export const EVENT_REASON_VOLUME_AFFINITY_CLAIM_LOST =
  "VolumeAffinityClaimLost";
/** Affinity: Event reason when an interrupted replace is given up because someone else deleted the PV. */
export const EVENT_REASON_VOLUME_AFFINITY_REPLACE_ABANDONED =
  "VolumeAffinityReplaceAbandoned";
/** Affinity: reads and patches of a claim without annotations (replace step 1's mirror) before a conflict is an error. */
export const AFFINITY_MIRROR_ATTEMPTS = 3;
/** Affinity: default `--reconcile-rate`. */
export const AFFINITY_DEFAULT_RECONCILE_RATE_MS = 15_000;
/** Affinity: default `--resync-rate`. */
export const AFFINITY_DEFAULT_RESYNC_RATE_MS = 900_000;
/** Affinity: default `--timeout` (per pass, per operation and the new-PV grace period, as in linstor-affinity-controller). */
export const AFFINITY_DEFAULT_TIMEOUT_MS = 60_000;
/** Affinity: default `--settle-time` (a drift must persist this long before anything changes). */
export const AFFINITY_DEFAULT_SETTLE_MS = 30_000;
/** Affinity: default `--workers`. */
export const AFFINITY_DEFAULT_WORKERS = 10;
/** Affinity: default `--max-replacements-per-pass`. */
export const AFFINITY_DEFAULT_MAX_REPLACEMENTS_PER_PASS = 20;
/** Affinity: LINSTOR data older than this (ms) is stale and nothing is changed. */
export const AFFINITY_DEFAULT_MAX_LINSTOR_AGE_MS = 60_000;
/** Affinity: how long a learned "in-place nodeAffinity update supported" answer is trusted (ms). */
export const AFFINITY_IN_PLACE_PROBE_TTL_MS = 600_000;
/** Affinity metric: PVs skipped by `reason`. */
export const METRIC_AFFINITY_SKIPS_TOTAL = "linstor_suite_affinity_skips_total";
/** Affinity metric: drifted PVs found in the last pass. */
export const METRIC_AFFINITY_DRIFTED_PVS = "linstor_suite_affinity_drifted_pvs";
/** Affinity metric: planning passes. */
export const METRIC_AFFINITY_PASSES_TOTAL =
  "linstor_suite_affinity_passes_total";
/** Affinity metric: operations by `operation` and `outcome`. */
export const METRIC_AFFINITY_OPERATIONS_TOTAL =
  "linstor_suite_affinity_operations_total";

/** Metric: build information. */
export const METRIC_BUILD_INFO = "linstor_suite_build_info";
/** Metric: 1 while this replica leads its mode's Lease (or acts without election), else 0. */
export const METRIC_LEADER = "linstor_suite_leader";
/** Metric: client-go's leader-election gauge (`name` = the Lease), for existing dashboards. */
export const METRIC_LEADER_ELECTION_MASTER_STATUS =
  "leader_election_master_status";
/** Metric: when a mode's loop last finished a pass without error (seconds since the epoch), by `mode`. */
export const METRIC_LOOP_LAST_SUCCESS =
  "linstor_suite_loop_last_success_timestamp_seconds";
/** Metric: passes of a mode's loop by `mode` and `result` (`ok`, `error`). */
export const METRIC_LOOP_PASSES_TOTAL = "linstor_suite_loop_passes_total";

/** LINSTOR's default resource group. */
export const LINSTOR_DEFAULT_RESOURCE_GROUP = "DfltRscGrp";
/** LINSTOR's default storage pool name for diskful resources. */
export const LINSTOR_DEFAULT_STORAGE_POOL = "DfltStorPool";
/** LINSTOR's diskless storage pool, created on every satellite. */
export const LINSTOR_DISKLESS_STORAGE_POOL = "DfltDisklessStorPool";
/** LINSTOR's default place count of a resource group without one. */
export const LINSTOR_DEFAULT_PLACE_COUNT = 2;
/** LINSTOR's default satellite port (plain). */
export const LINSTOR_DEFAULT_SATELLITE_PORT = 3366;
/** LINSTOR property naming the storage pool of a new resource. */
export const LINSTOR_PROP_STORAGE_POOL_NAME = "StorPoolName";
/** LINSTOR property that turns the automatic quorum tie-breaker off (`False`). */
export const LINSTOR_PROP_AUTO_TIE_BREAKER =
  "DrbdOptions/auto-add-quorum-tiebreaker";
/** LINSTOR property holding a resource's DRBD quorum policy (set by LINSTOR's auto-quorum). */
export const LINSTOR_PROP_DRBD_QUORUM = "DrbdOptions/Resource/quorum";
/** Basic-auth realm the LINSTOR controller announces. */
export const LINSTOR_AUTH_REALM = "Linstor";
/** SSE event name of `/v1/events/drbd/promotion`. */
export const LINSTOR_EVENT_MAY_PROMOTE_CHANGE = "may-promote-change";
/** Simulator: LINSTOR version it reports. */
export const SIM_LINSTOR_VERSION = "1.34.0";
/** Simulator: REST API version it reports (that of the bundled OpenAPI). */
export const SIM_REST_API_VERSION = "1.28.0";
/** Simulator: capacity of a storage pool created through the API (100 GiB in KiB). */
export const SIM_DEFAULT_POOL_CAPACITY_KIB = 100 * 1024 * 1024;
/** Simulator: share of its size a new thin volume allocates at once (percent). */
export const SIM_THIN_INITIAL_ALLOCATION_PERCENT = 10;

/** golinstor-compatible environment variables of the LINSTOR client. */
export const LINSTOR_ENV = Object.freeze(
  {
    controllers: "LS_CONTROLLERS",
    username: "LS_USERNAME",
    password: "LS_PASSWORD",
    bearerTokenFile: "LS_BEARER_TOKEN_FILE",
    rootCa: "LS_ROOT_CA",
    rootCaFile: "LS_ROOT_CA_FILE",
    userCertificate: "LS_USER_CERTIFICATE",
    userCertificateFile: "LS_USER_CERTIFICATE_FILE",
    userKey: "LS_USER_KEY",
    userKeyFile: "LS_USER_KEY_FILE",
  } as const,
);
/**
 * Oldest LINSTOR REST API `linstor-suite doctor` accepts: 1.23.0 (LINSTOR
 * v1.28.0), the oldest release whose wire shapes the suite was checked
 * against (docs/doctor.md).
 */
export const LINSTOR_MIN_REST_API_VERSION = "1.23.0";
/** LINSTOR release of {@linkcode LINSTOR_MIN_REST_API_VERSION}, for messages. */
export const LINSTOR_MIN_VERSION = "1.28.0";
/** REST API version that brought bearer tokens (LINSTOR v1.34.0). */
export const LINSTOR_BEARER_REST_API_VERSION = "1.28.0";
/** Controller host when `LS_CONTROLLERS` is empty. */
export const LINSTOR_DEFAULT_HOST = "localhost";
/** Affinity: Event action of an in-place nodeAffinity change. */
export const AFFINITY_ACTION_UPDATED_IN_PLACE = "UpdatedNodeAffinityInPlace";
/** Affinity: Event action of a PV replace (delete and re-create). */
export const AFFINITY_ACTION_REPLACED = "ReplacedPersistentVolume";
/** Affinity: Event action of a skipped PV. */
export const AFFINITY_ACTION_SKIPPED = "SkippedNodeAffinityUpdate";
/** How often the LINSTOR client re-reads `LS_USER_CERTIFICATE_FILE`/`LS_USER_KEY_FILE` (rotation). */
export const LINSTOR_TLS_RELOAD_INTERVAL_MS = 30_000;
/** LINSTOR client: HTTP attempts by method, controller and outcome (status code, `timeout`, `connection`). */
export const METRIC_LINSTOR_REQUESTS_TOTAL =
  "linstor_suite_linstor_requests_total";
/** LINSTOR client: duration of HTTP attempts in seconds. */
export const METRIC_LINSTOR_REQUEST_DURATION_SECONDS =
  "linstor_suite_linstor_request_duration_seconds";
/** LINSTOR client: switches of the active controller. */
export const METRIC_LINSTOR_FAILOVERS_TOTAL =
  "linstor_suite_linstor_failovers_total";
/** An informer abandons a watch the server has not ended this long after its `timeoutSeconds` (dead connection). */
export const INFORMER_WATCH_GRACE_MS = 30_000;
/** Where Kubernetes mounts a pod's service account (`token`, `ca.crt`, `namespace`). */
export const KUBE_SERVICE_ACCOUNT_DIR =
  "/var/run/secrets/kubernetes.io/serviceaccount";
/** Page size of Kubernetes list requests (`limit`). */
export const KUBE_LIST_PAGE_SIZE = 500;
/**
 * The Kubernetes adapter shares equal string values of the objects it reads
 * (driver names, access modes, class names, label values…) through a table
 * of at most this many entries (emptied when full)…
 */
export const KUBE_STRING_TABLE_MAX_ENTRIES = 16_384;
/** …holding strings of at most this many characters. */
export const KUBE_STRING_TABLE_MAX_LENGTH = 256;
/** At most this many Event series are remembered for aggregation. */
export const EVENT_SERIES_CACHE_SIZE = 4096;
/** Deadline of one Kubernetes API request (for a watch: until its response headers). */
export const KUBE_REQUEST_TIMEOUT_MS = 30_000;

/** Extender metric: requests by verb and outcome. */
export const METRIC_EXTENDER_REQUESTS_TOTAL =
  "linstor_suite_extender_requests_total";
/** Extender metric: answer time by verb. */
export const METRIC_EXTENDER_REQUEST_DURATION_SECONDS =
  "linstor_suite_extender_request_duration_seconds";
/** Extender metric: fail-open answers by reason. */
export const METRIC_EXTENDER_FAIL_OPEN_TOTAL =
  "linstor_suite_extender_fail_open_total";
/** Extender metric: rejected nodes by predicate. */
export const METRIC_EXTENDER_REJECTED_NODES_TOTAL =
  "linstor_suite_extender_rejected_nodes_total";
/** Extender metric: prioritize requests that reused their pod's filter, by result (hit, miss). */
export const METRIC_EXTENDER_PRIORITIZE_REUSE_TOTAL =
  "linstor_suite_extender_prioritize_reuse_total";
/** Extender metric: Node objects received, by how they were decoded (known, parsed, full). */
export const METRIC_EXTENDER_NODE_OBJECTS_TOTAL =
  "linstor_suite_extender_node_objects_total";
/** Extender metric: active reservations. */
export const METRIC_EXTENDER_RESERVATIONS =
  "linstor_suite_extender_reservations";
/** Extender metric: reserved bytes by node and pool. */
export const METRIC_EXTENDER_RESERVED_BYTES =
  "linstor_suite_extender_reserved_bytes";
/** Extender metric: age of the LINSTOR data decided on. */
export const METRIC_EXTENDER_LINSTOR_DATA_AGE_SECONDS =
  "linstor_suite_extender_linstor_data_age_seconds";

/** Agent: prefix of the LVM tag that turns a VG or thin pool into a LINSTOR storage pool (`linstor-<pool>`). */
export const AGENT_TAG_PREFIX = "linstor-";
/** Agent: default `--scan-interval` between two LVM scans. */
export const AGENT_DEFAULT_SCAN_INTERVAL_MS = 15_000;
/** Agent: default `--removal-grace`: a pool whose tag vanished is deleted only after this long. */
export const AGENT_DEFAULT_REMOVAL_GRACE_MS = 60_000;
/** Agent: a failed pool create is retried after this long (no create/delete loop against a refusing satellite). */
export const AGENT_CREATE_RETRY_MS = 5 * 60_000;
/** Agent: default timeout of one `lvm` call. */
export const AGENT_DEFAULT_LVM_TIMEOUT_MS = 30_000;
/** Agent: default `--spare-gb` kept free on a thick pool (TopoLVM's spare), in GiB. */
export const AGENT_DEFAULT_SPARE_GIB = 10;
/** Agent: default `--max-replicas`: StorageClasses `-r1..-rN` with N at most this. */
export const AGENT_DEFAULT_MAX_REPLICAS = 3;
/** Agent: default `--lvm-path` (the `lvm` binary, on the host when `--host-lvm` is set). */
export const AGENT_DEFAULT_LVM_PATH = "lvm";
/** Agent: LVM devices never scanned (DRBD devices would show their backing LVs twice). */
export const AGENT_LVM_REJECTED_DEVICES: readonly string[] = Object.freeze([
  "r|^/dev/drbd|",
  "r|^/dev/rbd|",
  "r|^/dev/nbd|",
]);
/** Agent: `nsenter` arguments entering the host's namespaces (PID 1) with `--host-lvm`. */
export const AGENT_NSENTER_ARGS: readonly string[] = Object.freeze([
  "-t",
  "1",
  "-m",
  "-u",
  "-i",
  "-n",
  "-p",
  "--",
]);
/** Agent: LINSTOR storage-pool property marking pools the agent created (value: `AGENT_OWNER`). */
export const LINSTOR_PROP_AGENT_MANAGED_BY = "Aux/linstor-suite.io/managed-by";
/** Agent: value of the ownership property. */
export const AGENT_OWNER = "linstor-suite-agent";
/** Agent: LINSTOR storage-pool property with the UUID of the VG (LVM) or thin-pool LV (LVM_THIN) the pool was created for. */
export const LINSTOR_PROP_AGENT_LVM_UUID = "Aux/linstor-suite.io/lvm-uuid";
/** Agent: LINSTOR storage-pool property with the agent's free-space figure in bytes (what the extender and operators read). */
export const LINSTOR_PROP_AGENT_FREE_BYTES = "Aux/linstor-suite.io/free-bytes";
/** LINSTOR storage-pool property the controller rewrites `StorDriver/LvmVg` (+ `ThinPool`) into: `vg` or `vg/thin`. */
export const LINSTOR_PROP_STOR_DRIVER_POOL_NAME = "StorDriver/StorPoolName";
/** Agent: the published free bytes are rewritten only when they are off by at least this much… */
export const AGENT_CAPACITY_MIN_CHANGE_BYTES = 1024 ** 3;
/** Agent: …and by at least this fraction of the pool size (no write per scan on a busy pool). */
export const AGENT_CAPACITY_MIN_CHANGE_RATIO = 0.01;
/** LINSTOR storage-pool property naming the volume group (LVM). */
export const LINSTOR_PROP_LVM_VG = "StorDriver/LvmVg";
/** LINSTOR storage-pool property naming the thin pool (LVM_THIN, with `StorDriver/LvmVg`). */
export const LINSTOR_PROP_THIN_POOL = "StorDriver/ThinPool";
/** Agent: StorageClass label marking the classes the agent manages (value `FIELD_MANAGER`). */
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
/** Agent: StorageClass label with the LINSTOR storage pool of a managed class. */
export const LABEL_AGENT_STORAGE_POOL = "linstor-suite.io/storage-pool";
/** Agent: prefix of managed StorageClass names (`linstor-<pool>-r<N>`). */
export const AGENT_STORAGE_CLASS_PREFIX = "linstor-";
/** linstor-csi StorageClass parameter: the storage pool. */
export const CSI_PARAM_STORAGE_POOL = "linstor.csi.linbit.com/storagePool";
/** linstor-csi StorageClass parameter: replicas per volume. */
export const CSI_PARAM_PLACEMENT_COUNT =
  "linstor.csi.linbit.com/placementCount";
/** linstor-csi StorageClass parameter: the resource group (explicit, so linstor-csi never invents one). */
export const CSI_PARAM_RESOURCE_GROUP = "linstor.csi.linbit.com/resourceGroup";
/** Agent: default Lease name of the StorageClass leader. */
export const AGENT_DEFAULT_LEASE_NAME = "linstor-suite-agent";
/** Agent: Event reason of a conflict (two objects claim a pool, or a pool exists with another VG or type). */
export const EVENT_REASON_AGENT_POOL_CONFLICT = "StoragePoolConflict";
/** Agent: Event reason of an invalid `linstor-*` tag. */
export const EVENT_REASON_AGENT_INVALID_TAG = "InvalidStoragePoolTag";
/** Agent: Event reason of a created storage pool. */
export const EVENT_REASON_AGENT_POOL_CREATED = "StoragePoolCreated";
/** Agent: Event reason of a deleted storage pool. */
export const EVENT_REASON_AGENT_POOL_DELETED = "StoragePoolDeleted";
/** Agent: Event reason of a storage pool kept although its tag is gone (volumes on it). */
export const EVENT_REASON_AGENT_POOL_KEPT = "StoragePoolKept";
/** Agent: Event action of the agent's own Events. */
export const AGENT_ACTION_SCAN = "ScanLvm";
/** Agent metric: free bytes per pool as the agent computes them (`node`, `pool`). */
export const METRIC_AGENT_POOL_FREE_BYTES =
  "linstor_suite_agent_pool_free_bytes";
/** Agent metric: size in bytes per pool (`node`, `pool`). */
export const METRIC_AGENT_POOL_SIZE_BYTES =
  "linstor_suite_agent_pool_size_bytes";
/** Agent metric: scans by `outcome` (`ok`, `failed`). */
export const METRIC_AGENT_SCANS_TOTAL = "linstor_suite_agent_scans_total";
/** Agent metric: `lvm` invocations. */
export const METRIC_AGENT_LVM_CALLS_TOTAL =
  "linstor_suite_agent_lvm_calls_total";
/** Agent metric: tagged candidates of the last good scan. */
export const METRIC_AGENT_CANDIDATES = "linstor_suite_agent_candidates";
/** Agent metric: conflicts of the last pass (`kind`). */
export const METRIC_AGENT_CONFLICTS = "linstor_suite_agent_conflicts";
/** Agent metric: time of the last good scan (seconds since the epoch). */
export const METRIC_AGENT_LAST_SCAN_SECONDS =
  "linstor_suite_agent_last_scan_timestamp_seconds";

/** Fencing: pod label that opts a pod in (value {@linkcode FENCING_OPT_IN_VALUE}); piraeus-ha-controller v0's default selector. */
export const LABEL_ON_STORAGE_LOST = "linstor.csi.linbit.com/on-storage-lost";
/** Fencing: the value of {@linkcode LABEL_ON_STORAGE_LOST} that opts a pod in. */
export const FENCING_OPT_IN_VALUE = "remove";
/** Fencing: pod annotation that opts a pod out even when labelled (piraeus-ha-controller v1's; any value). */
export const ANNOTATION_IGNORE_FAIL_OVER = "drbd.linbit.com/ignore-fail-over";
/** Fencing: taint put on a node that lost its storage (piraeus-ha-controller's key, effect NoSchedule). */
export const TAINT_LOST_QUORUM = "drbd.linbit.com/lost-quorum";
/** Fencing: Node annotation where each agent publishes the peers it lost (JSON `{"at","lost"}`). */
export const ANNOTATION_FENCING_LOST_PEERS =
  "fencing.linstor-suite.io/lost-peers";
/** Fencing: default `--fail-over-timeout` (a connection must be down this long). */
export const FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS = 5_000;
/** Fencing: default `--grace-period-seconds` of an eviction on a Ready node. */
export const FENCING_DEFAULT_GRACE_PERIOD_SECONDS = 10;
/** Fencing: default `--operations-timeout` (per operation). */
export const FENCING_DEFAULT_OPERATIONS_TIMEOUT_MS = 30_000;
/** Fencing: default `--reconcile-interval` (a pass at least this often). */
export const FENCING_DEFAULT_RECONCILE_INTERVAL_MS = 10_000;
/** Fencing: default `--max-fenced-nodes` (nodes carrying the lost-quorum taint at once, cluster-wide). */
export const FENCING_DEFAULT_MAX_FENCED_NODES = 2;
/** Fencing: default `--min-fencing-interval` (between this agent starting to fence two nodes). */
export const FENCING_DEFAULT_MIN_FENCING_INTERVAL_MS = 30_000;
/** Fencing: an agent re-publishes a non-empty lost-peers report this often. */
export const FENCING_REPORT_REFRESH_MS = 30_000;
/** Fencing: a non-empty lost-peers report older than this is ignored (its agent may be gone). */
export const FENCING_REPORT_MAX_AGE_MS = 90_000;
/** Fencing: first delay before `drbdsetup events2` is restarted after it exits. */
export const FENCING_RESTART_BACKOFF_INITIAL_MS = 1_000;
/** Fencing: largest delay between `drbdsetup events2` restarts. */
export const FENCING_RESTART_BACKOFF_MAX_MS = 30_000;
/** Fencing: netlink receive buffer asked of `drbdsetup events2` (bytes; busy nodes overrun the 1 MiB default). */
export const FENCING_DRBDSETUP_RCVBUF_BYTES = 16 * 1024 * 1024;
/** Fencing: Event reason on a node tainted because it lost its storage (piraeus-ha-controller's). */
export const EVENT_REASON_NODE_STORAGE_QUORUM_LOST = "NodeStorageQuorumLost";
/** Fencing: Event reason on a node whose taint was removed. */
export const EVENT_REASON_NODE_STORAGE_QUORUM_REGAINED =
  "NodeStorageQuorumRegained";
/** Fencing: Event reason on a pod removed or a VolumeAttachment deleted (piraeus-ha-controller's). */
export const EVENT_REASON_VOLUME_WITHOUT_QUORUM = "VolumeWithoutQuorum";
/** Fencing: Event reason when the storm guard holds a fencing back. */
export const EVENT_REASON_FENCING_HELD = "FencingHeld";
/** Fencing: Event action when the storm guard holds a fencing back. */
export const FENCING_ACTION_HELD = "HeldFencing";
/** Fencing: Event action of a taint. */
export const FENCING_ACTION_TAINTED_NODE = "TaintedNode";
/** Fencing: Event action of a taint removal. */
export const FENCING_ACTION_UNTAINTED_NODE = "UntaintedNode";
/** Fencing: Event action of an eviction. */
export const FENCING_ACTION_EVICTED_POD = "EvictedPod";
/** Fencing: Event action of a force delete. */
export const FENCING_ACTION_FORCE_DELETED_POD = "ForceDeletedPod";
/** Fencing: Event action of a VolumeAttachment delete. */
export const FENCING_ACTION_DELETED_VOLUME_ATTACHMENT =
  "VolumeAttachmentDeleted";
/** Fencing metric: events2 lines by `kind` (`event`, `garbage`). */
export const METRIC_FENCING_EVENTS2_LINES_TOTAL =
  "linstor_suite_fencing_events2_lines_total";
/** Fencing metric: `drbdsetup events2` starts (1 + restarts). */
export const METRIC_FENCING_DRBDSETUP_STARTS_TOTAL =
  "linstor_suite_fencing_drbdsetup_starts_total";
/** Fencing metric: 1 while the DRBD state is synced, 0 while blind. */
export const METRIC_FENCING_DRBD_SYNCED = "linstor_suite_fencing_drbd_synced";
/** Fencing metric: (resource, peer) pairs by decision `outcome`. */
export const METRIC_FENCING_DECISIONS = "linstor_suite_fencing_decisions";
/** Fencing metric: fencing actions by `action` and `outcome`. */
export const METRIC_FENCING_ACTIONS_TOTAL =
  "linstor_suite_fencing_actions_total";
/**
 * Metric: when each node that carries the lost-quorum taint got it (its
 * `timeAdded`, else when this agent first saw it; seconds since the epoch),
 * by `node`. A taint left behind shows as an old timestamp.
 */
export const METRIC_FENCING_NODE_TAINT_TIMESTAMP_SECONDS =
  "linstor_suite_fencing_node_taint_timestamp_seconds";

/**
 * One Kubernetes permission a mode needs: `verb` on `resource` of `group`
 * (`""` core). `scope: "namespace"` is checked in the mode's own namespace
 * (Leases); else cluster-wide. `name` limits it to one object.
 */
export interface ModePermission {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly name?: string;
  readonly scope?: "namespace";
}

/** A mode's shipped RBAC: its ServiceAccount, ClusterRole, manifest and needed permissions. */
export interface ModeRbac {
  /** ServiceAccount name in `deploy/<mode>/rbac.yaml`. */
  readonly serviceAccount: string;
  /** The ClusterRole that grants the cluster-wide permissions. */
  readonly clusterRole: string;
  /** The manifest granting them, relative to the repository root. */
  readonly manifest: string;
  /** Every permission the mode uses, and nothing else. */
  readonly permissions: readonly ModePermission[];
}

/** Namespace of the shipped manifests (`deploy/`). */
export const DEPLOY_NAMESPACE = "linstor-suite";

function permissions(
  group: string,
  resource: string,
  verbs: readonly string[],
  extra: Omit<ModePermission, "verb" | "group" | "resource"> = {},
): ModePermission[] {
  return verbs.map((verb) => ({ verb, group, resource, ...extra }));
}

const READ = ["get", "list", "watch"] as const;
const EVENT_WRITES = permissions("events.k8s.io", "events", [
  "create",
  "patch",
]);
const LEADER_ELECTION = permissions("coordination.k8s.io", "leases", [
  "get",
  "create",
  "update",
], { scope: "namespace" });

/**
 * What each mode needs from Kubernetes: the one table `linstor-suite doctor`
 * checks with access reviews and `tests/deploy/rbac_test.ts` holds
 * `deploy/<mode>/rbac.yaml` to (it grants exactly these).
 */
export const MODE_RBAC: Readonly<
  Record<"extender" | "affinity" | "agent" | "fencing", ModeRbac>
> = Object.freeze({
  extender: {
    serviceAccount: "linstor-suite-extender",
    clusterRole: "linstor-suite-extender",
    manifest: "deploy/extender/rbac.yaml",
    permissions: [
      ...permissions("", "nodes", READ),
      ...permissions("", "persistentvolumes", READ),
      ...permissions("", "persistentvolumeclaims", READ),
      ...permissions("storage.k8s.io", "storageclasses", READ),
    ],
  },
  affinity: {
    serviceAccount: "linstor-suite-affinity",
    clusterRole: "linstor-suite-affinity",
    manifest: "deploy/affinity/rbac.yaml",
    permissions: [
      ...permissions("", "persistentvolumes", [
        ...READ,
        "create",
        "update",
        "patch",
        "delete",
      ]),
      ...permissions("", "persistentvolumeclaims", [...READ, "patch"]),
      ...permissions("storage.k8s.io", "storageclasses", READ),
      ...permissions("", "nodes", READ),
      ...permissions("", "namespaces", ["get"], { name: "kube-system" }),
      ...EVENT_WRITES,
      ...LEADER_ELECTION,
    ],
  },
  agent: {
    serviceAccount: "linstor-suite-agent",
    clusterRole: "linstor-suite-agent",
    manifest: "deploy/agent/rbac.yaml",
    permissions: [
      ...permissions("storage.k8s.io", "storageclasses", [
        ...READ,
        "create",
        "delete",
      ]),
      ...EVENT_WRITES,
      ...LEADER_ELECTION,
    ],
  },
  fencing: {
    serviceAccount: "linstor-suite-fencing",
    clusterRole: "linstor-suite-fencing",
    manifest: "deploy/fencing/rbac.yaml",
    permissions: [
      ...permissions("", "nodes", [...READ, "patch"]),
      ...permissions("", "pods", [...READ, "delete"]),
      ...permissions("", "pods", ["create"], { subresource: "eviction" }),
      ...permissions("", "persistentvolumes", READ),
      ...permissions("", "persistentvolumeclaims", READ),
      ...permissions("storage.k8s.io", "volumeattachments", [
        ...READ,
        "delete",
      ]),
      ...EVENT_WRITES,
    ],
  },
});
