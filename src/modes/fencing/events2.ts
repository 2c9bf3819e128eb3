/**
 * Pure parsers of DRBD's own output: `drbdsetup events2 --timestamps --full`
 * lines and `drbdsetup show --json` (for the configured quorum policy, which
 * events2 does not report).
 *
 * Neither parser throws on bad input: a garbage line becomes a
 * `{ kind: "garbage" }` value the caller counts and skips, because one
 * unexpected line (a new drbd-utils field, a truncated write, a stray
 * warning on stdout) must never blind the fencing agent.
 *
 * @module
 */

/** The verbs events2 prints. */
export type Events2Verb =
  | "exists"
  | "create"
  | "change"
  | "destroy"
  | "call"
  | "response"
  | "rename";

/** The object kinds events2 prints. */
export type Events2Object =
  | "resource"
  | "device"
  | "connection"
  | "peer-device"
  | "path"
  | "helper";

/** One parsed events2 line. */
export type Events2Line =
  | {
    readonly kind: "event";
    /** `--timestamps` prefix in ms since the epoch; `undefined` without one. */
    readonly timestamp: number | undefined;
    readonly verb: Events2Verb;
    readonly object: Events2Object;
    /** `key:value` pairs, split at the first colon (values may contain colons). */
    readonly fields: Readonly<Record<string, string>>;
  }
  | {
    /** `exists -`: the initial dump is complete. */
    readonly kind: "dump-complete";
    readonly timestamp: number | undefined;
  }
  | {
    /** An empty line (ignored, not counted as garbage). */
    readonly kind: "empty";
  }
  | {
    /** Anything else; `reason` says why. */
    readonly kind: "garbage";
    readonly reason: string;
  };

const VERBS: ReadonlySet<string> = new Set([
  "exists",
  "create",
  "change",
  "destroy",
  "call",
  "response",
  "rename",
]);

const OBJECTS: ReadonlySet<string> = new Set([
  "resource",
  "device",
  "connection",
  "peer-device",
  "path",
  "helper",
]);

/** Identity keys each object kind must carry. */
const IDENTITY: Readonly<Record<Events2Object, readonly string[]>> = {
  resource: ["name"],
  device: ["name", "volume"],
  connection: ["name", "peer-node-id"],
  "peer-device": ["name", "peer-node-id", "volume"],
  path: ["name", "peer-node-id"],
  helper: ["name"],
};

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$/;

/**
 * Parses one line of `drbdsetup events2 [--timestamps] [--full]`.
 *
 * The grammar is `[timestamp ]<verb> <object> key:value …`, or
 * `[timestamp ]exists -` at the end of the initial dump. Unknown keys are
 * kept; a line with an unknown verb or object, a token without a colon, or
 * a missing identity key is garbage.
 */
export function parseEvents2Line(line: string): Events2Line {
  const tokens = line.trim().split(/\s+/);
  if (tokens.length === 1 && tokens[0] === "") return { kind: "empty" };
  let timestamp: number | undefined;
  let index = 0;
  if (TIMESTAMP.test(tokens[0]!)) {
    const parsed = Date.parse(tokens[0]!);
    if (Number.isNaN(parsed)) {
      return { kind: "garbage", reason: "invalid timestamp" };
    }
    timestamp = parsed;
    index = 1;
  }
  const verb = tokens[index];
  const object = tokens[index + 1];
  if (verb === undefined || !VERBS.has(verb)) {
    return { kind: "garbage", reason: "unknown verb" };
  }
  if (verb === "exists" && object === "-" && tokens.length === index + 2) {
    return { kind: "dump-complete", timestamp };
  }
  if (object === undefined || !OBJECTS.has(object)) {
    return { kind: "garbage", reason: "unknown object" };
  }
  const fields: Record<string, string> = Object.create(null);
  for (const token of tokens.slice(index + 2)) {
    const colon = token.indexOf(":");
    if (colon <= 0) return { kind: "garbage", reason: "token without key" };
    fields[token.slice(0, colon)] = token.slice(colon + 1);
  }
  for (const key of IDENTITY[object as Events2Object]) {
    if (fields[key] === undefined || fields[key] === "") {
      return { kind: "garbage", reason: `missing ${key}` };
    }
  }
  return Object.freeze({
    kind: "event",
    timestamp,
    verb: verb as Events2Verb,
    object: object as Events2Object,
    fields: Object.freeze(fields),
  });
}

/**
 * The quorum policy of each resource in `drbdsetup show --json` output
 * (`options.quorum`: `off`, `majority`, `all` or a number), by resource
 * name. A resource without the option gets `"off"` (DRBD's default).
 *
 * @throws {SyntaxError} when the text is not a JSON array of objects.
 */
export function parseDrbdShowJson(text: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse drbdsetup show output: it is not JSON`,
      { cause: error },
    );
  }
  if (!Array.isArray(parsed)) {
    throw new SyntaxError(
      `Cannot parse drbdsetup show output: expected a JSON array`,
    );
  }
  const policies = new Map<string, string>();
  for (const entry of parsed) {
    if (typeof entry !== "object" || entry === null) continue;
    const record = entry as Record<string, unknown>;
    const name = record["resource"];
    if (typeof name !== "string" || name === "") continue;
    const options = record["options"];
    let quorum: unknown;
    if (typeof options === "object" && options !== null) {
      quorum = (options as Record<string, unknown>)["quorum"];
    }
    policies.set(
      name,
      typeof quorum === "string" || typeof quorum === "number"
        ? String(quorum)
        : "off",
    );
  }
  return policies;
}

/** `true` when a quorum policy from {@linkcode parseDrbdShowJson} enables quorum. */
export function isQuorumPolicyEnabled(policy: string | undefined): boolean {
  if (policy === undefined || policy === "" || policy === "off") return false;
  if (policy === "majority" || policy === "all") return true;
  return /^[1-9]\d*$/.test(policy);
}
