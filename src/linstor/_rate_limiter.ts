/**
 * A token bucket over the injected clock (golang.org/x/time/rate semantics:
 * each caller reserves a token and waits until it is due).
 *
 * @module
 */
import type { Clock } from "../system/clock.ts";

/** Rate limit of LINSTOR requests. */
export interface RateLimit {
  /** Sustained requests per second (> 0). */
  qps: number;
  /** Requests allowed at once after an idle period (integer ≥ 1). */
  burst: number;
}

/** Token bucket limiting how often requests start. */
export class TokenBucket {
  #qps: number;
  #burst: number;
  #clock: Clock;
  #tokens: number;
  #last: number;

  /** Starts full (`burst` tokens). Throws a `RangeError` for bad limits. */
  constructor(limit: RateLimit, options: { clock: Clock }) {
    if (!Number.isFinite(limit.qps) || limit.qps <= 0) {
      throw new RangeError(
        `Cannot use rate limit "qps": ${limit.qps} is not a positive number`,
      );
    }
    if (!Number.isInteger(limit.burst) || limit.burst < 1) {
      throw new RangeError(
        `Cannot use rate limit "burst": ${limit.burst} is not an integer >= 1`,
      );
    }
    this.#qps = limit.qps;
    this.#burst = limit.burst;
    this.#clock = options.clock;
    this.#tokens = limit.burst;
    this.#last = options.clock.now();
  }

  /**
   * Takes one token, waiting until one is due. Rejects with the signal's
   * reason (and gives the reservation back) when `signal` aborts first.
   */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = this.#clock.now();
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((now - this.#last) * this.#qps) / 1000,
    );
    this.#last = now;
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    const waitMs = Math.ceil((-this.#tokens * 1000) / this.#qps);
    try {
      await this.#clock.sleep(waitMs, signal);
    } catch (error) {
      this.#tokens += 1;
      throw error;
    }
  }
}
