/**
 * Waiting on a real control plane and a mode running as a process:
 * level-triggered polls with a deadline, Events included, and latency bounds
 * that allow for the load of the machine the tests share.
 *
 * A mode records an Event only after its action succeeded: one more API
 * write, bounded by the request timeout. Seeing the action's effect (a pod
 * gone, a pool removed) therefore does not mean its Event is stored yet; a
 * single list right after the effect races with that write, and loses under
 * load. {@linkcode waitForEvents} waits for the Events themselves.
 *
 * @module
 */
import { KUBE_REQUEST_TIMEOUT_MS } from "../../src/constants.ts";
import type { ControlPlane } from "./control_plane.ts";

/** Parsed JSON of the apiserver. */
// deno-lint-ignore no-explicit-any
type Json = any;

/** How often {@linkcode poll} probes. */
export const POLL_INTERVAL_MS = 200;

/**
 * How long an Event may follow the action it reports: the mode's write of
 * it may take up to the request timeout before the mode gives up on it,
 * plus a few polls.
 */
export const EVENT_WAIT_MS = KUBE_REQUEST_TIMEOUT_MS + 10 * POLL_INTERVAL_MS;

/**
 * Polls `probe` every {@linkcode POLL_INTERVAL_MS} until it returns a value;
 * a probe that throws is retried, its last error is the timeout's cause.
 */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`Cannot wait for ${what}: timed out after ${timeoutMs} ms`, {
    cause: last,
  });
}

/** An Event a test waits for; unset fields match anything. */
export interface WantedEvent {
  /** `reason`, e.g. `StoragePoolDeleted`. */
  readonly reason: string;
  /** `action`, e.g. `ForceDeletedPod`. */
  readonly action?: string;
  /** `regarding.kind`. */
  readonly kind?: string;
  /** `regarding.name`. */
  readonly name?: string;
}

/** Options of {@linkcode waitForEvents}. */
export interface WaitForEventsOptions {
  /** Only Events of this namespace. @default {all namespaces} */
  readonly namespace?: string;
  /** Deadline in ms. @default {EVENT_WAIT_MS} */
  readonly timeoutMs?: number;
}

function matches(event: Json, wanted: WantedEvent): boolean {
  return event.reason === wanted.reason &&
    (wanted.action === undefined || event.action === wanted.action) &&
    (wanted.kind === undefined || event.regarding?.kind === wanted.kind) &&
    (wanted.name === undefined || event.regarding?.name === wanted.name);
}

function describe(wanted: WantedEvent): string {
  return [
    wanted.reason,
    wanted.action,
    wanted.kind && `${wanted.kind} ${wanted.name ?? "*"}`,
  ].filter(Boolean).join("/");
}

/**
 * Waits until the control plane holds an `events.k8s.io/v1` Event matching
 * each of `wanted` (an Event whose `series` counts repeats matches like a
 * new one) and returns the first match of each, in the order of `wanted`.
 * On timeout the cause names what is missing and what was there.
 */
export async function waitForEvents(
  cp: Pick<ControlPlane, "request">,
  wanted: readonly WantedEvent[],
  options: WaitForEventsOptions = {},
): Promise<Json[]> {
  const path = options.namespace === undefined
    ? "/apis/events.k8s.io/v1/events"
    : `/apis/events.k8s.io/v1/namespaces/${options.namespace}/events`;
  return await poll(
    `Events ${wanted.map(describe).join(", ")}`,
    async () => {
      const items: Json[] = (await cp.request<Json>("GET", path)).items ?? [];
      const found = wanted.map((w) => items.find((e) => matches(e, w)));
      const missing = wanted.filter((_, i) => found[i] === undefined);
      if (missing.length === 0) return found;
      const seen = items.map((e) =>
        `${e.reason}/${e.action} ${e.regarding?.kind} ${e.regarding?.name}`
      );
      throw new Error(
        `missing ${missing.map(describe).join(", ")}; present: ${
          seen.join(", ") || "none"
        }`,
      );
    },
    options.timeoutMs ?? EVENT_WAIT_MS,
  );
}

/**
 * The run-queue length per core now (1-minute load average over the cores
 * this process may use), at least 1; 1 where the load is unknown.
 */
export async function loadFactor(): Promise<number> {
  let load: number;
  try {
    load = Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    return 1;
  }
  const cores = navigator.hardwareConcurrency || 1;
  return Number.isFinite(load) ? Math.max(1, load / cores) : 1;
}

/**
 * An upper latency bound: what the mode promises (`promisedMs`, e.g. its
 * fail-over timeout plus one poll) plus `slackMs`, the scheduling slack an
 * idle machine needs, stretched by {@linkcode loadFactor}. The promise
 * itself is never stretched, so a mode that waits a whole interval too long
 * fails on an idle machine, while a starved one does not fail a test.
 */
export async function latencyBoundMs(
  promisedMs: number,
  slackMs: number,
): Promise<number> {
  return promisedMs + Math.round(slackMs * await loadFactor());
}
