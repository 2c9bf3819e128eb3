/**
 * The merged DRBD state of one node, built from `drbdsetup events2` lines:
 * one record per resource, device, connection and peer device, merged
 * field by field (events2 change lines are deltas unless `--full`).
 *
 * Restarts of the stream are a mark-and-sweep: `beginResync()` makes the
 * state blind and starts a new generation; the objects the new dump
 * mentions survive `exists -`, the others are dropped. What the agent
 * learned about a connection (since when it is down, whether it was ever
 * healthy) survives a restart of `drbdsetup`, so a restart during an outage
 * neither delays nor re-arms a fencing decision.
 *
 * @module
 */
import { DISK_STATE_HEALTH } from "../../domain/mod.ts";
import type { Events2Line } from "./events2.ts";

/** One local DRBD device (a volume of a resource on this node). */
export interface DrbdDeviceView {
  readonly volume: number;
  readonly minor: number | undefined;
  /** Local disk state (`UpToDate`, `Diskless`, …); `""` before it was reported. */
  readonly disk: string;
  /** Intentionally diskless (`client:yes`). */
  readonly client: boolean;
  /** `quorum:yes`; `undefined` before it was reported. */
  readonly quorum: boolean | undefined;
}

/** The replication of one volume towards one peer. */
export interface DrbdPeerDeviceView {
  readonly volume: number;
  /** `Established`, `SyncSource`, `Off`, …; `""` before it was reported. */
  readonly replication: string;
  /** The peer's disk state; `""` before it was reported. */
  readonly peerDisk: string;
  /** The peer is intentionally diskless. */
  readonly peerClient: boolean;
}

/** This node's connection to one peer for one resource. */
export interface DrbdConnectionView {
  readonly peerNodeId: number;
  /** The peer's node name as configured (the LINSTOR node name). */
  readonly peer: string;
  /** `Connected`, `Connecting`, `StandAlone`, …; `""` before it was reported. */
  readonly state: string;
  /** The peer's role (`Primary`, `Secondary`, `Unknown`). */
  readonly peerRole: string;
  /** When the connection last left `Connected` (or was first seen not connected); `undefined` while connected. */
  readonly downSince: number | undefined;
  /** The connection was once `Connected` with every volume `Established` and both sides' data usable. */
  readonly seenHealthy: boolean;
  readonly peerDevices: readonly DrbdPeerDeviceView[];
}

/** One local DRBD resource. */
export interface DrbdResourceView {
  readonly name: string;
  /** Local role (`Primary`, `Secondary`, `Unknown`). */
  readonly role: string;
  /** `no`, or the suspend reasons (`quorum`, `user`, …). */
  readonly suspended: string;
  readonly forceIoFailures: boolean;
  /** `may_promote` as computed by drbdsetup; `undefined` when not reported. */
  readonly mayPromote: boolean | undefined;
  /** The configured quorum policy (from `drbdsetup show`); `undefined` while unknown. */
  readonly quorumPolicy: string | undefined;
  readonly devices: readonly DrbdDeviceView[];
  readonly connections: readonly DrbdConnectionView[];
}

/** An immutable view of the merged DRBD state. */
export interface DrbdView {
  /** The current stream's initial dump is complete (`exists -` seen) and the stream runs. */
  readonly synced: boolean;
  /** Resources by name, sorted by name. */
  readonly resources: ReadonlyMap<string, DrbdResourceView>;
  /** Increases with every change. */
  readonly version: number;
}

interface DeviceRecord {
  generation: number;
  volume: number;
  minor: number | undefined;
  disk: string;
  client: boolean;
  quorum: boolean | undefined;
}

interface PeerDeviceRecord {
  generation: number;
  volume: number;
  replication: string;
  peerDisk: string;
  peerClient: boolean;
}

interface ConnectionRecord {
  generation: number;
  peerNodeId: number;
  peer: string;
  state: string;
  peerRole: string;
  downSince: number | undefined;
  seenHealthy: boolean;
  peerDevices: Map<number, PeerDeviceRecord>;
}

interface ResourceRecord {
  generation: number;
  name: string;
  role: string;
  suspended: string;
  forceIoFailures: boolean;
  mayPromote: boolean | undefined;
  devices: Map<number, DeviceRecord>;
  connections: Map<number, ConnectionRecord>;
}

/** Counters of what {@linkcode DrbdState.apply} saw. */
export interface DrbdStateStats {
  /** Lines applied (events and dump ends). */
  readonly lines: number;
  /** Garbage lines skipped. */
  readonly garbage: number;
  /** Events about objects that were never created (skipped). */
  readonly orphans: number;
}

const CONNECTED = "Connected";

function yes(value: string | undefined): boolean {
  return value === "yes";
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** The merged DRBD state of this node (mutable; {@linkcode DrbdState.view} hands out immutable views). */
export class DrbdState {
  #resources = new Map<string, ResourceRecord>();
  #quorum = new Map<string, string>();
  #generation = 0;
  #synced = false;
  #version = 0;
  #view: DrbdView | undefined;
  #lines = 0;
  #garbage = 0;
  #orphans = 0;

  /** `true` once the current stream's initial dump is complete. */
  get synced(): boolean {
    return this.#synced;
  }

  /** What was applied so far. */
  get stats(): DrbdStateStats {
    return {
      lines: this.#lines,
      garbage: this.#garbage,
      orphans: this.#orphans,
    };
  }

  /**
   * A new stream starts (first start or restart after an exit): the state is
   * blind until its `exists -`, and objects the new dump does not mention
   * are dropped then.
   */
  beginResync(): void {
    this.#generation++;
    this.#synced = false;
    this.#changed();
  }

  /** The stream ended: blind until the next dump completes. */
  markBlind(): void {
    if (!this.#synced) return;
    this.#synced = false;
    this.#changed();
  }

  /** Replaces the configured quorum policies (from `drbdsetup show --json`). */
  setQuorumPolicies(policies: ReadonlyMap<string, string>): void {
    this.#quorum = new Map(policies);
    this.#changed();
  }

  /** Resources whose quorum policy is unknown (created after the last `drbdsetup show`). */
  resourcesWithoutPolicy(): string[] {
    return [...this.#resources.keys()].filter((name) => !this.#quorum.has(name))
      .sort();
  }

  /**
   * Merges one parsed line. `receivedAt` (ms) is used when the line has no
   * timestamp; a timestamp later than `receivedAt` is clamped to it, so a
   * skewed stamp can only delay a decision. Returns `true` when the state
   * changed.
   */
  apply(line: Events2Line, receivedAt: number): boolean {
    if (line.kind === "empty") return false;
    if (line.kind === "garbage") {
      this.#garbage++;
      return false;
    }
    this.#lines++;
    const at = line.timestamp === undefined
      ? receivedAt
      : Math.min(line.timestamp, receivedAt);
    if (line.kind === "dump-complete") {
      this.#sweep();
      this.#synced = true;
      this.#changed();
      return true;
    }
    if (line.verb === "call" || line.verb === "response") return false;
    const changed = this.#applyEvent(line, at);
    if (changed) this.#changed();
    return changed;
  }

  /** An immutable view of the current state (cached until the next change). */
  view(): DrbdView {
    if (this.#view !== undefined) return this.#view;
    const resources = new Map<string, DrbdResourceView>();
    for (const name of [...this.#resources.keys()].sort()) {
      resources.set(name, this.#resourceView(this.#resources.get(name)!));
    }
    this.#view = Object.freeze({
      synced: this.#synced,
      resources,
      version: this.#version,
    });
    return this.#view;
  }

  #changed(): void {
    this.#version++;
    this.#view = undefined;
  }

  #applyEvent(
    line: Extract<Events2Line, { kind: "event" }>,
    at: number,
  ): boolean {
    const f = line.fields;
    const name = f["name"]!;
    if (line.verb === "rename") {
      const next = f["new_name"];
      const record = this.#resources.get(name);
      if (line.object !== "resource" || next === undefined || !record) {
        return false;
      }
      this.#resources.delete(name);
      record.name = next;
      this.#resources.set(next, record);
      return true;
    }
    if (line.object === "resource") {
      if (line.verb === "destroy") return this.#resources.delete(name);
      const record = this.#resources.get(name) ?? this.#newResource(name);
      record.generation = this.#generation;
      if (f["role"] !== undefined) record.role = f["role"];
      if (f["suspended"] !== undefined) record.suspended = f["suspended"];
      if (f["force-io-failures"] !== undefined) {
        record.forceIoFailures = yes(f["force-io-failures"]);
      }
      if (f["may_promote"] !== undefined) {
        record.mayPromote = yes(f["may_promote"]);
      }
      return true;
    }
    if (line.object === "path" || line.object === "helper") return false;
    const resource = this.#resources.get(name);
    if (resource === undefined) {
      this.#orphans++;
      return false;
    }
    if (line.object === "device") {
      const volume = integer(f["volume"]);
      if (volume === undefined) return false;
      if (line.verb === "destroy") return resource.devices.delete(volume);
      const device = resource.devices.get(volume) ?? {
        generation: this.#generation,
        volume,
        minor: undefined,
        disk: "",
        client: false,
        quorum: undefined,
      };
      device.generation = this.#generation;
      device.minor = integer(f["minor"]) ?? device.minor;
      if (f["disk"] !== undefined) device.disk = f["disk"];
      if (f["client"] !== undefined) device.client = yes(f["client"]);
      if (f["quorum"] !== undefined) device.quorum = yes(f["quorum"]);
      resource.devices.set(volume, device);
      this.#updateHealth(resource);
      return true;
    }
    const peerNodeId = integer(f["peer-node-id"]);
    if (peerNodeId === undefined) return false;
    if (line.object === "connection") {
      if (line.verb === "destroy") {
        return resource.connections.delete(peerNodeId);
      }
      let connection = resource.connections.get(peerNodeId);
      const peer = f["conn-name"] ?? connection?.peer ?? "";
      if (connection === undefined || connection.peer !== peer) {
        connection = {
          generation: this.#generation,
          peerNodeId,
          peer,
          state: "",
          peerRole: "",
          downSince: undefined,
          seenHealthy: false,
          peerDevices: connection?.peerDevices ?? new Map(),
        };
        resource.connections.set(peerNodeId, connection);
      }
      connection.generation = this.#generation;
      const state = f["connection"];
      if (state !== undefined) {
        if (state === CONNECTED) {
          connection.downSince = undefined;
        } else if (
          connection.state === CONNECTED || connection.downSince === undefined
        ) {
          connection.downSince = at;
        }
        connection.state = state;
      }
      if (f["role"] !== undefined) connection.peerRole = f["role"];
      this.#updateHealth(resource);
      return true;
    }
    if (line.object === "peer-device") {
      const volume = integer(f["volume"]);
      const connection = resource.connections.get(peerNodeId);
      if (volume === undefined) return false;
      if (connection === undefined) {
        this.#orphans++;
        return false;
      }
      if (line.verb === "destroy") {
        return connection.peerDevices.delete(volume);
      }
      const device = connection.peerDevices.get(volume) ?? {
        generation: this.#generation,
        volume,
        replication: "",
        peerDisk: "",
        peerClient: false,
      };
      device.generation = this.#generation;
      if (f["replication"] !== undefined) device.replication = f["replication"];
      if (f["peer-disk"] !== undefined) device.peerDisk = f["peer-disk"];
      if (f["peer-client"] !== undefined) {
        device.peerClient = yes(f["peer-client"]);
      }
      connection.peerDevices.set(volume, device);
      this.#updateHealth(resource);
      return true;
    }
    return false;
  }

  #newResource(name: string): ResourceRecord {
    const record: ResourceRecord = {
      generation: this.#generation,
      name,
      role: "",
      suspended: "",
      forceIoFailures: false,
      mayPromote: undefined,
      devices: new Map(),
      connections: new Map(),
    };
    this.#resources.set(name, record);
    return record;
  }

  /** Marks connections healthy once both sides hold usable data over an established link. */
  #updateHealth(resource: ResourceRecord): void {
    if (resource.devices.size === 0) return;
    for (const device of resource.devices.values()) {
      if (!usableLocal(device)) return;
    }
    for (const connection of resource.connections.values()) {
      if (connection.seenHealthy || connection.state !== CONNECTED) continue;
      if (connection.peerDevices.size < resource.devices.size) continue;
      let healthy = true;
      for (const device of connection.peerDevices.values()) {
        if (
          device.replication !== "Established" ||
          !(isCurrentDisk(device.peerDisk) || device.peerClient ||
            device.peerDisk === "Diskless")
        ) {
          healthy = false;
          break;
        }
      }
      if (healthy) connection.seenHealthy = true;
    }
  }

  #sweep(): void {
    const generation = this.#generation;
    for (const [name, resource] of this.#resources) {
      if (resource.generation !== generation) {
        this.#resources.delete(name);
        continue;
      }
      for (const [volume, device] of resource.devices) {
        if (device.generation !== generation) resource.devices.delete(volume);
      }
      for (const [id, connection] of resource.connections) {
        if (connection.generation !== generation) {
          resource.connections.delete(id);
          continue;
        }
        for (const [volume, device] of connection.peerDevices) {
          if (device.generation !== generation) {
            connection.peerDevices.delete(volume);
          }
        }
      }
    }
  }

  #resourceView(record: ResourceRecord): DrbdResourceView {
    const devices = [...record.devices.values()]
      .sort((a, b) => a.volume - b.volume)
      .map((d): DrbdDeviceView =>
        Object.freeze({
          volume: d.volume,
          minor: d.minor,
          disk: d.disk,
          client: d.client,
          quorum: d.quorum,
        })
      );
    const connections = [...record.connections.values()]
      .sort((a, b) => a.peerNodeId - b.peerNodeId)
      .map((c): DrbdConnectionView =>
        Object.freeze({
          peerNodeId: c.peerNodeId,
          peer: c.peer,
          state: c.state,
          peerRole: c.peerRole,
          downSince: c.downSince,
          seenHealthy: c.seenHealthy,
          peerDevices: Object.freeze(
            [...c.peerDevices.values()]
              .sort((a, b) => a.volume - b.volume)
              .map((p) =>
                Object.freeze({
                  volume: p.volume,
                  replication: p.replication,
                  peerDisk: p.peerDisk,
                  peerClient: p.peerClient,
                })
              ),
          ),
        })
      );
    return Object.freeze({
      name: record.name,
      role: record.role,
      suspended: record.suspended,
      forceIoFailures: record.forceIoFailures,
      mayPromote: record.mayPromote,
      quorumPolicy: this.#quorum.get(record.name),
      devices: Object.freeze(devices),
      connections: Object.freeze(connections),
    });
  }
}

/** DRBD's disk state read by the domain's one health table. */
function isCurrentDisk(disk: string): boolean {
  return DISK_STATE_HEALTH[disk] === "current";
}

/** Local data that counts for "seen healthy": UpToDate, or intentionally diskless. */
function usableLocal(device: DeviceRecord): boolean {
  return isCurrentDisk(device.disk) || device.client ||
    device.disk === "Diskless";
}
