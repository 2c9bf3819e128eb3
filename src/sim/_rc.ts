/**
 * ApiCallRc entries with LINSTOR's real `ret_code` masks (the ones
 * `src/linstor/` decodes), the HTTP status mapping of `ApiCallRcRestUtils`,
 * and JSON serialization that writes int64 `ret_code` values exactly.
 *
 * @module
 */
import {
  type ApiCallRc,
  RC_MASK_CODE,
  RC_MASK_CREATE,
  RC_MASK_DELETE,
  RC_MASK_ERROR,
  RC_MASK_INFO,
  RC_MASK_MODIFY,
  RC_MASK_WARN,
} from "../linstor/mod.ts";

/** Object bits of the objects the simulator knows. */
export const OBJ = Object.freeze({
  node: 0x3C0000n,
  rscDfn: 0x380000n,
  rsc: 0x340000n,
  vlmDfn: 0x300000n,
  vlm: 0x2C0000n,
  storPool: 0x140000n,
  rscGrp: 0x440000n,
  vlmGrp: 0x480000n,
  ctrlConf: 0x100000n,
  none: 0n,
});

/** LINSTOR api codes used by the simulator (low 15 bits). */
export const CODE = Object.freeze({
  created: 1n,
  deleted: 2n,
  modified: 3n,
  invalidNodeName: 200n,
  invalidNodeType: 201n,
  invalidRscName: 202n,
  invalidVlmNr: 205n,
  invalidVlmSize: 206n,
  invalidStorPoolName: 208n,
  invalidProp: 213n,
  invalidPlaceCount: 219n,
  invalidProvider: 227n,
  invalidRequest: 234n,
  invalidRscGrpName: 237n,
  notFoundNode: 300n,
  notFoundRscDfn: 301n,
  notFoundRsc: 302n,
  notFoundVlmDfn: 303n,
  notFoundStorPool: 310n,
  notFoundRscGrp: 317n,
  notFoundVlmGrp: 318n,
  existsNode: 500n,
  existsRscDfn: 501n,
  existsRsc: 502n,
  existsVlmDfn: 503n,
  existsStorPool: 510n,
  existsRscGrp: 522n,
  existsVlmGrp: 523n,
  notEnoughFreeSpace: 980n,
  inUse: 997n,
  notEnoughNodes: 996n,
  unknown: 998n,
  warnRscAlreadyDeployed: 1006n,
  warnNotEnoughNodesForTieBreaker: 1013n,
  warnNotFound: 3000n,
  infoTieBreakerCreated: 10003n,
  infoTieBreakerDeleting: 10004n,
  infoTieBreakerTakeover: 10006n,
  invalidEncryptType: 217n,
  signIn: 10000n,
  signInMissingCredentials: 10001n,
});

/** The "unparsable request" special code (`ApiCallParseError`). */
export const RC_PARSE_ERROR = BigInt.asIntN(
  64,
  RC_MASK_ERROR | 0x0FFFFFFFFFFFFFFDn,
);

/** Severity of an entry. */
export type Severity = "error" | "warn" | "info" | "success";

const SEVERITY_MASK: Record<Severity, bigint> = {
  error: RC_MASK_ERROR,
  warn: RC_MASK_WARN,
  info: RC_MASK_INFO,
  success: 0n,
};

/** Fields of one entry besides its code. */
export interface RcInit {
  readonly severity: Severity;
  readonly object?: bigint;
  readonly op?: bigint;
  readonly code: bigint;
  readonly message: string;
  readonly cause?: string;
  readonly details?: string;
  readonly correction?: string;
  readonly objRefs?: Record<string, string>;
}

/** What a successful create, modify or delete did. */
export type Outcome = "created" | "modified" | "deleted";

const OUTCOME_OP: Record<Outcome, bigint> = {
  created: RC_MASK_CREATE,
  modified: RC_MASK_MODIFY,
  deleted: RC_MASK_DELETE,
};

/** The success entry of a create, modify or delete of one `object`. */
export function success(
  outcome: Outcome,
  object: bigint,
  entry: {
    readonly message: string;
    readonly objRefs?: Record<string, string>;
  },
): RcInit {
  return {
    severity: "success",
    object,
    op: OUTCOME_OP[outcome],
    code: CODE[outcome],
    message: entry.message,
    ...(entry.objRefs !== undefined ? { objRefs: entry.objRefs } : {}),
  };
}

/** Builds one ApiCallRc entry with a signed int64 `ret_code`. */
export function rc(init: RcInit, createdAt: string): ApiCallRc {
  const unsigned = SEVERITY_MASK[init.severity] | (init.op ?? 0n) |
    (init.object ?? 0n) | init.code;
  const entry: ApiCallRc = {
    "ret_code": BigInt.asIntN(64, unsigned),
    message: init.message,
  };
  if (init.cause !== undefined) entry.cause = init.cause;
  if (init.details !== undefined) entry.details = init.details;
  if (init.correction !== undefined) entry.correction = init.correction;
  if (init.objRefs !== undefined && Object.keys(init.objRefs).length > 0) {
    entry.obj_refs = init.objRefs;
  }
  entry.created_at = createdAt;
  return entry;
}

/**
 * The entry as the controller's REST layer answers a GET of a missing
 * object: the bare `FAIL_NOT_FOUND_*` code, without object and operation
 * bits (`RequestHelper.queryRequestResponse`). Other entries are kept.
 */
export function bareNotFound(init: RcInit): RcInit {
  if (init.severity !== "error" || init.code < 300n || init.code > 399n) {
    return init;
  }
  const { object: _object, op: _op, ...bare } = init;
  return bare;
}

/** Low 15 code bits of a `ret_code`. */
export function codeOf(retCode: bigint): bigint {
  return BigInt.asUintN(64, retCode) & RC_MASK_CODE;
}

/** True when the entry is an error. */
function isErrorRc(retCode: bigint): boolean {
  return (BigInt.asUintN(64, retCode) & RC_MASK_ERROR) === RC_MASK_ERROR;
}

/**
 * HTTP status of an ApiCallRc list like the controller's
 * `ApiCallRcRestUtils.toResponse`: the first error decides (300–399 → 404,
 * 400–499 and a failed sign-in → 403, missing credentials → 401, other
 * errors → 500); without errors `successStatus`.
 */
export function statusOf(
  list: readonly ApiCallRc[],
  successStatus: number,
): number {
  const firstError = list.find((entry) => isErrorRc(entry.ret_code));
  if (firstError === undefined) return successStatus;
  if (firstError.ret_code === RC_PARSE_ERROR) return 400;
  const code = codeOf(firstError.ret_code);
  if (code >= 300n && code <= 399n) return 404;
  if ((code >= 400n && code <= 499n) || code === CODE.signIn) return 403;
  if (code === CODE.signInMissingCredentials) return 401;
  return 500;
}

/**
 * `JSON.stringify` that writes `bigint` values as plain JSON integers (the
 * exact int64 text the controller sends) instead of throwing.
 */
export function stringifyJson(value: unknown): string {
  const rawJson = (JSON as unknown as { rawJSON(text: string): unknown })
    .rawJSON;
  return JSON.stringify(
    value,
    (_key, item: unknown) =>
      typeof item === "bigint" ? rawJson(item.toString()) : item,
  );
}

/** A JSON response whose body may contain `bigint`s; `init` is the status or status and headers. */
export function jsonResponse(
  body: unknown,
  init: number | { status: number; headers?: Record<string, string> },
): Response {
  const { status, headers = {} } = typeof init === "number"
    ? { status: init }
    : init;
  return new Response(stringifyJson(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}
