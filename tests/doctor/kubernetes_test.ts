import assert from "node:assert/strict";
import { MODE_RBAC } from "../../src/constants.ts";
import {
  describePermission,
  kubernetesAccessChecks,
  type ModePermissionProbe,
  permissionChecks,
} from "../../src/doctor/mod.ts";

Deno.test("`kubernetesAccessChecks()` says who the doctor is on which server", () => {
  const [check] = kubernetesAccessChecks({
    ok: true,
    server: "https://k:6443",
    version: "v1.35.8",
    identity: { username: "alice", groups: [] },
  });
  assert.equal(check?.status, "ok");
  assert.equal(check!.detail, "https://k:6443 (Kubernetes v1.35.8) as alice");
});

Deno.test("`kubernetesAccessChecks()` fails with the fix for each way access breaks", async (t) => {
  const cases = [
    {
      name: "no kubeconfig",
      probe: {
        ok: false as const,
        stage: "config" as const,
        message: "Cannot load kubeconfig",
      },
      fix: /--kubeconfig/,
    },
    {
      name: "rejected credentials",
      probe: {
        ok: false as const,
        stage: "request" as const,
        status: 401,
        message: "Unauthorized",
      },
      fix: /renew/,
    },
    {
      name: "forbidden",
      probe: {
        ok: false as const,
        stage: "request" as const,
        status: 403,
        message: "no",
      },
      fix: /selfsubjectaccessreviews/,
    },
    {
      name: "unreachable apiserver",
      probe: {
        ok: false as const,
        stage: "request" as const,
        status: 0,
        message: "Connection refused",
      },
      fix: /--context/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const [check] = kubernetesAccessChecks(c.probe);
      assert.equal(check?.status, "fail");
      assert.match(check!.fix!, c.fix);
    });
  }
});

function probe(
  overrides: Partial<ModePermissionProbe> & { denied?: string[] } = {},
): ModePermissionProbe {
  const rbac = MODE_RBAC.affinity;
  const denied = new Set(overrides.denied ?? []);
  return {
    mode: "affinity",
    rbac,
    namespace: "linstor-suite",
    subject: "system:serviceaccount:linstor-suite:linstor-suite-affinity",
    reviewedAsCaller: false,
    reviews: rbac.permissions.map((permission) => ({
      permission,
      decision: {
        allowed: !denied.has(describePermission(permission, "linstor-suite")),
      },
    })),
    ...overrides,
  };
}

Deno.test("`describePermission()` names verb, resource, group, object and namespace", () => {
  const texts = MODE_RBAC.affinity.permissions.map((p) =>
    describePermission(p, "ns1")
  );
  assert.ok(texts.includes("patch persistentvolumeclaims"));
  assert.ok(texts.includes('get namespaces "kube-system"'));
  assert.ok(texts.includes("create events.events.k8s.io"));
  assert.ok(texts.includes("update leases.coordination.k8s.io in ns1"));
  assert.ok(
    MODE_RBAC.fencing.permissions.map((p) => describePermission(p, "x"))
      .includes("create pods/eviction"),
  );
});

Deno.test("`permissionChecks()` is one ok row when every permission is granted", () => {
  const checks = permissionChecks(probe());
  assert.deepEqual(checks.map((c) => c.status), ["ok"]);
  assert.match(checks[0]!.detail, /^all \d+ granted to system:serviceaccount:/);
});

Deno.test("`permissionChecks()` fails once per denied permission and names where to grant it", () => {
  const checks = permissionChecks(probe({
    denied: [
      "patch persistentvolumeclaims",
      "update leases.coordination.k8s.io in linstor-suite",
    ],
  }));
  assert.deepEqual(checks.map((c) => [c.status, c.name]), [
    ["fail", "permissions affinity: patch persistentvolumeclaims"],
    [
      "fail",
      "permissions affinity: update leases.coordination.k8s.io in linstor-suite",
    ],
  ]);
  assert.match(
    checks[0]!.fix!,
    /grant patch persistentvolumeclaims in the ClusterRole linstor-suite-affinity \(kubectl apply -f deploy\/affinity\/rbac\.yaml\)/,
  );
  assert.match(
    checks[1]!.fix!,
    /the Role linstor-suite-affinity-leader-election in linstor-suite/,
  );
});

Deno.test("`permissionChecks()` warns when only the caller's own access could be reviewed", () => {
  const [check] = permissionChecks(probe({
    subject: "alice",
    reviewedAsCaller: true,
  }));
  assert.equal(check?.status, "warn");
  assert.match(
    check!.detail,
    /to alice, not to ServiceAccount linstor-suite\/linstor-suite-affinity/,
  );
  assert.ok(check!.fix);
});

Deno.test("`permissionChecks()` fails when a review itself failed", () => {
  const rbac = MODE_RBAC.agent;
  const checks = permissionChecks({
    ...probe(),
    mode: "agent",
    rbac,
    reviews: [{
      permission: rbac.permissions[0]!,
      decision: { error: "boom" },
    }],
  });
  assert.equal(checks[0]?.status, "fail");
  assert.match(checks[0]!.detail, /cannot review: boom/);
});
