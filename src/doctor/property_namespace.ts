/**
 * The property namespace check: what the modes will detect from LINSTOR's
 * nodes (the domain's one rule), whether every node follows that layout, and
 * whether a configured `--property-namespace` agrees.
 *
 * @module
 */
import {
  hasTopologyHostname,
  propertyNamespaceOfNodes,
  propertyNamespaceSetting,
  TOPOLOGY_HOSTNAME_PROPERTY,
} from "../domain/mod.ts";
import { PROPERTY_NAMESPACE_TOPOLOGY } from "../constants.ts";
import { type Check, fail, ok, warn } from "./check.ts";

/** A LINSTOR node as the check needs it. */
export interface NamespaceNode {
  readonly name: string;
  readonly props?: Readonly<Record<string, string>>;
}

const NAME = "property namespace";
const SHOWN_NODES = 5;

/**
 * Checks the property namespace of `nodes` against `setting` (the
 * `--property-namespace` value; empty or `auto` detects).
 */
export function propertyNamespaceChecks(
  nodes: readonly NamespaceNode[],
  options: { setting?: string | undefined } = {},
): Check[] {
  if (nodes.length === 0) {
    return [warn(
      NAME,
      "LINSTOR has no nodes: nothing to detect from",
      "register the satellites (piraeus-operator does) before running the suite",
    )];
  }
  const detected = propertyNamespaceOfNodes(nodes);
  const setting = propertyNamespaceSetting(options.setting);
  const checks: Check[] = [];
  if (detected === PROPERTY_NAMESPACE_TOPOLOGY) {
    const without = nodes.filter((n) => !hasTopologyHostname(n.props ?? {}))
      .map((n) => n.name).sort();
    if (without.length > 0) {
      checks.push(fail(
        NAME,
        `${without.length} of ${nodes.length} LINSTOR node(s) lack ${TOPOLOGY_HOSTNAME_PROPERTY} (${
          shortList(without)
        }) while the others have it: their topology is invisible under ${detected}`,
        `give every node the same layout (piraeus-operator v2 writes ${PROPERTY_NAMESPACE_TOPOLOGY}/*: check its LinstorSatelliteConfiguration), or drop the stray Aux/topology properties`,
      ));
    }
  }
  if (setting !== undefined && setting !== detected) {
    checks.push(fail(
      NAME,
      `--property-namespace is "${setting}" but the LINSTOR nodes use "${detected}"`,
      `set --property-namespace=${detected} (or leave it empty to detect) in every mode`,
    ));
  }
  if (checks.length === 0) {
    checks.push(ok(
      NAME,
      setting === undefined
        ? `${detected} (detected from ${nodes.length} node(s))`
        : `${setting} (configured; matches the ${nodes.length} node(s))`,
    ));
  }
  return checks;
}

function shortList(names: readonly string[]): string {
  return names.length > SHOWN_NODES
    ? `${names.slice(0, SHOWN_NODES).join(", ")}, …`
    : names.join(", ");
}
