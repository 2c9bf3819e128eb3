/**
 * Kubernetes checks: access to the apiserver, and each mode's permissions
 * (the `MODE_RBAC` table) as access reviews answered them.
 *
 * @module
 */
import type { ModePermission, ModeRbac } from "../constants.ts";
import type { AccessDecision, KubeIdentity } from "../kube/mod.ts";
import { type Check, fail, ok, warn } from "./check.ts";

/** What connecting to the apiserver gave. */
export type KubeAccessProbe =
  | {
    readonly ok: true;
    readonly server: string;
    readonly version: string;
    /** Absent when the server does not answer `SelfSubjectReview`. */
    readonly identity?: KubeIdentity;
  }
  | {
    readonly ok: false;
    /** `config`: no usable kubeconfig; `request`: the apiserver call failed. */
    readonly stage: "config" | "request";
    readonly server?: string;
    /** HTTP status when one arrived (0 or absent otherwise). */
    readonly status?: number;
    readonly message: string;
  };

const ACCESS = "Kubernetes access";

/** The `Kubernetes access` check. */
export function kubernetesAccessChecks(probe: KubeAccessProbe): Check[] {
  if (probe.ok) {
    const who = probe.identity?.username
      ? ` as ${probe.identity.username}`
      : "";
    return [ok(ACCESS, `${probe.server} (Kubernetes ${probe.version})${who}`)];
  }
  if (probe.stage === "config") {
    return [fail(
      ACCESS,
      probe.message,
      "give --kubeconfig, set KUBECONFIG, or run in a pod with a ServiceAccount",
    )];
  }
  const at = probe.server ? `${probe.server}: ` : "";
  if (probe.status === 401) {
    return [fail(
      ACCESS,
      `${at}credentials rejected: ${probe.message}`,
      "renew the kubeconfig user's token or client certificate (or the ServiceAccount token)",
    )];
  }
  if (probe.status === 403) {
    return [fail(
      ACCESS,
      `${at}forbidden: ${probe.message}`,
      "let this user create selfsubjectaccessreviews (system:basic-user grants it by default)",
    )];
  }
  return [fail(
    ACCESS,
    `${at}${probe.message}`,
    "check the server and CA of the kubeconfig's current context (--context picks another)",
  )];
}

/** One needed permission and how its review came out. */
export interface PermissionReview {
  readonly permission: ModePermission;
  /** The decision, or why the review itself failed. */
  readonly decision: AccessDecision | { readonly error: string };
}

/** Every review of one mode's permissions. */
export interface ModePermissionProbe {
  /** Mode name. */
  readonly mode: string;
  readonly rbac: ModeRbac;
  /** Namespace of namespaced permissions (Leases). */
  readonly namespace: string;
  /** Whose access was reviewed (a user name). */
  readonly subject: string;
  /**
   * True when the caller's own access was reviewed although the caller is
   * not the mode's ServiceAccount (it may not review others').
   */
  readonly reviewedAsCaller: boolean;
  readonly reviews: readonly PermissionReview[];
}

/**
 * The permission checks of one mode: one failure per denied permission
 * (naming verb, resource and the Role to grant it in), else one ok row.
 */
export function permissionChecks(probe: ModePermissionProbe): Check[] {
  const name = `permissions ${probe.mode}`;
  const checks: Check[] = [];
  for (const review of probe.reviews) {
    const what = describePermission(review.permission, probe.namespace);
    if ("error" in review.decision) {
      checks.push(fail(
        `${name}: ${what}`,
        `cannot review: ${review.decision.error}`,
        "let this user create selfsubjectaccessreviews (or subjectaccessreviews to check a ServiceAccount)",
      ));
    } else if (!review.decision.allowed) {
      const reason = review.decision.reason
        ? `: ${review.decision.reason}`
        : "";
      checks.push(fail(
        `${name}: ${what}`,
        `denied to ${probe.subject}${reason}`,
        `grant ${what} in ${
          roleOf(probe, review.permission)
        } (kubectl apply -f ${probe.rbac.manifest})`,
      ));
    }
  }
  if (checks.length > 0) return checks;
  const count = probe.reviews.length;
  if (probe.reviewedAsCaller) {
    return [warn(
      name,
      `all ${count} granted, but to ${probe.subject}, not to ServiceAccount ${probe.namespace}/${probe.rbac.serviceAccount}`,
      `run doctor with that ServiceAccount's token, or as a user who may create subjectaccessreviews`,
    )];
  }
  return [ok(name, `all ${count} granted to ${probe.subject}`)];
}

/** `patch persistentvolumeclaims`, `create pods/eviction`, `get leases.coordination.k8s.io in ns`, … */
export function describePermission(
  permission: ModePermission,
  namespace: string,
): string {
  const resource = `${permission.resource}${
    permission.subresource ? `/${permission.subresource}` : ""
  }${permission.group ? `.${permission.group}` : ""}`;
  const object = permission.name ? ` "${permission.name}"` : "";
  const where = permission.scope === "namespace" ? ` in ${namespace}` : "";
  return `${permission.verb} ${resource}${object}${where}`;
}

function roleOf(
  probe: ModePermissionProbe,
  permission: ModePermission,
): string {
  return permission.scope === "namespace"
    ? `the Role ${probe.rbac.clusterRole}-leader-election in ${probe.namespace}`
    : `the ClusterRole ${probe.rbac.clusterRole}`;
}
