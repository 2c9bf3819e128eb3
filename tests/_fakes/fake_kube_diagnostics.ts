/**
 * An in-memory `KubeDiagnostics`: a fixed identity and version, access
 * decided by a set of denied `verb resource` keys per subject, ConfigMaps by
 * `namespace/name`, and the apiserver's 403 for a SubjectAccessReview when
 * the caller may not review others.
 *
 * @module
 */
import {
  type AccessDecision,
  KubeApiError,
  type KubeDiagnostics,
  type KubeIdentity,
  type ResourceAttributes,
  type ReviewAccessOptions,
} from "../../src/kube/mod.ts";

/** Options of {@linkcode FakeKubeDiagnostics}. */
export interface FakeKubeDiagnosticsOptions {
  identity?: KubeIdentity;
  version?: string;
  /** `verb resource[/subresource]` keys denied to everyone. */
  denied?: readonly string[];
  /** The caller may not create SubjectAccessReviews. */
  forbidSubjectReviews?: boolean;
  configMaps?: Record<string, Record<string, string>>;
}

/** The fake; `reviews` records every review asked for. */
export class FakeKubeDiagnostics implements KubeDiagnostics {
  readonly server = "https://fake-apiserver:6443";
  readonly reviews: { key: string; subject?: string }[] = [];
  closed = false;
  #options: FakeKubeDiagnosticsOptions;

  constructor(options: FakeKubeDiagnosticsOptions = {}) {
    this.#options = options;
  }

  serverVersion(): Promise<string> {
    return Promise.resolve(this.#options.version ?? "v1.35.8");
  }

  whoAmI(): Promise<KubeIdentity> {
    return Promise.resolve(
      this.#options.identity ?? { username: "admin", groups: [] },
    );
  }

  reviewAccess(
    attributes: ResourceAttributes,
    options: ReviewAccessOptions = {},
  ): Promise<AccessDecision> {
    if (options.subject && this.#options.forbidSubjectReviews) {
      return Promise.reject(
        new KubeApiError({
          status: 403,
          reason: "Forbidden",
          message: "cannot create subjectaccessreviews",
          verb: "create",
          kind: "subjectaccessreviews",
          name: "",
        }),
      );
    }
    const key = `${attributes.verb} ${attributes.resource}${
      attributes.subresource ? `/${attributes.subresource}` : ""
    }`;
    this.reviews.push({
      key,
      ...(options.subject ? { subject: options.subject.username } : {}),
    });
    const allowed = !(this.#options.denied ?? []).includes(key);
    return Promise.resolve(
      allowed ? { allowed } : { allowed, reason: "no RBAC rule matched" },
    );
  }

  readConfigMap(
    ref: { namespace: string; name: string },
  ): Promise<Readonly<Record<string, string>>> {
    const data = this.#options.configMaps?.[`${ref.namespace}/${ref.name}`];
    if (data) return Promise.resolve(data);
    return Promise.reject(
      new KubeApiError({
        status: 404,
        reason: "NotFound",
        message: `configmaps "${ref.name}" not found`,
        verb: "get",
        kind: "configmaps",
        name: `${ref.namespace}/${ref.name}`,
      }),
    );
  }

  close(): void {
    this.closed = true;
  }
}
