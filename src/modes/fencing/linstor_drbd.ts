/**
 * The LINSTOR fallback of the fencing mode (`--drbd-source=linstor`), for
 * clusters where the agent cannot run `drbdsetup`: a pure mapping from the
 * state model's LINSTOR view to the same {@linkcode DrbdView} the events2
 * stream builds, so that the one planner (`planFencing()`) with its witness
 * rule and storm guard decides in both cases.
 *
 * The mapping, for every resource with a replica on this node:
 * - a peer's "connection" is `Connected` while its LINSTOR node is ONLINE
 *   and down since this agent first saw that node not ONLINE;
 * - a local device has quorum when this node is ONLINE and more than half
 *   of the resource's replicas are on ONLINE nodes;
 * - roles come from the replicas' `in_use`, disk states from their volumes;
 * - the quorum policy is the resource definition's (else its resource
 *   group's) `DrbdOptions/Resource/quorum`: none, no action;
 * - the view is blind (synced false) before the first poll, after a failed
 *   one, or when the last poll is older than `maxAgeMs`.
 *
 * What it remembers (since when a node is OFFLINE, which peers were seen
 * healthy) goes in and out as a value.
 *
 * @module
 */
import { LINSTOR_PROP_DRBD_QUORUM } from "../../constants.ts";
import { freshness, replicaHealth } from "../../domain/mod.ts";
import type { LinstorView, Replica, Snapshot } from "../../state/types.ts";
import { linstorNodeFor } from "../../state/queries.ts";
import type {
  DrbdConnectionView,
  DrbdDeviceView,
  DrbdResourceView,
  DrbdView,
} from "./drbd_state.ts";

/** What the LINSTOR mapping remembers between passes. */
export interface LinstorDrbdMemory {
  /** LINSTOR nodes not ONLINE, and since when this agent saw them so (ms). */
  readonly offlineSince: ReadonlyMap<string, number>;
  /** `resource/peer` pairs seen healthy (peer ONLINE, both sides' data usable). */
  readonly seenHealthy: ReadonlySet<string>;
}

/** An empty {@linkcode LinstorDrbdMemory}. */
export function emptyLinstorDrbdMemory(): LinstorDrbdMemory {
  return { offlineSince: new Map(), seenHealthy: new Set() };
}

/** Options of {@linkcode linstorDrbdView}. */
export interface LinstorDrbdOptions {
  /** This node's Kubernetes name. */
  readonly nodeName: string;
  /** The planning time (ms). */
  readonly now: number;
  /** LINSTOR data older than this is blind (ms). */
  readonly maxAgeMs: number;
}

/** What {@linkcode linstorDrbdView} returns. */
export interface LinstorDrbdResult {
  readonly view: DrbdView;
  readonly memory: LinstorDrbdMemory;
}

/** Diskless and tie-breaker replicas hold no data; a diskful one must be current (the domain's health table). */
function usable(replica: Replica): boolean {
  if (replica.role !== "diskful") return true;
  return replicaHealth(replica, { nodeOnline: true }) === "current";
}

function role(replica: Replica, online: boolean): string {
  if (!online || replica.inUse === undefined) return "Unknown";
  return replica.inUse ? "Primary" : "Secondary";
}

function quorumPolicy(linstor: LinstorView, resource: string) {
  const definition = linstor.resourceDefinitions.get(resource);
  if (definition === undefined) return undefined;
  const own = definition.props[LINSTOR_PROP_DRBD_QUORUM];
  if (own !== undefined) return own;
  const group = definition.resourceGroup === undefined
    ? undefined
    : linstor.resourceGroups.get(definition.resourceGroup);
  return group?.props[LINSTOR_PROP_DRBD_QUORUM];
}

const BLIND: DrbdView = Object.freeze({
  synced: false,
  resources: new Map(),
  version: 0,
});

/** Maps the LINSTOR view of `snapshot` to this node's DRBD view (pure). */
export function linstorDrbdView(
  snapshot: Snapshot,
  memory: LinstorDrbdMemory,
  options: LinstorDrbdOptions,
): LinstorDrbdResult {
  const linstor = snapshot.linstor;
  // Blind on stale data (the domain's freshness) and, stricter, after any
  // failed poll: a controller we cannot read says nothing about peers.
  if (
    !freshness(snapshot, options.now, { maxAgeMs: options.maxAgeMs }).fresh ||
    linstor.lastError !== undefined
  ) {
    return { view: BLIND, memory };
  }
  const offlineSince = new Map<string, number>();
  for (const node of linstor.nodes.values()) {
    if (!node.online) {
      offlineSince.set(
        node.name,
        memory.offlineSince.get(node.name) ?? options.now,
      );
    }
  }
  const seenHealthy = new Set(memory.seenHealthy);
  const self = linstorNodeFor(snapshot, options.nodeName);
  const resources = new Map<string, DrbdResourceView>();
  const local = self === undefined
    ? []
    : linstor.replicasByNode.get(self.name) ?? [];
  for (const mine of local) {
    if (mine.deleting || mine.inactive) continue;
    const replicas = (linstor.replicasByResource.get(mine.resource) ?? [])
      .filter((r) => !r.deleting && !r.inactive);
    const isOnline = (name: string) => linstor.nodes.get(name)?.online === true;
    const onlineCount = replicas.filter((r) => isOnline(r.node)).length;
    const quorum = self!.online && onlineCount * 2 > replicas.length;
    const devices: DrbdDeviceView[] = mine.volumes.map((v) => ({
      volume: v.volumeNumber,
      minor: undefined,
      disk: v.diskState ?? "",
      client: mine.role !== "diskful",
      quorum,
    }));
    const connections: DrbdConnectionView[] = [];
    replicas.filter((r) => r.node !== mine.node).forEach((peer, index) => {
      const online = isOnline(peer.node);
      const key = `${mine.resource}/${peer.node}`;
      if (online && self!.online && usable(mine) && usable(peer)) {
        seenHealthy.add(key);
      }
      connections.push({
        peerNodeId: index,
        peer: peer.node,
        state: online ? "Connected" : "Unconnected",
        peerRole: role(peer, online),
        downSince: online ? undefined : offlineSince.get(peer.node),
        seenHealthy: seenHealthy.has(key),
        peerDevices: peer.volumes.map((v) => ({
          volume: v.volumeNumber,
          replication: online ? "Established" : "Off",
          peerDisk: online ? v.diskState ?? "" : "DUnknown",
          peerClient: peer.role !== "diskful",
        })),
      });
    });
    resources.set(mine.resource, {
      name: mine.resource,
      role: role(mine, self!.online),
      suspended: "no",
      forceIoFailures: false,
      mayPromote: undefined,
      quorumPolicy: quorumPolicy(linstor, mine.resource),
      devices,
      connections,
    });
  }
  // Forget pairs whose resource or peer replica is gone.
  for (const key of seenHealthy) {
    const [resource, peer] = key.split("/") as [string, string];
    const replicas = linstor.replicasByResource.get(resource) ?? [];
    if (!replicas.some((r) => r.node === peer)) seenHealthy.delete(key);
  }
  return {
    view: {
      synced: self !== undefined,
      resources: new Map([...resources].sort(([a], [b]) => a < b ? -1 : 1)),
      version: snapshot.version,
    },
    memory: { offlineSince, seenHealthy },
  };
}
