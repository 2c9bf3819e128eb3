/**
 * `linstor-suite doctor`: gathers what the checks need at the edges
 * (LINSTOR, Kubernetes, the scheduler configuration, LVM through the command
 * edge), hands it to the pure checks of `src/doctor/` and prints their table
 * or JSON. Exit code 1 when any check fails.
 *
 * @module
 */
import {
  AGENT_DEFAULT_LVM_PATH,
  DEPLOY_NAMESPACE,
  EXTENDER_SCHEDULER_CONFIG_MAP,
  LINSTOR_DEFAULT_HOST,
  LINSTOR_DEFAULT_TIMEOUT_MS,
  MODE_RBAC,
} from "../constants.ts";
import {
  type Check,
  exitCodeOf,
  extenderProbeUrl,
  type ExtenderReachability,
  fail,
  formatCheckJson,
  formatCheckTable,
  type KubeAccessProbe,
  kubernetesAccessChecks,
  linstorChecks,
  type LinstorEndpointProbe,
  lvmChecks,
  type ModePermissionProbe,
  type NamespaceNode,
  parseSchedulerConfig,
  permissionChecks,
  type PermissionReview,
  propertyNamespaceChecks,
  schedulerChecks,
  type SchedulerConfig,
  suiteExtenders,
  warn,
} from "../doctor/mod.ts";
import { scanLvm } from "../modes/agent/mod.ts";
import {
  type CommandRunner,
  createCommandRunner,
  postJson,
} from "../system/mod.ts";
import {
  KubeApiError,
  type KubeDiagnostics,
  type KubeIdentity,
} from "../kube/mod.ts";
import { createKubeDiagnostics, loadKubeConfig } from "../kube/client/mod.ts";
import {
  LinstorApiError,
  LinstorClient,
  type LinstorClientOptions,
  parseControllerUrl,
  parseLinstorConfig,
} from "../linstor/mod.ts";
import { errorMessage } from "../reconcile/mod.ts";
import type { Command, CommandContext } from "./command.ts";
import { DOCTOR_COMMAND_INFO } from "./doctor_flags.ts";
import { setupLogging } from "./common.ts";
import { UsageError } from "./flags.ts";
export { DOCTOR_COMMAND_INFO, DOCTOR_FLAGS } from "./doctor_flags.ts";

/** How long doctor waits for an extender's answer. */
const EXTENDER_PROBE_TIMEOUT_MS = 5_000;

/** The modes whose checks `--mode` selects. */
export const DOCTOR_MODES = [
  "extender",
  "affinity",
  "agent",
  "fencing",
] as const;

/** One mode `--mode` can name. */
export type DoctorMode = typeof DOCTOR_MODES[number];

/** The edges `doctor` gathers through; tests replace them. */
export interface DoctorWiring {
  /** Asks one controller for its version (and, when it answers, its nodes). */
  probeLinstor(
    options: LinstorClientOptions,
    signal: AbortSignal,
  ): Promise<LinstorProbeResult>;
  /** Asks an extender URL whether it answers. */
  probeExtender(
    url: string,
    options: { signal: AbortSignal; caCert?: string },
  ): Promise<ExtenderReachability>;
  /** Runs `lvm` (the agent's scan). */
  readonly runner: CommandRunner;
  /** The apiserver client of `--kubeconfig`/`KUBECONFIG`/in-cluster and `--context`; throws when none is usable. */
  createKubeDiagnostics(context: CommandContext): KubeDiagnostics;
}

/** What one controller answered. */
export interface LinstorProbeResult {
  readonly result: LinstorEndpointProbe["result"];
  /** Its nodes, when it answered. */
  readonly nodes?: readonly NamespaceNode[];
}

/** The real edges. */
export const DOCTOR_WIRING: DoctorWiring = {
  probeLinstor,
  probeExtender,
  runner: createCommandRunner(),
  createKubeDiagnostics: (context) =>
    createKubeDiagnostics(loadKubeConfig({
      path: context.flags.string("kubeconfig"),
      env: context.env,
      context: context.flags.string("context"),
    })),
};

/** The `doctor` subcommand over `wiring`. */
export function createDoctorCommand(wiring: DoctorWiring): Command {
  return {
    ...DOCTOR_COMMAND_INFO,
    run: (context) => runDoctor(context, wiring),
  };
}

async function runDoctor(
  context: CommandContext,
  wiring: DoctorWiring,
): Promise<number> {
  if (context.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument "${context.positionals[0]}"`,
    );
  }
  const modes = selectedModes(context.flags.list("mode"));
  // The table reports every failure; logs only from -v=4 on.
  await setupLogging(context, { errorsOnly: true });
  const checks: Check[] = [];
  const linstor = await gatherLinstor(context, wiring);
  checks.push(...linstor.checks);
  if (
    linstor.nodes !== undefined &&
    (modes.has("extender") || modes.has("affinity"))
  ) {
    checks.push(...propertyNamespaceChecks(linstor.nodes, {
      setting: context.flags.string("property-namespace"),
    }));
  }
  checks.push(
    ...await gatherKube(context, wiring, modes, async (kube) => [
      ...modes.has("extender")
        ? await gatherScheduler(context, wiring, kube)
        : [],
    ]),
  );
  // Node-local: only when --mode names agent (not for the default "all").
  if (modes.has("agent") && context.flags.isSet("mode")) {
    checks.push(...lvmChecks(
      await scanLvm(wiring.runner, {
        hostLvm: context.flags.boolean("host-lvm"),
        lvmPath: context.flags.string("lvm-path") ?? AGENT_DEFAULT_LVM_PATH,
        signal: context.signal,
      }),
    ));
  }
  context.stdout(
    context.flags.string("output") === "json"
      ? formatCheckJson(checks)
      : formatCheckTable(checks),
  );
  return exitCodeOf(checks);
}

/** The modes `--mode` names (`all` for every one); a `UsageError` for an unknown one. */
export function selectedModes(values: readonly string[]): Set<DoctorMode> {
  const modes = new Set<DoctorMode>();
  for (const value of values.length === 0 ? ["all"] : values) {
    if (value === "all") {
      for (const mode of DOCTOR_MODES) modes.add(mode);
    } else if ((DOCTOR_MODES as readonly string[]).includes(value)) {
      modes.add(value as DoctorMode);
    } else {
      throw new UsageError(
        `Cannot check mode "${value}": expected ${
          DOCTOR_MODES.join(", ")
        } or all`,
      );
    }
  }
  return modes;
}

async function gatherLinstor(
  context: CommandContext,
  wiring: DoctorWiring,
): Promise<{ checks: Check[]; nodes?: readonly NamespaceNode[] }> {
  let config: LinstorClientOptions;
  let urls: string[];
  try {
    config = parseLinstorConfig(context.env, {
      readFile: (path) => Deno.readTextFileSync(path),
    });
    const given = config.controllers ?? [];
    urls = [
      ...new Set(
        (given.length === 0 ? [LINSTOR_DEFAULT_HOST] : given).map((entry) =>
          parseControllerUrl(entry, {
            defaultScheme: config.tls ? "https" : "http",
          })
        ),
      ),
    ];
  } catch (error) {
    return {
      checks: [fail(
        "LINSTOR configuration",
        errorMessage(error),
        "fix the LS_* variable the message names (docs/doctor.md lists them)",
      )],
    };
  }
  const timeoutMs = context.flags.number("linstor-timeout") ??
    LINSTOR_DEFAULT_TIMEOUT_MS;
  const probes: LinstorEndpointProbe[] = [];
  let nodes: readonly NamespaceNode[] | undefined;
  for (const url of urls) {
    const answer = await wiring.probeLinstor(
      { ...config, controllers: [url], timeoutMs },
      context.signal,
    );
    probes.push({
      url,
      clientCertificate: Boolean(config.tls?.cert),
      auth: config.auth?.type,
      result: answer.result,
    });
    nodes ??= answer.nodes;
  }
  return { checks: linstorChecks(probes), ...(nodes ? { nodes } : {}) };
}

async function gatherKube(
  context: CommandContext,
  wiring: DoctorWiring,
  modes: ReadonlySet<DoctorMode>,
  then: (kube: KubeDiagnostics | undefined) => Promise<Check[]>,
): Promise<Check[]> {
  let kube: KubeDiagnostics;
  try {
    kube = wiring.createKubeDiagnostics(context);
  } catch (error) {
    return [
      ...kubernetesAccessChecks({
        ok: false,
        stage: "config",
        message: errorMessage(error),
      }),
      ...await then(undefined),
    ];
  }
  try {
    const signal = context.signal;
    let access: KubeAccessProbe;
    let identity: KubeIdentity | undefined;
    try {
      const version = await kube.serverVersion({ signal });
      identity = await kube.whoAmI({ signal }).catch(() => undefined);
      access = {
        ok: true,
        server: kube.server,
        version,
        ...(identity ? { identity } : {}),
      };
    } catch (error) {
      access = {
        ok: false,
        stage: "request",
        server: kube.server,
        ...(error instanceof KubeApiError ? { status: error.status } : {}),
        message: error instanceof KubeApiError
          ? error.apiMessage || error.message
          : errorMessage(error),
      };
    }
    const checks = kubernetesAccessChecks(access);
    if (!access.ok) return [...checks, ...await then(undefined)];
    const namespace = context.flags.string("namespace") || DEPLOY_NAMESPACE;
    for (const mode of DOCTOR_MODES) {
      if (!modes.has(mode)) continue;
      checks.push(
        ...permissionChecks(
          await reviewMode(kube, { mode, namespace, identity, signal }),
        ),
      );
    }
    return [...checks, ...await then(kube)];
  } finally {
    kube.close();
  }
}

/**
 * Reviews every permission of `mode`: as the caller when the caller is the
 * mode's ServiceAccount, else for that ServiceAccount (SubjectAccessReview),
 * falling back to the caller's own access when it may not review others'.
 */
async function reviewMode(
  kube: KubeDiagnostics,
  input: {
    mode: DoctorMode;
    namespace: string;
    identity: KubeIdentity | undefined;
    signal: AbortSignal;
  },
): Promise<ModePermissionProbe> {
  const rbac = MODE_RBAC[input.mode];
  const namespace = input.namespace;
  const serviceAccount =
    `system:serviceaccount:${namespace}:${rbac.serviceAccount}`;
  const caller = input.identity?.username || "the caller";
  const review = async (
    subject: KubeIdentity | undefined,
  ): Promise<PermissionReview[]> => {
    const reviews: PermissionReview[] = [];
    for (const permission of rbac.permissions) {
      const attributes = {
        verb: permission.verb,
        group: permission.group,
        resource: permission.resource,
        ...(permission.subresource
          ? { subresource: permission.subresource }
          : {}),
        ...(permission.name ? { name: permission.name } : {}),
        ...(permission.scope === "namespace" ? { namespace } : {}),
      };
      const decision = await kube.reviewAccess(attributes, {
        signal: input.signal,
        ...(subject ? { subject } : {}),
      });
      reviews.push({ permission, decision });
    }
    return reviews;
  };
  const base = { mode: input.mode, rbac, namespace };
  const errorReviews = (error: unknown): PermissionReview[] =>
    rbac.permissions.map((permission) => ({
      permission,
      decision: { error: errorMessage(error) },
    }));
  /** One review of every permission for `subject`; a failure fills the rows. */
  const ask = async (
    subject: string,
    as: KubeIdentity | undefined,
    options: {
      asCaller?: boolean;
      onForbidden?: () => Promise<ModePermissionProbe>;
    } = {},
  ): Promise<ModePermissionProbe> => {
    const head = {
      ...base,
      subject,
      reviewedAsCaller: options.asCaller ?? false,
    };
    try {
      return { ...head, reviews: await review(as) };
    } catch (error) {
      if (
        options.onForbidden && error instanceof KubeApiError &&
        error.status === 403
      ) {
        return await options.onForbidden();
      }
      return { ...head, reviews: errorReviews(error) };
    }
  };
  if (input.identity?.username === serviceAccount) {
    return await ask(serviceAccount, undefined);
  }
  return await ask(serviceAccount, {
    username: serviceAccount,
    groups: [
      "system:serviceaccounts",
      `system:serviceaccounts:${namespace}`,
      "system:authenticated",
    ],
  }, {
    // Not allowed to ask about others: the caller's own rights instead.
    onForbidden: () => ask(caller, undefined, { asCaller: true }),
  });
}

async function gatherScheduler(
  context: CommandContext,
  wiring: DoctorWiring,
  kube: KubeDiagnostics | undefined,
): Promise<Check[]> {
  const file = context.flags.string("scheduler-config");
  const namespace = context.flags.string("namespace") || DEPLOY_NAMESPACE;
  let source: string;
  let text: string;
  if (file) {
    source = file;
    try {
      text = await context.readTextFile(file);
    } catch (error) {
      return [fail(
        "scheduler configuration",
        `Cannot read "${file}": ${errorMessage(error)}`,
        "give --scheduler-config the file kube-scheduler's --config names",
      )];
    }
  } else {
    if (!kube) return [];
    source = `ConfigMap ${namespace}/${EXTENDER_SCHEDULER_CONFIG_MAP}`;
    let data: Readonly<Record<string, string>>;
    try {
      data = await kube.readConfigMap({
        namespace,
        name: EXTENDER_SCHEDULER_CONFIG_MAP,
      }, { signal: context.signal });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) {
        return [warn(
          "scheduler configuration",
          `no ${source} (the default-scheduler setup keeps its configuration on the control-plane nodes)`,
          "pass --scheduler-config with the file kube-scheduler's --config names",
        )];
      }
      return [fail(
        "scheduler configuration",
        `Cannot read ${source}: ${errorMessage(error)}`,
        "let doctor's user get configmaps in that namespace, or pass --scheduler-config",
      )];
    }
    text = Object.values(data).find((v) =>
      /KubeSchedulerConfiguration/.test(v)
    ) ?? "";
  }
  let config: SchedulerConfig;
  try {
    config = parseSchedulerConfig(text);
  } catch (error) {
    return [fail(
      "scheduler configuration",
      `${source}: ${errorMessage(error)}`,
      "start from deploy/extender/scheduler-config.yaml",
    )];
  }
  const reachability = new Map<string, ExtenderReachability>();
  for (const extender of suiteExtenders(config)) {
    if (!extender.urlPrefix) continue;
    const url = extenderProbeUrl(extender);
    reachability.set(
      url,
      await wiring.probeExtender(url, {
        signal: context.signal,
        ...(extender.caData ? { caCert: atob(extender.caData) } : {}),
      }),
    );
  }
  return schedulerChecks(config, { source, reachability });
}

/** POSTs an empty extender request to `url`: any HTTP answer means it is there. */
async function probeExtender(
  url: string,
  options: { signal: AbortSignal; caCert?: string },
): Promise<ExtenderReachability> {
  try {
    const answer = await postJson(url, { Pod: {}, NodeNames: [] }, {
      signal: options.signal,
      caCert: options.caCert,
      timeoutMs: EXTENDER_PROBE_TIMEOUT_MS,
    });
    return { ok: true, status: answer.status };
  } catch (error) {
    return { ok: false, message: errorMessage(error) };
  }
}

/** Asks the one controller of `options` for its version, then its nodes. */
async function probeLinstor(
  options: LinstorClientOptions,
  signal: AbortSignal,
): Promise<LinstorProbeResult> {
  let client: LinstorClient;
  try {
    client = new LinstorClient({ ...options, mode: "doctor" });
  } catch (error) {
    return { result: { ok: false, message: errorMessage(error) } };
  }
  try {
    const version = await client.controller.version({ signal });
    let nodes: NamespaceNode[] | undefined;
    try {
      nodes = (await client.nodes.list({ signal })).map((n) => ({
        name: n.name ?? "",
        props: n.props ?? {},
      }));
    } catch {
      // The version check already says whether this controller works.
      nodes = undefined;
    }
    return { result: { ok: true, version }, ...(nodes ? { nodes } : {}) };
  } catch (error) {
    return {
      result: {
        ok: false,
        status: error instanceof LinstorApiError ? error.status : undefined,
        message: errorMessage(error),
      },
    };
  } finally {
    client.close();
  }
}
