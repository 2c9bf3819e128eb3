/**
 * Least privilege of the shipped RBAC, on the real apiserver: each mode's
 * ServiceAccount from `deploy/<mode>/rbac.yaml`, with a token from the
 * TokenRequest API, is refused (403) the writes and reads its mode must never
 * make. That the same RBAC is sufficient is proven by each mode's end-to-end
 * test, which runs the mode with such a token. One control plane for the file.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  ignoreWithoutControlPlane,
  startControlPlane,
  SUITE_MODES,
  type SuiteMode,
} from "../_harness/control_plane.ts";
import {
  notRefused,
  type ProbeRequest,
  readManifest,
  serviceAccountKubeconfig,
  shippedServiceAccount,
  shippedServiceAccountName,
  statusOf,
} from "../_harness/service_account.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const DRY = "?dryRun=All";
const MERGE = "application/merge-patch+json";

const PV = "/api/v1/persistentvolumes/pv-probe";
const STORAGE_CLASS = "/apis/storage.k8s.io/v1/storageclasses/sc-probe";
const POD = "/api/v1/namespaces/default/pods/pod-probe";
const NODE = "/api/v1/nodes/node-probe";

function patch(path: string): ProbeRequest {
  return {
    method: "PATCH",
    path: `${path}${DRY}`,
    body: { metadata: { labels: { probe: "x" } } },
    contentType: MERGE,
  };
}

function remove(path: string): ProbeRequest {
  return { method: "DELETE", path: `${path}${DRY}` };
}

function create(path: string, body: Json): ProbeRequest {
  return { method: "POST", path: `${path}${DRY}`, body };
}

const lease = (namespace: string) =>
  create(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "probe" },
    spec: {},
  });

/** What no mode may do: read Secrets, escalate, run pods, rewrite Events. */
const NEVER: readonly ProbeRequest[] = [
  // Events are created and patched (series counts), never replaced.
  {
    method: "PUT",
    path: `/apis/events.k8s.io/v1/namespaces/default/events/probe${DRY}`,
    body: {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "probe", namespace: "default" },
      eventTime: "2026-01-01T00:00:00.000000Z",
      reportingController: "probe",
      reportingInstance: "probe",
      action: "Probe",
      reason: "Probe",
      type: "Normal",
      regarding: { kind: "Node", name: "node-probe" },
    },
  },
  { method: "GET", path: "/api/v1/secrets" },
  { method: "GET", path: "/api/v1/namespaces/kube-system/secrets" },
  { method: "GET", path: "/api/v1/namespaces/linstor-suite/secrets" },
  create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "probe" },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "cluster-admin",
    },
    subjects: [],
  }),
  create("/api/v1/namespaces/linstor-suite/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "probe" },
    spec: { containers: [{ name: "c", image: "busybox" }] },
  }),
  lease("kube-system"),
];

/** Per mode, what its job never needs. */
const FORBIDDEN: Readonly<Record<SuiteMode, readonly ProbeRequest[]>> = {
  // Reads only: no PV, node, event or lease writes, and no pod binding
  // (what the kube-scheduler's ServiceAccount may do).
  extender: [
    patch(PV),
    remove(PV),
    patch(NODE),
    patch(STORAGE_CLASS),
    create("/api/v1/namespaces/default/pods/pod-probe/binding", {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "pod-probe" },
      target: { apiVersion: "v1", kind: "Node", name: "node-probe" },
    }),
    create("/apis/events.k8s.io/v1/namespaces/default/events", {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "probe" },
    }),
    lease("linstor-suite"),
  ],
  // PVs are its job; pods, nodes, classes and claims (beyond patching its
  // record annotation) are not.
  affinity: [
    remove(POD),
    patch(NODE),
    patch(STORAGE_CLASS),
    remove(STORAGE_CLASS),
    remove("/api/v1/namespaces/default/persistentvolumeclaims/pvc-probe"),
    { method: "GET", path: "/api/v1/namespaces/default" },
  ],
  // StorageClasses only: created and deleted, never edited; no PVs, no nodes.
  agent: [
    remove(PV),
    patch(PV),
    patch(STORAGE_CLASS),
    patch(NODE),
    remove(POD),
  ],
  // Pods, nodes and attachments: never PVs, claims or StorageClasses, and no
  // Lease (no leader election).
  fencing: [
    remove(PV),
    patch(PV),
    patch(STORAGE_CLASS),
    remove(STORAGE_CLASS),
    patch("/api/v1/namespaces/default/persistentvolumeclaims/pvc-probe"),
    patch(POD),
    remove(NODE),
    lease("linstor-suite"),
  ],
};

Deno.test({
  name:
    "deploy/<mode>/rbac.yaml ServiceAccounts, with TokenRequest tokens, are refused what their mode never does",
  ignore: ignoreWithoutControlPlane(),
  async fn(t) {
    await using cp = await startControlPlane();
    for (const mode of SUITE_MODES) {
      await t.step(mode, async () => {
        const account = await shippedServiceAccount(cp, mode);
        const review = await cp.request<Json>(
          "POST",
          "/apis/authentication.k8s.io/v1/selfsubjectreviews",
          {
            token: account.token,
            body: {
              apiVersion: "authentication.k8s.io/v1",
              kind: "SelfSubjectReview",
            },
          },
        );
        assert.equal(review.status.userInfo.username, account.user);
        assert.ok(
          review.status.userInfo.groups.includes("system:serviceaccounts"),
        );
        const probes = [...NEVER, ...FORBIDDEN[mode]];
        assert.deepEqual(await notRefused(cp, account, probes), []);
        // Each probe is one the admin may make: a 403 above is RBAC's
        // answer, not a malformed request's.
        for (const probe of probes) {
          const status = await statusOf(cp, cp.tokens.admin, probe);
          assert.notEqual(status, 403, `${probe.method} ${probe.path}`);
        }
      });
    }

    await t.step(
      "the standalone extender's ServiceAccount is not the kube-scheduler's, and cannot bind pods",
      async () => {
        const extender = await shippedServiceAccountName("extender");
        const bindings = (await readManifest("deploy/extender/rbac.yaml"))
          .filter((o) => o.kind === "ClusterRoleBinding");
        const schedulerAccounts = bindings
          .filter((b) => b.roleRef.name === "system:kube-scheduler")
          .flatMap((b) => b.subjects);
        assert.ok(schedulerAccounts.length > 0, "the scheduler has an account");
        for (const subject of schedulerAccounts) {
          assert.notDeepEqual(
            { namespace: subject.namespace, name: subject.name },
            extender,
          );
        }
        // The scheduler's account may bind pods, the extender's may not.
        const bind = FORBIDDEN.extender.find((p) => p.path.includes("binding"));
        assert.ok(bind);
        const scheduler = await serviceAccountKubeconfig(cp, {
          namespace: schedulerAccounts[0].namespace,
          name: schedulerAccounts[0].name,
        });
        assert.notEqual(await statusOf(cp, scheduler.token, bind), 403);
        const standalone = await serviceAccountKubeconfig(cp, extender);
        assert.equal(await statusOf(cp, standalone.token, bind), 403);
      },
    );
  },
});
