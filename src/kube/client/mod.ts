/**
 * The real Kubernetes adapter: kubeconfig loading and {@linkcode createKubeApi}
 * over REST. It loads parts of `@kubernetes/client-node` at runtime (the
 * kubeconfig entry parsers and authenticators), so only
 * the CLI layer imports this door; everything else takes a `KubeApi` from
 * `src/kube/mod.ts`.
 *
 * @module
 */
export * from "./adapter.ts";
export * from "./diagnostics.ts";
export {
  type Cluster,
  type Context,
  KubeConfig,
  type KubeConfigOptions,
  type KubeCredentials,
  type User,
} from "./_kubeconfig.ts";
