/**
 * `extender explain`: why a pod is Pending or on a given node, computed with
 * the same cores the handler uses.
 *
 * @module
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Snapshot } from "../../state/types.ts";
import type { ExtenderConfig } from "./_config.ts";
import { filterNodes, scoreNodes, staleReason } from "./_core.ts";
import { gib } from "./_capacity.ts";
import { SnapshotIndex } from "./_index.ts";
import type { Reservations } from "./_reservations.ts";
import { linstorDataAge } from "../../domain/mod.ts";

/** One node's row of the explanation. */
export interface ExplainRow {
  readonly node: string;
  readonly linstorNode: string | undefined;
  readonly verdict: "pass" | "fail" | "unresolvable";
  readonly predicate: string | undefined;
  readonly reason: string | undefined;
  readonly score: number;
  readonly locality: number | undefined;
  readonly capacity: number | undefined;
  /** Reservations on this node, `claim size@pool`. */
  readonly reservations: readonly string[];
}

/** The whole explanation. */
export interface Explanation {
  readonly pod: string;
  /** Set when the extender would fail open (it then passes every node, without scores). */
  readonly failOpen: string | undefined;
  /** Age of the LINSTOR data in ms; `undefined` before the first poll. */
  readonly linstorAgeMs: number | undefined;
  readonly bound: readonly string[];
  readonly pending: readonly string[];
  readonly notes: readonly string[];
  readonly rows: readonly ExplainRow[];
}

/**
 * Explains filter and prioritize for `pod` over every Kubernetes node of the
 * snapshot (or `names`), without reserving anything.
 */
export function explainPod(
  snapshot: Snapshot,
  pod: V1Pod,
  options: {
    config: ExtenderConfig;
    now: number;
    reservations: Reservations;
    names?: readonly string[];
    /** The index of `snapshot` (built when not given). */
    index?: SnapshotIndex;
  },
): Explanation {
  const index = options.index ?? new SnapshotIndex(snapshot, {
    propertyNamespace: options.config.propertyNamespace,
    defaultRatio: options.config.capacity.oversubscriptionRatio,
  });
  const names = options.names ?? [...snapshot.kube.nodes.keys()].sort();
  options.reservations.prune(snapshot, {
    linstorNodeOf: (n) => index.linstorNodeFor(n)?.name,
  });
  const view = options.reservations.view();
  const evaluate = {
    config: options.config,
    now: options.now,
    reservations: view,
  };
  const filtered = filterNodes(index, { pod, names }, evaluate);
  const scored = scoreNodes(index, { pod, names }, {
    ...evaluate,
    detail: true,
  });
  const volumes = filtered.context.volumes;
  const rows = filtered.candidates.map((c, i): ExplainRow => {
    const verdict = filtered.rejected.get(c.name);
    const parts = scored.parts?.[i];
    return {
      node: c.name,
      linstorNode: c.linstor?.name,
      verdict: verdict
        ? (verdict.unresolvable ? "unresolvable" : "fail")
        : "pass",
      predicate: verdict?.predicate,
      reason: verdict?.reason,
      score: parts?.score ?? 0,
      locality: parts?.locality,
      capacity: parts?.capacity,
      reservations: c.linstor
        ? view.onNode(c.linstor.name).map((r) =>
          `${r.claim} ${gib(r.sizeKib)}@${r.nodes.get(c.linstor?.name ?? "")}`
        )
        : [],
    };
  });
  return {
    pod: filtered.context.podKey,
    failOpen: staleReason(snapshot, options.now, options.config.maxStalenessMs),
    linstorAgeMs: linstorDataAge(snapshot, options.now),
    bound: volumes.bound.map((v) => `${v.claim} → ${v.resource}`),
    pending: volumes.pending.map((v) =>
      `${v.claim} ${gib(v.sizeKib)} class ${v.storageClass} pools ${
        v.pools?.join(",") ?? "(any)"
      }${v.localOnly ? " local-only" : ""}${
        v.selectedNode ? ` selected-node ${v.selectedNode}` : ""
      }`
    ),
    notes: volumes.usesLinstor
      ? volumes.notes
      : [...volumes.notes, "pod has no LINSTOR volumes: no opinion"],
    rows,
  };
}

/** Renders an explanation as plain text (a table per node). */
export function formatExplanation(explanation: Explanation): string {
  const lines: string[] = [];
  lines.push(`Pod ${explanation.pod}`);
  lines.push(
    `LINSTOR data age: ${
      explanation.linstorAgeMs === undefined
        ? "never polled"
        : `${(explanation.linstorAgeMs / 1000).toFixed(1)}s`
    }`,
  );
  if (explanation.failOpen) {
    lines.push(
      `FAIL OPEN: ${explanation.failOpen} (every node passes, no scores)`,
    );
  }
  for (const b of explanation.bound) lines.push(`bound:   ${b}`);
  for (const p of explanation.pending) lines.push(`pending: ${p}`);
  for (const n of explanation.notes) lines.push(`note:    ${n}`);
  const header = [
    "NODE",
    "LINSTOR",
    "FILTER",
    "SCORE",
    "LOCALITY",
    "CAPACITY",
    "REASON / RESERVATIONS",
  ];
  const table = explanation.rows.map((r) => [
    r.node,
    r.linstorNode ?? "-",
    r.verdict,
    String(r.score),
    r.locality === undefined ? "-" : r.locality.toFixed(1),
    r.capacity === undefined ? "-" : String(r.capacity),
    [
      r.predicate ? `${r.predicate}: ${r.reason}` : "",
      ...r.reservations.map((x) => `reserved ${x}`),
    ]
      .filter((x) => x !== "").join("; "),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...table.map((row) => (row[i] ?? "").length))
  );
  for (const row of [header, ...table]) {
    lines.push(
      row.map((cell, i) =>
        i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)
      ).join("  ").trimEnd(),
    );
  }
  return lines.join("\n") + "\n";
}
