/**
 * The agent's pure planners: what to do with this node's LINSTOR storage
 * pools after a scan, and (leader only) which StorageClasses should exist.
 * Both return plain data actions sorted by key; `_operations.ts` binds
 * them to the LINSTOR and Kubernetes calls.
 *
 * @module
 */
import type { V1StorageClass } from "@kubernetes/client-node";
import {
  AGENT_CAPACITY_MIN_CHANGE_BYTES,
  AGENT_CAPACITY_MIN_CHANGE_RATIO,
  AGENT_OWNER,
  AGENT_STORAGE_CLASS_PREFIX,
  CONNECTION_ONLINE,
  CSI_DRIVER_NAME,
  CSI_PARAM_PLACEMENT_COUNT,
  CSI_PARAM_RESOURCE_GROUP,
  CSI_PARAM_STORAGE_POOL,
  EVENT_REASON_AGENT_INVALID_TAG,
  EVENT_REASON_AGENT_POOL_CONFLICT,
  FIELD_MANAGER,
  LABEL_AGENT_STORAGE_POOL,
  LABEL_MANAGED_BY,
  LINSTOR_PROP_AGENT_FREE_BYTES,
  LINSTOR_PROP_AGENT_LVM_UUID,
  LINSTOR_PROP_AGENT_MANAGED_BY,
  LINSTOR_PROP_LVM_VG,
  LINSTOR_PROP_STOR_DRIVER_POOL_NAME,
  LINSTOR_PROP_THIN_POOL,
} from "../../constants.ts";
import { parseRetCode, sameEnum, type StoragePool } from "../../linstor/mod.ts";
import {
  type CandidateOptions,
  type CandidateSet,
  findCandidates,
  type PoolCandidate,
} from "./_candidates.ts";
import type { LvmReport } from "./_lvm.ts";

/** The outcome of one LVM scan. */
export type LvmScan =
  | {
    readonly ok: true;
    readonly report: LvmReport;
    /**
     * False when lvm exited non-zero although its JSON parsed (a broken VG
     * elsewhere): pools may be created, none are deleted.
     */
    readonly complete: boolean;
    /** Advisory and stderr lines. */
    readonly warnings: readonly string[];
  }
  | { readonly ok: false; readonly error: string };

/** What LINSTOR says about this node. */
export type NodeView =
  | {
    readonly ok: true;
    /** The node's `connection_status`; `undefined` when the node is not registered. */
    readonly connectionStatus: string | undefined;
    /** The node's storage pools (the diskless one included or not). */
    readonly pools: readonly StoragePool[];
  }
  | { readonly ok: false; readonly error: string };

/** Everything one pool pass decides on. */
export interface AgentSnapshot {
  /** This node's LINSTOR name. */
  readonly node: string;
  readonly scan: LvmScan;
  readonly linstor: NodeView;
}

/** What the agent remembers between passes (explicit, never global). */
export interface AgentMemory {
  /** Owned pool → when a good, complete scan first found its tag gone (ms). */
  readonly missingSince: Readonly<Record<string, number>>;
  /** Issue key → message of the Warning Event already recorded for it. */
  readonly reported: Readonly<Record<string, string>>;
}

/** The memory of a fresh process. */
export const EMPTY_MEMORY: AgentMemory = Object.freeze({
  missingSince: Object.freeze({}),
  reported: Object.freeze({}),
});

/** Options of `planPools()`. */
export interface PoolPlanOptions extends CandidateOptions {
  /** A pool whose tag is gone is deleted only after this long (ms). */
  removalGraceMs: number;
}

/** Create LINSTOR pool `candidate.pool` on `node`, owned by the agent. */
export interface CreatePoolAction {
  readonly type: "CreatePool";
  readonly key: string;
  readonly node: string;
  readonly candidate: PoolCandidate;
}

/** Delete the agent's pool `pool` on `node` if LINSTOR has no volumes on it. */
export interface DeletePoolAction {
  readonly type: "DeletePool";
  readonly key: string;
  readonly node: string;
  readonly pool: string;
  /** The pool's recorded LVM UUID: the pool is deleted only if it still carries it. */
  readonly lvmUuid: string | undefined;
}

/** Write the agent's free-bytes figure into the pool's `Aux/linstor-suite.io/free-bytes`. */
export interface PublishCapacityAction {
  readonly type: "PublishCapacity";
  readonly key: string;
  readonly node: string;
  readonly pool: string;
  readonly freeBytes: number;
}

/** Record a Warning Event about this node. */
export interface NodeEventAction {
  readonly type: "NodeEvent";
  readonly key: string;
  readonly node: string;
  readonly reason: string;
  readonly message: string;
}

/** One thing the pool pass asks for. */
export type PoolAction =
  | CreatePoolAction
  | DeletePoolAction
  | PublishCapacityAction
  | NodeEventAction;

/** State of one pool name on this node, for logs, metrics and `--dry-run`. */
export interface PoolStatus {
  readonly pool: string;
  readonly state:
    | "ready"
    | "create"
    | "waiting"
    | "conflict"
    | "foreign"
    | "removal-pending"
    | "remove"
    | "held";
  readonly detail: string;
  /** The candidate, when the scan has one. */
  readonly candidate?: PoolCandidate;
}

/** The pool plan. */
export interface PoolPlan {
  /** Sorted by key. */
  readonly actions: readonly PoolAction[];
  readonly memory: AgentMemory;
  /** Sorted by pool. */
  readonly pools: readonly PoolStatus[];
  /** The scan's candidates, conflicts and invalid tags (empty on a failed scan). */
  readonly candidates: CandidateSet;
}

const NO_CANDIDATES: CandidateSet = Object.freeze({
  candidates: new Map(),
  conflicts: [],
  invalid: [],
});

/** `StorDriver/StorPoolName` of a pool, from the legacy keys when LINSTOR did not rewrite them. */
export function storPoolNameOf(pool: StoragePool): string | undefined {
  const props = pool.props ?? {};
  const unified = props[LINSTOR_PROP_STOR_DRIVER_POOL_NAME];
  if (unified) return unified;
  const vg = props[LINSTOR_PROP_LVM_VG];
  if (!vg) return undefined;
  const thin = props[LINSTOR_PROP_THIN_POOL];
  return thin ? `${vg}/${thin}` : vg;
}

/** True when the agent created `pool` (its ownership property). */
export function isOwnedPool(pool: StoragePool): boolean {
  return pool.props?.[LINSTOR_PROP_AGENT_MANAGED_BY] === AGENT_OWNER;
}

/** True when `pool` carries an error report (e.g. the satellite cannot find its VG). */
export function hasPoolErrors(pool: StoragePool): boolean {
  return (pool.reports ?? []).some((rc) =>
    parseRetCode(rc.ret_code).severity === "error"
  );
}

/**
 * Plans this node's storage pools.
 *
 * Rules, per pool name:
 * 1. A candidate without a LINSTOR pool is created once the node's
 *    satellite is ONLINE.
 * 2. A LINSTOR pool with another provider kind or VG than the candidate is
 *    a conflict and stays as it is; so does any pool the agent did not
 *    create (a foreign pool is never touched).
 * 3. A pool the agent owns whose tag is gone is deleted after
 *    `removalGraceMs`, counted from the first good scan without the tag;
 *    only after a good, complete, non-empty scan, and never while a
 *    conflict still names the pool. Volumes on it are checked at execution.
 * 4. Conflicts and invalid tags become one Warning Event each, recorded
 *    again only when their message changes (no writes when nothing changed).
 * 5. The free bytes of a ready pool are published into its
 *    `Aux/linstor-suite.io/free-bytes` when missing or off by at least
 *    1 GiB and 1 % of the pool size.
 */
export function planPools(
  snapshot: AgentSnapshot,
  context: { now: number; memory: AgentMemory; options: PoolPlanOptions },
): PoolPlan {
  const { node, scan, linstor } = snapshot;
  const { now, memory, options } = context;
  const found = scan.ok ? findCandidates(scan.report, options) : NO_CANDIDATES;
  const actions: PoolAction[] = [];
  const statuses = new Map<string, PoolStatus>();
  const missingSince: Record<string, number> = {};
  const issues = new Map<string, { reason: string; message: string }>();
  for (const conflict of found.conflicts) {
    statuses.set(conflict.pool, {
      pool: conflict.pool,
      state: "conflict",
      detail: conflict.reason,
    });
    issues.set(`conflict/${conflict.pool}`, {
      reason: EVENT_REASON_AGENT_POOL_CONFLICT,
      message:
        `Cannot register storage pool "${conflict.pool}": ${conflict.reason}`,
    });
  }
  for (const invalid of found.invalid) {
    issues.set(`invalid/${invalid.object}/${invalid.tag}`, {
      reason: EVENT_REASON_AGENT_INVALID_TAG,
      message:
        `Cannot use tag "${invalid.tag}" on ${invalid.object}: ${invalid.reason}`,
    });
  }
  if (!linstor.ok) {
    for (const candidate of found.candidates.values()) {
      statuses.set(candidate.pool, {
        pool: candidate.pool,
        state: "waiting",
        detail: `LINSTOR cannot be read: ${linstor.error}`,
        candidate,
      });
    }
  } else {
    const online = linstor.connectionStatus !== undefined &&
      sameEnum(linstor.connectionStatus, CONNECTION_ONLINE);
    const existing = new Map<string, StoragePool>();
    for (const pool of linstor.pools) {
      if (pool.storage_pool_name && !sameEnum(pool.provider_kind, "DISKLESS")) {
        existing.set(pool.storage_pool_name, pool);
      }
    }
    for (const candidate of found.candidates.values()) {
      const status = candidateStatus(candidate, existing, { node, online });
      statuses.set(candidate.pool, status);
      if (status.state === "create") {
        actions.push({
          type: "CreatePool",
          key: poolKey(node, candidate.pool),
          node,
          candidate,
        });
      }
      const pool = existing.get(candidate.pool);
      if (
        status.state === "ready" && pool &&
        capacityStale(pool, candidate.capacity)
      ) {
        actions.push({
          type: "PublishCapacity",
          key: `capacity/${node}/${candidate.pool}`,
          node,
          pool: candidate.pool,
          freeBytes: candidate.capacity.freeBytes,
        });
      }
      if (status.state === "conflict") {
        issues.set(`conflict/${candidate.pool}`, {
          reason: EVENT_REASON_AGENT_POOL_CONFLICT,
          message:
            `Cannot register storage pool "${candidate.pool}": ${status.detail}`,
        });
      }
    }
    const deletable = scan.ok && scan.complete &&
      scan.report.volumeGroups.length > 0;
    for (const [name, pool] of existing) {
      if (statuses.has(name) || !isOwnedPool(pool)) continue;
      if (!scan.ok) {
        statuses.set(name, {
          pool: name,
          state: "held",
          detail: `tag not seen: the LVM scan failed (${scan.error})`,
        });
        if (memory.missingSince[name] !== undefined) {
          missingSince[name] = memory.missingSince[name]!;
        }
        continue;
      }
      const since = memory.missingSince[name] ?? now;
      missingSince[name] = since;
      const lvmUuid = pool.props?.[LINSTOR_PROP_AGENT_LVM_UUID];
      const partial = scan.report.volumeGroups.some((vg) =>
        vg.partial && (vg.uuid === lvmUuid ||
          scan.report.logicalVolumes.some((lv) =>
            lv.uuid === lvmUuid && lv.vgUuid === vg.uuid
          ))
      );
      if (!deletable || partial || !online) {
        statuses.set(name, {
          pool: name,
          state: "held",
          detail: !deletable
            ? "tag gone, but the scan was incomplete or empty: nothing is deleted"
            : partial
            ? "tag gone, but its volume group is missing PVs: nothing is deleted"
            : "tag gone, but the satellite is not ONLINE",
        });
        continue;
      }
      const left = since + options.removalGraceMs - now;
      if (left > 0) {
        statuses.set(name, {
          pool: name,
          state: "removal-pending",
          detail: `tag gone; removal in ${Math.ceil(left / 1000)} s`,
        });
        continue;
      }
      statuses.set(name, {
        pool: name,
        state: "remove",
        detail: "tag gone for the removal grace; deleting if unused",
      });
      actions.push({
        type: "DeletePool",
        key: poolKey(node, name),
        node,
        pool: name,
        lvmUuid,
      });
    }
  }
  const reported: Record<string, string> = {};
  for (const [key, issue] of [...issues].sort(byKey)) {
    reported[key] = issue.message;
    if (memory.reported[key] !== issue.message) {
      actions.push({
        type: "NodeEvent",
        key: `event/${node}/${key}`,
        node,
        reason: issue.reason,
        message: issue.message,
      });
    }
  }
  return {
    actions: actions.sort(byKey),
    memory: { missingSince, reported },
    pools: [...statuses.values()].sort((a, b) => compareText(a.pool, b.pool)),
    candidates: found,
  };
}

/**
 * True when the free bytes published on `pool` are missing or off by at
 * least `AGENT_CAPACITY_MIN_CHANGE_BYTES` and
 * `AGENT_CAPACITY_MIN_CHANGE_RATIO` of the size.
 */
function capacityStale(
  pool: StoragePool,
  capacity: { sizeBytes: number; freeBytes: number },
): boolean {
  const published = Number(pool.props?.[LINSTOR_PROP_AGENT_FREE_BYTES] ?? "");
  if (
    !Number.isFinite(published) ||
    pool.props?.[LINSTOR_PROP_AGENT_FREE_BYTES] === ""
  ) {
    return true;
  }
  const threshold = Math.max(
    AGENT_CAPACITY_MIN_CHANGE_BYTES,
    AGENT_CAPACITY_MIN_CHANGE_RATIO * capacity.sizeBytes,
  );
  return Math.abs(published - capacity.freeBytes) >= threshold;
}

function candidateStatus(
  candidate: PoolCandidate,
  existing: ReadonlyMap<string, StoragePool>,
  context: { node: string; online: boolean },
): PoolStatus {
  const base = { pool: candidate.pool, candidate };
  const pool = existing.get(candidate.pool);
  if (!pool) {
    if (candidate.partial) {
      return {
        ...base,
        state: "held",
        detail: `${candidate.object} is missing PVs: not registered`,
      };
    }
    if (!context.online) {
      return {
        ...base,
        state: "waiting",
        detail: `waiting for satellite "${context.node}" to be ONLINE`,
      };
    }
    return {
      ...base,
      state: "create",
      detail: `create ${candidate.kind} pool on ${candidate.object}`,
    };
  }
  const actual = storPoolNameOf(pool);
  if (
    !sameEnum(pool.provider_kind, candidate.kind) ||
    actual !== candidate.storPoolName
  ) {
    return {
      ...base,
      state: "conflict",
      detail:
        `LINSTOR pool is ${pool.provider_kind} on "${actual}", the tag is on ${candidate.kind} ${candidate.object}; delete the pool or move the tag`,
    };
  }
  if (!isOwnedPool(pool)) {
    return {
      ...base,
      state: "foreign",
      detail: "pool exists and was not created by the agent: left alone",
    };
  }
  return { ...base, state: "ready", detail: `on ${candidate.object}` };
}

/** Options of `planStorageClasses()`. */
export interface StorageClassPlanOptions {
  /** Largest N of `-rN`. @default {3} */
  maxReplicas?: number;
  /** Delete managed classes that are no longer wanted. @default {false} */
  prune?: boolean;
}

/** Create a StorageClass. */
export interface CreateStorageClassAction {
  readonly type: "CreateStorageClass";
  readonly key: string;
  readonly storageClass: V1StorageClass;
}

/** Replace a StorageClass whose immutable fields drifted (delete, then create). */
export interface RecreateStorageClassAction {
  readonly type: "RecreateStorageClass";
  readonly key: string;
  /** The object to delete (UID and resourceVersion are preconditions). */
  readonly current: V1StorageClass;
  /** The new object, carrying the old user labels and annotations. */
  readonly storageClass: V1StorageClass;
  /** What drifted. */
  readonly drift: string;
}

/** Delete a managed StorageClass no longer wanted (`prune` only). */
export interface DeleteStorageClassAction {
  readonly type: "DeleteStorageClass";
  readonly key: string;
  readonly current: V1StorageClass;
}

/** One thing the StorageClass pass asks for. */
export type StorageClassAction =
  | CreateStorageClassAction
  | RecreateStorageClassAction
  | DeleteStorageClassAction;

/** The StorageClass plan. */
export interface StorageClassPlan {
  /** Sorted by key. */
  readonly actions: readonly StorageClassAction[];
  /** Pool → N (how many nodes have a healthy pool of the agent, at most `maxReplicas`). */
  readonly replicas: ReadonlyMap<string, number>;
  /** Names of classes the plan would manage but another owner holds. */
  readonly foreign: readonly string[];
}

/** The name of the agent's class for `pool` with `replicas` replicas. */
export function storageClassName(pool: string, replicas: number): string {
  return `${AGENT_STORAGE_CLASS_PREFIX}${pool}-r${replicas}`;
}

/** The StorageClass the agent wants for `pool` with `replicas` replicas. */
export function desiredStorageClass(
  pool: string,
  replicas: number,
): V1StorageClass {
  const name = storageClassName(pool, replicas);
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name,
      labels: {
        [LABEL_MANAGED_BY]: FIELD_MANAGER,
        [LABEL_AGENT_STORAGE_POOL]: pool,
      },
    },
    provisioner: CSI_DRIVER_NAME,
    parameters: {
      [CSI_PARAM_STORAGE_POOL]: pool,
      [CSI_PARAM_PLACEMENT_COUNT]: String(replicas),
      [CSI_PARAM_RESOURCE_GROUP]: name,
    },
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: true,
  };
}

/** True when the agent manages `sc` (its label). */
export function isManagedStorageClass(sc: V1StorageClass): boolean {
  return sc.metadata?.labels?.[LABEL_MANAGED_BY] === FIELD_MANAGER &&
    sc.metadata?.labels?.[LABEL_AGENT_STORAGE_POOL] !== undefined;
}

/**
 * Plans the StorageClasses of every pool the agents own.
 *
 * N of a pool = min(`maxReplicas`, nodes where the pool exists, carries the
 * agent's ownership property and has no error report). Classes
 * `linstor-<p>-r1..rN` are created; a managed class whose immutable fields
 * drifted is re-created with its labels and annotations carried over; a
 * class of that name the agent does not manage is left alone. Managed
 * classes beyond N, or of vanished pools, are deleted only with `prune`.
 */
export function planStorageClasses(
  snapshot: {
    readonly pools: readonly StoragePool[];
    readonly storageClasses: readonly V1StorageClass[];
  },
  options: StorageClassPlanOptions = {},
): StorageClassPlan {
  const max = options.maxReplicas ?? 3;
  const nodes = new Map<string, Set<string>>();
  for (const pool of snapshot.pools) {
    const name = pool.storage_pool_name;
    if (!name || !isOwnedPool(pool) || hasPoolErrors(pool)) continue;
    const set = nodes.get(name) ?? new Set<string>();
    set.add((pool.node_name ?? "").toLowerCase());
    nodes.set(name, set);
  }
  const replicas = new Map<string, number>();
  const wanted = new Map<string, V1StorageClass>();
  for (const [pool, set] of [...nodes].sort(byKey)) {
    const n = Math.min(max, set.size);
    replicas.set(pool, n);
    for (let r = 1; r <= n; r++) {
      const sc = desiredStorageClass(pool, r);
      wanted.set(sc.metadata!.name!, sc);
    }
  }
  const existing = new Map(
    snapshot.storageClasses.map((sc) => [sc.metadata?.name ?? "", sc]),
  );
  const actions: StorageClassAction[] = [];
  const foreign: string[] = [];
  for (const [name, desired] of wanted) {
    const current = existing.get(name);
    if (!current) {
      actions.push({
        type: "CreateStorageClass",
        key: `storageclass/${name}`,
        storageClass: desired,
      });
      continue;
    }
    if (!isManagedStorageClass(current)) {
      foreign.push(name);
      continue;
    }
    const drift = storageClassDrift(current, desired);
    if (drift) {
      actions.push({
        type: "RecreateStorageClass",
        key: `storageclass/${name}`,
        current,
        storageClass: carryOver(current, desired),
        drift,
      });
    }
  }
  if (options.prune) {
    for (const [name, current] of existing) {
      if (!wanted.has(name) && isManagedStorageClass(current)) {
        actions.push({
          type: "DeleteStorageClass",
          key: `storageclass/${name}`,
          current,
        });
      }
    }
  }
  return {
    actions: actions.sort(byKey),
    replicas,
    foreign: foreign.sort(compareText),
  };
}

/** What differs between a class and the wanted one, or `undefined`. */
export function storageClassDrift(
  current: V1StorageClass,
  desired: V1StorageClass,
): string | undefined {
  const drifts: string[] = [];
  for (
    const field of [
      "provisioner",
      "reclaimPolicy",
      "volumeBindingMode",
      "allowVolumeExpansion",
    ] as const
  ) {
    if (current[field] !== desired[field]) {
      drifts.push(
        `${field} "${String(current[field])}" != "${String(desired[field])}"`,
      );
    }
  }
  for (const [key, value] of Object.entries(desired.parameters ?? {})) {
    const actual = current.parameters?.[key];
    if (actual !== value) {
      drifts.push(`parameter ${key} "${String(actual)}" != "${value}"`);
    }
  }
  return drifts.length > 0 ? drifts.join(", ") : undefined;
}

/** `desired` with the labels, annotations and extra parameters of `current` kept. */
function carryOver(
  current: V1StorageClass,
  desired: V1StorageClass,
): V1StorageClass {
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      labels: { ...current.metadata?.labels, ...desired.metadata?.labels },
      ...(current.metadata?.annotations
        ? { annotations: { ...current.metadata.annotations } }
        : {}),
    },
    parameters: { ...current.parameters, ...desired.parameters },
  };
}

/** Key of a storage pool operation. */
export function poolKey(node: string, pool: string): string {
  return `pool/${node}/${pool}`;
}

function byKey<T extends { key: string } | [string, unknown]>(
  a: T,
  b: T,
): number {
  const ka = Array.isArray(a) ? a[0] : (a as { key: string }).key;
  const kb = Array.isArray(b) ? b[0] : (b as { key: string }).key;
  return compareText(ka, kb);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
