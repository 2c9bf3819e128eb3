/**
 * Leader election over a `coordination.k8s.io/v1` Lease, with client-go's
 * semantics.
 *
 * @module
 */
import type { V1Lease } from "@kubernetes/client-node";
import { getLogger, type Logger } from "@logtape/logtape";
import {
  LEASE_DURATION_MS,
  LEASE_RENEW_DEADLINE_MS,
  LEASE_RETRY_PERIOD_MS,
  LOG_CATEGORY,
} from "../constants.ts";
import type { Clock } from "../system/clock.ts";
import type { KubeApi } from "./api.ts";
import { isAlreadyExists, isConflict, isNotFound } from "./errors.ts";

/** Options of {@linkcode startLeaderElection}. */
export interface LeaderElectionOptions {
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This candidate's identity (usually the pod name); must be unique among candidates. */
  identity: string;
  /** Time source and timers. */
  clock: Clock;
  /** Stops the election; a leader releases the Lease first. */
  signal: AbortSignal;
  /** Called with `true` on becoming leader and `false` on losing (or releasing) leadership. */
  onChange?: (leading: boolean) => void;
  /**
   * How long a non-leader waits after the last observed change before
   * taking over.
   *
   * @default {LEASE_DURATION_MS}
   */
  leaseDurationMs?: number;
  /**
   * A leader that could not renew for this long steps down.
   *
   * @default {LEASE_RENEW_DEADLINE_MS}
   */
  renewDeadlineMs?: number;
  /**
   * Interval between attempts.
   *
   * @default {LEASE_RETRY_PERIOD_MS}
   */
  retryPeriodMs?: number;
  /**
   * Logger.
   *
   * @default {getLogger(["linstor-suite", "kube", "leader"])}
   */
  logger?: Logger;
}

/** A running leader election. */
export interface LeaderElection {
  /**
   * `true` while this candidate holds the Lease and renewed it within the
   * renew deadline (checked against the clock on every call, so a stuck
   * renewal cannot leave a stale `true`).
   */
  isLeader(): boolean;
  /** Resolves after `signal` aborted and the Lease was released (if held). */
  readonly stopped: Promise<void>;
}

/**
 * Campaigns for the Lease `namespace/name` until `signal` aborts.
 *
 * Every `retryPeriodMs` it reads the Lease and
 * 1. creates it when absent (becoming leader);
 * 2. renews it when this candidate holds it;
 * 3. takes it over when its holder is empty (released) or when its record
 *    has not changed for `leaseDurationSeconds` of *local* observation (the
 *    holder's clock is never trusted, as in client-go);
 * 4. otherwise leaves it alone.
 * Writes carry the read resourceVersion, so two candidates cannot both win.
 * A leader that cannot renew within `renewDeadlineMs` (or finds another
 * holder) steps down and campaigns again. On abort a leader releases the
 * Lease (empty holder, `leaseDurationSeconds: 1`) so a successor need not
 * wait.
 */
export function startLeaderElection(
  kube: KubeApi,
  options: LeaderElectionOptions,
): LeaderElection {
  const { namespace, name, identity, clock, signal } = options;
  const leaseDurationMs = options.leaseDurationMs ?? LEASE_DURATION_MS;
  const renewDeadlineMs = options.renewDeadlineMs ?? LEASE_RENEW_DEADLINE_MS;
  const retryPeriodMs = options.retryPeriodMs ?? LEASE_RETRY_PERIOD_MS;
  const logger = options.logger ?? getLogger([LOG_CATEGORY, "kube", "leader"]);
  for (
    const [field, value] of [
      ["leaseDurationMs", leaseDurationMs],
      ["renewDeadlineMs", renewDeadlineMs],
      ["retryPeriodMs", retryPeriodMs],
    ] as const
  ) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(
        `Cannot start leader election "${namespace}/${name}": ${field} must be positive, got ${value}`,
      );
    }
  }
  if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs)) {
    throw new RangeError(
      `Cannot start leader election "${namespace}/${name}": need leaseDurationMs > renewDeadlineMs > retryPeriodMs, got ${leaseDurationMs}, ${renewDeadlineMs}, ${retryPeriodMs}`,
    );
  }
  if (identity === "") {
    throw new TypeError(
      `Cannot start leader election "${namespace}/${name}": identity is empty`,
    );
  }

  let leading = false;
  let lastRenewAt = 0;
  let observedRecord = "";
  let observedAt = 0;
  let lease: V1Lease | undefined;

  const setLeading = (value: boolean) => {
    if (leading === value) return;
    leading = value;
    logger.info(
      value
        ? "Became leader of {lease} as {identity}"
        : "Lost leadership of {lease} as {identity}",
      { lease: `${namespace}/${name}`, identity },
    );
    options.onChange?.(value);
  };

  const leaseSpec = (now: number, previous: V1Lease | undefined) => {
    const spec = previous?.spec ?? {};
    const wasMine = spec.holderIdentity === identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: wasMine && spec.acquireTime
        ? spec.acquireTime
        : new Date(now),
      renewTime: new Date(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) +
        (previous !== undefined && !wasMine ? 1 : 0),
    };
  };

  /** One attempt; `true` when this candidate holds the Lease afterwards. */
  const tryAcquireOrRenew = async (callSignal: AbortSignal) => {
    const now = clock.now();
    let current: V1Lease;
    try {
      current = await kube.get({ kind: "leases", namespace, name }, {
        signal: callSignal,
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        lease = await kube.create("leases", {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: leaseSpec(now, undefined),
        }, { signal: callSignal });
      } catch (createError) {
        if (isAlreadyExists(createError)) return false;
        throw createError;
      }
      lastRenewAt = now;
      return true;
    }
    const spec = current.spec ?? {};
    const record = JSON.stringify([
      spec.holderIdentity ?? "",
      spec.renewTime ?? null,
      spec.leaseDurationSeconds ?? null,
      current.metadata?.resourceVersion ?? "",
    ]);
    if (record !== observedRecord) {
      observedRecord = record;
      observedAt = now;
    }
    const holder = spec.holderIdentity ?? "";
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    const expired = holder === "" || now >= observedAt + durationMs;
    if (holder !== identity && !expired) return false;
    const next: V1Lease = {
      ...current,
      spec: { ...spec, ...leaseSpec(now, current) },
    };
    try {
      lease = await kube.replace("leases", next, { signal: callSignal });
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
    lastRenewAt = now;
    return true;
  };

  /** Runs `fn` with a signal that also aborts after `ms` on the clock. */
  const withDeadline = async <T>(
    ms: number,
    fn: (callSignal: AbortSignal) => Promise<T>,
  ): Promise<T> => {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    clock.sleep(ms, controller.signal).then(
      () =>
        controller.abort(
          new Error(
            `Cannot update lease "${namespace}/${name}": no answer within ${ms} ms`,
          ),
        ),
      () => {},
    );
    try {
      return await fn(controller.signal);
    } finally {
      signal.removeEventListener("abort", onAbort);
      controller.abort();
    }
  };

  const release = async () => {
    if (!lease) return;
    const now = clock.now();
    const controller = new AbortController();
    const timer = clock.sleep(retryPeriodMs, controller.signal).then(
      () => controller.abort(),
      () => {},
    );
    try {
      // Re-read: release only a Lease this candidate still holds, at its
      // current resourceVersion.
      const current = await kube.get({ kind: "leases", namespace, name }, {
        signal: controller.signal,
      });
      if (current.spec?.holderIdentity !== identity) return;
      await kube.replace("leases", {
        ...current,
        spec: {
          ...current.spec,
          holderIdentity: "",
          leaseDurationSeconds: 1,
          acquireTime: new Date(now),
          renewTime: new Date(now),
        },
      }, { signal: controller.signal });
      logger.info("Released {lease}", { lease: `${namespace}/${name}` });
    } catch (error) {
      logger.warn("Cannot release {lease}: {error}", {
        lease: `${namespace}/${name}`,
        error,
      });
    } finally {
      controller.abort();
      await timer;
    }
  };

  const run = async () => {
    while (!signal.aborted) {
      let held = false;
      try {
        const budget = leading
          ? Math.max(1, lastRenewAt + renewDeadlineMs - clock.now())
          : retryPeriodMs;
        held = await withDeadline(budget, tryAcquireOrRenew);
      } catch (error) {
        if (signal.aborted) break;
        logger.warn("Cannot acquire or renew {lease}: {error}", {
          lease: `${namespace}/${name}`,
          error,
        });
      }
      if (held) {
        setLeading(true);
      } else if (leading) {
        const lostToOther = lease !== undefined &&
          observedRecord !== "" &&
          JSON.parse(observedRecord)[0] !== identity;
        if (lostToOther || clock.now() - lastRenewAt >= renewDeadlineMs) {
          setLeading(false);
          lease = undefined;
        }
      }
      try {
        await clock.sleep(retryPeriodMs, signal);
      } catch {
        break;
      }
    }
    if (leading) {
      await release();
      setLeading(false);
    }
  };

  const stopped = run();
  return {
    isLeader: () => leading && clock.now() - lastRenewAt < renewDeadlineMs,
    stopped,
  };
}
