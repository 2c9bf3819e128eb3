/**
 * Extender configuration: defaults and the YAML config file.
 *
 * @module
 */
import { parseYaml, readDuration } from "../../domain/mod.ts";
import {
  EXTENDER_DEFAULT_DEADLINE_MS,
  EXTENDER_DEFAULT_FILTER_VERB,
  EXTENDER_DEFAULT_MAX_STALENESS_MS,
  EXTENDER_DEFAULT_PREFIX,
  EXTENDER_DEFAULT_PRIORITIZE_VERB,
  EXTENDER_DEFAULT_RESERVATION_TTL_MS,
  EXTENDER_MAX_BODY_BYTES,
  LABEL_ZONE,
  LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO,
} from "../../constants.ts";
import {
  parseRemoteAccessPolicy,
  POLICY_ANYWHERE,
  type RemoteAccessPolicy,
} from "../../csi/mod.ts";

/** Names of the filter predicates, in their default order. */
export const PREDICATE_NAMES = [
  "satellite",
  "access",
  "selectors",
  "capacity",
] as const;
/** A filter predicate name. */
export type PredicateName = typeof PREDICATE_NAMES[number];

/** When the capacity predicate rejects nodes (otherwise it only scores). */
export type CapacityHardFilter = "local-only" | "always" | "never";

/** A topology level that earns partial locality. */
export interface LocalityLevel {
  /** Node label (or LINSTOR topology segment) key, e.g. `topology.kubernetes.io/zone`. */
  readonly key: string;
  /** Score 0..10 a node sharing this key's value with a diskful replica earns. */
  readonly score: number;
}

/** The extender's whole configuration. */
export interface ExtenderConfig {
  /** Path prefix of the verbs (`""` or `/scheduler`). */
  readonly prefix: string;
  readonly filterVerb: string;
  readonly prioritizeVerb: string;
  /** Internal answer deadline. */
  readonly deadlineMs: number;
  /** LINSTOR data older than this makes the extender fail open. */
  readonly maxStalenessMs: number;
  readonly reservationTtlMs: number;
  /** Ordered filter chain. */
  readonly predicates: readonly PredicateName[];
  readonly capacity: {
    readonly hardFilter: CapacityHardFilter;
    readonly defaultDivisor: number;
    /** Divisor per storage pool name. */
    readonly divisors: Readonly<Record<string, number>>;
    /** Default thin over-subscription ratio when pools do not set one. */
    readonly oversubscriptionRatio: number;
  };
  readonly locality: {
    /** Score of a diskful replica on the node that is not (yet) UpToDate. */
    readonly syncingScore: number;
    /** Partial scores by topology level, best first. */
    readonly levels: readonly LocalityLevel[];
  };
  /** LINSTOR property namespace of node topology (`auto`: `Aux/topology` if used, else `Aux`). */
  readonly propertyNamespace: string;
  /**
   * linstor-csi's `--default-remote-access-policy`: the policy of claims
   * whose StorageClass sets none (and whose layers include DRBD or NVMe).
   */
  readonly defaultRemoteAccessPolicy: RemoteAccessPolicy;
  /** Largest request body answered; a larger one gets 413. */
  readonly maxRequestBodyBytes: number;
}

/** The defaults. */
export const DEFAULT_EXTENDER_CONFIG: ExtenderConfig = Object.freeze({
  prefix: EXTENDER_DEFAULT_PREFIX,
  filterVerb: EXTENDER_DEFAULT_FILTER_VERB,
  prioritizeVerb: EXTENDER_DEFAULT_PRIORITIZE_VERB,
  deadlineMs: EXTENDER_DEFAULT_DEADLINE_MS,
  maxStalenessMs: EXTENDER_DEFAULT_MAX_STALENESS_MS,
  reservationTtlMs: EXTENDER_DEFAULT_RESERVATION_TTL_MS,
  predicates: PREDICATE_NAMES,
  capacity: Object.freeze({
    hardFilter: "local-only" as const,
    defaultDivisor: 1,
    divisors: Object.freeze({}),
    oversubscriptionRatio: LINSTOR_DEFAULT_OVERSUBSCRIPTION_RATIO,
  }),
  locality: Object.freeze({
    syncingScore: 6,
    levels: Object.freeze([Object.freeze({ key: LABEL_ZONE, score: 4 })]),
  }),
  maxRequestBodyBytes: EXTENDER_MAX_BODY_BYTES,
  propertyNamespace: "auto",
  defaultRemoteAccessPolicy: POLICY_ANYWHERE,
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function positive(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot read extender config "${what}": must be a number > 0, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function score(value: unknown, what: string): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 0 ||
    value > 10
  ) {
    throw new RangeError(
      `Cannot read extender config "${what}": must be an integer 0..10, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot read extender config "${what}": must be a string, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function checkKeys(
  object: Record<string, unknown>,
  allowed: readonly string[],
  where: string,
): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        `Cannot read extender config "${where}${key}": unknown key (known: ${
          allowed.join(", ")
        })`,
      );
    }
  }
}

/**
 * Parses the YAML config file over the defaults; unknown keys and bad values
 * throw `TypeError`/`RangeError`/`SyntaxError` naming the key.
 */
export function parseExtenderConfig(
  text: string,
  base: ExtenderConfig = DEFAULT_EXTENDER_CONFIG,
): ExtenderConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse extender config "file": ${
        error instanceof Error ? error.message.split("\n")[0] : error
      }`,
    );
  }
  if (raw === null || raw === undefined) return base;
  if (!isRecord(raw)) {
    throw new TypeError(`Cannot parse extender config "file": expected a map`);
  }
  checkKeys(raw, [
    "prefix",
    "filterVerb",
    "prioritizeVerb",
    "deadline",
    "maxStaleness",
    "reservationTTL",
    "predicates",
    "capacity",
    "locality",
    "propertyNamespace",
    "defaultRemoteAccessPolicy",
  ], "");
  let capacity = base.capacity;
  if (raw.capacity !== undefined) {
    if (!isRecord(raw.capacity)) {
      throw new TypeError(
        `Cannot read extender config "capacity": expected a map`,
      );
    }
    const c = raw.capacity;
    checkKeys(c, [
      "hardFilter",
      "defaultDivisor",
      "divisors",
      "oversubscriptionRatio",
    ], "capacity.");
    let hardFilter = capacity.hardFilter;
    if (c.hardFilter !== undefined) {
      const v = str(c.hardFilter, "capacity.hardFilter");
      if (v !== "local-only" && v !== "always" && v !== "never") {
        throw new RangeError(
          `Cannot read extender config "capacity.hardFilter": must be local-only, always or never, got "${v}"`,
        );
      }
      hardFilter = v;
    }
    const divisors: Record<string, number> = { ...capacity.divisors };
    if (c.divisors !== undefined) {
      if (!isRecord(c.divisors)) {
        throw new TypeError(
          `Cannot read extender config "capacity.divisors": expected a map`,
        );
      }
      for (const [pool, d] of Object.entries(c.divisors)) {
        divisors[pool] = positive(d, `capacity.divisors.${pool}`);
      }
    }
    capacity = {
      hardFilter,
      defaultDivisor: c.defaultDivisor === undefined
        ? capacity.defaultDivisor
        : positive(c.defaultDivisor, "capacity.defaultDivisor"),
      divisors,
      oversubscriptionRatio: c.oversubscriptionRatio === undefined
        ? capacity.oversubscriptionRatio
        : positive(c.oversubscriptionRatio, "capacity.oversubscriptionRatio"),
    };
  }
  let locality = base.locality;
  if (raw.locality !== undefined) {
    if (!isRecord(raw.locality)) {
      throw new TypeError(
        `Cannot read extender config "locality": expected a map`,
      );
    }
    const l = raw.locality;
    checkKeys(l, ["syncingScore", "levels"], "locality.");
    let levels = locality.levels;
    if (l.levels !== undefined) {
      if (!Array.isArray(l.levels)) {
        throw new TypeError(
          `Cannot read extender config "locality.levels": expected a list`,
        );
      }
      levels = l.levels.map((level, i) => {
        if (!isRecord(level)) {
          throw new TypeError(
            `Cannot read extender config "locality.levels[${i}]": expected a map`,
          );
        }
        checkKeys(level, ["key", "score"], `locality.levels[${i}].`);
        return {
          key: str(level.key, `locality.levels[${i}].key`),
          score: score(level.score, `locality.levels[${i}].score`),
        };
      });
    }
    locality = {
      syncingScore: l.syncingScore === undefined
        ? locality.syncingScore
        : score(l.syncingScore, "locality.syncingScore"),
      levels,
    };
  }
  let predicates = base.predicates;
  if (raw.predicates !== undefined) {
    if (!Array.isArray(raw.predicates)) {
      throw new TypeError(
        `Cannot read extender config "predicates": expected a list`,
      );
    }
    predicates = raw.predicates.map((p, i) => {
      const name = str(p, `predicates[${i}]`);
      if (!(PREDICATE_NAMES as readonly string[]).includes(name)) {
        throw new RangeError(
          `Cannot read extender config "predicates[${i}]": unknown predicate "${name}" (known: ${
            PREDICATE_NAMES.join(", ")
          })`,
        );
      }
      return name as PredicateName;
    });
    if (new Set(predicates).size !== predicates.length) {
      throw new RangeError(
        `Cannot read extender config "predicates": a predicate is listed twice`,
      );
    }
  }
  const duration = (v: unknown, what: string, fallback: number) => {
    if (v === undefined) return fallback;
    try {
      return readDuration(v);
    } catch (error) {
      const Class = error instanceof TypeError
        ? TypeError
        : error instanceof RangeError
        ? RangeError
        : SyntaxError;
      throw new Class(
        `Cannot read extender config "${what}": ${(error as Error).message}`,
        { cause: error },
      );
    }
  };
  const config: ExtenderConfig = {
    prefix: raw.prefix === undefined
      ? base.prefix
      : normalizePrefix(str(raw.prefix, "prefix")),
    filterVerb: raw.filterVerb === undefined
      ? base.filterVerb
      : verb(str(raw.filterVerb, "filterVerb"), "filterVerb"),
    prioritizeVerb: raw.prioritizeVerb === undefined
      ? base.prioritizeVerb
      : verb(str(raw.prioritizeVerb, "prioritizeVerb"), "prioritizeVerb"),
    deadlineMs: duration(raw.deadline, "deadline", base.deadlineMs),
    maxRequestBodyBytes: base.maxRequestBodyBytes,
    maxStalenessMs: duration(
      raw.maxStaleness,
      "maxStaleness",
      base.maxStalenessMs,
    ),
    reservationTtlMs: duration(
      raw.reservationTTL,
      "reservationTTL",
      base.reservationTtlMs,
    ),
    predicates,
    capacity,
    locality,
    propertyNamespace: raw.propertyNamespace === undefined
      ? base.propertyNamespace
      : str(raw.propertyNamespace, "propertyNamespace"),
    defaultRemoteAccessPolicy: raw.defaultRemoteAccessPolicy === undefined
      ? base.defaultRemoteAccessPolicy
      : remoteAccessPolicy(
        typeof raw.defaultRemoteAccessPolicy === "boolean"
          ? String(raw.defaultRemoteAccessPolicy)
          : str(raw.defaultRemoteAccessPolicy, "defaultRemoteAccessPolicy"),
      ),
  };
  if (config.filterVerb === config.prioritizeVerb) {
    throw new RangeError(
      `Cannot read extender config "prioritizeVerb": must differ from filterVerb`,
    );
  }
  return config;
}

function remoteAccessPolicy(text: string): RemoteAccessPolicy {
  try {
    return parseRemoteAccessPolicy(text);
  } catch (error) {
    throw new RangeError(
      `Cannot read extender config "defaultRemoteAccessPolicy": ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
}

/** Normalizes a route prefix to `""` or `/a/b` (no trailing slash). */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/\/+$/, "");
  if (trimmed === "") return "";
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

function verb(value: string, what: string): string {
  if (!/^[A-Za-z0-9._~-]+$/.test(value)) {
    throw new RangeError(
      `Cannot read extender config "${what}": "${value}" is not a single path segment`,
    );
  }
  return value;
}
