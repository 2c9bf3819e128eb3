/**
 * The scheduler configuration checks: a `KubeSchedulerConfiguration` (or the
 * ConfigMap carrying one) is parsed, and every extender of ours is held to
 * what docs/extender.md explains: reachable, `ignorable: true`, a weight
 * that does not drown the in-tree plugins, `nodeCacheCapable: true`, an
 * `httpTimeout` above the extender's own deadline, and
 * `percentageOfNodesToScore: 100`.
 *
 * @module
 */
import {
  EXTENDER_DEFAULT_DEADLINE_MS,
  EXTENDER_MAX_SENSIBLE_WEIGHT,
  EXTENDER_SHIPPED_WEIGHT,
  KUBE_SCHEDULER_DEFAULT_EXTENDER_TIMEOUT_MS,
} from "../constants.ts";
import { parseDuration, parseYaml } from "../domain/mod.ts";
import { type Check, fail, ok, warn } from "./check.ts";

/** One `extenders[]` entry, as far as the checks read it. */
export interface SchedulerExtender {
  readonly urlPrefix: string;
  readonly filterVerb?: string;
  readonly prioritizeVerb?: string;
  readonly weight?: number;
  readonly ignorable?: boolean;
  readonly nodeCacheCapable?: boolean;
  readonly httpTimeout?: string;
  readonly enableHTTPS?: boolean;
  /** `tlsConfig.caData` (base64 PEM). */
  readonly caData?: string;
  /** Extenders with managedResources serve only some pods: not ours. */
  readonly managedResources?: readonly unknown[];
}

/** The parts of a `KubeSchedulerConfiguration` the checks read. */
export interface SchedulerConfig {
  /** Top-level `percentageOfNodesToScore`. */
  readonly percentageOfNodesToScore?: number;
  readonly profiles: readonly {
    readonly schedulerName: string;
    readonly percentageOfNodesToScore?: number;
  }[];
  readonly extenders: readonly SchedulerExtender[];
}

/** Whether an extender's URL answered (any HTTP status is an answer). */
export type ExtenderReachability =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly message: string };

/**
 * Parses a `KubeSchedulerConfiguration`, or a ConfigMap manifest carrying
 * one in its `data`. Throws a `SyntaxError` naming what is wrong.
 */
export function parseSchedulerConfig(text: string): SchedulerConfig {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse scheduler configuration: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const root = record(document);
  if (root.kind === "ConfigMap") {
    for (const value of Object.values(record(root.data))) {
      if (
        typeof value === "string" && /KubeSchedulerConfiguration/.test(value)
      ) {
        return parseSchedulerConfig(value);
      }
    }
    throw new SyntaxError(
      "Cannot parse scheduler configuration: the ConfigMap carries no KubeSchedulerConfiguration",
    );
  }
  if (root.kind !== "KubeSchedulerConfiguration") {
    throw new SyntaxError(
      `Cannot parse scheduler configuration: kind is "${
        String(root.kind ?? "")
      }", expected KubeSchedulerConfiguration`,
    );
  }
  const profiles = list(root.profiles).map((p) => {
    const profile = record(p);
    return {
      schedulerName: String(profile.schedulerName ?? "default-scheduler"),
      ...number("percentageOfNodesToScore", profile.percentageOfNodesToScore),
    };
  });
  const extenders = list(root.extenders).map((e) => {
    const entry = record(e);
    const tls = record(entry.tlsConfig);
    return {
      urlPrefix: String(entry.urlPrefix ?? ""),
      ...string("filterVerb", entry.filterVerb),
      ...string("prioritizeVerb", entry.prioritizeVerb),
      ...number("weight", entry.weight),
      ...boolean("ignorable", entry.ignorable),
      ...boolean("nodeCacheCapable", entry.nodeCacheCapable),
      ...string("httpTimeout", entry.httpTimeout),
      ...boolean("enableHTTPS", entry.enableHTTPS),
      ...string("caData", tls.caData),
      ...(Array.isArray(entry.managedResources)
        ? { managedResources: entry.managedResources as unknown[] }
        : {}),
    };
  });
  return {
    ...number("percentageOfNodesToScore", root.percentageOfNodesToScore),
    profiles: profiles.length > 0
      ? profiles
      : [{ schedulerName: "default-scheduler" }],
    extenders,
  };
}

/** The extenders of `config` the checks apply to: those without `managedResources`. */
export function suiteExtenders(config: SchedulerConfig): SchedulerExtender[] {
  return config.extenders.filter((e) =>
    (e.managedResources ?? []).length === 0
  );
}

/** The URL doctor POSTs to, to see whether an extender answers. */
export function extenderProbeUrl(extender: SchedulerExtender): string {
  const verb = extender.filterVerb || extender.prioritizeVerb || "filter";
  return `${extender.urlPrefix.replace(/\/+$/, "")}/${verb}`;
}

/**
 * The checks of `config` (read from `source`, for messages) given whether
 * each extender's probe URL answered.
 */
export function schedulerChecks(
  config: SchedulerConfig,
  options: {
    source: string;
    reachability: ReadonlyMap<string, ExtenderReachability>;
  },
): Check[] {
  const checks: Check[] = [];
  const extenders = suiteExtenders(config);
  if (extenders.length === 0) {
    return [fail(
      "scheduler extender",
      `${options.source} has no extender (besides ones with managedResources)`,
      "add the extenders entry of deploy/extender/scheduler-config.yaml",
    )];
  }
  for (const extender of extenders) {
    const name = `scheduler extender ${extender.urlPrefix || "(no urlPrefix)"}`;
    checks.push(reachableCheck(name, extender, options.reachability));
    checks.push(
      extender.ignorable === true
        ? ok(`${name} ignorable`, "true: scheduling goes on without it")
        : fail(
          `${name} ignorable`,
          `${
            extender.ignorable === false ? "false" : "unset (false)"
          }: while the extender is down or slow, every pod of this scheduler fails to schedule`,
          "set ignorable: true (the extender fails open on stale data anyway)",
        ),
    );
    checks.push(weightCheck(`${name} weight`, extender));
    checks.push(
      extender.nodeCacheCapable === true
        ? ok(`${name} nodeCacheCapable`, "true: node names only")
        : warn(
          `${name} nodeCacheCapable`,
          "false: kube-scheduler sends every Node object in every request",
          "set nodeCacheCapable: true (the extender keeps every Node in its own cache)",
        ),
    );
    checks.push(timeoutCheck(`${name} httpTimeout`, extender));
  }
  for (const profile of config.profiles) {
    const value = profile.percentageOfNodesToScore ??
      config.percentageOfNodesToScore;
    const name =
      `scheduler profile ${profile.schedulerName} percentageOfNodesToScore`;
    checks.push(
      value === 100
        ? ok(name, "100: the extender sees every feasible node")
        : warn(
          name,
          `${
            value ?? "unset (adaptive)"
          }: above 100 nodes kube-scheduler offers the extender only a sample, which may leave out the nodes holding a pod's replicas`,
          "set percentageOfNodesToScore: 100 in this profile",
        ),
    );
  }
  return checks;
}

function reachableCheck(
  name: string,
  extender: SchedulerExtender,
  reachability: ReadonlyMap<string, ExtenderReachability>,
): Check {
  const url = extenderProbeUrl(extender);
  const answer = reachability.get(url);
  if (!extender.urlPrefix) {
    return fail(
      `${name} reachable`,
      "no urlPrefix",
      "set urlPrefix to where the extender listens (http://127.0.0.1:8099 for the sidecar)",
    );
  }
  if (!answer) {
    return warn(
      `${name} reachable`,
      `${url} was not probed`,
      "run doctor where kube-scheduler runs to probe it",
    );
  }
  if (answer.ok) {
    return ok(`${name} reachable`, `${url} answered HTTP ${answer.status}`);
  }
  if (/certificate|UnknownIssuer|NotValidForName/i.test(answer.message)) {
    return warn(
      `${name} reachable`,
      `${url} answers TLS, but doctor cannot verify its certificate: ${answer.message}`,
      "give the extender's CA in tlsConfig.caData, so doctor and kube-scheduler verify it",
    );
  }
  const loopback = /^https?:\/\/(127\.|localhost|\[::1\])/.test(
    extender.urlPrefix,
  );
  return fail(
    `${name} reachable`,
    `${url}: ${answer.message}`,
    loopback
      ? "start the extender sidecar on that port (--listen), or run doctor in the scheduler pod's extender container: a loopback urlPrefix is only reachable there"
      : "correct urlPrefix to the extender's Service (scheme, host, port), or start the extender",
  );
}

function weightCheck(name: string, extender: SchedulerExtender): Check {
  const weight = extender.weight;
  if (extender.prioritizeVerb && !(weight !== undefined && weight > 0)) {
    return fail(
      name,
      `${
        weight ?? "unset"
      } with a prioritizeVerb: kube-scheduler refuses the configuration`,
      `set weight: ${EXTENDER_SHIPPED_WEIGHT}`,
    );
  }
  if (!extender.prioritizeVerb) {
    return warn(
      name,
      "no prioritizeVerb: replica-local nodes get no preference",
      `set prioritizeVerb: prioritize and weight: ${EXTENDER_SHIPPED_WEIGHT}`,
    );
  }
  if (weight! > EXTENDER_MAX_SENSIBLE_WEIGHT) {
    return warn(
      name,
      `${weight}: a replica-local node gains up to ${
        10 * weight! * 10
      } points, more than every in-tree plugin together`,
      `set weight: ${EXTENDER_SHIPPED_WEIGHT} (docs/extender.md, "The weight we ship")`,
    );
  }
  return ok(name, String(weight));
}

function timeoutCheck(name: string, extender: SchedulerExtender): Check {
  let timeoutMs = KUBE_SCHEDULER_DEFAULT_EXTENDER_TIMEOUT_MS;
  if (extender.httpTimeout !== undefined) {
    try {
      timeoutMs = parseDuration(extender.httpTimeout);
    } catch (error) {
      return fail(
        name,
        (error as Error).message,
        "write httpTimeout as a Go duration, e.g. 5s",
      );
    }
  }
  if (timeoutMs <= EXTENDER_DEFAULT_DEADLINE_MS) {
    return warn(
      name,
      `${
        extender.httpTimeout ?? "5s"
      }: not above the extender's own ${EXTENDER_DEFAULT_DEADLINE_MS} ms deadline, so slow answers time out instead of failing open`,
      "set httpTimeout: 5s (or raise it above the extender's --deadline)",
    );
  }
  return ok(name, extender.httpTimeout ?? "5s (default)");
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function string<K extends string>(
  key: K,
  value: unknown,
): { [P in K]?: string } {
  return (typeof value === "string" ? { [key]: value } : {}) as {
    [P in K]?: string;
  };
}

function number<K extends string>(
  key: K,
  value: unknown,
): { [P in K]?: number } {
  return (typeof value === "number" ? { [key]: value } : {}) as {
    [P in K]?: number;
  };
}

function boolean<K extends string>(
  key: K,
  value: unknown,
): { [P in K]?: boolean } {
  return (typeof value === "boolean" ? { [key]: value } : {}) as {
    [P in K]?: boolean;
  };
}
