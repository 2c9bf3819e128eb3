/**
 * Fencing actions made executable: each planned {@linkcode FencingActionSpec}
 * becomes an idempotent `Operation` with a UID precondition, NotFound
 * counted as done, and an Event.
 *
 * Order: an action of phase N on node P starts its Kubernetes call only
 * after every action of an earlier phase on P in the same pass succeeded
 * (taint before pods, pods before VolumeAttachments); when one failed, the
 * later ones fail too and the next pass plans again.
 *
 * @module
 */
import type { V1Node, V1Taint } from "@kubernetes/client-node";
import {
  ANNOTATION_FENCING_LOST_PEERS,
  EVENT_REASON_FENCING_HELD,
  EVENT_REASON_NODE_STORAGE_QUORUM_LOST,
  EVENT_REASON_NODE_STORAGE_QUORUM_REGAINED,
  EVENT_REASON_VOLUME_WITHOUT_QUORUM,
  FENCING_ACTION_DELETED_VOLUME_ATTACHMENT,
  FENCING_ACTION_EVICTED_POD,
  FENCING_ACTION_FORCE_DELETED_POD,
  FENCING_ACTION_HELD,
  FENCING_ACTION_TAINTED_NODE,
  FENCING_ACTION_UNTAINTED_NODE,
  TAINT_LOST_QUORUM,
} from "../../constants.ts";
import { isNotFound, type KubeApi } from "../../kube/mod.ts";
import type { Operation } from "../../reconcile/mod.ts";
import type { FencingActionSpec } from "./plan.ts";

/** The part of the Kubernetes port fencing uses. */
export type FencingKube = Pick<
  KubeApi,
  "get" | "patch" | "evict" | "delete" | "recordEvent"
>;

/** Called after each action with its outcome (metrics). */
export type ActionObserver = (
  action: FencingActionSpec["name"],
  outcome: "done" | "gone" | "error",
) => void;

interface Settled {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function settled(): Settled {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // observed through dependents only
  return { promise, resolve, reject };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), {
      once: true,
    });
  });
}

/**
 * The operations of one pass, in the order of `specs` (phase, then key),
 * each waiting for the earlier phases on its node.
 */
export function fencingOperations(
  specs: readonly FencingActionSpec[],
  deps: { kube: FencingKube; observe?: ActionObserver },
): Operation[] {
  const done = new Map<FencingActionSpec, Settled>();
  for (const spec of specs) done.set(spec, settled());
  return specs.map((spec): Operation => {
    const before = specs.filter((other) =>
      other.node === spec.node && other.phase < spec.phase
    ).map((other) => done.get(other)!.promise);
    const mine = done.get(spec)!;
    return {
      name: spec.name,
      key: spec.key,
      summary: spec.summary,
      leaderOnly: false,
      async execute(signal: AbortSignal): Promise<void> {
        try {
          if (before.length > 0) {
            try {
              await Promise.race([Promise.all(before), aborted(signal)]);
            } catch (error) {
              throw new Error(
                `Cannot ${spec.summary}: an earlier step on node "${spec.node}" did not succeed`,
                { cause: error },
              );
            }
          }
          const gone = await executeAction(spec, deps.kube, signal);
          deps.observe?.(spec.name, gone ? "gone" : "done");
          mine.resolve();
        } catch (error) {
          deps.observe?.(spec.name, "error");
          mine.reject(error);
          throw error;
        }
      },
    };
  });
}

/** Performs one action; `true` when its target was already gone (NotFound). */
async function executeAction(
  spec: FencingActionSpec,
  kube: FencingKube,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    switch (spec.name) {
      case "TaintNode":
        await taintNode(spec, kube, signal);
        return false;
      case "UntaintNode":
        await untaintNode(spec, kube, signal);
        return false;
      case "EvictPod":
      case "ForceDeletePod": {
        const ref = { namespace: spec.namespace, name: spec.pod };
        if (spec.name === "EvictPod") {
          await kube.evict(ref, {
            uid: spec.uid,
            gracePeriodSeconds: spec.gracePeriodSeconds,
            signal,
          });
        } else {
          await kube.delete({ ...ref, kind: "pods" }, {
            preconditions: { uid: spec.uid },
            gracePeriodSeconds: 0,
            signal,
          });
        }
        await kube.recordEvent({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { ...ref, uid: spec.uid },
        }, {
          type: "Warning",
          reason: EVENT_REASON_VOLUME_WITHOUT_QUORUM,
          action: spec.name === "EvictPod"
            ? FENCING_ACTION_EVICTED_POD
            : FENCING_ACTION_FORCE_DELETED_POD,
          message: spec.name === "EvictPod"
            ? `Pod evicted from node ${spec.node}: its volume ${spec.resource} lost its storage there (opted in with the on-storage-lost label)`
            : `Pod force-deleted from NotReady node ${spec.node}: its volume ${spec.resource} lost its storage there (opted in with the on-storage-lost label)`,
          related: {
            apiVersion: "v1",
            kind: "Node",
            metadata: { name: spec.node },
          },
        });
        return false;
      }
      case "DeleteVolumeAttachment":
        await kube.delete(
          { kind: "volumeAttachments", name: spec.attachment },
          {
            preconditions: { uid: spec.uid },
            gracePeriodSeconds: spec.gracePeriodSeconds,
            signal,
          },
        );
        await kube.recordEvent({
          apiVersion: "storage.k8s.io/v1",
          kind: "VolumeAttachment",
          metadata: { name: spec.attachment, uid: spec.uid },
        }, {
          type: "Warning",
          reason: EVENT_REASON_VOLUME_WITHOUT_QUORUM,
          action: FENCING_ACTION_DELETED_VOLUME_ATTACHMENT,
          message:
            `VolumeAttachment of ${spec.resource} force-detached from node ${spec.node}: the node lost its storage`,
        });
        return false;
      case "ReportFencingHeld":
        await kube.recordEvent({
          apiVersion: "v1",
          kind: "Node",
          metadata: { name: spec.node, uid: spec.uid },
        }, {
          type: "Warning",
          reason: EVENT_REASON_FENCING_HELD,
          action: FENCING_ACTION_HELD,
          message:
            `Node lost its storage but fencing is held back by the storm guard (${spec.reason}): raise --max-fenced-nodes or wait for --min-fencing-interval`,
        });
        return false;
      case "PublishLostPeers":
        await kube.patch({ kind: "nodes", name: spec.node }, {
          type: "merge",
          body: {
            metadata: {
              uid: spec.uid,
              annotations: { [ANNOTATION_FENCING_LOST_PEERS]: spec.report },
            },
          },
        }, { signal });
        return false;
    }
  } catch (error) {
    if (isNotFound(error)) return true;
    throw error;
  }
}

function nodeRef(node: V1Node) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: node.metadata?.name,
      uid: node.metadata?.uid,
    },
  };
}

function checkUid(node: V1Node, uid: string, what: string): void {
  if (uid !== "" && node.metadata?.uid !== uid) {
    throw new Error(
      `Cannot ${what} node "${node.metadata?.name}": its UID changed (the node was re-created)`,
    );
  }
}

/**
 * Reads Node `name`, checks its UID, and writes `change(taints)` with the
 * node's UID and resourceVersion as preconditions. Resolves to the node
 * when it wrote, `undefined` when `change` says nothing is to be done.
 */
async function changeTaints(
  kube: FencingKube,
  spec: { node: string; uid: string },
  options: {
    what: string;
    signal: AbortSignal;
    // Wire objects: `timeAdded` is sent as an RFC 3339 string.
    change: (taints: V1Taint[]) => readonly object[] | undefined;
  },
): Promise<V1Node | undefined> {
  const { signal } = options;
  const node = await kube.get({ kind: "nodes", name: spec.node }, { signal });
  checkUid(node, spec.uid, options.what);
  const taints = options.change(node.spec?.taints ?? []);
  if (taints === undefined) return undefined;
  await kube.patch({ kind: "nodes", name: spec.node }, {
    type: "merge",
    body: {
      metadata: {
        uid: node.metadata?.uid,
        resourceVersion: node.metadata?.resourceVersion,
      },
      spec: { taints },
    },
  }, { signal });
  return node;
}

function hasLostQuorumTaint(taints: readonly V1Taint[]): boolean {
  return taints.some((t) => t.key === TAINT_LOST_QUORUM);
}

async function taintNode(
  spec: Extract<FencingActionSpec, { name: "TaintNode" }>,
  kube: FencingKube,
  signal: AbortSignal,
): Promise<void> {
  const node = await changeTaints(kube, spec, {
    what: "taint",
    signal,
    change: (taints) =>
      hasLostQuorumTaint(taints) ? undefined : [
        ...taints,
        {
          key: TAINT_LOST_QUORUM,
          effect: "NoSchedule",
          timeAdded: spec.timeAdded,
        },
      ],
  });
  if (node === undefined) return;
  await kube.recordEvent(nodeRef(node), {
    type: "Warning",
    reason: EVENT_REASON_NODE_STORAGE_QUORUM_LOST,
    action: FENCING_ACTION_TAINTED_NODE,
    message: `Tainted ${TAINT_LOST_QUORUM}:NoSchedule: the node lost ${
      spec.resources.join(", ")
    } (seen from a peer that kept quorum)`,
  });
}

async function untaintNode(
  spec: Extract<FencingActionSpec, { name: "UntaintNode" }>,
  kube: FencingKube,
  signal: AbortSignal,
): Promise<void> {
  const node = await changeTaints(kube, spec, {
    what: "untaint",
    signal,
    change: (taints) =>
      hasLostQuorumTaint(taints)
        ? taints.filter((t) => t.key !== TAINT_LOST_QUORUM)
        : undefined,
  });
  if (node === undefined) return;
  await kube.recordEvent(nodeRef(node), {
    type: "Normal",
    reason: EVENT_REASON_NODE_STORAGE_QUORUM_REGAINED,
    action: FENCING_ACTION_UNTAINTED_NODE,
    message: `Removed ${TAINT_LOST_QUORUM}: ${spec.summary}`,
  });
}
