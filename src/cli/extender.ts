/**
 * `linstor-suite extender`: the kube-scheduler extender, and
 * `linstor-suite extender explain NAMESPACE/POD`.
 *
 * @module
 */
import type { V1Pod } from "@kubernetes/client-node";
import {
  EXTENDER_DEFAULT_LISTEN,
  EXTENDER_DEFAULT_MAX_STALENESS_MS,
  EXTENDER_TLS_RELOAD_INTERVAL_MS,
} from "../constants.ts";
import type { KubeApi } from "../kube/mod.ts";
import {
  DEFAULT_EXTENDER_CONFIG,
  type Explanation,
  EXTENDER_FIELDS,
  EXTENDER_KINDS,
  type ExtenderConfig,
  formatExplanation,
  normalizePrefix,
  parseExtenderConfig,
  startExtender,
} from "../modes/extender/mod.ts";
import { parseRemoteAccessPolicy } from "../csi/mod.ts";
import { parseQuantity, propertyNamespaceSetting } from "../domain/mod.ts";
import { errorMessage } from "../reconcile/mod.ts";
import {
  type ListenAddress,
  parseListenAddress,
  postJson,
  reloadTlsOnChange,
  type TlsMaterial,
} from "../system/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import { EXTENDER_COMMAND_INFO } from "./extender_flags.ts";
import { kubeApiFrom, setupLogging } from "./common.ts";
import { UsageError } from "./flags.ts";
import { type ModeWiring, runMode } from "./run_mode.ts";
export { EXTENDER_COMMAND_INFO, EXTENDER_FLAGS } from "./extender_flags.ts";

/** How long `explain` waits for the running extender's answer. */
const EXPLAIN_TIMEOUT_MS = 30_000;

/** What the command needs from the outside world. */
export type ExtenderWiring = ModeWiring;

/** The production wiring. */
export const EXTENDER_WIRING: ExtenderWiring = Object.freeze({
  createKube(
    context: CommandContext,
    options: { reportingInstance: string },
  ): Promise<KubeApi> {
    return Promise.resolve(kubeApiFrom(context, options));
  },
  hostname(): string {
    return Deno.hostname();
  },
});

/** The extender config: defaults, then `--config`, then flags; throws `UsageError` on bad values. */
export async function extenderConfigFromFlags(
  context: CommandContext,
): Promise<ExtenderConfig> {
  const { flags } = context;
  let config = DEFAULT_EXTENDER_CONFIG;
  const file = flags.string("config");
  if (file) {
    let text: string;
    try {
      text = await context.readTextFile(file);
    } catch (error) {
      throw new UsageError(
        `Cannot read extender config "${file}": ${errorMessage(error)}`,
      );
    }
    try {
      config = parseExtenderConfig(text);
    } catch (error) {
      throw new UsageError(`${errorMessage(error)} (in ${file})`);
    }
  }
  const positive = (name: string): number | undefined => {
    if (!flags.isSet(name)) return undefined;
    const value = flags.number(name);
    if (value === undefined || !(value > 0)) {
      throw new UsageError(`flag --${name} must be positive, got "${value}"`);
    }
    return value;
  };
  const maxStalenessMs = positive("max-staleness") ??
    (file ? config.maxStalenessMs : EXTENDER_DEFAULT_MAX_STALENESS_MS);
  const reservationTtlMs = positive("reservation-ttl") ??
    config.reservationTtlMs;
  const deadlineMs = positive("deadline") ?? config.deadlineMs;
  const verb = (name: string, fallback: string): string => {
    const value = flags.string(name);
    if (value === undefined) return fallback;
    if (!/^[A-Za-z0-9._~-]+$/.test(value)) {
      throw new UsageError(
        `flag --${name} must be a single path segment, got "${value}"`,
      );
    }
    return value;
  };
  const maxBody = flags.string("max-request-body");
  let maxRequestBodyBytes = config.maxRequestBodyBytes;
  if (maxBody !== undefined) {
    try {
      maxRequestBodyBytes = parseQuantity(maxBody);
    } catch (error) {
      throw new UsageError(
        `flag --max-request-body must be a quantity such as 64Mi, got "${maxBody}"`,
        { cause: error },
      );
    }
    if (!(maxRequestBodyBytes >= 1024)) {
      throw new UsageError(
        `flag --max-request-body must be at least 1Ki, got "${maxBody}"`,
      );
    }
  }
  let result: ExtenderConfig = {
    ...config,
    maxRequestBodyBytes,
    maxStalenessMs,
    reservationTtlMs,
    deadlineMs,
    prefix: flags.string("prefix") !== undefined
      ? normalizePrefix(flags.string("prefix")!)
      : config.prefix,
    filterVerb: verb("filter-verb", config.filterVerb),
    prioritizeVerb: verb("prioritize-verb", config.prioritizeVerb),
    // "auto" (or empty) detects it once, from the first LINSTOR data.
    propertyNamespace: propertyNamespaceSetting(
      flags.string("property-namespace") || config.propertyNamespace,
    ) ?? "auto",
  };
  const defaultPolicy = flags.string("default-remote-access-policy");
  if (defaultPolicy !== undefined && defaultPolicy !== "") {
    try {
      result = {
        ...result,
        defaultRemoteAccessPolicy: parseRemoteAccessPolicy(defaultPolicy),
      };
    } catch (error) {
      throw new UsageError(
        `flag --default-remote-access-policy: ${errorMessage(error)}`,
      );
    }
  }
  if (result.filterVerb === result.prioritizeVerb) {
    throw new UsageError(
      "flags --filter-verb and --prioritize-verb must differ",
    );
  }
  return result;
}

/** The `extender` subcommand over `wiring`. */
export function createExtenderCommand(wiring: ExtenderWiring): Command {
  return {
    ...EXTENDER_COMMAND_INFO,
    run: (context) => runExtender(context, wiring),
  };
}

async function runExtender(
  context: CommandContext,
  wiring: ExtenderWiring,
): Promise<number> {
  const [sub, target, ...extra] = context.positionals;
  if (sub !== undefined && sub !== "explain") {
    throw new UsageError(`unknown argument "${sub}" (did you mean "explain"?)`);
  }
  if (sub === "explain" && (target === undefined || extra.length > 0)) {
    throw new UsageError("explain takes exactly one NAMESPACE/POD");
  }
  const config = await extenderConfigFromFlags(context);
  const files = await servingCertFiles(context);
  const listen = parseListenAddressFlag(
    context.flags.string("listen") ?? EXTENDER_DEFAULT_LISTEN,
    "listen",
  );
  if (sub === "explain") {
    return await runExplain(context, {
      wiring,
      config,
      target: target!,
      listen,
      certFile: files?.cert,
    });
  }
  const tls = files ? await readServingCert(context, files) : undefined;
  const metricsAddress = context.flags.string("metrics-address");
  return await runMode(context, {
    name: "extender",
    wiring,
    extraHealthAddresses: metricsAddress ? [metricsAddress] : [],
    // Keep answering filter/prioritize calls while a large LINSTOR poll is
    // indexed (docs/state.md).
    cooperative: true,
    create: (environment) => ({
      name: "extender",
      kinds: EXTENDER_KINDS,
      fields: EXTENDER_FIELDS,
      // Ready = the extender answers from data it trusts (not fail-open).
      maxLinstorAgeMs: config.maxStalenessMs,
      memory: undefined,
      services: [{
        name: "extender listener",
        async run(signal, host) {
          const extender = startExtender({
            clock: environment.clock,
            snapshot: host.snapshot,
            registry: environment.registry,
            logger: environment.logger,
            health: host.healthRoutes,
          }, { config, listen, tls, signal });
          await extender.server.ready;
          environment.logger.info(
            "Extender listening on {scheme}://{host}:{port}{prefix}/{{{filter},{prioritize}}}",
            {
              scheme: tls ? "https" : "http",
              host: extender.server.address.hostname,
              port: extender.server.address.port,
              prefix: config.prefix,
              filter: config.filterVerb,
              prioritize: config.prioritizeVerb,
            },
          );
          // The serving certificate is re-read when its files change
          // (a Secret volume update), without closing the listener.
          const reload = files && tls
            ? reloadTlsOnChange(extender.server, {
              read: () => readServingCert(context, files),
              serving: tls,
              clock: environment.clock,
              intervalMs: EXTENDER_TLS_RELOAD_INTERVAL_MS,
              signal,
              onReload: () =>
                environment.logger.info(
                  "Serving the new TLS certificate from {cert}",
                  { cert: files.cert },
                ),
              onError: (error) =>
                environment.logger.warn(
                  "Keeping the current TLS certificate: {error}",
                  { error: errorMessage(error) },
                ),
            })
            : undefined;
          await Promise.all([extender.server.finished, reload]);
        },
      }],
    }),
  });
}

/**
 * `extender explain NAMESPACE/POD`: reads the pod from Kubernetes and asks
 * the running extender (at `--listen`, HTTPS when `--tls-cert` is set) to
 * explain it over its live state and reservations.
 */
async function runExplain(
  context: CommandContext,
  input: {
    wiring: ExtenderWiring;
    config: ExtenderConfig;
    target: string;
    listen: ListenAddress;
    certFile: string | undefined;
  },
): Promise<number> {
  const [namespace, name, ...rest] = input.target.split("/");
  if (!namespace || !name || rest.length > 0) {
    throw new UsageError(
      `Cannot explain "${input.target}": expected NAMESPACE/POD`,
    );
  }
  await setupLogging(context);
  const caCert = input.certFile
    ? await context.readTextFile(input.certFile)
    : undefined;
  let kube: KubeApi | undefined;
  try {
    kube = await input.wiring.createKube(context, {
      reportingInstance: input.wiring.hostname(),
    });
    const pods = await kube.list("pods", { signal: context.signal });
    const pod = pods.items.find((p: V1Pod) =>
      p.metadata?.namespace === namespace && p.metadata?.name === name
    );
    if (!pod) {
      context.stderr(
        `linstor-suite extender: Cannot explain "${input.target}": pod not found\n`,
      );
      return 1;
    }
    const url = explainUrl(input.listen, input.config.prefix, Boolean(caCert));
    let answer: { status: number; text: string };
    try {
      answer = await postJson(url, { pod }, {
        signal: context.signal,
        caCert,
        timeoutMs: EXPLAIN_TIMEOUT_MS,
      });
    } catch (error) {
      context.stderr(
        `linstor-suite extender: Cannot explain "${input.target}": extender at ${url} not reachable: ${
          errorMessage(error)
        }\n`,
      );
      return 1;
    }
    if (answer.status !== 200) {
      context.stderr(
        `linstor-suite extender: Cannot explain "${input.target}": extender at ${url} answered ${answer.status}: ${answer.text.trim()}\n`,
      );
      return 1;
    }
    context.stdout(formatExplanation(JSON.parse(answer.text) as Explanation));
    return 0;
  } finally {
    await kube?.close();
  }
}

/**
 * The serving certificate's files: `--tls-cert` and `--tls-key`, else
 * `tls.crt` and `tls.key` in `--tls-cert-dir` when both exist there, else
 * none (plain HTTP).
 */
async function servingCertFiles(
  context: CommandContext,
): Promise<{ cert: string; key: string } | undefined> {
  const cert = context.flags.string("tls-cert");
  const key = context.flags.string("tls-key");
  if (Boolean(cert) !== Boolean(key)) {
    throw new UsageError("flags --tls-cert and --tls-key go together");
  }
  if (cert && key) return { cert, key };
  const dir = context.flags.string("tls-cert-dir");
  if (!dir) return undefined;
  const files = { cert: `${dir}/tls.crt`, key: `${dir}/tls.key` };
  for (const file of [files.cert, files.key]) {
    try {
      await context.readTextFile(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }
  return files;
}

/**
 * Reads the serving certificate and key; reads the certificate again after
 * the key so a Secret update between the two reads is not taken half.
 */
async function readServingCert(
  context: CommandContext,
  files: { cert: string; key: string },
): Promise<TlsMaterial> {
  const cert = await context.readTextFile(files.cert);
  const key = await context.readTextFile(files.key);
  if (await context.readTextFile(files.cert) !== cert) {
    throw new Error(
      `Cannot read the TLS certificate "${files.cert}": it changed while being read`,
    );
  }
  return { cert, key };
}

/** Where the running extender serves explain: `--listen`, loopback for a wildcard host. */
function explainUrl(
  listen: ListenAddress,
  prefix: string,
  https: boolean,
): string {
  const wildcard = ["", "0.0.0.0", "::"].includes(listen.hostname);
  const host = wildcard ? "127.0.0.1" : listen.hostname;
  const authority = host.includes(":") ? `[${host}]` : host;
  return `${
    https ? "https" : "http"
  }://${authority}:${listen.port}${prefix}/explain`;
}

function parseListenAddressFlag(text: string, flag: string): ListenAddress {
  try {
    return parseListenAddress(text);
  } catch (error) {
    throw new UsageError(`flag --${flag}: ${errorMessage(error)}`);
  }
}
