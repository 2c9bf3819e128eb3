/**
 * `docs/rbac.md`'s table of rights per ServiceAccount is exactly what the
 * shipped `deploy/<mode>/rbac.yaml` files grant, so the documentation cannot
 * drift from the manifests.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { SUITE_MODES } from "../_harness/control_plane.ts";
import { SHIPPED_MANIFESTS } from "../_harness/service_account.ts";

const ROOT = new URL("../../", import.meta.url);
const DOC = "docs/rbac.md";
const SECTION = "## Rights per ServiceAccount";

// deno-lint-ignore no-explicit-any
type Json = any;

/** One granted rule: ServiceAccount, scope, API group, resources, verbs. */
type Row = [string, string, string, string, string];

function objectsOf(path: string): Json[] {
  const text = Deno.readTextFileSync(new URL(path, ROOT));
  return parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean);
}

/** The rows the manifests grant, one per rule of each bound role. */
function grantedRows(): Row[] {
  const rows: Row[] = [];
  for (const mode of SUITE_MODES) {
    const objects = objectsOf(SHIPPED_MANIFESTS[mode].rbac);
    const bindings = objects.filter((o) =>
      o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding"
    );
    for (const binding of bindings) {
      const scope = binding.kind === "ClusterRoleBinding"
        ? "cluster"
        : `namespace ${binding.metadata.namespace}`;
      const role = objects.find((o) =>
        o.kind === binding.roleRef.kind &&
        o.metadata.name === binding.roleRef.name &&
        (o.kind === "ClusterRole" ||
          o.metadata.namespace === binding.metadata.namespace)
      );
      for (const subject of binding.subjects) {
        if (subject.kind !== "ServiceAccount") continue;
        if (!role) {
          rows.push([
            subject.name,
            scope,
            "-",
            `${binding.roleRef.kind} ${binding.roleRef.name}`,
            "(built-in)",
          ]);
          continue;
        }
        for (const rule of role.rules) {
          const names = rule.resourceNames
            ? ` (${rule.resourceNames.join(", ")})`
            : "";
          rows.push([
            subject.name,
            scope,
            rule.apiGroups.map((g: string) => g === "" ? "core" : g).join(", "),
            `${rule.resources.join(", ")}${names}`,
            rule.verbs.join(", "),
          ]);
        }
      }
    }
  }
  return rows;
}

/** The rows of the section's table: the first five cells, and the sixth. */
function documentedRows(): { rows: Row[]; why: string[] } {
  const text = Deno.readTextFileSync(new URL(DOC, ROOT));
  const start = text.indexOf(SECTION);
  assert.notEqual(start, -1, `${DOC} has a "${SECTION}" section`);
  const rest = text.slice(start + SECTION.length);
  const end = rest.search(/^## /m);
  const lines = (end === -1 ? rest : rest.slice(0, end)).split("\n")
    .filter((line) => line.startsWith("|"));
  const cells = lines.slice(2).map((line) =>
    line.slice(1, -1).split("|").map((c) => c.trim().replaceAll("`", ""))
  );
  return {
    rows: cells.map((c) => c.slice(0, 5) as Row),
    why: cells.map((c) => c[5] ?? ""),
  };
}

function markdown(rows: Row[]): string {
  return rows.map((r) => `| ${r.join(" | ")} | … |`).join("\n");
}

Deno.test("docs/rbac.md lists exactly the rules deploy/<mode>/rbac.yaml grants, each with a reason", () => {
  const granted = grantedRows();
  const { rows, why } = documentedRows();
  const key = (r: Row) => r.join(" | ");
  const sorted = (list: Row[]) => list.map(key).sort();
  assert.deepEqual(
    sorted(rows),
    sorted(granted),
    `${DOC} must list these rows (ServiceAccount | Scope | API group | Resources | Verbs | Why):\n${
      markdown(granted)
    }`,
  );
  assert.ok(granted.length > 0);
  for (const [i, reason] of why.entries()) {
    assert.ok(reason.length > 10, `row ${key(rows[i]!)} says why`);
  }
});
