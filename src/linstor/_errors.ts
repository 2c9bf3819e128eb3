/**
 * The LINSTOR client's error type and its predicates.
 *
 * @module
 */
import type { ApiCallRc } from "./types.ts";
import {
  parseRetCode,
  RC_CODE_EXISTS_FIRST,
  RC_CODE_EXISTS_LAST,
  RC_CODE_LOST_STORAGE_POOL,
  RC_CODE_NOT_FOUND_FIRST,
  RC_CODE_NOT_FOUND_LAST,
} from "./_ret_code.ts";

/** Fields of a `LinstorApiError`. */
export interface LinstorApiErrorInit {
  /** HTTP method of the failed call. */
  method: string;
  /** Path (with query) of the failed call. */
  path: string;
  /** Controller base URL that answered or was tried last. */
  controller?: string | undefined;
  /** HTTP status; `undefined` when no response arrived (connection error). */
  status?: number | undefined;
  /** ApiCallRc entries of the response (errors, warnings, infos). */
  apiCallRcs?: readonly ApiCallRc[] | undefined;
  /** True when the controller did not answer within the timeout. */
  timedOut?: boolean | undefined;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A failed LINSTOR call: a connection error (`status` undefined), an HTTP
 * error status, a 2xx answer carrying an error ApiCallRc, a redirect, or an
 * undecodable body.
 */
export class LinstorApiError extends Error {
  /** Always `"LinstorApiError"`. */
  override name = "LinstorApiError";
  /** HTTP status; `undefined` when no response arrived. */
  readonly status: number | undefined;
  /** HTTP method of the failed call. */
  readonly method: string;
  /** Path (with query) of the failed call. */
  readonly path: string;
  /** Controller base URL that answered or was tried last. */
  readonly controller: string | undefined;
  /** ApiCallRc entries of the response (may be empty). */
  readonly apiCallRcs: readonly ApiCallRc[];
  /** True when the controller did not answer within the timeout. */
  readonly timedOut: boolean;

  /** Creates the error; `message` should read `Cannot <do> "<what>": <state>`. */
  constructor(message: string, init: LinstorApiErrorInit) {
    super(message, init.cause === undefined ? {} : { cause: init.cause });
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.controller = init.controller;
    this.apiCallRcs = Object.freeze([...(init.apiCallRcs ?? [])]);
    this.timedOut = init.timedOut ?? false;
  }
}

/** Codes of the error-severity entries of an ApiCallRc list. */
export function errorCodes(rcs: readonly ApiCallRc[]): number[] {
  const codes: number[] = [];
  for (const rc of rcs) {
    const decoded = parseRetCode(rc.ret_code);
    if (decoded.severity === "error") codes.push(decoded.code);
  }
  return codes;
}

/**
 * True for a `LinstorApiError` with HTTP 404 or an error entry in the
 * "not found" code range (300–399).
 */
export function isNotFound(err: unknown): boolean {
  if (!(err instanceof LinstorApiError)) return false;
  if (err.status === 404) return true;
  return errorCodes(err.apiCallRcs).some((code) =>
    code >= RC_CODE_NOT_FOUND_FIRST && code <= RC_CODE_NOT_FOUND_LAST
  );
}

/**
 * True for a `LinstorApiError` with an error entry in the "already exists"
 * code range (500–599, except 521 "lost storage pool"). LINSTOR answers
 * those with HTTP 500, so the status alone says nothing.
 */
export function isAlreadyExists(err: unknown): boolean {
  if (!(err instanceof LinstorApiError)) return false;
  return errorCodes(err.apiCallRcs).some((code) =>
    code >= RC_CODE_EXISTS_FIRST && code <= RC_CODE_EXISTS_LAST &&
    code !== RC_CODE_LOST_STORAGE_POOL
  );
}

/**
 * True for a `LinstorApiError` where no controller answered (refused,
 * reset, TLS failure, DNS failure or timeout). Not for caller cancellation,
 * which rejects with the signal's reason instead.
 */
export function isConnectionError(err: unknown): boolean {
  return err instanceof LinstorApiError && err.status === undefined;
}
