/**
 * The LINSTOR side of the state model: the narrow read port and one poll.
 *
 * @module
 */
import type {
  Node,
  ResourceDefinition,
  ResourceGroup,
  ResourceWithVolumes,
  StoragePool,
} from "../linstor/types.ts";
import type { Clock } from "../system/clock.ts";
import type { LinstorData } from "./linstor_view.ts";

/**
 * What the state model reads from LINSTOR: one list call per kind, each
 * aborted by `signal`. `createLinstorReader()` adapts a `LinstorClient`.
 */
export interface LinstorReader {
  /** `GET /v1/nodes`. */
  listNodes(signal: AbortSignal): Promise<Node[]>;
  /** `GET /v1/view/storage-pools?cached=true` (controller-cached free space). */
  viewStoragePools(signal: AbortSignal): Promise<StoragePool[]>;
  /** `GET /v1/view/resources`. */
  viewResources(signal: AbortSignal): Promise<ResourceWithVolumes[]>;
  /** `GET /v1/resource-definitions?with_volume_definitions=true`. */
  listResourceDefinitions(signal: AbortSignal): Promise<ResourceDefinition[]>;
  /** `GET /v1/resource-groups`. */
  listResourceGroups(signal: AbortSignal): Promise<ResourceGroup[]>;
}

/** A LINSTOR poll that did not answer within its timeout. */
export class LinstorPollTimeoutError extends Error {
  /** The timeout that expired, in ms. */
  readonly timeoutMs: number;

  /** A timeout of `timeoutMs` ms expired. */
  constructor(timeoutMs: number) {
    super(`Cannot poll LINSTOR: no complete answer within ${timeoutMs} ms`);
    this.name = "LinstorPollTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** One list call of a poll failed. */
export class LinstorPollError extends Error {
  /** Which list failed (`nodes`, `storage pools`, …). */
  readonly list: string;

  /** The `list` call failed with `cause`. */
  constructor(list: string, cause: unknown) {
    super(
      `Cannot list LINSTOR ${list}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "LinstorPollError";
    this.list = list;
  }
}

/** Options of `pollLinstor()`. */
export interface PollLinstorOptions {
  /** Time source for the timeout. */
  clock: Clock;
  /** The whole poll (all five calls, run concurrently) is aborted after this. */
  timeoutMs: number;
  /** Aborts the poll (shutdown). */
  signal: AbortSignal;
}

async function listOf<T>(
  list: string,
  call: (signal: AbortSignal) => Promise<T[]>,
  signal: AbortSignal,
): Promise<T[]> {
  let result: unknown;
  try {
    result = await call(signal);
  } catch (error) {
    if (signal.aborted && error === signal.reason) throw error;
    throw new LinstorPollError(list, error);
  }
  if (!Array.isArray(result)) {
    throw new LinstorPollError(
      list,
      new TypeError(`expected a JSON array, got ${typeof result}`),
    );
  }
  return result as T[];
}

/**
 * Fetches every kind once, concurrently. Rejects with the first failure
 * (`LinstorPollError`), a `LinstorPollTimeoutError` after `timeoutMs`, or the
 * signal's reason; the other calls are aborted then. Resolves or rejects at
 * the deadline even when the reader ignores its signal.
 */
export async function pollLinstor(
  reader: LinstorReader,
  options: PollLinstorOptions,
): Promise<LinstorData> {
  const { clock, timeoutMs, signal } = options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(
      `Cannot poll LINSTOR with timeout "${timeoutMs}": must be a positive number of ms`,
    );
  }
  signal.throwIfAborted();
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const timer = new AbortController();
  clock.sleep(timeoutMs, timer.signal).then(
    () => controller.abort(new LinstorPollTimeoutError(timeoutMs)),
    () => {},
  );
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener(
      "abort",
      () => reject(controller.signal.reason),
      { once: true },
    );
  });
  aborted.catch(() => {});
  const callSignal = controller.signal;
  try {
    const [
      nodes,
      storagePools,
      resources,
      resourceDefinitions,
      resourceGroups,
    ] = await Promise.race([
      Promise.all([
        listOf("nodes", (s) => reader.listNodes(s), callSignal),
        listOf(
          "storage pools",
          (s) => reader.viewStoragePools(s),
          callSignal,
        ),
        listOf("resources", (s) => reader.viewResources(s), callSignal),
        listOf(
          "resource definitions",
          (s) => reader.listResourceDefinitions(s),
          callSignal,
        ),
        listOf(
          "resource groups",
          (s) => reader.listResourceGroups(s),
          callSignal,
        ),
      ]),
      aborted,
    ]);
    return {
      nodes,
      storagePools,
      resources,
      resourceDefinitions,
      resourceGroups,
    };
  } finally {
    signal.removeEventListener("abort", onAbort);
    timer.abort();
    // Stops the calls still running after a failure.
    controller.abort(new Error("LINSTOR poll finished"));
  }
}
