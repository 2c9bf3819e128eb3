/**
 * The diagnostics port of `linstor-suite doctor`: who the client is, the
 * server version, access reviews and ConfigMap reads. The real adapter is
 * `createKubeDiagnostics()` in `src/kube/client/`.
 *
 * @module
 */

/** What an access review asks about (`authorization.k8s.io/v1` `ResourceAttributes`). */
export interface ResourceAttributes {
  readonly verb: string;
  /** API group; `""` for the core group. */
  readonly group: string;
  /** Plural resource, e.g. `persistentvolumes`. */
  readonly resource: string;
  /** e.g. `eviction` of `pods`. */
  readonly subresource?: string;
  /** Namespace; absent for cluster-scoped or all-namespace access. */
  readonly namespace?: string;
  /** One object's name. */
  readonly name?: string;
}

/** An authenticated user. */
export interface KubeIdentity {
  readonly username: string;
  readonly groups: readonly string[];
}

/** The answer of an access review. */
export interface AccessDecision {
  readonly allowed: boolean;
  /** The authorizer's reason, when it gave one. */
  readonly reason?: string;
}

/** Options of a diagnostics call. */
export interface DiagnosticsCallOptions {
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Options of {@linkcode KubeDiagnostics.reviewAccess}. */
export interface ReviewAccessOptions extends DiagnosticsCallOptions {
  /**
   * Review `subject`'s access (a `SubjectAccessReview`, which needs `create`
   * on `subjectaccessreviews`) instead of the caller's own
   * (`SelfSubjectAccessReview`).
   */
  subject?: KubeIdentity;
}

/** What `doctor` asks of the apiserver. Errors are `KubeApiError`s. */
export interface KubeDiagnostics {
  /** The apiserver URL of the current context. */
  readonly server: string;
  /** `GET /version`: the `gitVersion`. */
  serverVersion(options?: DiagnosticsCallOptions): Promise<string>;
  /** The caller's identity (`SelfSubjectReview`). */
  whoAmI(options?: DiagnosticsCallOptions): Promise<KubeIdentity>;
  /** Whether the caller (or `options.subject`) may do `attributes`. */
  reviewAccess(
    attributes: ResourceAttributes,
    options?: ReviewAccessOptions,
  ): Promise<AccessDecision>;
  /** The `data` of a ConfigMap (NotFound when absent). */
  readConfigMap(
    ref: { readonly namespace: string; readonly name: string },
    options?: DiagnosticsCallOptions,
  ): Promise<Readonly<Record<string, string>>>;
  /** Releases the HTTP client. */
  close(): void;
}
