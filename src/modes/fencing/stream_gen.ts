/**
 * A generator of `drbdsetup events2 --timestamps --full` text, for the demo,
 * the tests and the benchmark: the same grammar drbdsetup prints (composed
 * from the drbd-utils documentation, not captured output).
 *
 * @module
 */

/** A peer of a generated resource. */
export interface GenPeer {
  readonly peerNodeId: number;
  /** The peer's node name (`conn-name`). */
  readonly name: string;
  /** @default {"Connected"} */
  readonly state?: string;
  /** @default {"Secondary"} */
  readonly role?: string;
  /** @default {"UpToDate"} (`"Diskless"` with `client` for a diskless peer) */
  readonly disk?: string;
  /** @default {"Established"} */
  readonly replication?: string;
  /** The peer is intentionally diskless. @default {false} */
  readonly client?: boolean;
}

/** A generated local resource (one volume). */
export interface GenResource {
  readonly name: string;
  /** @default {"Secondary"} */
  readonly role?: string;
  /** @default {1000} */
  readonly minor?: number;
  /** @default {"UpToDate"} */
  readonly disk?: string;
  /** @default {true} */
  readonly quorum?: boolean;
  /** Local replica is intentionally diskless. @default {false} */
  readonly client?: boolean;
  readonly peers: readonly GenPeer[];
}

function stamp(at: number): string {
  const iso = new Date(at).toISOString(); // …T10:00:00.123Z
  return `${iso.slice(0, 23)}000+00:00`;
}

/** When and how a generated line is printed. */
export interface LineOptions {
  /** Time of the event (ms since the epoch). */
  at: number;
  /** The verb (`exists`, `create`, `change`, …). @default {"change"} */
  verb?: string;
}

function yesNo(value: boolean): string {
  return value ? "yes" : "no";
}

/** One events2 line: `<stamp> <verb> <object> k:v …`. */
export function events2Line(
  object: string,
  fields: Readonly<Record<string, string | number>>,
  options: LineOptions,
): string {
  const pairs = Object.entries(fields).map(([k, v]) => `${k}:${v}`);
  return [stamp(options.at), options.verb ?? "change", object, ...pairs].join(
    " ",
  );
}

/** The `resource` line of `resource` with `verb`. */
export function resourceLine(
  resource: GenResource,
  options: LineOptions,
): string {
  const primaryPeer = resource.peers.some((p) =>
    (p.state ?? "Connected") === "Connected" && p.role === "Primary"
  );
  const role = resource.role ?? "Secondary";
  const quorum = resource.quorum ?? true;
  return events2Line("resource", {
    name: resource.name,
    role,
    suspended: quorum ? "no" : "quorum",
    "force-io-failures": "no",
    may_promote: yesNo(quorum && !primaryPeer && role !== "Primary"),
    promotion_score: quorum ? 10101 : 0,
  }, options);
}

/** The `device` line of `resource` (volume 0) with `verb`. */
export function deviceLine(
  resource: GenResource,
  options: LineOptions,
): string {
  const client = resource.client ?? false;
  return events2Line("device", {
    name: resource.name,
    volume: 0,
    minor: resource.minor ?? 1000,
    backing_dev: client ? "none" : `/dev/vg0/${resource.name}_00000`,
    disk: resource.disk ?? (client ? "Diskless" : "UpToDate"),
    client: yesNo(client),
    open: yesNo((resource.role ?? "Secondary") === "Primary"),
    quorum: yesNo(resource.quorum ?? true),
  }, options);
}

/** The `connection` line towards `peer` with `verb`. */
export function connectionLine(
  resource: string,
  peer: GenPeer,
  options: LineOptions,
): string {
  const state = peer.state ?? "Connected";
  return events2Line("connection", {
    name: resource,
    "peer-node-id": peer.peerNodeId,
    "conn-name": peer.name,
    connection: state,
    role: state === "Connected" ? peer.role ?? "Secondary" : "Unknown",
  }, options);
}

/** The `peer-device` line (volume 0) towards `peer` with `verb`. */
export function peerDeviceLine(
  resource: string,
  peer: GenPeer,
  options: LineOptions,
): string {
  const connected = (peer.state ?? "Connected") === "Connected";
  const client = peer.client ?? false;
  return events2Line("peer-device", {
    name: resource,
    "peer-node-id": peer.peerNodeId,
    "conn-name": peer.name,
    volume: 0,
    replication: connected ? peer.replication ?? "Established" : "Off",
    "peer-disk": connected
      ? peer.disk ?? (client ? "Diskless" : "UpToDate")
      : "DUnknown",
    "peer-client": yesNo(client),
    "resync-suspended": "no",
  }, options);
}

/** Every line describing `resource` (resource, device, connections, peer devices). */
export function resourceLines(
  resource: GenResource,
  options: LineOptions,
): string[] {
  const lines = [
    resourceLine(resource, options),
    deviceLine(resource, options),
  ];
  for (const peer of resource.peers) {
    lines.push(connectionLine(resource.name, peer, options));
    lines.push(peerDeviceLine(resource.name, peer, options));
  }
  return lines;
}

/** The initial dump of `resources`: `exists` lines, then `exists -`. */
export function initialDump(
  resources: readonly GenResource[],
  options: { at: number },
): string[] {
  const at = options.at;
  return [
    ...resources.flatMap((r) => resourceLines(r, { at, verb: "exists" })),
    `${stamp(at)} exists -`,
  ];
}

/**
 * The lines a witness prints when its link to `peer` of `resource` breaks:
 * connection NetworkFailure, peer device Off, then Connecting.
 */
export function peerLostLines(
  resource: string,
  peer: GenPeer,
  options: { at: number },
): string[] {
  const at = options.at;
  const down = { ...peer, state: "NetworkFailure" };
  return [
    connectionLine(resource, down, { at }),
    peerDeviceLine(resource, down, { at }),
    connectionLine(resource, { ...peer, state: "Connecting" }, { at: at + 20 }),
  ];
}

/** The lines a witness prints when its link to `peer` of `resource` is back. */
export function peerBackLines(
  resource: string,
  peer: GenPeer,
  options: { at: number },
): string[] {
  const up = { ...peer, state: "Connected" };
  return [
    connectionLine(resource, up, options),
    peerDeviceLine(resource, up, options),
  ];
}
