/**
 * A kubeconfig: clusters, users, contexts and the credentials of the current
 * context. Parsing and validation of the entries are client-node's
 * (`config_types.js`), and so are the authenticators (exec plugins, token
 * files, OIDC, the legacy Azure and GCP providers), each imported from its
 * own module (and only once a user needs one): client-node's `KubeConfig`
 * class would load its whole generated API client (every API and model, ~60
 * MB of resident memory) for nothing.
 *
 * @module
 */
import { parseYaml } from "../../domain/mod.ts";
import {
  type Cluster,
  type Context,
  exportCluster,
  exportContext,
  exportUser,
  newClusters,
  newContexts,
  newUsers,
  type User,
} from "@kubernetes/client-node/dist/config_types.js";
import type { Authenticator } from "@kubernetes/client-node/dist/auth.js";

export type { Cluster, Context, User };

/** The entries of a kubeconfig, as {@linkcode KubeConfig.loadFromOptions} takes them. */
export interface KubeConfigOptions {
  readonly clusters: readonly Cluster[];
  readonly users: readonly User[];
  readonly contexts: readonly Context[];
  readonly currentContext: string;
}

/** What a request to the current context's cluster needs: headers and TLS material (PEM). */
export interface KubeCredentials {
  /** `Authorization`, `Impersonate-User`, … */
  readonly headers: Record<string, string>;
  /** CA bundle that verifies the server. */
  readonly ca?: string;
  /** Client certificate chain. */
  readonly cert?: string;
  /** Private key of `cert`. */
  readonly key?: string;
}

/**
 * A kubeconfig. Same entry shapes and lookup rules as client-node's
 * `KubeConfig` (whose `Cluster`, `User` and `Context` types it uses), without
 * its API client factory.
 */
export class KubeConfig {
  #clusters: Cluster[] = [];
  #users: User[] = [];
  #contexts: Context[] = [];
  #currentContext = "";
  #authenticators: Promise<readonly Authenticator[]> | undefined;

  /** The clusters. */
  get clusters(): readonly Cluster[] {
    return this.#clusters;
  }

  /** The users. */
  get users(): readonly User[] {
    return this.#users;
  }

  /** The contexts. */
  get contexts(): readonly Context[] {
    return this.#contexts;
  }

  /** Name of the current context. */
  get currentContext(): string {
    return this.#currentContext;
  }

  /** Replaces every entry. */
  loadFromOptions(options: KubeConfigOptions): void {
    this.#clusters = [...options.clusters];
    this.#users = [...options.users];
    this.#contexts = [...options.contexts];
    this.#currentContext = options.currentContext;
  }

  /**
   * Replaces every entry with those of a kubeconfig YAML text; relative
   * certificate and key paths resolve against `directory` when given.
   * Throws on an invalid entry.
   */
  loadFromString(text: string, options: { directory?: string } = {}): void {
    // deno-lint-ignore no-explicit-any
    const parsed: any = parseYaml(text) ?? {};
    const clusters = newClusters(parsed.clusters);
    const users = newUsers(parsed.users);
    const directory = options.directory;
    if (directory !== undefined) {
      for (const cluster of clusters) {
        if (cluster.caFile) {
          cluster.caFile = absolute(directory, cluster.caFile);
        }
      }
      for (const user of users) {
        if (user.certFile) user.certFile = absolute(directory, user.certFile);
        if (user.keyFile) user.keyFile = absolute(directory, user.keyFile);
      }
    }
    this.loadFromOptions({
      clusters,
      users,
      contexts: newContexts(parsed.contexts),
      currentContext: String(parsed["current-context"] ?? ""),
    });
  }

  /** Replaces every entry with those of the kubeconfig file at `path`. */
  loadFromFile(path: string): void {
    const slash = path.lastIndexOf("/");
    this.loadFromString(Deno.readTextFileSync(path), {
      directory: slash < 0 ? "." : path.slice(0, slash) || "/",
    });
  }

  /** Name of the current context. */
  getCurrentContext(): string {
    return this.#currentContext;
  }

  /** The context called `name`. */
  getContextObject(name: string): Context | undefined {
    return this.#contexts.find((c) => c.name === name);
  }

  /** The cluster called `name`. */
  getCluster(name: string): Cluster | undefined {
    return this.#clusters.find((c) => c.name === name);
  }

  /** The user called `name`. */
  getUser(name: string): User | undefined {
    return this.#users.find((u) => u.name === name);
  }

  /** The current context's cluster. */
  getCurrentCluster(): Cluster | undefined {
    const context = this.getContextObject(this.#currentContext);
    return context ? this.getCluster(context.cluster) : undefined;
  }

  /** The current context's user. */
  getCurrentUser(): User | undefined {
    const context = this.getContextObject(this.#currentContext);
    return context ? this.getUser(context.user) : undefined;
  }

  /** Adds a cluster; throws a `TypeError` when its name is taken. */
  addCluster(cluster: Cluster): void {
    this.#add(this.#clusters, cluster, "cluster");
  }

  /** Adds a user; throws a `TypeError` when its name is taken. */
  addUser(user: User): void {
    this.#add(this.#users, user, "user");
  }

  /** Adds a context; throws a `TypeError` when its name is taken. */
  addContext(context: Context): void {
    this.#add(this.#contexts, context, "context");
  }

  #add<T extends { name: string }>(list: T[], entry: T, what: string): void {
    if (list.some((e) => e.name === entry.name)) {
      throw new TypeError(
        `Cannot add ${what} "${entry.name}": the name is taken`,
      );
    }
    list.push(entry);
  }

  /** The kubeconfig as JSON (valid YAML), e.g. to write it to a file for a child process. */
  exportConfig(): string {
    return JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: this.#clusters.map(exportCluster),
      users: this.#users.map(exportUser),
      contexts: this.#contexts.map(exportContext),
      preferences: {},
      "current-context": this.#currentContext,
    });
  }

  /**
   * Headers and TLS material for a request to the current cluster: the CA,
   * client certificate and key (files are re-read every call, so rotated
   * files take effect), `Impersonate-User`, and the `Authorization` of the
   * user's auth provider or exec plugin, token, or basic auth.
   */
  async credentials(): Promise<KubeCredentials> {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const headers: Record<string, string> = {};
    const ca = cluster ? await pem(cluster.caFile, cluster.caData) : undefined;
    if (!user) return { headers, ...(ca ? { ca } : {}) };
    if (user.impersonateUser) {
      headers["Impersonate-User"] = user.impersonateUser;
    }
    // deno-lint-ignore no-explicit-any
    const applied: { headers: Record<string, string>; cert?: any; key?: any } =
      { headers };
    const authenticator = (await this.#authenticatorsFor(user)).find((a) =>
      a.isAuthProvider(user)
    );
    if (authenticator) {
      // deno-lint-ignore no-explicit-any
      await authenticator.applyAuthentication(user, applied as any);
    }
    if (user.token) headers.Authorization = `Bearer ${user.token}`;
    if (user.username) {
      headers.Authorization = `Basic ${
        btoa(`${user.username}:${user.password ?? ""}`)
      }`;
    }
    const cert = text(applied.cert) ?? await pem(user.certFile, user.certData);
    const key = text(applied.key) ?? await pem(user.keyFile, user.keyData);
    return {
      headers,
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    };
  }

  /**
   * client-node's authenticators (Azure, GCP, exec plugins, token files,
   * OIDC), loaded once a user needs one. Each of them claims only a user
   * with an `exec` plugin or an `authProvider`, so for a token, certificate
   * or basic-auth user none of their modules (OIDC's client, `jsonpath-plus`,
   * `node:child_process`) is loaded: about 2 MiB of resident memory
   * (docs/benchmarks.md, "The process floor").
   */
  #authenticatorsFor(user: User): Promise<readonly Authenticator[]> {
    if (!user.exec && !user.authProvider) return Promise.resolve([]);
    return this.#authenticators ??= loadAuthenticators();
  }
}

/** client-node's authenticators, in the order its `KubeConfig` tries them. */
async function loadAuthenticators(): Promise<readonly Authenticator[]> {
  const [azure, gcp, exec, file, oidc] = await Promise.all([
    import("@kubernetes/client-node/dist/azure_auth.js"),
    import("@kubernetes/client-node/dist/gcp_auth.js"),
    import("@kubernetes/client-node/dist/exec_auth.js"),
    import("@kubernetes/client-node/dist/file_auth.js"),
    import("@kubernetes/client-node/dist/oidc_auth.js"),
  ]);
  return [
    new azure.AzureAuth(),
    new gcp.GoogleCloudPlatformAuth(),
    new exec.ExecAuth(),
    new file.FileAuth(),
    new oidc.OpenIDConnectAuth(),
  ];
}

function absolute(directory: string, path: string): string {
  return path.startsWith("/") ? path : `${directory}/${path}`;
}

/** The PEM text of a file, else of base64 data, else `undefined`. */
async function pem(
  file: string | undefined,
  data: string | undefined,
): Promise<string | undefined> {
  if (file) return await Deno.readTextFile(file);
  if (data) {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  }
  return undefined;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return String(value);
}
