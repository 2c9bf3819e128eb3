/**
 * The real {@linkcode KubeDiagnostics}: `/version`, `SelfSubjectReview`,
 * (Self)SubjectAccessReviews and ConfigMap reads over the kubeconfig's
 * current context.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  KUBE_REQUEST_TIMEOUT_MS,
  LOG_CATEGORY,
  PROGRAM_NAME,
  VERSION,
} from "../../constants.ts";
import { SYSTEM_CLOCK } from "../../system/clock.ts";
import type {
  AccessDecision,
  DiagnosticsCallOptions,
  KubeDiagnostics,
  KubeIdentity,
  ResourceAttributes,
  ReviewAccessOptions,
} from "../mod.ts";
import type { KubeConfig } from "./_kubeconfig.ts";
import { type FetchFunction, KubeTransport } from "./_http.ts";

/** Options of {@linkcode createKubeDiagnostics}. */
export interface CreateKubeDiagnosticsOptions {
  /** Replaces Deno's `fetch`. */
  fetch?: FetchFunction;
  /**
   * Deadline of one request.
   *
   * @default {KUBE_REQUEST_TIMEOUT_MS}
   */
  requestTimeoutMs?: number;
}

/** The real diagnostics client over `kubeConfig`'s current context. */
export function createKubeDiagnostics(
  kubeConfig: KubeConfig,
  options: CreateKubeDiagnosticsOptions = {},
): KubeDiagnostics {
  return new RestKubeDiagnostics(kubeConfig, options);
}

class RestKubeDiagnostics implements KubeDiagnostics {
  #transport: KubeTransport;

  constructor(kubeConfig: KubeConfig, options: CreateKubeDiagnosticsOptions) {
    this.#transport = new KubeTransport(kubeConfig, {
      ...(options.fetch ? { fetch: options.fetch } : {}),
      clock: SYSTEM_CLOCK,
      timeoutMs: options.requestTimeoutMs ?? KUBE_REQUEST_TIMEOUT_MS,
      userAgent: `${PROGRAM_NAME}/${VERSION} (doctor)`,
      logger: getLogger([LOG_CATEGORY, "kube"]),
    });
  }

  get server(): string {
    return this.#transport.server;
  }

  async serverVersion(options: DiagnosticsCallOptions = {}): Promise<string> {
    const body = await this.#transport.json(
      { verb: "get", resource: "version", name: "" },
      { method: "GET", path: "/version", signal: options.signal },
    ) as { gitVersion?: string } | undefined;
    return body?.gitVersion ?? "unknown";
  }

  async whoAmI(options: DiagnosticsCallOptions = {}): Promise<KubeIdentity> {
    const body = await this.#transport.json(
      { verb: "create", resource: "selfsubjectreviews", name: "" },
      {
        method: "POST",
        path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "SelfSubjectReview",
          metadata: {},
        },
        signal: options.signal,
      },
    ) as {
      status?: { userInfo?: { username?: string; groups?: string[] } };
    } | undefined;
    const info = body?.status?.userInfo ?? {};
    return { username: info.username ?? "", groups: info.groups ?? [] };
  }

  async reviewAccess(
    attributes: ResourceAttributes,
    options: ReviewAccessOptions = {},
  ): Promise<AccessDecision> {
    const kind = options.subject
      ? "SubjectAccessReview"
      : "SelfSubjectAccessReview";
    const resource = options.subject
      ? "subjectaccessreviews"
      : "selfsubjectaccessreviews";
    const body = await this.#transport.json(
      { verb: "create", resource, name: "" },
      {
        method: "POST",
        path: `/apis/authorization.k8s.io/v1/${resource}`,
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind,
          metadata: {},
          spec: {
            resourceAttributes: { ...attributes },
            ...(options.subject
              ? {
                user: options.subject.username,
                groups: [...options.subject.groups],
              }
              : {}),
          },
        },
        signal: options.signal,
      },
    ) as {
      status?: { allowed?: boolean; reason?: string; evaluationError?: string };
    } | undefined;
    const status = body?.status ?? {};
    const reason = [status.reason, status.evaluationError].filter(Boolean)
      .join("; ");
    return {
      allowed: status.allowed === true,
      ...(reason ? { reason } : {}),
    };
  }

  async readConfigMap(
    ref: { readonly namespace: string; readonly name: string },
    options: DiagnosticsCallOptions = {},
  ): Promise<Readonly<Record<string, string>>> {
    const body = await this.#transport.json(
      {
        verb: "get",
        resource: "configmaps",
        name: `${ref.namespace}/${ref.name}`,
      },
      {
        method: "GET",
        path: `/api/v1/namespaces/${
          encodeURIComponent(ref.namespace)
        }/configmaps/${encodeURIComponent(ref.name)}`,
        signal: options.signal,
      },
    ) as { data?: Record<string, string> } | undefined;
    return body?.data ?? {};
  }

  close(): void {
    this.#transport.close();
  }
}
