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
} from "../constants.ts";
import type { KubeApi } from "../kube/mod.ts";
import type { LinstorClient } from "../linstor/mod.ts";
import {
  DEFAULT_EXTENDER_CONFIG,
  explainPod,
  EXTENDER_KINDS,
  type ExtenderConfig,
  formatExplanation,
  normalizePrefix,
  parseExtenderConfig,
  Reservations,
  startExtender,
} from "../modes/extender/mod.ts";
import { parseRemoteAccessPolicy } from "../csi/mod.ts";
import { propertyNamespaceSetting } from "../domain/mod.ts";
import { errorMessage } from "../reconcile/mod.ts";
import { createLinstorReader, startClusterState } from "../state/mod.ts";
import {
  type ListenAddress,
  parseListenAddress,
  SYSTEM_CLOCK,
} from "../system/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import {
  COMMON_FLAGS,
  kubeApiFrom,
  linstorClientFrom,
  setupLogging,
} from "./common.ts";
import { type FlagSpec, UsageError } from "./flags.ts";
import { type ModeWiring, runMode } from "./run_mode.ts";

/** How long `explain` waits for LINSTOR and the Kubernetes lists. */
const EXPLAIN_SYNC_TIMEOUT_MS = 60_000;

/** Flags of `extender`. */
export const EXTENDER_FLAGS: readonly FlagSpec[] = [
  ...COMMON_FLAGS,
  {
    name: "listen",
    type: "string",
    description: "Serve the extender verbs on this address",
    env: "LINSTOR_SUITE_EXTENDER_LISTEN",
    default: EXTENDER_DEFAULT_LISTEN,
    valueName: "HOST:PORT",
  },
  {
    name: "tls-cert",
    type: "string",
    description: "PEM certificate chain: serve HTTPS (with --tls-key)",
    env: "LINSTOR_SUITE_EXTENDER_TLS_CERT",
    valueName: "FILE",
  },
  {
    name: "tls-key",
    type: "string",
    description: "PEM private key of --tls-cert",
    env: "LINSTOR_SUITE_EXTENDER_TLS_KEY",
    valueName: "FILE",
  },
  {
    name: "config",
    type: "string",
    description:
      "YAML config file (predicates, divisors, locality levels…); flags override it",
    env: "LINSTOR_SUITE_EXTENDER_CONFIG",
    valueName: "FILE",
  },
  {
    name: "max-staleness",
    type: "duration",
    description: "Fail open when LINSTOR was not polled successfully this long",
    env: "LINSTOR_SUITE_MAX_STALENESS",
  },
  {
    name: "reservation-ttl",
    type: "duration",
    description: "Lifetime of a capacity reservation",
    env: "LINSTOR_SUITE_RESERVATION_TTL",
  },
  {
    name: "deadline",
    type: "duration",
    description:
      "Internal answer deadline (keep it under kube-scheduler's httpTimeout)",
  },
  {
    name: "prefix",
    type: "string",
    description: "Path prefix of the verbs (urlPrefix path)",
  },
  {
    name: "filter-verb",
    type: "string",
    description: "filterVerb of the scheduler config",
  },
  {
    name: "prioritize-verb",
    type: "string",
    description: "prioritizeVerb of the scheduler config",
  },
  {
    name: "property-namespace",
    type: "string",
    description:
      "LINSTOR node property namespace of topology (Aux/topology, Aux); default: detect",
    env: "LINSTOR_SUITE_PROPERTY_NAMESPACE",
  },
  {
    name: "default-remote-access-policy",
    type: "string",
    description:
      "linstor-csi's --default-remote-access-policy, when it was changed there",
    valueName: "POLICY",
  },
];

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
  let result: ExtenderConfig = {
    ...config,
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
    name: "extender",
    summary:
      "kube-scheduler extender: place pods where their LINSTOR data is and their new volumes fit",
    arguments: "[explain NAMESPACE/POD]",
    description:
      "Serves POST <prefix>/filter and <prefix>/prioritize for kube-scheduler from an in-memory " +
      "view of LINSTOR and Kubernetes (no backend call per request), plus /healthz, /readyz and " +
      "/metrics. `extender explain NAMESPACE/POD` prints, for every node, the verdict, score and " +
      "reservations computed from live state. See docs/extender.md.",
    flags: EXTENDER_FLAGS,
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
  const certFile = context.flags.string("tls-cert");
  const keyFile = context.flags.string("tls-key");
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new UsageError("flags --tls-cert and --tls-key go together");
  }
  const listen = parseListenAddressFlag(
    context.flags.string("listen") ?? EXTENDER_DEFAULT_LISTEN,
    "listen",
  );
  if (sub === "explain") {
    return await runExplain(context, { wiring, config, target: target! });
  }
  const tls = certFile && keyFile
    ? {
      cert: await context.readTextFile(certFile),
      key: await context.readTextFile(keyFile),
    }
    : undefined;
  return await runMode(context, {
    name: "extender",
    wiring,
    // Keep answering filter/prioritize calls while a large LINSTOR poll is
    // indexed (docs/state.md).
    cooperative: true,
    create: (environment) => ({
      name: "extender",
      kinds: EXTENDER_KINDS,
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
          await extender.server.finished;
        },
      }],
    }),
  });
}

/** `extender explain NAMESPACE/POD`: one evaluation from freshly synced state. */
async function runExplain(
  context: CommandContext,
  input: { wiring: ExtenderWiring; config: ExtenderConfig; target: string },
): Promise<number> {
  await setupLogging(context);
  const linstor = linstorClientFrom(context, { mode: "extender" });
  let kube: KubeApi | undefined;
  try {
    kube = await input.wiring.createKube(context, {
      reportingInstance: input.wiring.hostname(),
    });
    return await explain(context, {
      kube,
      linstor,
      config: input.config,
      signal: context.signal,
      target: input.target,
    });
  } finally {
    linstor.close();
    await kube?.close();
  }
}

function parseListenAddressFlag(text: string, flag: string): ListenAddress {
  try {
    return parseListenAddress(text);
  } catch (error) {
    throw new UsageError(`flag --${flag}: ${errorMessage(error)}`);
  }
}

async function explain(
  context: CommandContext,
  input: {
    kube: KubeApi;
    linstor: LinstorClient;
    config: ExtenderConfig;
    signal: AbortSignal;
    target: string;
  },
): Promise<number> {
  const [namespace, name, ...rest] = input.target.split("/");
  if (!namespace || !name || rest.length > 0) {
    throw new UsageError(
      `Cannot explain "${input.target}": expected NAMESPACE/POD`,
    );
  }
  const stop = new AbortController();
  const signal = AbortSignal.any([input.signal, stop.signal]);
  const cluster = startClusterState({
    clock: SYSTEM_CLOCK,
    linstor: createLinstorReader(input.linstor),
    kube: input.kube,
  }, { kinds: EXTENDER_KINDS, signal });
  try {
    const pods = await input.kube.list("pods", { signal });
    const pod = pods.items.find((p: V1Pod) =>
      p.metadata?.namespace === namespace && p.metadata?.name === name
    );
    if (!pod) {
      context.stderr(
        `linstor-suite extender: Cannot explain "${input.target}": pod not found\n`,
      );
      return 1;
    }
    const deadline = SYSTEM_CLOCK.now() + EXPLAIN_SYNC_TIMEOUT_MS;
    while (!cluster.state.isSynced()) {
      if (SYSTEM_CLOCK.now() > deadline) {
        context.stderr(
          `linstor-suite extender: Cannot explain "${input.target}": LINSTOR or Kubernetes not reachable within ${
            EXPLAIN_SYNC_TIMEOUT_MS / 1000
          }s\n`,
        );
        return 1;
      }
      await SYSTEM_CLOCK.sleep(100, signal);
    }
    const explanation = explainPod(cluster.state.snapshot(), pod, {
      config: input.config,
      now: SYSTEM_CLOCK.now(),
      reservations: new Reservations({
        clock: SYSTEM_CLOCK,
        ttlMs: input.config.reservationTtlMs,
      }),
    });
    context.stdout(formatExplanation(explanation));
    return 0;
  } finally {
    stop.abort();
    await cluster.stopped;
  }
}
