/**
 * The LINSTOR property namespace of node topology (`Aux/topology` with
 * piraeus-operator v2, `Aux` with linstor-csi's default): one rule for every
 * mode, decided once per process.
 *
 * @module
 */
import {
  PROPERTY_NAMESPACE_AUX,
  PROPERTY_NAMESPACE_TOPOLOGY,
} from "../constants.ts";
import type { Snapshot } from "../state/types.ts";

/** The property that marks the operator v2 layout when set (non-empty) on any node. */
const TOPOLOGY_HOSTNAME_KEY =
  `${PROPERTY_NAMESPACE_TOPOLOGY}/kubernetes.io/hostname`;

/**
 * The namespace a `--property-namespace` flag or `propertyNamespace` config
 * value asks for: `undefined` (detect) for no value, `""` or `auto`; else the
 * value without trailing `/` (`Aux/topology/` is `Aux/topology`).
 */
export function propertyNamespaceSetting(
  value: string | undefined,
): string | undefined {
  if (value === undefined || value === "" || value === "auto") return undefined;
  const trimmed = value.replace(/\/+$/, "");
  return trimmed === "" ? undefined : trimmed;
}

/**
 * Detects the namespace as linstor-affinity-controller does: `Aux/topology`
 * when any LINSTOR node has a non-empty `Aux/topology/kubernetes.io/hostname`
 * property, else `Aux`; `undefined` while LINSTOR has not been read (no
 * decision from missing data).
 */
export function detectPropertyNamespace(
  snapshot: Snapshot,
): string | undefined {
  if (snapshot.linstor.observedAt === undefined) return undefined;
  return propertyNamespaceOfNodes(snapshot.linstor.nodes.values());
}

/**
 * The detection rule over LINSTOR nodes' properties: `Aux/topology` when any
 * node {@linkcode hasTopologyHostname}, else `Aux`.
 */
export function propertyNamespaceOfNodes(
  nodes: Iterable<{ readonly props?: Readonly<Record<string, string>> }>,
): string {
  for (const node of nodes) {
    if (hasTopologyHostname(node.props ?? {})) {
      return PROPERTY_NAMESPACE_TOPOLOGY;
    }
  }
  return PROPERTY_NAMESPACE_AUX;
}

/** True when `props` carry a non-empty `Aux/topology/kubernetes.io/hostname` (the operator v2 layout). */
export function hasTopologyHostname(
  props: Readonly<Record<string, string>>,
): boolean {
  return (props[TOPOLOGY_HOSTNAME_KEY] ?? "") !== "";
}

/** The property whose presence marks a node as laid out under `Aux/topology`. */
export const TOPOLOGY_HOSTNAME_PROPERTY = TOPOLOGY_HOSTNAME_KEY;

/** Options of {@linkcode PropertyNamespaceLatch}. */
export interface PropertyNamespaceLatchOptions {
  /** Called once with the detected namespace (to log it). */
  onDetected?: (namespace: string) => void;
}

/**
 * The namespace of one process: the setting when one is given, else
 * `detectPropertyNamespace()` of the first snapshot with LINSTOR data, kept
 * from then on (it never flips mid-run, even if nodes are relabelled).
 */
export class PropertyNamespaceLatch {
  #value: string | undefined;
  #onDetected: ((namespace: string) => void) | undefined;

  /** `setting` is a flag or config value as `propertyNamespaceSetting()` reads it. */
  constructor(
    setting: string | undefined,
    options: PropertyNamespaceLatchOptions = {},
  ) {
    this.#value = propertyNamespaceSetting(setting);
    this.#onDetected = options.onDetected;
  }

  /** The namespace, decided from `snapshot` if not yet; `undefined` while LINSTOR was never read. */
  of(snapshot: Snapshot): string | undefined {
    if (this.#value === undefined) {
      this.#value = detectPropertyNamespace(snapshot);
      if (this.#value !== undefined) this.#onDetected?.(this.#value);
    }
    return this.#value;
  }
}
