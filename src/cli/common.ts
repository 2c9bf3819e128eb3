/**
 * The interpretation of the flags every long-running mode shares (the flags
 * themselves are in `common_flags.ts`, re-exported here).
 *
 * @module
 */
import { SYSTEM_CLOCK } from "../system/mod.ts";
import { DEFAULT_HEALTH_ADDRESS } from "../constants.ts";
import type { KubeApi } from "../kube/mod.ts";
import { createKubeApi, loadKubeConfig } from "../kube/client/mod.ts";
import { LinstorClient, parseLinstorConfig } from "../linstor/mod.ts";
import {
  configureLogging,
  createHealthRoutes,
  type HealthChecks,
  type Registry,
  verbosityToLevel,
} from "../observability/mod.ts";
import {
  type HttpServer,
  parseListenAddress,
  serveHttp,
} from "../system/mod.ts";
import type { CommandContext } from "./command.ts";
export {
  COMMON_FLAGS,
  commonFlagsWithHealthAliases,
  KUBECONFIG_FLAG,
  LINSTOR_TIMEOUT_FLAG,
  LOG_FLAGS,
} from "./common_flags.ts";
import { type ParsedFlags, UsageError } from "./flags.ts";

/** klog's debug verbosity, which `--verbose` stands for. */
const VERBOSE_VERBOSITY = 4;

/** The klog verbosity from `-v` and `--verbose` (which means at least 4). */
export function verbosityOf(context: Pick<CommandContext, "flags">): number {
  const verbosity = context.flags.number("verbosity") ?? 0;
  return context.flags.boolean("verbose")
    ? Math.max(verbosity, VERBOSE_VERBOSITY)
    : verbosity;
}

/**
 * Configures logging from `-v`, `--verbose` and `--log-format`; logs go to
 * stderr. With `quiet`, only warnings and errors are written.
 */
export async function setupLogging(
  context: CommandContext,
  options: {
    quiet?: boolean;
    /** Below `-v=4`, only errors (a command whose output already reports failures). */
    errorsOnly?: boolean;
  } = {},
): Promise<void> {
  const verbosity = verbosityOf(context);
  await configureLogging({
    level: options.errorsOnly && verbosity < VERBOSE_VERBOSITY
      ? "error"
      : options.quiet
      ? "warning"
      : verbosityToLevel(verbosity),
    format: context.flags.string("log-format") === "json" ? "json" : "text",
    write: context.stderr,
  });
}

/**
 * The shared LINSTOR client from the golinstor `LS_*` environment and the
 * common flags. Throws a `UsageError` naming the variable or flag on bad input.
 */
export function linstorClientFrom(
  context: CommandContext,
  options: { mode: string; metrics?: Registry },
): LinstorClient {
  const qps = context.flags.number("linstor-requests-per-second") ?? 0;
  const burst = context.flags.number("linstor-burst") ?? 10;
  if (qps < 0 || burst < 1) {
    throw new UsageError(
      `Cannot rate-limit LINSTOR requests with "${qps}" per second and burst "${burst}": need a rate >= 0 and a burst >= 1`,
    );
  }
  let config;
  try {
    config = parseLinstorConfig(context.env, {
      readFile: (path) => Deno.readTextFileSync(path),
    });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const timeoutMs = context.flags.number("linstor-timeout");
  return new LinstorClient({
    ...config,
    mode: options.mode,
    // Large lists are parsed with turns of the event loop in between, so
    // health probes and extender requests are never blocked by a poll.
    yieldControl: () => SYSTEM_CLOCK.sleep(0),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(qps > 0 ? { rateLimit: { qps, burst } } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
}

/** The Kubernetes API from `--kubeconfig`, else `KUBECONFIG`, else in-cluster. */
export function kubeApiFrom(
  context: CommandContext,
  options: {
    reportingInstance?: string;
    /** The kubeconfig context to use instead of the current one. */
    kubeContext?: string | undefined;
  } = {},
): KubeApi {
  const kubeConfig = loadKubeConfig({
    path: context.flags.string("kubeconfig"),
    env: context.env,
    context: options.kubeContext,
  });
  return createKubeApi(kubeConfig, {
    ...(options.reportingInstance
      ? { reportingInstance: options.reportingInstance }
      : {}),
  });
}

/**
 * Serves `/healthz`, `/readyz` and `/metrics` on `--health-address` (and on
 * `extraAddresses`) until `signal` aborts.
 */
export function serveHealth(
  context: CommandContext,
  options: {
    registry: Registry;
    checks: HealthChecks;
    signal: AbortSignal;
    extraAddresses?: readonly string[];
  },
): HttpServer[] {
  const routes = createHealthRoutes(options);
  const handler = (request: Request) =>
    routes(request) ?? new Response("not found\n", { status: 404 });
  const addresses = [
    context.flags.string("health-address") ?? DEFAULT_HEALTH_ADDRESS,
    ...(options.extraAddresses ?? []),
  ];
  return addresses.map((text) => {
    let address;
    try {
      address = parseListenAddress(text);
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
    return serveHttp(handler, { ...address, signal: options.signal });
  });
}

/** Resolves when `signal` aborts (at once if it already has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * The number of flag `name`, which must be given (or defaulted) and
 * positive; else a `UsageError` naming the flag.
 */
export function positiveFlag(flags: ParsedFlags, name: string): number {
  const value = flags.number(name);
  if (value === undefined || !(value > 0)) {
    throw new UsageError(`flag --${name} must be positive, got "${value}"`);
  }
  return value;
}

/**
 * The number of flag `name` (`fallback` when absent), which must not be
 * negative; else a `UsageError` naming the flag.
 */
export function nonNegativeFlag(
  flags: ParsedFlags,
  name: string,
  options: { fallback: number },
): number {
  const value = flags.number(name) ?? options.fallback;
  if (!(value >= 0)) {
    throw new UsageError(
      `flag --${name} must not be negative, got "${value}"`,
    );
  }
  return value;
}
