/**
 * The pure fencing planner: from this node's merged DRBD state and the
 * Kubernetes snapshot, which peers lost their storage and what to do about
 * it. No I/O, no clock: time comes in as `now`, cross-pass memory comes in
 * and goes out as a value.
 *
 * ## The witness rule
 * This node (the witness) decides that peer P lost resource R when all of:
 * 1. the DRBD state is synced (the current stream's `exists -` was seen);
 * 2. R has a quorum policy configured locally (`drbdsetup show`);
 * 3. every local device of R has quorum, and none is Outdated, Inconsistent
 *    or Failed (a witness whose data fell behind is on the wrong side);
 * 4. no connected peer of R is Primary, and R has no `force-io-failures`;
 * 5. the connection to P has been down for at least the fail-over timeout;
 * 6. this node saw R healthy with P before (never a volume still syncing);
 * 7. every other peer of R this node is still connected to reports P as
 *    lost too (its lost-peers annotation, fresh): a link cut between two
 *    nodes that a third still joins is not a lost node;
 * 8. P runs a pod with the opt-in label that uses R (through its PVC and
 *    PV), or holds a VolumeAttachment of R; and no pod on P using R is
 *    outside the opt-in (unlabelled, without a controller owner, opted out
 *    or mounting R read-only): those users did not ask to be moved.
 *
 * ## Actions on a lost node P (each phase only after the previous succeeded)
 * 1. taint P `drbd.linbit.com/lost-quorum:NoSchedule` (time-stamped);
 * 2. evict each opted-in Running pod (short grace) when Node P is Ready,
 *    force-delete it (grace 0) when it is not;
 * 3. delete the VolumeAttachments of R on P.
 *
 * A Kubernetes-only outage (Node NotReady while DRBD is connected) is never
 * a reason: step 5 needs the DRBD connection down. The storm guard holds
 * new fencings back when more than `maxFencedNodes` nodes would carry the
 * taint, or when this agent started fencing another node less than
 * `minFencingIntervalMs` ago. The taint is removed by P's own agent once
 * its storage has quorum again, and by any agent connected to P on every
 * resource they share, so it never stays behind.
 *
 * @module
 */
import type {
  V1Node,
  V1PersistentVolume,
  V1Pod,
  V1VolumeAttachment,
} from "@kubernetes/client-node";
import {
  ANNOTATION_FENCING_LOST_PEERS,
  ANNOTATION_IGNORE_FAIL_OVER,
  CSI_DRIVER_NAME,
  FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS,
  FENCING_DEFAULT_GRACE_PERIOD_SECONDS,
  FENCING_DEFAULT_MAX_FENCED_NODES,
  FENCING_DEFAULT_MIN_FENCING_INTERVAL_MS,
  FENCING_OPT_IN_VALUE,
  FENCING_REPORT_MAX_AGE_MS,
  FENCING_REPORT_REFRESH_MS,
  LABEL_HOSTNAME,
  LABEL_ON_STORAGE_LOST,
  TAINT_LOST_QUORUM,
} from "../../constants.ts";
import { isNodeReady } from "../../kube/objects.ts";
import type { Snapshot } from "../../state/types.ts";
import {
  type DrbdConnectionView,
  type DrbdResourceView,
  type DrbdView,
} from "./drbd_state.ts";
import { isQuorumPolicyEnabled } from "./events2.ts";

/** Options of {@linkcode planFencing} (from flags). */
export interface FencingPlanOptions {
  /** `--fail-over-timeout` (ms). @default {5000} */
  failOverTimeoutMs?: number;
  /** `--grace-period-seconds` of an eviction. @default {10} */
  gracePeriodSeconds?: number;
  /** `--max-fenced-nodes`: nodes carrying the taint at once. @default {2} */
  maxFencedNodes?: number;
  /** `--min-fencing-interval` (ms) between starting to fence two nodes. @default {30000} */
  minFencingIntervalMs?: number;
  /** `--disable-node-taints`: never taint (nor untaint). @default {false} */
  disableNodeTaints?: boolean;
}

/** What the planner remembers between passes. */
export interface FencingMemory {
  /** When this agent started fencing each node that is still lost (ms). */
  readonly fenceStarts: ReadonlyMap<string, number>;
  /** When this agent last started fencing a node (ms); the rate limit's reference. */
  readonly lastFenceStartAt: number | undefined;
  /** Nodes whose held fencing was already reported with an Event. */
  readonly heldReported?: ReadonlySet<string>;
}

/** An empty {@linkcode FencingMemory}. */
export function emptyFencingMemory(): FencingMemory {
  return { fenceStarts: new Map(), lastFenceStartAt: undefined };
}

/** Input of {@linkcode planFencing}. */
export interface FencingInput {
  /** This node's merged DRBD state. */
  readonly drbd: DrbdView;
  /** The Kubernetes snapshot (nodes, pods, PVs, VolumeAttachments). */
  readonly snapshot: Snapshot;
}

/** Context of {@linkcode planFencing}. */
export interface FencingContext {
  /** The planning time (ms since the epoch). */
  readonly now: number;
  /** This node's Kubernetes name. */
  readonly nodeName: string;
  readonly options?: FencingPlanOptions;
  readonly memory: FencingMemory;
}

/** Fields every planned action carries. */
interface SpecBase {
  /** Unique target within one plan. */
  readonly key: string;
  /** Phase: 1 taints, 2 pods, 3 VolumeAttachments; a phase runs only after the earlier phases of the same node succeeded. */
  readonly phase: 1 | 2 | 3;
  /** The Kubernetes node the action is about (the group of the phase rule). */
  readonly node: string;
  /** One line for logs and dry-run output. */
  readonly summary: string;
}

/** A planned fencing action (data; `createFencingOperation()` makes it executable). */
export type FencingActionSpec =
  | SpecBase & {
    readonly name: "TaintNode";
    readonly uid: string;
    /** RFC 3339 `timeAdded` of the taint. */
    readonly timeAdded: string;
    /** Resources P lost (for the Event). */
    readonly resources: readonly string[];
  }
  | SpecBase & {
    readonly name: "UntaintNode";
    readonly uid: string;
  }
  | SpecBase & {
    readonly name: "EvictPod" | "ForceDeletePod";
    readonly namespace: string;
    readonly pod: string;
    readonly uid: string;
    readonly resource: string;
    readonly gracePeriodSeconds: number;
  }
  | SpecBase & {
    readonly name: "DeleteVolumeAttachment";
    readonly attachment: string;
    readonly uid: string;
    readonly resource: string;
    /** `0` when Node P is not Ready. */
    readonly gracePeriodSeconds: number;
  }
  | SpecBase & {
    readonly name: "ReportFencingHeld";
    readonly uid: string;
    /** Why (`storm-guard-max-fenced-nodes`, `storm-guard-rate-limit`). */
    readonly reason: string;
  }
  | SpecBase & {
    readonly name: "PublishLostPeers";
    readonly uid: string;
    /** The annotation value. */
    readonly report: string;
  };

/** Why a (resource, peer) pair was or was not acted on. */
export type FencingOutcome =
  | "fence"
  | "waiting"
  | "held"
  | "skipped";

/** One decision about a resource whose connection to a peer is down. */
export interface FencingDecision {
  readonly resource: string;
  /** The peer's DRBD (LINSTOR) node name. */
  readonly peer: string;
  /** The peer's Kubernetes node, when known. */
  readonly node: string | undefined;
  readonly outcome: FencingOutcome;
  /** A short machine-friendly reason (`never-healthy`, `kubelet-only`, …). */
  readonly reason: string;
}

/** What {@linkcode planFencing} returns. */
export interface FencingPlan {
  /** Actions sorted by phase, then key. */
  readonly actions: readonly FencingActionSpec[];
  /** Decisions about every down connection, sorted by resource and peer. */
  readonly decisions: readonly FencingDecision[];
  readonly memory: FencingMemory;
  /** `false` while the DRBD state is blind (nothing is planned then). */
  readonly ready: boolean;
}

/** A peer's published view: the DRBD peers it has a connection down to. */
export interface LostPeersReport {
  /** When the report was written (ms). */
  readonly at: number;
  readonly lost: readonly string[];
}

/** Encodes a lost-peers report as the annotation value. */
export function encodeLostPeers(report: LostPeersReport): string {
  return JSON.stringify({
    at: new Date(report.at).toISOString(),
    lost: [...report.lost].sort(),
  });
}

/** Decodes a lost-peers annotation value; `undefined` when malformed. */
export function decodeLostPeers(
  value: string | undefined,
): LostPeersReport | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as { at?: unknown; lost?: unknown };
    const at = typeof parsed.at === "string" ? Date.parse(parsed.at) : NaN;
    if (Number.isNaN(at) || !Array.isArray(parsed.lost)) return undefined;
    const lost = parsed.lost.filter((p): p is string => typeof p === "string");
    return { at, lost };
  } catch {
    return undefined;
  }
}

/** The Kubernetes node of DRBD peer `peer`: the Node of that name, else the one whose hostname label is `peer`. */
export function kubeNodeOfPeer(
  snapshot: Snapshot,
  peer: string,
): V1Node | undefined {
  const byName = snapshot.kube.nodes.get(peer);
  if (byName !== undefined) return byName;
  for (const node of snapshot.kube.nodes.values()) {
    if (node.metadata?.labels?.[LABEL_HOSTNAME] === peer) return node;
  }
  return undefined;
}

function hasLostQuorumTaint(node: V1Node): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === TAINT_LOST_QUORUM);
}

function isConnected(connection: DrbdConnectionView): boolean {
  return connection.state === "Connected";
}

const BAD_LOCAL_DISKS: ReadonlySet<string> = new Set([
  "Outdated",
  "Inconsistent",
  "Failed",
  "DUnknown",
  "Attaching",
  "Detaching",
  "Negotiating",
  "",
]);

/** The reason R is not quorate-and-healthy on this node, `undefined` when it is. */
function localBlocker(resource: DrbdResourceView): string | undefined {
  if (resource.quorumPolicy === undefined) return "quorum-policy-unknown";
  if (!isQuorumPolicyEnabled(resource.quorumPolicy)) {
    return "quorum-not-configured";
  }
  if (resource.devices.length === 0) return "no-local-device";
  for (const device of resource.devices) {
    if (device.quorum !== true) return "no-local-quorum";
    if (!device.client && BAD_LOCAL_DISKS.has(device.disk)) {
      return "local-data-not-up-to-date";
    }
  }
  if (resource.forceIoFailures) return "force-io-failures";
  if (
    resource.connections.some((c) => isConnected(c) && c.peerRole === "Primary")
  ) {
    return "peer-primary-connected";
  }
  return undefined;
}

/** How a pod on P uses R: eligible, ignored, or blocking with a reason. */
type PodVerdict =
  | { kind: "eligible" }
  | { kind: "ignored" }
  | { kind: "blocking"; reason: string };

function podVerdict(
  pod: V1Pod,
  claimName: string,
  pv: V1PersistentVolume,
): PodVerdict {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return { kind: "ignored" };
  if (pod.metadata?.labels?.[LABEL_ON_STORAGE_LOST] !== FENCING_OPT_IN_VALUE) {
    return { kind: "blocking", reason: "pod-not-opted-in" };
  }
  if (
    !(pod.metadata?.ownerReferences ?? []).some((o) => o.controller === true)
  ) {
    return { kind: "blocking", reason: "pod-without-controller" };
  }
  if (pod.metadata?.annotations?.[ANNOTATION_IGNORE_FAIL_OVER] !== undefined) {
    return { kind: "blocking", reason: "pod-opted-out" };
  }
  if (mountsReadOnly(pod, claimName, pv)) {
    return { kind: "blocking", reason: "read-only-mount" };
  }
  if (phase !== "Running") return { kind: "ignored" };
  return { kind: "eligible" };
}

/** `true` when `pod` uses claim `claimName` only read-only. */
function mountsReadOnly(
  pod: V1Pod,
  claimName: string,
  pv: V1PersistentVolume,
): boolean {
  if (pv.spec?.csi?.readOnly === true) return true;
  const podName = pod.metadata?.name ?? "";
  const volumes = (pod.spec?.volumes ?? []).filter((v) =>
    v.persistentVolumeClaim?.claimName === claimName ||
    (v.ephemeral !== undefined && `${podName}-${v.name}` === claimName)
  );
  if (volumes.length === 0) return false;
  if (volumes.every((v) => v.persistentVolumeClaim?.readOnly === true)) {
    return true;
  }
  const names = new Set(volumes.map((v) => v.name));
  const mounts = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []),
  ].flatMap((c) => c.volumeMounts ?? []).filter((m) => names.has(m.name));
  const devices = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []),
  ].flatMap((c) => c.volumeDevices ?? []).filter((d) => names.has(d.name));
  return devices.length === 0 && mounts.length > 0 &&
    mounts.every((m) => m.readOnly === true);
}

/** The pods on `node` using resource R (through PV claimRefs, admin-owned) with their PV. */
function podsOfResourceOnNode(
  snapshot: Snapshot,
  resource: string,
  node: string,
): { pod: V1Pod; claim: string; pv: V1PersistentVolume }[] {
  const found: { pod: V1Pod; claim: string; pv: V1PersistentVolume }[] = [];
  for (const pv of snapshot.kube.pvsByResource.get(resource) ?? []) {
    const ref = pv.spec?.claimRef;
    if (!ref?.name || !ref.namespace) continue;
    const claimKey = `${ref.namespace}/${ref.name}`;
    const pvc = snapshot.kube.persistentVolumeClaims.get(claimKey);
    // A claim re-created under the same name is not bound to this PV.
    if (pvc !== undefined && ref.uid && pvc.metadata?.uid !== ref.uid) continue;
    for (const pod of snapshot.kube.podsByClaim.get(claimKey) ?? []) {
      if (pod.spec?.nodeName === node) found.push({ pod, claim: ref.name, pv });
    }
  }
  return found;
}

/** The LINSTOR CSI VolumeAttachments of R's PVs on `node`, sorted by name. */
function attachmentsOfResourceOnNode(
  snapshot: Snapshot,
  byPv: ReadonlyMap<string, readonly V1VolumeAttachment[]>,
  resource: string,
  node: string,
): V1VolumeAttachment[] {
  const found: V1VolumeAttachment[] = [];
  for (const pv of snapshot.kube.pvsByResource.get(resource) ?? []) {
    for (const va of byPv.get(pv.metadata?.name ?? "") ?? []) {
      if (va.spec?.nodeName === node) found.push(va);
    }
  }
  return found.sort((a, b) =>
    compareText(a.metadata?.name ?? "", b.metadata?.name ?? "")
  );
}

function attachmentsByPv(
  snapshot: Snapshot,
): Map<string, V1VolumeAttachment[]> {
  const byPv = new Map<string, V1VolumeAttachment[]>();
  for (const va of snapshot.kube.volumeAttachments.values()) {
    if (va.spec?.attacher !== CSI_DRIVER_NAME) continue;
    const pv = va.spec.source?.persistentVolumeName;
    if (!pv) continue;
    const list = byPv.get(pv) ?? [];
    list.push(va);
    byPv.set(pv, list);
  }
  return byPv;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What is to be done on one lost node for one resource. */
interface LostPair {
  readonly resource: string;
  readonly peer: string;
  readonly node: V1Node;
  readonly pods: readonly V1Pod[];
  readonly attachments: readonly V1VolumeAttachment[];
}

/** The DRBD peers this node has at least one connection down to, sorted. */
export function lostPeersOf(drbd: DrbdView): string[] {
  const lost = new Set<string>();
  for (const resource of drbd.resources.values()) {
    for (const connection of resource.connections) {
      if (!isConnected(connection) && connection.peer !== "") {
        lost.add(connection.peer);
      }
    }
  }
  return [...lost].sort();
}

/**
 * Plans one fencing pass: the witness rule for every (resource, peer) whose
 * connection is down, the storm guard, the actions in phases, the taint
 * removals and this node's lost-peers report.
 */
export function planFencing(
  input: FencingInput,
  context: FencingContext,
): FencingPlan {
  const { drbd, snapshot } = input;
  const now = context.now;
  const options = context.options ?? {};
  const failOverTimeoutMs = options.failOverTimeoutMs ??
    FENCING_DEFAULT_FAIL_OVER_TIMEOUT_MS;
  const gracePeriodSeconds = options.gracePeriodSeconds ??
    FENCING_DEFAULT_GRACE_PERIOD_SECONDS;
  const maxFencedNodes = options.maxFencedNodes ??
    FENCING_DEFAULT_MAX_FENCED_NODES;
  const minIntervalMs = options.minFencingIntervalMs ??
    FENCING_DEFAULT_MIN_FENCING_INTERVAL_MS;
  const taints = options.disableNodeTaints !== true;
  if (!drbd.synced) {
    return { actions: [], decisions: [], memory: context.memory, ready: false };
  }
  const decisions: FencingDecision[] = [];
  const actions: FencingActionSpec[] = [];
  const byPv = attachmentsByPv(snapshot);
  const reports = new Map<string, LostPeersReport | undefined>();
  const reportOf = (peer: string) => {
    if (!reports.has(peer)) {
      const node = kubeNodeOfPeer(snapshot, peer);
      reports.set(
        peer,
        decodeLostPeers(
          node?.metadata?.annotations?.[ANNOTATION_FENCING_LOST_PEERS],
        ),
      );
    }
    return reports.get(peer);
  };

  // 1. The witness rule, per resource and down connection.
  const lost: LostPair[] = [];
  for (const resource of drbd.resources.values()) {
    const down = resource.connections.filter((c) => !isConnected(c));
    if (down.length === 0) continue;
    const blocker = localBlocker(resource);
    for (const connection of down) {
      const node = kubeNodeOfPeer(snapshot, connection.peer);
      const decide = (outcome: FencingOutcome, reason: string) =>
        decisions.push({
          resource: resource.name,
          peer: connection.peer,
          node: node?.metadata?.name,
          outcome,
          reason,
        });
      if (blocker !== undefined) {
        decide("skipped", blocker);
        continue;
      }
      if (!connection.seenHealthy) {
        decide("skipped", "never-healthy");
        continue;
      }
      if (node?.metadata?.name === undefined) {
        decide("skipped", "unknown-node");
        continue;
      }
      const nodeName = node.metadata.name;
      if (nodeName === context.nodeName) {
        decide("skipped", "self");
        continue;
      }
      const pods = podsOfResourceOnNode(snapshot, resource.name, nodeName);
      const attachments = attachmentsOfResourceOnNode(
        snapshot,
        byPv,
        resource.name,
        nodeName,
      );
      const eligible: V1Pod[] = [];
      let podBlocker: string | undefined;
      for (const { pod, claim, pv } of pods) {
        const verdict = podVerdict(pod, claim, pv);
        if (verdict.kind === "blocking") podBlocker ??= verdict.reason;
        if (verdict.kind === "eligible") eligible.push(pod);
      }
      if (podBlocker !== undefined) {
        decide("skipped", podBlocker);
        continue;
      }
      if (eligible.length === 0 && attachments.length === 0) {
        decide("skipped", "no-workload");
        continue;
      }
      const downFor = now - (connection.downSince ?? now);
      if (downFor < failOverTimeoutMs) {
        decide("waiting", "fail-over-timeout");
        continue;
      }
      let unconfirmedBy: string | undefined;
      for (const other of resource.connections) {
        if (other === connection || !isConnected(other)) continue;
        const report = reportOf(other.peer);
        if (
          report === undefined || now - report.at > FENCING_REPORT_MAX_AGE_MS ||
          !report.lost.includes(connection.peer)
        ) {
          unconfirmedBy = other.peer;
          break;
        }
      }
      if (unconfirmedBy !== undefined) {
        decide("skipped", `peer-still-connected:${unconfirmedBy}`);
        continue;
      }
      lost.push({
        resource: resource.name,
        peer: connection.peer,
        node,
        pods: eligible,
        attachments,
      });
    }
  }

  // 2. The storm guard, per node.
  const lostNodes = new Map<string, LostPair[]>();
  for (const pair of lost) {
    const name = pair.node.metadata!.name!;
    const list = lostNodes.get(name) ?? [];
    list.push(pair);
    lostNodes.set(name, list);
  }
  const fenceStarts = new Map<string, number>();
  for (const [node, at] of context.memory.fenceStarts) {
    if (lostNodes.has(node)) fenceStarts.set(node, at);
  }
  const fenced = new Set<string>(fenceStarts.keys());
  for (const node of snapshot.kube.nodes.values()) {
    if (hasLostQuorumTaint(node) && node.metadata?.name) {
      fenced.add(node.metadata.name);
    }
  }
  let lastStart = context.memory.lastFenceStartAt ?? -Infinity;
  const allowed = new Set<string>();
  const heldReported = new Set<string>();
  for (const node of [...lostNodes.keys()].sort()) {
    const kubeNode = snapshot.kube.nodes.get(node)!;
    const started = fenceStarts.has(node) ||
      (taints && hasLostQuorumTaint(kubeNode));
    let held: string | undefined;
    if (!started) {
      if (!fenced.has(node) && fenced.size + 1 > maxFencedNodes) {
        held = "storm-guard-max-fenced-nodes";
      } else if (now - lastStart < minIntervalMs) {
        held = "storm-guard-rate-limit";
      }
    }
    if (held !== undefined) {
      heldReported.add(node);
      if (!context.memory.heldReported?.has(node)) {
        actions.push({
          name: "ReportFencingHeld",
          key: `node/${node}/held`,
          phase: 1,
          node,
          uid: kubeNode.metadata?.uid ?? "",
          reason: held,
          summary: `report that fencing node ${node} is held back (${held})`,
        });
      }
      for (const pair of lostNodes.get(node)!) {
        decisions.push({
          resource: pair.resource,
          peer: pair.peer,
          node,
          outcome: "held",
          reason: held,
        });
      }
      continue;
    }
    if (!fenceStarts.has(node)) {
      fenceStarts.set(node, now);
      if (!started) lastStart = now;
    }
    fenced.add(node);
    allowed.add(node);
  }

  // 3. The actions on each allowed node.
  for (const node of allowed) {
    const kubeNode = snapshot.kube.nodes.get(node)!;
    const pairs = lostNodes.get(node)!;
    const ready = isNodeReady(kubeNode);
    if (taints && !hasLostQuorumTaint(kubeNode)) {
      const resources = pairs.map((p) => p.resource).sort();
      actions.push({
        name: "TaintNode",
        key: `node/${node}`,
        phase: 1,
        node,
        uid: kubeNode.metadata?.uid ?? "",
        timeAdded: new Date(now).toISOString(),
        resources,
        summary: `taint node ${node} ${TAINT_LOST_QUORUM}:NoSchedule (lost ${
          resources.join(", ")
        })`,
      });
    }
    const seenPods = new Set<string>();
    for (const pair of pairs) {
      decisions.push({
        resource: pair.resource,
        peer: pair.peer,
        node,
        outcome: "fence",
        reason: ready ? "node-ready-evict" : "node-not-ready-force-delete",
      });
      for (const pod of pair.pods) {
        const namespace = pod.metadata?.namespace ?? "";
        const name = pod.metadata?.name ?? "";
        const uid = pod.metadata?.uid ?? "";
        const key = `pod/${namespace}/${name}@${uid}`;
        const terminating = pod.metadata?.deletionTimestamp !== undefined;
        if (ready && terminating) continue; // already being evicted
        if (seenPods.has(key)) continue;
        seenPods.add(key);
        actions.push({
          name: ready ? "EvictPod" : "ForceDeletePod",
          key,
          phase: 2,
          node,
          namespace,
          pod: name,
          uid,
          resource: pair.resource,
          gracePeriodSeconds: ready ? gracePeriodSeconds : 0,
          summary: ready
            ? `evict pod ${namespace}/${name} from node ${node} (grace ${gracePeriodSeconds}s): ${pair.resource} lost there`
            : `force-delete pod ${namespace}/${name} on NotReady node ${node}: ${pair.resource} lost there`,
        });
      }
      for (const va of pair.attachments) {
        const name = va.metadata?.name ?? "";
        actions.push({
          name: "DeleteVolumeAttachment",
          key: `volumeattachment/${name}@${va.metadata?.uid ?? ""}`,
          phase: 3,
          node,
          attachment: name,
          uid: va.metadata?.uid ?? "",
          resource: pair.resource,
          gracePeriodSeconds: ready ? gracePeriodSeconds : 0,
          summary:
            `delete VolumeAttachment ${name} of ${pair.resource} on node ${node}`,
        });
      }
    }
  }

  // 4. Taint removal: this node once its storage is quorate, any node for a
  //    peer it is connected to on every shared resource.
  if (taints) {
    for (
      const node of [...snapshot.kube.nodes.values()].sort((a, b) =>
        compareText(a.metadata?.name ?? "", b.metadata?.name ?? "")
      )
    ) {
      const name = node.metadata?.name;
      if (!name || !hasLostQuorumTaint(node) || lostNodes.has(name)) continue;
      const healed = name === context.nodeName
        ? ownStorageHealthy(drbd)
        : connectedEverywhere(drbd, snapshot, name);
      if (!healed) continue;
      actions.push({
        name: "UntaintNode",
        key: `node/${name}`,
        phase: 1,
        node: name,
        uid: node.metadata?.uid ?? "",
        summary: name === context.nodeName
          ? `remove ${TAINT_LOST_QUORUM} from this node ${name}: its storage has quorum again`
          : `remove ${TAINT_LOST_QUORUM} from node ${name}: connected on every shared resource`,
      });
    }
  }

  // 5. This node's lost-peers report.
  const self = snapshot.kube.nodes.get(context.nodeName);
  if (self?.metadata?.uid) {
    const lostPeers = lostPeersOf(drbd);
    const current = decodeLostPeers(
      self.metadata.annotations?.[ANNOTATION_FENCING_LOST_PEERS],
    );
    const same = current !== undefined &&
      current.lost.length === lostPeers.length &&
      [...current.lost].sort().every((p, i) => p === lostPeers[i]);
    const stale = current !== undefined && lostPeers.length > 0 &&
      now - current.at >= FENCING_REPORT_REFRESH_MS;
    if (
      !(same && !stale) && !(current === undefined && lostPeers.length === 0)
    ) {
      actions.push({
        name: "PublishLostPeers",
        key: `node/${context.nodeName}/lost-peers`,
        phase: 1,
        node: context.nodeName,
        uid: self.metadata.uid,
        report: encodeLostPeers({ at: now, lost: lostPeers }),
        summary: `publish lost peers [${
          lostPeers.join(", ")
        }] on node ${context.nodeName}`,
      });
    }
  }

  actions.sort((a, b) => a.phase - b.phase || compareText(a.key, b.key));
  decisions.sort((a, b) =>
    compareText(a.resource, b.resource) || compareText(a.peer, b.peer)
  );
  return {
    actions,
    decisions,
    memory: {
      fenceStarts,
      lastFenceStartAt: Number.isFinite(lastStart) ? lastStart : undefined,
      heldReported,
    },
    ready: true,
  };
}

/** Every local resource with a quorum policy has quorum on every device. */
function ownStorageHealthy(drbd: DrbdView): boolean {
  for (const resource of drbd.resources.values()) {
    if (!isQuorumPolicyEnabled(resource.quorumPolicy)) continue;
    if (resource.devices.some((d) => d.quorum !== true)) return false;
  }
  return true;
}

/** This node shares a resource with `node` and is connected to it on every one. */
function connectedEverywhere(
  drbd: DrbdView,
  snapshot: Snapshot,
  node: string,
): boolean {
  let shared = 0;
  for (const resource of drbd.resources.values()) {
    for (const connection of resource.connections) {
      if (kubeNodeOfPeer(snapshot, connection.peer)?.metadata?.name !== node) {
        continue;
      }
      shared++;
      if (!isConnected(connection)) return false;
    }
  }
  return shared > 0;
}
