/**
 * Scenario files of the simulator: YAML parsing and validation (every
 * problem is reported with the path of the bad field), sizes, durations and
 * the simulator actions shared by the timeline and the `/sim/v1/actions`
 * control endpoint.
 *
 * @module
 */
import { parseYaml, readDuration as parseDurationMs } from "../domain/mod.ts";
import type { AutoSelectFilter, Props } from "../linstor/types.ts";
import {
  LINSTOR_DEFAULT_RESOURCE_GROUP,
  SIM_DEFAULT_POOL_CAPACITY_KIB,
} from "../constants.ts";
import {
  defined,
  FILTER_STRING_LISTS,
  isDisklessPool,
  keyOf,
  type ReplicaKind,
} from "./_model.ts";

/** DRBD disk states the simulator accepts. */
const DISK_STATES: readonly string[] = Object.freeze([
  "Diskless",
  "Attaching",
  "Detaching",
  "Failed",
  "Negotiating",
  "Inconsistent",
  "Outdated",
  "DUnknown",
  "Consistent",
  "UpToDate",
]);

/** Node connection statuses of the LINSTOR API. */
const CONNECTION_STATUSES: readonly string[] = Object.freeze([
  "OFFLINE",
  "CONNECTED",
  "ONLINE",
  "VERSION_MISMATCH",
  "FULL_SYNC_FAILED",
  "AUTHENTICATION_ERROR",
  "UNKNOWN",
  "HOSTNAME_MISMATCH",
  "OTHER_CONTROLLER",
  "AUTHENTICATED",
  "NO_STLT_CONN",
]);

/** Storage provider kinds a simulated satellite reports it supports. */
export const SATELLITE_PROVIDER_KINDS: readonly string[] = Object.freeze([
  "DISKLESS",
  "LVM",
  "LVM_THIN",
  "ZFS",
  "ZFS_THIN",
  "FILE",
  "FILE_THIN",
]);

/** Storage provider kinds the simulator accepts. */
export const PROVIDER_KINDS: readonly string[] = Object.freeze([
  ...SATELLITE_PROVIDER_KINDS,
  "SPDK",
  "EBS_TARGET",
  "EBS_INIT",
  "STORAGE_SPACES",
  "STORAGE_SPACES_THIN",
]);

const REPLICA_KINDS: readonly ReplicaKind[] = [
  "diskful",
  "diskless",
  "tie-breaker",
];

/** A simulator action (timeline entry or `POST /sim/v1/actions` body). */
export type SimAction =
  | { action: "set-node-status"; node: string; status: string }
  | {
    action: "set-disk-state";
    resource: string;
    node: string;
    /** Volume number; all volumes when absent. */
    volume?: number;
    disk_state: string;
  }
  | { action: "set-in-use"; resource: string; node: string; in_use: boolean }
  | {
    action: "add-replica";
    resource: string;
    node: string;
    kind: ReplicaKind;
    pool?: string;
    disk_state?: string;
  }
  | { action: "remove-replica"; resource: string; node: string }
  | {
    action: "move-replica";
    resource: string;
    from: string;
    to: string;
    pool?: string;
  }
  | {
    action: "set-pool";
    node: string;
    pool: string;
    /** Free capacity in KiB. */
    free_kib?: number;
    /** Total capacity in KiB. */
    total_kib?: number;
  };

/** Names of the actions. */
const ACTION_NAMES: readonly SimAction["action"][] = Object.freeze([
  "set-node-status",
  "set-disk-state",
  "set-in-use",
  "add-replica",
  "remove-replica",
  "move-replica",
  "set-pool",
]);

/** A storage pool of a scenario node. */
export interface ScenarioPool {
  readonly name: string;
  readonly providerKind: string;
  readonly props: Props;
  readonly totalKib: number;
  readonly freeKib?: number;
}

/** A node of a scenario. */
export interface ScenarioNode {
  readonly name: string;
  readonly props: Props;
  readonly connectionStatus: string;
  readonly address?: string;
  readonly pools: readonly ScenarioPool[];
}

/** A resource group of a scenario. */
export interface ScenarioResourceGroup {
  readonly name: string;
  readonly description?: string;
  readonly props: Props;
  readonly selectFilter: AutoSelectFilter;
}

/** A replica of a scenario volume. */
export interface ScenarioReplica {
  readonly node: string;
  readonly kind: ReplicaKind;
  /** Resolved pool (diskless kinds: the diskless pool). */
  readonly pool?: string;
  readonly diskState?: string;
  readonly inUse: boolean;
}

/** A volume (resource definition with volume definitions) of a scenario. */
export interface ScenarioVolume {
  readonly name: string;
  readonly resourceGroup: string;
  readonly props: Props;
  /** Sizes of volume 0, 1, … in KiB. */
  readonly sizesKib: readonly number[];
  /** Props of every volume definition. */
  readonly volumeProps: Props;
  readonly replicas: readonly ScenarioReplica[];
}

/** A timeline entry: `action` at `atMs` after the scenario starts. */
export interface TimelineEntry {
  readonly atMs: number;
  readonly action: SimAction;
}

/** A validated scenario. */
export interface Scenario {
  readonly nodes: readonly ScenarioNode[];
  readonly resourceGroups: readonly ScenarioResourceGroup[];
  readonly volumes: readonly ScenarioVolume[];
  readonly timeline: readonly TimelineEntry[];
}

/** One problem found in a scenario. */
export interface ScenarioIssue {
  /** Path of the bad field, e.g. `nodes[1].pools[0].provider_kind`. */
  readonly path: string;
  readonly message: string;
}

/** A scenario that does not validate; lists every problem with its path. */
export class ScenarioError extends TypeError {
  /** Every problem found. */
  readonly issues: readonly ScenarioIssue[];
  /** Where the scenario came from (file name or label). */
  readonly source: string;

  /** Builds the error from its issues. */
  constructor(source: string, issues: readonly ScenarioIssue[]) {
    super(
      `Cannot load scenario "${source}": ${
        issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")
      }`,
    );
    this.name = "ScenarioError";
    this.issues = issues;
    this.source = source;
  }
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  K: 1,
  KIB: 1,
  M: 1024,
  MIB: 1024,
  G: 1024 ** 2,
  GIB: 1024 ** 2,
  T: 1024 ** 3,
  TIB: 1024 ** 3,
};

/**
 * Parses a size into KiB: a number is KiB; a string is a number with an
 * optional binary unit (`KiB`, `MiB`, `GiB`, `TiB` or `K`/`M`/`G`/`T`).
 */
export function parseSizeKib(value: unknown): number {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot parse size "${value}": expected a whole number of KiB >= 0`,
      );
    }
    return value;
  }
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot parse size "${
        String(value)
      }": expected a number of KiB or a string like "10GiB"`,
    );
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const unit = SIZE_UNITS[(match?.[2] ?? "").toUpperCase()];
  if (!match || unit === undefined) {
    throw new SyntaxError(
      `Cannot parse size "${value}": expected a number with an optional unit KiB, MiB, GiB or TiB`,
    );
  }
  const kib = Math.ceil(Number(match[1]) * unit);
  if (!Number.isSafeInteger(kib)) {
    throw new RangeError(`Cannot parse size "${value}": too large`);
  }
  return kib;
}

/** Scenario durations are read by `readDuration()` from `src/domain/` (the one Go-duration rule). */
export { parseDurationMs };

/** Collects issues while walking untrusted data. */
class Reader {
  readonly issues: ScenarioIssue[] = [];

  /**
   * Records `name` (when read) in `seen.names`, case-insensitively; fails at
   * `path` with `seen.message` when it is there already.
   */
  unique(
    name: string | undefined,
    path: string,
    seen: { readonly names: Set<string>; readonly message: string },
  ): void {
    if (name === undefined) return;
    if (seen.names.has(keyOf(name))) this.fail(path, seen.message);
    seen.names.add(keyOf(name));
  }

  fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  object(
    value: unknown,
    path: string,
    allowed: readonly string[],
  ): Record<string, unknown> | undefined {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return this.fail(path, `must be a mapping, got ${describe(value)}`);
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.fail(
          join(path, key),
          `unknown field (allowed: ${allowed.join(", ")})`,
        );
      }
    }
    return value as Record<string, unknown>;
  }

  list(value: unknown, path: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.fail(path, `must be a list, got ${describe(value)}`);
      return [];
    }
    return value;
  }

  string(value: unknown, path: string, required: boolean): string | undefined {
    if (value === undefined || value === null) {
      return required ? this.fail(path, "is required") : undefined;
    }
    if (typeof value !== "string" || value.length === 0) {
      return this.fail(
        path,
        `must be a non-empty string, got ${describe(value)}`,
      );
    }
    return value;
  }

  name(value: unknown, path: string, pattern: RegExp): string | undefined {
    const name = this.string(value, path, true);
    if (name !== undefined && !pattern.test(name)) {
      return this.fail(path, `"${name}" is not a valid LINSTOR name`);
    }
    return name;
  }

  oneOf(
    value: unknown,
    path: string,
    choices: readonly string[],
    fallback: string,
  ): string {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "string") {
      this.fail(
        path,
        `must be one of ${choices.join(", ")}, got ${describe(value)}`,
      );
      return fallback;
    }
    const found = choices.find((c) => c.toUpperCase() === value.toUpperCase());
    if (found === undefined) {
      this.fail(path, `must be one of ${choices.join(", ")}, got "${value}"`);
      return fallback;
    }
    return found;
  }

  boolean(value: unknown, path: string): boolean {
    if (value === undefined || value === null) return false;
    if (typeof value !== "boolean") {
      this.fail(path, `must be true or false, got ${describe(value)}`);
      return false;
    }
    return value;
  }

  props(value: unknown, path: string): Props {
    if (value === undefined || value === null) return {};
    if (typeof value !== "object" || Array.isArray(value)) {
      this.fail(path, `must be a mapping of strings, got ${describe(value)}`);
      return {};
    }
    const props: Props = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === "string") props[key] = item;
      else if (typeof item === "number" || typeof item === "boolean") {
        props[key] = String(item);
      } else {
        this.fail(join(path, key), `must be a string, got ${describe(item)}`);
      }
    }
    return props;
  }

  size(value: unknown, path: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    try {
      return parseSizeKib(value);
    } catch (error) {
      return this.fail(path, (error as Error).message);
    }
  }

  integer(value: unknown, path: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (
      typeof value !== "number" || !Number.isSafeInteger(value) || value < 0
    ) {
      return this.fail(
        path,
        `must be a whole number >= 0, got ${describe(value)}`,
      );
    }
    return value;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `"${value}"`;
  return `${typeof value} ${String(value)}`;
}

function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path === "" ? key : `${path}.${key}`;
}

/** LINSTOR node names (host names). */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;
/** LINSTOR resource, resource group and storage pool names. */
export const OBJECT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{1,47}$/;
/** LINSTOR storage pool names. */
export const POOL_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,47}$/;

function readFilter(r: Reader, value: unknown, path: string): AutoSelectFilter {
  const allowed = [
    ...FILTER_STRING_LISTS,
    "place_count",
    "additional_place_count",
    "storage_pool",
    "not_place_with_rsc_regex",
    "x_replicas_on_different_map",
    "diskless_on_remaining",
    "diskless_type",
  ];
  if (value === undefined || value === null) return {};
  const raw = r.object(value, path, allowed);
  if (!raw) return {};
  const filter: AutoSelectFilter = {};
  const placeCount = r.integer(raw.place_count, join(path, "place_count"));
  if (placeCount !== undefined) filter.place_count = placeCount;
  const additional = r.integer(
    raw.additional_place_count,
    join(path, "additional_place_count"),
  );
  if (additional !== undefined) filter.additional_place_count = additional;
  const pool = r.string(raw.storage_pool, join(path, "storage_pool"), false);
  if (pool !== undefined) filter.storage_pool = pool;
  const regex = r.string(
    raw.not_place_with_rsc_regex,
    join(path, "not_place_with_rsc_regex"),
    false,
  );
  if (regex !== undefined) {
    try {
      new RegExp(regex);
      filter.not_place_with_rsc_regex = regex;
    } catch {
      r.fail(
        join(path, "not_place_with_rsc_regex"),
        "is not a valid regular expression",
      );
    }
  }
  for (const key of FILTER_STRING_LISTS) {
    if (raw[key] === undefined) continue;
    const items = r.list(raw[key], join(path, key)).map((item, i) =>
      r.string(item, join(join(path, key), i), true)
    ).filter((item): item is string => item !== undefined);
    filter[key] = items;
  }
  if (raw.x_replicas_on_different_map !== undefined) {
    const mapPath = join(path, "x_replicas_on_different_map");
    const map = r.object(
      raw.x_replicas_on_different_map,
      mapPath,
      Object.keys(raw.x_replicas_on_different_map ?? {}),
    );
    const result: Record<string, number> = {};
    for (const [key, item] of Object.entries(map ?? {})) {
      const n = r.integer(item, join(mapPath, key));
      if (n !== undefined) result[key] = n;
    }
    filter.x_replicas_on_different_map = result;
  }
  if (raw.diskless_on_remaining !== undefined) {
    filter.diskless_on_remaining = r.boolean(
      raw.diskless_on_remaining,
      join(path, "diskless_on_remaining"),
    );
  }
  const disklessType = r.string(
    raw.diskless_type,
    join(path, "diskless_type"),
    false,
  );
  if (disklessType !== undefined) filter.diskless_type = disklessType;
  return filter;
}

/**
 * Validates one simulator action (`path` prefixes issue paths); `undefined`
 * when it has issues (recorded in `reader`).
 */
function readAction(
  r: Reader,
  raw: Record<string, unknown>,
  path: string,
  extra: readonly string[],
): SimAction | undefined {
  const before = r.issues.length;
  const name = r.oneOf(raw.action, join(path, "action"), ACTION_NAMES, "");
  if (raw.action === undefined) r.fail(join(path, "action"), "is required");
  const allow = (fields: string[]) =>
    r.object(raw, path, ["action", ...extra, ...fields]);
  const str = (key: string) => r.string(raw[key], join(path, key), true) ?? "";
  let action: SimAction | undefined;
  switch (name) {
    case "set-node-status":
      allow(["node", "status"]);
      action = {
        action: name,
        node: str("node"),
        status: r.oneOf(
          raw.status,
          join(path, "status"),
          CONNECTION_STATUSES,
          "",
        ),
      };
      if (raw.status === undefined) r.fail(join(path, "status"), "is required");
      break;
    case "set-disk-state": {
      allow(["resource", "node", "volume", "disk_state"]);
      const volume = r.integer(raw.volume, join(path, "volume"));
      action = {
        action: name,
        resource: str("resource"),
        node: str("node"),
        disk_state: r.oneOf(
          raw.disk_state,
          join(path, "disk_state"),
          DISK_STATES,
          "",
        ),
        ...defined({ volume }),
      };
      if (raw.disk_state === undefined) {
        r.fail(join(path, "disk_state"), "is required");
      }
      break;
    }
    case "set-in-use":
      allow(["resource", "node", "in_use"]);
      if (typeof raw.in_use !== "boolean") {
        r.fail(join(path, "in_use"), "must be true or false");
      }
      action = {
        action: name,
        resource: str("resource"),
        node: str("node"),
        in_use: raw.in_use === true,
      };
      break;
    case "add-replica": {
      allow(["resource", "node", "kind", "pool", "disk_state"]);
      const pool = r.string(raw.pool, join(path, "pool"), false);
      const diskState = raw.disk_state === undefined
        ? undefined
        : r.oneOf(raw.disk_state, join(path, "disk_state"), DISK_STATES, "");
      action = {
        action: name,
        resource: str("resource"),
        node: str("node"),
        kind: r.oneOf(
          raw.kind,
          join(path, "kind"),
          REPLICA_KINDS,
          "diskful",
        ) as ReplicaKind,
        ...defined({ pool, disk_state: diskState }),
      };
      break;
    }
    case "remove-replica":
      allow(["resource", "node"]);
      action = { action: name, resource: str("resource"), node: str("node") };
      break;
    case "move-replica": {
      allow(["resource", "from", "to", "pool"]);
      const pool = r.string(raw.pool, join(path, "pool"), false);
      action = {
        action: name,
        resource: str("resource"),
        from: str("from"),
        to: str("to"),
        ...defined({ pool }),
      };
      break;
    }
    case "set-pool": {
      allow(["node", "pool", "free", "total"]);
      const free = r.size(raw.free, join(path, "free"));
      const total = r.size(raw.total, join(path, "total"));
      if (free === undefined && total === undefined) {
        r.fail(path, "needs free or total");
      }
      action = {
        action: name,
        node: str("node"),
        pool: str("pool"),
        ...defined({ free_kib: free, total_kib: total }),
      };
      break;
    }
  }
  return r.issues.length === before ? action : undefined;
}

/**
 * Validates simulator actions given as data (one action or a list), e.g.
 * the JSON body of `POST /sim/v1/actions`. Sizes are KiB numbers or strings
 * with units (`free`, `total`). Throws `ScenarioError` listing every issue.
 */
export function parseActions(value: unknown, source = "actions"): SimAction[] {
  const r = new Reader();
  const items = Array.isArray(value) ? value : [value];
  const actions: SimAction[] = [];
  items.forEach((item, i) => {
    const path = Array.isArray(value) ? `[${i}]` : "";
    const raw = r.object(item, path, Object.keys(item ?? {}));
    if (!raw) return;
    const action = readAction(r, raw, path, []);
    if (action) actions.push(action);
  });
  if (r.issues.length > 0) throw new ScenarioError(source, r.issues);
  return actions;
}

/**
 * Parses and validates a scenario from YAML (or JSON) text. Throws a
 * `SyntaxError` for unparsable text and a `ScenarioError` (a `TypeError`)
 * naming the path of every bad field.
 */
export function parseScenario(text: string, source = "scenario"): Scenario {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse scenario "${source}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  return validateScenario(data ?? {}, source);
}

/** Validates scenario data already parsed from YAML or JSON. */
export function validateScenario(data: unknown, source = "scenario"): Scenario {
  const r = new Reader();
  const root = r.object(data, "", [
    "nodes",
    "resource_groups",
    "volumes",
    "timeline",
  ]);
  if (!root) throw new ScenarioError(source, r.issues);

  const nodes: ScenarioNode[] = [];
  const seenNodes = new Set<string>();
  r.list(root.nodes, "nodes").forEach((item, i) => {
    const path = `nodes[${i}]`;
    const raw = r.object(item, path, [
      "name",
      "props",
      "connection_status",
      "address",
      "pools",
    ]);
    if (!raw) return;
    const name = r.name(raw.name, join(path, "name"), NODE_NAME_PATTERN);
    r.unique(name, join(path, "name"), {
      names: seenNodes,
      message: `duplicate node "${name}"`,
    });
    const pools: ScenarioPool[] = [];
    const seenPools = new Set<string>();
    r.list(raw.pools, join(path, "pools")).forEach((poolItem, j) => {
      const poolPath = join(join(path, "pools"), j);
      const p = r.object(poolItem, poolPath, [
        "name",
        "provider_kind",
        "props",
        "capacity",
        "free",
      ]);
      if (!p) return;
      const poolName = r.name(
        p.name,
        join(poolPath, "name"),
        POOL_NAME_PATTERN,
      );
      r.unique(poolName, join(poolPath, "name"), {
        names: seenPools,
        message: `duplicate pool "${poolName}"`,
      });
      if (p.provider_kind === undefined) {
        r.fail(join(poolPath, "provider_kind"), "is required");
      }
      const kind = r.oneOf(
        p.provider_kind,
        join(poolPath, "provider_kind"),
        PROVIDER_KINDS,
        "LVM",
      );
      const total = r.size(p.capacity, join(poolPath, "capacity")) ??
        SIM_DEFAULT_POOL_CAPACITY_KIB;
      const free = r.size(p.free, join(poolPath, "free"));
      if (free !== undefined && free > total) {
        r.fail(
          join(poolPath, "free"),
          `must not exceed capacity (${total} KiB)`,
        );
      }
      pools.push({
        name: poolName ?? "",
        providerKind: kind,
        props: r.props(p.props, join(poolPath, "props")),
        totalKib: total,
        ...defined({ freeKib: free }),
      });
    });
    const address = r.string(raw.address, join(path, "address"), false);
    nodes.push({
      name: name ?? "",
      props: r.props(raw.props, join(path, "props")),
      connectionStatus: r.oneOf(
        raw.connection_status,
        join(path, "connection_status"),
        CONNECTION_STATUSES,
        "ONLINE",
      ),
      ...defined({ address }),
      pools,
    });
  });

  const resourceGroups: ScenarioResourceGroup[] = [];
  const rgNames = new Set<string>([keyOf(LINSTOR_DEFAULT_RESOURCE_GROUP)]);
  r.list(root.resource_groups, "resource_groups").forEach((item, i) => {
    const path = `resource_groups[${i}]`;
    const raw = r.object(item, path, [
      "name",
      "description",
      "props",
      "select_filter",
    ]);
    if (!raw) return;
    const name = r.name(raw.name, join(path, "name"), OBJECT_NAME_PATTERN);
    r.unique(name, join(path, "name"), {
      names: rgNames,
      message: `duplicate resource group "${name}"`,
    });
    const description = r.string(
      raw.description,
      join(path, "description"),
      false,
    );
    resourceGroups.push({
      name: name ?? "",
      ...defined({ description }),
      props: r.props(raw.props, join(path, "props")),
      selectFilter: readFilter(
        r,
        raw.select_filter,
        join(path, "select_filter"),
      ),
    });
  });

  const nodeByKey = new Map(nodes.map((n) => [keyOf(n.name), n]));
  const rgByKey = new Map(resourceGroups.map((g) => [keyOf(g.name), g]));
  const volumes: ScenarioVolume[] = [];
  const volumeNames = new Set<string>();
  r.list(root.volumes, "volumes").forEach((item, i) => {
    const path = `volumes[${i}]`;
    const raw = r.object(item, path, [
      "name",
      "resource_group",
      "size",
      "sizes",
      "props",
      "volume_props",
      "replicas",
    ]);
    if (!raw) return;
    const name = r.name(raw.name, join(path, "name"), OBJECT_NAME_PATTERN);
    r.unique(name, join(path, "name"), {
      names: volumeNames,
      message: `duplicate volume "${name}"`,
    });
    const rgName =
      r.string(raw.resource_group, join(path, "resource_group"), false) ??
        LINSTOR_DEFAULT_RESOURCE_GROUP;
    if (!rgNames.has(keyOf(rgName))) {
      r.fail(
        join(path, "resource_group"),
        `unknown resource group "${rgName}"`,
      );
    }
    let sizesKib: number[] = [];
    if (raw.size !== undefined && raw.sizes !== undefined) {
      r.fail(path, "give either size or sizes, not both");
    } else if (raw.sizes !== undefined) {
      sizesKib = r.list(raw.sizes, join(path, "sizes"))
        .map((s, j) => r.size(s, join(join(path, "sizes"), j)))
        .filter((s): s is number => s !== undefined);
    } else {
      const size = r.size(raw.size, join(path, "size"));
      if (size === undefined) r.fail(join(path, "size"), "is required");
      else sizesKib = [size];
    }
    const rgPool = rgByKey.get(keyOf(rgName))?.selectFilter;
    const replicas: ScenarioReplica[] = [];
    const replicaNodes = new Set<string>();
    r.list(raw.replicas, join(path, "replicas")).forEach((rep, j) => {
      const repPath = join(join(path, "replicas"), j);
      const rr = r.object(rep, repPath, [
        "node",
        "kind",
        "pool",
        "disk_state",
        "in_use",
      ]);
      if (!rr) return;
      const nodeName = r.string(rr.node, join(repPath, "node"), true);
      const node = nodeName === undefined
        ? undefined
        : nodeByKey.get(keyOf(nodeName));
      if (nodeName !== undefined && !node) {
        r.fail(join(repPath, "node"), `unknown node "${nodeName}"`);
      }
      r.unique(nodeName, join(repPath, "node"), {
        names: replicaNodes,
        message: `second replica on node "${nodeName}"`,
      });
      const kind = r.oneOf(
        rr.kind,
        join(repPath, "kind"),
        REPLICA_KINDS,
        "diskful",
      ) as ReplicaKind;
      let pool = r.string(rr.pool, join(repPath, "pool"), false);
      if (kind === "diskful" && node) {
        const diskPools = node.pools.filter((p) =>
          !isDisklessPool(p.providerKind)
        );
        if (pool === undefined) {
          const preferred = [
            ...(rgPool?.storage_pool ? [rgPool.storage_pool] : []),
            ...(rgPool?.storage_pool_list ?? []),
          ].find((name) =>
            diskPools.some((p) => keyOf(p.name) === keyOf(name))
          );
          pool = preferred ??
            (diskPools.length === 1 ? diskPools[0]?.name : undefined);
          if (pool === undefined) {
            r.fail(
              join(repPath, "pool"),
              `is required: node "${node.name}" has ${diskPools.length} diskful pools`,
            );
          }
        } else if (
          !diskPools.some((p) => keyOf(p.name) === keyOf(pool ?? ""))
        ) {
          r.fail(
            join(repPath, "pool"),
            `node "${node.name}" has no diskful pool "${pool}"`,
          );
        }
      }
      const diskState = rr.disk_state === undefined ? undefined : r.oneOf(
        rr.disk_state,
        join(repPath, "disk_state"),
        DISK_STATES,
        "UpToDate",
      );
      replicas.push({
        node: node?.name ?? nodeName ?? "",
        kind,
        ...(pool !== undefined && kind === "diskful" ? { pool } : {}),
        ...defined({ diskState }),
        inUse: r.boolean(rr.in_use, join(repPath, "in_use")),
      });
    });
    if (replicas.filter((rep) => rep.inUse).length > 1) {
      r.fail(join(path, "replicas"), "at most one replica can be in_use");
    }
    volumes.push({
      name: name ?? "",
      resourceGroup: rgByKey.get(keyOf(rgName))?.name ?? rgName,
      props: r.props(raw.props, join(path, "props")),
      sizesKib,
      volumeProps: r.props(raw.volume_props, join(path, "volume_props")),
      replicas,
    });
  });

  const timeline: TimelineEntry[] = [];
  r.list(root.timeline, "timeline").forEach((item, i) => {
    const path = `timeline[${i}]`;
    const raw = r.object(item, path, Object.keys(item ?? {}));
    if (!raw) return;
    let atMs: number | undefined;
    try {
      atMs = parseDurationMs(raw.at);
    } catch (error) {
      r.fail(
        join(path, "at"),
        raw.at === undefined ? "is required" : (error as Error).message,
      );
    }
    const action = readAction(r, raw, path, ["at"]);
    if (!action || atMs === undefined) return;
    const check = (
      field: string,
      value: string,
      known: Set<string>,
      what: string,
    ) => {
      if (!known.has(keyOf(value))) {
        r.fail(join(path, field), `unknown ${what} "${value}"`);
      }
    };
    if ("node" in action) check("node", action.node, seenNodes, "node");
    if ("resource" in action) {
      check("resource", action.resource, volumeNames, "volume");
    }
    if (action.action === "move-replica") {
      check("from", action.from, seenNodes, "node");
      check("to", action.to, seenNodes, "node");
    }
    timeline.push({ atMs, action });
  });
  timeline.sort((a, b) => a.atMs - b.atMs);

  if (r.issues.length > 0) throw new ScenarioError(source, r.issues);
  return { nodes, resourceGroups, volumes, timeline };
}
