/**
 * `MODE_RBAC` (what `doctor` checks each mode for) and the shipped
 * `deploy/<mode>/rbac.yaml` grant exactly the same permissions: nothing the
 * mode needs is missing, nothing it does not use is granted.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { MODE_RBAC, type ModePermission } from "../../src/constants.ts";

const ROOT = new URL("../../", import.meta.url);

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

// deno-lint-ignore no-explicit-any
type Json = any;

function objectsOf(path: string): Json[] {
  const text = Deno.readTextFileSync(new URL(path, ROOT));
  return parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean);
}

function keysOfRules(rules: readonly Rule[], scope: string): string[] {
  const keys: string[] = [];
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        for (const verb of rule.verbs) {
          for (const name of rule.resourceNames ?? [""]) {
            keys.push(`${verb} ${group} ${resource} ${name} ${scope}`);
          }
        }
      }
    }
  }
  return keys;
}

function keyOf(permission: ModePermission): string {
  const resource = permission.subresource
    ? `${permission.resource}/${permission.subresource}`
    : permission.resource;
  return `${permission.verb} ${permission.group} ${resource} ${
    permission.name ?? ""
  } ${permission.scope ?? "cluster"}`;
}

Deno.test("`MODE_RBAC` lists exactly what each deploy/<mode>/rbac.yaml grants its ServiceAccount", async (t) => {
  for (const [mode, rbac] of Object.entries(MODE_RBAC)) {
    await t.step(mode, () => {
      const objects = objectsOf(rbac.manifest);
      assert.ok(
        objects.some((o) =>
          o.kind === "ServiceAccount" &&
          o.metadata.name === rbac.serviceAccount
        ),
        `${rbac.manifest} has ServiceAccount ${rbac.serviceAccount}`,
      );
      const clusterRole = objects.find((o) =>
        o.kind === "ClusterRole" && o.metadata.name === rbac.clusterRole
      );
      assert.ok(clusterRole, `${rbac.manifest} has ${rbac.clusterRole}`);
      const bound = objects.some((o) =>
        o.kind === "ClusterRoleBinding" &&
        o.roleRef.name === rbac.clusterRole &&
        o.subjects.some((s: Json) => s.name === rbac.serviceAccount)
      );
      assert.ok(
        bound,
        `${rbac.clusterRole} is bound to ${rbac.serviceAccount}`,
      );
      const granted = keysOfRules(clusterRole.rules, "cluster");
      const roleName = `${rbac.clusterRole}-leader-election`;
      const role = objects.find((o) =>
        o.kind === "Role" && o.metadata.name === roleName
      );
      if (role) granted.push(...keysOfRules(role.rules, "namespace"));
      assert.deepEqual(
        [...new Set(rbac.permissions.map(keyOf))].sort(),
        [...new Set(granted)].sort(),
      );
    });
  }
});
