/**
 * Errors of the Kubernetes port: one class carrying the apiserver's `Status`
 * and predicates for the conditions callers branch on.
 *
 * @module
 */

/** Fields of a {@linkcode KubeApiError}. */
export interface KubeApiErrorInit {
  /** HTTP status code; `0` when no response arrived (network failure). */
  status: number;
  /** `Status.reason` (`NotFound`, `Conflict`, `AlreadyExists`, `Invalid`, `Expired`, …). */
  reason: string;
  /** The apiserver's message (or the network error's). */
  message: string;
  /** The verb that failed (`get`, `create`, `replace`, `patch`, `delete`, `list`, `watch`, `evict`). */
  verb: string;
  /** Resource (plural, e.g. `persistentvolumes`). */
  kind: string;
  /** Object name (`namespace/name` for namespaced objects); empty for collections. */
  name: string;
  /** The `Status` body or the underlying error. */
  cause?: unknown;
}

/** A failed Kubernetes API call. */
export class KubeApiError extends Error {
  /** HTTP status code; `0` when no response arrived. */
  readonly status: number;
  /** `Status.reason` as sent by the apiserver. */
  readonly reason: string;
  /** The verb that failed. */
  readonly verb: string;
  /** Resource (plural). */
  readonly kind: string;
  /**
   * Object name (`namespace/name` for namespaced objects); empty for
   * collections. (`name` is `Error.name`, always `"KubeApiError"`.)
   */
  readonly objectName: string;
  /** The apiserver's own message. */
  readonly apiMessage: string;

  /** Builds the error; the message reads `Cannot <verb> <kind> "<name>": <apiserver message>`. */
  constructor(init: KubeApiErrorInit) {
    const what = init.name === "" ? init.kind : `${init.kind} "${init.name}"`;
    super(
      `Cannot ${init.verb} ${what}: ${init.message} (HTTP ${init.status} ${init.reason})`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = "KubeApiError";
    this.status = init.status;
    this.reason = init.reason;
    this.verb = init.verb;
    this.kind = init.kind;
    this.objectName = init.name;
    this.apiMessage = init.message;
  }
}

function statusOf(error: unknown): number | undefined {
  return error instanceof KubeApiError ? error.status : undefined;
}

/** `true` when `error` is a {@linkcode KubeApiError} with HTTP 404. */
export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

/** `true` when `error` is a 409 other than AlreadyExists (stale resourceVersion or failed precondition). */
export function isConflict(error: unknown): boolean {
  return statusOf(error) === 409 &&
    (error as KubeApiError).reason !== "AlreadyExists";
}

/** `true` when `error` is a 409 AlreadyExists. */
export function isAlreadyExists(error: unknown): boolean {
  return statusOf(error) === 409 &&
    (error as KubeApiError).reason === "AlreadyExists";
}

/** `true` when `error` is a 410 Gone (watch or list resourceVersion too old). */
export function isGone(error: unknown): boolean {
  return statusOf(error) === 410;
}

/** `true` when `error` is a 422 Invalid (validation failed, e.g. an immutable field changed). */
export function isInvalid(error: unknown): boolean {
  return statusOf(error) === 422;
}

/** `true` when `error` is a 429 (e.g. an eviction blocked by a PodDisruptionBudget). */
export function isTooManyRequests(error: unknown): boolean {
  return statusOf(error) === 429;
}
