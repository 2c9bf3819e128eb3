/**
 * The named filter predicates. Each returns `undefined` when the node passes,
 * else a short reason and whether only a cluster change can help.
 *
 * @module
 */
import type { PredicateName } from "./_config.ts";
import type { Candidate, EvalContext } from "./_context.ts";
import { type Fit, fitOnNode } from "./_capacity.ts";
import { inTopologies } from "../../csi/mod.ts";
import { matchesSelector } from "./_selector.ts";

/** A rejected node's reason. */
export interface Verdict {
  /** The failing predicate; `cache` when our cache lags the apiserver. */
  readonly predicate: PredicateName | "cache";
  readonly reason: string;
  /** `true` → `FailedAndUnresolvableNodes` (preemption cannot help). */
  readonly unresolvable: boolean;
}

/**
 * Per-request node data shared by predicates and scorers: the capacity fit of
 * each candidate, stored by the candidate's position (`at(i)`), which is
 * cheaper than a map at thousands of nodes.
 */
export class NodeMemo {
  readonly #size: number;
  // Made on the first fit kept: the filter's packed pass keeps none.
  #fits: (Fit | undefined)[] | undefined;
  #nodes: (string | undefined)[] | undefined;
  #slot = -1;

  /** `size`: how many candidates it will hold (room is made at the first fit). */
  constructor(size = 0) {
    this.#size = size;
  }

  /** Selects the slot of the candidate at position `slot` of the request. */
  at(slot: number): this {
    this.#slot = slot;
    return this;
  }

  /** A memo of the candidates at `slots` (in that order), sharing their fits. */
  subset(slots: readonly number[]): NodeMemo {
    const out = new NodeMemo(slots.length);
    const fits = this.#fits;
    const nodes = this.#nodes;
    if (fits === undefined || nodes === undefined) return out;
    const outFits: (Fit | undefined)[] = new Array(slots.length);
    const outNodes: (string | undefined)[] = new Array(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const from = slots[i]!;
      if (nodes[from] === undefined) continue;
      outFits[i] = fits[from];
      outNodes[i] = nodes[from];
    }
    out.#fits = outFits;
    out.#nodes = outNodes;
    return out;
  }

  /** The capacity fit of the pod's pending volumes on a candidate's LINSTOR node. */
  fit(context: EvalContext, node: Candidate): Fit {
    const slot = this.#slot;
    const name = node.linstor?.name;
    if (slot >= 0 && name !== undefined && this.#nodes?.[slot] === name) {
      return this.#fits![slot]!;
    }
    const fit = fitOnNode(context, node);
    if (slot >= 0) {
      (this.#fits ??= new Array(this.#size))[slot] = fit;
      (this.#nodes ??= new Array(this.#size))[slot] = name;
    }
    return fit;
  }
}

/** A filter predicate. */
export type Predicate = (
  context: EvalContext,
  node: Candidate,
  memo: NodeMemo,
) => Verdict | undefined;

/** Whether the satellite predicate can reject a node for this request: the pod has LINSTOR volumes. */
function satelliteApplies(context: EvalContext): boolean {
  return context.volumes.usesLinstor;
}

/** Whether the access predicate can reject a node: a bound volume's policy restricts access. */
function accessApplies(context: EvalContext): boolean {
  return context.accessChecks().length > 0;
}

/** Whether the selectors predicate can reject a node: a claim has a node or pool selector. */
function selectorsApplies(context: EvalContext): boolean {
  return context.hasSelectors;
}

/** Whether the capacity predicate can reject a node: a pending volume's capacity check is hard. */
function capacityApplies(context: EvalContext): boolean {
  return context.hasHardCapacity;
}

/** satellite: a pod with LINSTOR volumes needs an ONLINE LINSTOR satellite on the node. */
export function satellitePredicate(
  context: EvalContext,
  node: Candidate,
): Verdict | undefined {
  if (!satelliteApplies(context)) return undefined;
  // The verdict depends on the node alone: kept on its shared record.
  const cached = node.satellite;
  if (cached !== undefined) return cached ?? undefined;
  const verdict = satelliteVerdict(node);
  node.satellite = verdict ?? null;
  return verdict;
}

/** The satellite rule on one node. */
function satelliteVerdict(node: Candidate): Verdict | undefined {
  const linstor = node.linstor;
  if (!linstor) {
    return {
      predicate: "satellite",
      reason: "no LINSTOR satellite on this node",
      unresolvable: true,
    };
  }
  if (linstor.flags.includes("EVICTED") || linstor.flags.includes("DELETE")) {
    return {
      predicate: "satellite",
      reason: `LINSTOR node ${linstor.name} is ${
        linstor.flags.includes("DELETE") ? "being deleted" : "evicted"
      }`,
      unresolvable: true,
    };
  }
  if (!linstor.online) {
    return {
      predicate: "satellite",
      reason:
        `LINSTOR satellite ${linstor.name} is ${linstor.connectionStatus}`,
      unresolvable: false,
    };
  }
  return undefined;
}

/** access: bound volumes whose remote-access policy excludes this node. */
export function accessPredicate(
  context: EvalContext,
  node: Candidate,
): Verdict | undefined {
  if (!accessApplies(context)) return undefined;
  const checks = context.accessChecks();
  const segments = node.linstor
    ? context.index.segmentsOf(node.linstor.name)
    : undefined;
  for (const { volume, topologies } of checks) {
    if (segments && inTopologies(topologies, segments)) continue;
    const placement = context.placement(volume.resource);
    const where =
      placement && placement.current.size + placement.syncing.size > 0
        ? [...placement.current, ...placement.syncing].sort().join(", ")
        : "none";
    const rule = (volume.policy ?? []).map((r) => r.fromSame.join("+")).join(
      " or ",
    );
    return {
      predicate: "access",
      reason:
        `claim ${volume.claim}: volume ${volume.resource} allows access only from the same ${rule} ` +
        `as a diskful replica (on ${where})`,
      unresolvable: true,
    };
  }
  return undefined;
}

/** selectors: node and storage-pool label selectors from claim / class annotations. */
export function selectorsPredicate(
  context: EvalContext,
  node: Candidate,
): Verdict | undefined {
  if (!selectorsApplies(context)) return undefined;
  const labels = node.kubeNode?.metadata?.labels ?? {};
  for (const volume of context.allVolumes) {
    const spec = volume.nodeSelector;
    if (!spec) continue;
    if (spec.error !== undefined) {
      return {
        predicate: "selectors",
        reason: `claim ${volume.claim}: invalid node selector: ${spec.error}`,
        unresolvable: true,
      };
    }
    if (!matchesSelector(spec.selector, labels)) {
      return {
        predicate: "selectors",
        reason:
          `claim ${volume.claim}: node labels do not match "${spec.text}"`,
        unresolvable: true,
      };
    }
  }
  for (const volume of context.volumes.pending) {
    const spec = volume.poolSelector;
    if (!spec) continue;
    if (spec.error !== undefined) {
      return {
        predicate: "selectors",
        reason:
          `claim ${volume.claim}: invalid storage pool selector: ${spec.error}`,
        unresolvable: true,
      };
    }
    if (
      !node.linstor ||
      context.candidatePools(node.linstor.name, volume).length === 0
    ) {
      return {
        predicate: "selectors",
        reason: `claim ${volume.claim}: no storage pool matches "${spec.text}"`,
        unresolvable: true,
      };
    }
  }
  return undefined;
}

/** capacity: unbound WaitForFirstConsumer volumes that need a local replica must fit. */
export function capacityPredicate(
  context: EvalContext,
  node: Candidate,
  memo: NodeMemo,
): Verdict | undefined {
  if (!capacityApplies(context)) return undefined;
  if (!node.linstor) {
    return {
      predicate: "capacity",
      reason: "no LINSTOR satellite on this node",
      unresolvable: true,
    };
  }
  const failures = memo.fit(context, node).failures;
  if (failures.length === 0) return undefined;
  const failure = failures.find((f) => f.hard);
  if (!failure) return undefined;
  return {
    predicate: "capacity",
    reason: failure.reason,
    unresolvable: !failure.onlyReservations,
  };
}

/**
 * Whether each predicate can reject any node for a request (the same checks
 * the predicates start with): the filter leaves out those that cannot, so
 * they cost nothing per node.
 */
export const PREDICATE_APPLIES: Readonly<
  Record<PredicateName, (context: EvalContext) => boolean>
> = Object.freeze({
  satellite: satelliteApplies,
  access: accessApplies,
  selectors: selectorsApplies,
  capacity: capacityApplies,
});

/** The predicates by name. */
export const PREDICATES: Readonly<Record<PredicateName, Predicate>> = Object
  .freeze({
    satellite: satellitePredicate,
    access: accessPredicate,
    selectors: selectorsPredicate,
    capacity: capacityPredicate,
  });
