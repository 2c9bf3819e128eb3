/**
 * Replica role and health, the one rule every mode uses to decide whether a
 * LINSTOR resource holds a usable copy of a volume on its node.
 *
 * @module
 */
import {
  RESOURCE_FLAG_TIE_BREAKER,
  RESOURCE_FLAGS_DISKLESS,
} from "../constants.ts";
import type { Replica, ReplicaRole } from "../state/types.ts";

const LOWER_CASE = /[a-z]/;

/**
 * The role of a replica from its cumulative flags: `TIE_BREAKER` makes a
 * tie-breaker; `DISKLESS`, `DRBD_DISKLESS`, `NVME_INITIATOR` or
 * `EBS_INITIATOR` a diskless client; anything else is diskful. Flags are
 * compared case-insensitively.
 */
export function classifyReplicaRole(flags: readonly string[]): ReplicaRole {
  const upper = flags.some((flag) => LOWER_CASE.test(flag))
    ? flags.map((flag) => flag.toUpperCase())
    : flags;
  if (upper.includes(RESOURCE_FLAG_TIE_BREAKER)) return "tie-breaker";
  if (upper.some((flag) => RESOURCE_FLAGS_DISKLESS.includes(flag))) {
    return "diskless";
  }
  return "diskful";
}

/** Flags of a diskful resource whose deployment failed: LINSTOR never made (or lost) its disk. */
const FAILED_FLAGS: readonly string[] = [
  "FAILED_DEPLOYMENT",
  "FAILED_DISCONNECT",
];

/**
 * Whether a replica is a diskful copy as linstor-csi counts one for a
 * volume's accessible topology: role diskful, not being deleted, not
 * inactive, no failed deployment. Its disk state is not looked at (see
 * `replicaHealth()` for that).
 */
export function isDiskfulDeployed(replica: Replica): boolean {
  return replica.role === "diskful" && !replica.deleting &&
    !replica.inactive &&
    !replica.flags.some((flag) => FAILED_FLAGS.includes(flag));
}

/**
 * How usable the local copy of a volume is, from best to worst:
 *
 * - `current`: the data is up to date; reads are local.
 * - `syncing`: the disk is coming up or being resynchronised and becomes
 *   current without anyone's help.
 * - `degraded`: the disk holds no usable data now and nothing brings it
 *   back by itself (outdated, failed, detached, or its state is unknown).
 * - `unknown`: LINSTOR reports no state for a DRBD-less volume because the
 *   node is not online (or the volume is not listed at all).
 */
export type DiskHealth = "current" | "syncing" | "degraded" | "unknown";

/**
 * What each LINSTOR `disk_state` means for the local copy of a diskful
 * replica. LINSTOR passes DRBD's disk state through; a sync may be reported
 * with its progress (`SyncTarget(42.10%)`), which is read by the word before
 * the parenthesis. A state missing here is `degraded`: trust only what is
 * known to be good.
 */
export const DISK_STATE_HEALTH: Readonly<Record<string, DiskHealth>> = Object
  .freeze({
    /** DRBD's disk is up to date: the copy is current. */
    UpToDate: "current",
    /** This disk is up to date and is the source of a peer's resync. */
    SyncSource: "current",
    /** This disk is receiving a resync: current once it finishes. */
    SyncTarget: "syncing",
    /** Not all blocks are current (new disk, or a sync not yet started or paused): a resync makes it current. */
    Inconsistent: "syncing",
    /** LINSTOR created the volume; DRBD is about to attach it. */
    Created: "syncing",
    /** DRBD is attaching the backing disk and reading its metadata. */
    Attaching: "syncing",
    /** The disk is attached and DRBD is negotiating with its peers which data is current. */
    Negotiating: "syncing",
    /** Consistent but not known to be the newest data (no peer connection to confirm it). */
    Consistent: "degraded",
    /** Known to be older than a peer's data; usable only after a resync from a connected peer. */
    Outdated: "degraded",
    /** The backing disk failed with an I/O error and was detached. */
    Failed: "degraded",
    /** A diskful replica reporting `Diskless` has lost or detached its backing disk. */
    Diskless: "degraded",
    /** The disk is being detached. */
    Detaching: "degraded",
    /** DRBD does not know the state of the disk. */
    DUnknown: "degraded",
  });

const HEALTH_ORDER: readonly DiskHealth[] = [
  "current",
  "syncing",
  "unknown",
  "degraded",
];

/**
 * The health of one volume's local copy from its `disk_state`:
 * `DISK_STATE_HEALTH` for a DRBD state; with no state (a storage-only layer
 * stack such as `STORAGE` or `LUKS,STORAGE` reports none, and LINSTOR reports
 * none for a node it cannot reach) `current` when the node is online, else
 * `unknown`.
 */
export function diskHealth(
  diskState: string | undefined,
  options: { nodeOnline: boolean },
): DiskHealth {
  if (diskState === undefined || diskState === "") {
    return options.nodeOnline ? "current" : "unknown";
  }
  const paren = diskState.indexOf("(");
  const word = (paren < 0 ? diskState : diskState.slice(0, paren)).trim();
  return DISK_STATE_HEALTH[word] ?? "degraded";
}

/** How a replica holds a volume: `absent` when it is not a deployed diskful copy. */
export type ReplicaHealth = DiskHealth | "absent";

/** Options of {@linkcode replicaHealth}. */
export interface ReplicaHealthOptions {
  /** Whether the replica's LINSTOR node is online (`connection_status` `ONLINE`). */
  readonly nodeOnline: boolean;
  /** Only this volume number; by default the worst of all the replica's volumes. */
  readonly volume?: number;
}

/**
 * The health of a replica's local copy: `absent` unless
 * `isDiskfulDeployed()` (diskless clients and tie-breakers hold no data),
 * else `diskHealth()` of the volume (or the worst volume), `unknown` when
 * the volume is not listed.
 */
export function replicaHealth(
  replica: Replica,
  options: ReplicaHealthOptions,
): ReplicaHealth {
  if (!isDiskfulDeployed(replica)) return "absent";
  let worst = -1;
  for (const volume of replica.volumes) {
    if (
      options.volume !== undefined && volume.volumeNumber !== options.volume
    ) {
      continue;
    }
    const health = diskHealth(volume.diskState, options);
    worst = Math.max(worst, HEALTH_ORDER.indexOf(health));
  }
  return worst < 0 ? "unknown" : HEALTH_ORDER[worst]!;
}
