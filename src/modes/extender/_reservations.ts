/**
 * Short-lived capacity reservations, so that pods scheduled at once are not
 * promised the same free space twice.
 *
 * @module
 */
import type { Clock } from "../../system/clock.ts";
import type { Snapshot } from "../../state/types.ts";
import {
  type PoolsByNode,
  type Reservation,
  type ReservationChange,
  type ReviewOptions,
  reviewReservations,
} from "./_reservation_policy.ts";

export type { Reservation } from "./_reservation_policy.ts";

/** Read-only view of the active reservations at one instant. */
export interface ReservationView {
  /** KiB reserved on a node's pool, not counting `exclude` claims. */
  reservedKib(
    node: string,
    pool: string,
    exclude?: ReadonlySet<string>,
  ): number;
  /** Active reservations touching `node`. */
  onNode(node: string): readonly Reservation[];
  /** Every active reservation, sorted by claim. */
  all(): readonly Reservation[];
}

/** Options of `Reservations`. */
export interface ReservationsOptions {
  readonly clock: Clock;
  readonly ttlMs: number;
}

/** In-memory reservations owned by the extender mode. */
export class Reservations {
  #clock: Clock;
  #ttlMs: number;
  #byClaim = new Map<string, Reservation>();
  #view: { at: number; version: number; view: ReservationView } | undefined;
  #version = 0;

  constructor(options: ReservationsOptions) {
    if (!(options.ttlMs > 0)) {
      throw new RangeError(
        `Cannot create reservations "ttl": must be > 0, got ${options.ttlMs}`,
      );
    }
    this.#clock = options.clock;
    this.#ttlMs = options.ttlMs;
  }

  /** Increases with every change of the held reservations. */
  get version(): number {
    return this.#version;
  }

  /** Number of reservations held (expired ones included until the next prune). */
  get size(): number {
    return this.#byClaim.size;
  }

  /**
   * Holds (or replaces) the reservation of `claim` on `nodes` (LINSTOR node →
   * pool) for one TTL. The `nodes` map is kept as is: pass a fresh one.
   */
  reserve(
    claim: string,
    entry: {
      pod: string;
      uid: string | undefined;
      sizeKib: number;
      nodes: ReadonlyMap<string, string>;
      poolsBefore?: PoolsByNode | undefined;
    },
  ): void {
    const now = this.#clock.now();
    const existing = this.#byClaim.get(claim);
    if (existing?.narrowed && existing.expiresAt > now) {
      // The scheduler already chose a node for this claim: keep that narrowing.
      return;
    }
    if (entry.nodes.size === 0 || entry.sizeKib <= 0) {
      this.release(claim);
      return;
    }
    this.#byClaim.set(claim, {
      claim,
      uid: entry.uid,
      pod: entry.pod,
      sizeKib: entry.sizeKib,
      // Owned from here on: callers hand over a fresh map.
      nodes: entry.nodes,
      createdAt: now,
      expiresAt: now + this.#ttlMs,
      narrowed: false,
      poolsBefore: entry.poolsBefore,
    });
    this.#version++;
  }

  /** The reservation of `claim`, if one is held (it may have expired since the last prune). */
  get(claim: string): Reservation | undefined {
    return this.#byClaim.get(claim);
  }

  /** Extends the reservation of `claim` by one TTL from now. */
  refresh(claim: string): void {
    const existing = this.#byClaim.get(claim);
    if (!existing) return;
    this.#byClaim.set(claim, {
      ...existing,
      expiresAt: this.#clock.now() + this.#ttlMs,
    });
    this.#version++;
  }

  /** Keeps only `nodes` (LINSTOR names) of a claim's reservation. */
  narrow(claim: string, nodes: ReadonlySet<string>, final = false): void {
    const existing = this.#byClaim.get(claim);
    if (!existing || existing.narrowed) return;
    let removes = false;
    for (const node of existing.nodes.keys()) {
      if (!nodes.has(node)) {
        removes = true;
        break;
      }
    }
    if (!removes && !final) return;
    const kept = new Map(
      [...existing.nodes].filter(([node]) => nodes.has(node)),
    );
    if (kept.size === 0) {
      this.release(claim);
      return;
    }
    this.#byClaim.set(claim, { ...existing, nodes: kept, narrowed: final });
    this.#version++;
  }

  /** Drops a claim's reservation. */
  release(claim: string): void {
    if (this.#byClaim.delete(claim)) this.#version++;
  }

  /** Applies changes planned by the reservation policy, in order. */
  apply(changes: readonly ReservationChange[]): void {
    for (const change of changes) {
      switch (change.op) {
        case "reserve":
          this.reserve(change.claim, change);
          break;
        case "refresh":
          this.refresh(change.claim);
          break;
        case "narrow":
          this.narrow(change.claim, change.nodes, change.final);
          break;
        case "place": {
          const existing = this.#byClaim.get(change.claim);
          if (!existing) break;
          this.#byClaim.set(change.claim, {
            ...existing,
            nodes: change.nodes,
            narrowed: true,
            placed: true,
            poolsBefore: existing.poolsBefore,
          });
          this.#version++;
          break;
        }
        case "observe": {
          const existing = this.#byClaim.get(change.claim);
          // Not a change of what is held: the version stays.
          if (existing) {
            this.#byClaim.set(change.claim, {
              ...existing,
              poolsBefore: change.poolsBefore,
            });
          }
          break;
        }
        case "release":
          this.release(change.claim);
          break;
      }
    }
  }

  /**
   * Applies `reviewReservations()` against the snapshot now: expired,
   * deleted or recreated claims are released; a claim LINSTOR shows is kept
   * on its replicas until their pools report its space; a claim that got
   * `selected-node` is narrowed to that node.
   */
  prune(snapshot: Snapshot, options: ReviewOptions = {}): void {
    this.apply(
      reviewReservations(this.#byClaim.values(), snapshot, {
        ...options,
        now: this.#clock.now(),
      }),
    );
  }

  /** A consistent view of the active reservations now. */
  view(): ReservationView {
    const now = this.#clock.now();
    const cached = this.#view;
    if (cached && cached.version === this.#version && cached.at <= now) {
      // Still valid unless something expired since it was built.
      const expired = [...this.#byClaim.values()].some((r) =>
        r.expiresAt <= now && r.expiresAt > cached.at
      );
      if (!expired) return cached.view;
    }
    const active = [...this.#byClaim.values()].filter((r) => r.expiresAt > now)
      .sort((a, b) => a.claim < b.claim ? -1 : a.claim > b.claim ? 1 : 0);
    // Few reservations are active at a time (pods scheduled within one TTL),
    // so a scan per lookup beats building per-node indexes on every change.
    const view: ReservationView = {
      reservedKib(node, pool, exclude) {
        let total = 0;
        for (const r of active) {
          if (r.nodes.get(node) === pool && !exclude?.has(r.claim)) {
            total += r.sizeKib;
          }
        }
        return total;
      },
      onNode: (node) => active.filter((r) => r.nodes.has(node)),
      all: () => active,
    };
    this.#view = { at: now, version: this.#version, view };
    return view;
  }
}
