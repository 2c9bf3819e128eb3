/**
 * Short-lived capacity reservations, so that pods scheduled at once are not
 * promised the same free space twice.
 *
 * @module
 */
import type { Clock } from "../../system/clock.ts";
import type { Snapshot } from "../../state/types.ts";
import { ANNOTATION_SELECTED_NODE } from "../../constants.ts";
import { claimResourceName, tryParseVolumeHandle } from "../../domain/mod.ts";

/** One reservation: a claim's size held on each candidate node's chosen pool. */
export interface Reservation {
  /** PVC key `namespace/name`. */
  readonly claim: string;
  /** PVC UID, to notice when LINSTOR shows `pvc-<uid>`. */
  readonly uid: string | undefined;
  /** `namespace/name` of the pod that caused it. */
  readonly pod: string;
  readonly sizeKib: number;
  /** LINSTOR node name → storage pool name. */
  readonly nodes: ReadonlyMap<string, string>;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Narrowed to the node in `volume.kubernetes.io/selected-node`. */
  readonly narrowed: boolean;
}

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

  /**
   * Prunes against the snapshot: expired → dropped; LINSTOR shows the
   * resource (`pvc-<uid>` or the bound PV's handle) → dropped (its space is
   * now in LINSTOR's numbers); PVC deleted → dropped; PVC got
   * `selected-node` → narrowed to that node.
   */
  prune(
    snapshot: Snapshot,
    options: { linstorNodeOf?: (kubeNode: string) => string | undefined } = {},
  ): void {
    const now = this.#clock.now();
    const claimsSynced = snapshot.kube.synced.has("persistentVolumeClaims");
    for (const [claim, r] of this.#byClaim) {
      if (r.expiresAt <= now) {
        this.release(claim);
        continue;
      }
      const pvc = snapshot.kube.persistentVolumeClaims.get(claim);
      if (!pvc) {
        // An ephemeral claim may not exist yet; only drop claims that were created and are gone.
        if (claimsSynced && r.uid !== undefined) this.release(claim);
        continue;
      }
      if (
        r.uid !== undefined && pvc.metadata?.uid !== undefined &&
        pvc.metadata.uid !== r.uid
      ) {
        this.release(claim);
        continue;
      }
      const created = claimResourceName(pvc);
      const volumeName = pvc.spec?.volumeName;
      const resource = volumeName
        ? tryParseVolumeHandle(
          snapshot.kube.persistentVolumes.get(volumeName)?.spec?.csi
            ?.volumeHandle,
        )?.resource
        : undefined;
      if (
        (created !== undefined &&
          snapshot.linstor.replicasByResource.has(created)) ||
        (resource !== undefined &&
          snapshot.linstor.replicasByResource.has(resource))
      ) {
        this.release(claim);
        continue;
      }
      const selected = pvc.metadata?.annotations?.[ANNOTATION_SELECTED_NODE];
      if (selected && !r.narrowed) {
        const linstorNode = options.linstorNodeOf?.(selected) ?? selected;
        this.narrow(claim, new Set([linstorNode]), true);
      }
    }
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
