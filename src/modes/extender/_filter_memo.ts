/**
 * What a filter leaves for the prioritize of the same pod: kube-scheduler
 * sends prioritize right after filter, with the same pod and the names that
 * passed. A hit reuses the filter's candidate records and capacity fits, so
 * prioritize only scores; the answer is the one a fresh computation gives.
 *
 * A hit needs the same snapshot object, the same reservations (version), the
 * same pod (UID and its full JSON, not only its name: the extender's port
 * may be reachable by tenants, who must not be able to plant fits for
 * another pod), and exactly the passing names in order, with the same labels
 * when Node objects were sent. Anything else is a miss and computed afresh.
 *
 * @module
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { Snapshot } from "../../state/types.ts";
import type { Candidate, EvalContext } from "./_context.ts";
import type { NodeMemo } from "./_predicates.ts";
import type { ExtenderArgs } from "./_wire.ts";

/** Entries kept at most (one scheduling cycle needs one). */
const FILTER_MEMO_SIZE = 4;

/** The part of a filter a prioritize of the same pod may reuse. */
export interface FilterMemoEntry {
  /** The decoded request of the filter. */
  readonly args: ExtenderArgs;
  readonly snapshot: Snapshot;
  /** Reservations version after the filter applied its changes. */
  readonly version: number;
  /** Names that passed, in request order. */
  readonly passed: readonly string[];
  /** Candidate records of `passed`, aligned with it. */
  readonly candidates: readonly Candidate[];
  /** Capacity fits by position in `candidates`. */
  readonly memo: NodeMemo;
  /** Claims the filter reserved or refreshed on nodes among `candidates` only. */
  readonly rebuilt: ReadonlySet<string>;
  /**
   * Prioritize's scores of `candidates`, worked out in the filter's pass with
   * the same fits (`undefined` when the pass did not score).
   */
  readonly scores?: readonly number[] | undefined;
  /** The filter's evaluation context (the same pod over the same snapshot). */
  readonly context?: EvalContext | undefined;
}

/** What a prioritize looks up with. */
export interface FilterMemoKey {
  readonly args: ExtenderArgs;
  readonly names: readonly string[];
  readonly snapshot: Snapshot;
  readonly version: number;
}

/** A small bounded memo of the latest filters, each taken at most once. */
export class FilterMemo {
  readonly #entries: FilterMemoEntry[] = [];
  #podTexts = new WeakMap<V1Pod, string>();

  /** Number of entries held. */
  get size(): number {
    return this.#entries.length;
  }

  /** Keeps `entry`, dropping the oldest beyond the bound and any of older snapshots. */
  remember(entry: FilterMemoEntry): void {
    this.#drop((e) => e.snapshot !== entry.snapshot);
    this.#entries.push(entry);
    if (this.#entries.length > FILTER_MEMO_SIZE) this.#entries.shift();
  }

  /** The entry of the same pod, snapshot, reservations and names (removed), else `undefined`. */
  take(key: FilterMemoKey): FilterMemoEntry | undefined {
    this.#drop((e) => e.snapshot !== key.snapshot || e.version !== key.version);
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i]!;
      if (!this.#matches(entry, key)) continue;
      this.#entries.splice(i, 1);
      return entry;
    }
    return undefined;
  }

  #matches(entry: FilterMemoEntry, key: FilterMemoKey): boolean {
    if (entry.args === key.args) {
      // The very body the filter got (decoded once): same pod and nodes.
      return sameNames(entry.passed, key.names);
    }
    const pod = key.args.pod;
    const before = entry.args.pod;
    return pod.metadata?.uid === before.metadata?.uid &&
      sameNames(entry.passed, key.names) &&
      this.#podText(pod) === this.#podText(before) &&
      sameNodes(entry.candidates, key.args.nodes, key.snapshot);
  }

  #podText(pod: V1Pod): string {
    let text = this.#podTexts.get(pod);
    if (text === undefined) {
      text = JSON.stringify(pod);
      this.#podTexts.set(pod, text);
    }
    return text;
  }

  #drop(stale: (entry: FilterMemoEntry) => boolean): void {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if (stale(this.#entries[i]!)) this.#entries.splice(i, 1);
    }
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  // The filter's own names when every node passed, and prioritize got the
  // very body the filter did (decoded once).
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether the Node objects of a request give the same candidate records:
 * for every candidate, a Node of its name with the same labels (all the
 * extender reads of a Node), or none and the snapshot's Node as before.
 */
function sameNodes(
  candidates: readonly Candidate[],
  nodes: readonly V1Node[] | undefined,
  snapshot: Snapshot,
): boolean {
  const byName = new Map<string, V1Node>();
  for (const node of nodes ?? []) byName.set(node.metadata?.name ?? "", node);
  for (const candidate of candidates) {
    const node = byName.get(candidate.name);
    if (node === undefined) {
      if (candidate.kubeNode !== snapshot.kube.nodes.get(candidate.name)) {
        return false;
      }
    } else if (
      candidate.kubeNode === undefined ||
      !sameLabels(candidate.kubeNode.metadata?.labels, node.metadata?.labels)
    ) {
      return false;
    }
  }
  return true;
}

function sameLabels(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (a![k] !== b?.[k]) return false;
  return true;
}
