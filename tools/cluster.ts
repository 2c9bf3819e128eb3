/**
 * `deno task cluster up [--extender-url URL]` starts the real test control
 * plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) in
 * the background and prints, as its last line, the path of an admin
 * kubeconfig. `deno task cluster down` stops everything `up` started.
 * `deno task cluster status` tells whether one is running.
 *
 * State lives in `${LINSTOR_SUITE_CACHE:-~/.cache/linstor-suite}/cluster/`
 * (`LINSTOR_SUITE_CLUSTER_DIR` overrides it, e.g. for tests).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  cacheRoot,
  type ControlPlaneState,
  ControlPlaneUnavailableError,
  LINSTOR_SCHEDULER_NAME,
  startControlPlane,
  SUITE_MODES,
} from "../tests/_harness/control_plane.ts";

const USAGE = `Usage:
  deno task cluster up [--extender-url URL]   start in the background
  deno task cluster down                      stop what "up" started
  deno task cluster status                    print the running cluster, if any
`;

const encoder = new TextEncoder();

function out(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

function err(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function clusterDir(): string {
  return Deno.env.get("LINSTOR_SUITE_CLUSTER_DIR") ??
    join(cacheRoot(), "cluster");
}

function stateFile(): string {
  return join(clusterDir(), "state.json");
}

async function readState(): Promise<ControlPlaneState | undefined> {
  try {
    return JSON.parse(
      await Deno.readTextFile(stateFile()),
    ) as ControlPlaneState;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** True when `pid` runs `binary` (guards against reused pids). */
function runs(pid: number, binary: string): boolean {
  try {
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return cmdline.split("\0").some((arg) => arg === binary);
  } catch {
    return false;
  }
}

function alive(state: ControlPlaneState): string[] {
  return Object.entries(state.pids)
    .filter(([name, pid]) => runs(pid, state.binaries[name] ?? ""))
    .map(([name]) => name);
}

async function up(extenderUrl: string | undefined): Promise<number> {
  const previous = await readState();
  if (previous && alive(previous).length > 0) {
    err(
      `Cannot start the cluster: one is running (${previous.server}); ` +
        `run "deno task cluster down" first`,
    );
    return 1;
  }
  if (previous) await cleanup(previous);
  const workDir = join(clusterDir(), "run");
  await Deno.remove(workDir, { recursive: true }).catch(() => {});
  let cp;
  try {
    cp = await startControlPlane({
      detached: true,
      workDir,
      removeWorkDir: false,
      ...(extenderUrl ? { extenderUrl } : {}),
    });
  } catch (error) {
    if (error instanceof ControlPlaneUnavailableError) {
      err(error.message);
      return 1;
    }
    throw error;
  }
  await Deno.writeTextFile(stateFile(), JSON.stringify(cp.state(), null, 2));
  cp.release();
  out(`control plane ${cp.binaries.version} up at ${cp.server}`);
  out(`logs: ${cp.logDir}`);
  out(
    `scheduler profiles: default-scheduler, ${LINSTOR_SCHEDULER_NAME}` +
      (extenderUrl ? ` (extender ${extenderUrl})` : " (no extender)"),
  );
  for (const mode of SUITE_MODES) {
    out(`kubeconfig ${mode}: ${cp.kubeconfigFor(mode)}`);
  }
  out(`kubeconfig admin (client certificate): ${cp.adminCertKubeconfig}`);
  out("stop with: deno task cluster down");
  out(cp.adminKubeconfig);
  return 0;
}

async function killGroup(pid: number, binary: string): Promise<void> {
  if (!runs(pid, binary)) return;
  const signal = (s: Deno.Signal) => {
    try {
      Deno.kill(-pid, s);
    } catch {
      // Gone in between.
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + 10_000;
  while (runs(pid, binary) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signal("SIGKILL");
}

async function cleanup(state: ControlPlaneState): Promise<void> {
  const order = [
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
  ];
  for (const name of order) {
    const pid = state.pids[name];
    if (pid !== undefined) await killGroup(pid, state.binaries[name] ?? "");
  }
  for (const dir of [state.dataDir, state.workDir]) {
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  await Deno.remove(stateFile()).catch(() => {});
}

async function down(): Promise<number> {
  const state = await readState();
  if (!state) {
    out("no cluster is running");
    return 0;
  }
  await cleanup(state);
  out(`stopped the cluster at ${state.server}`);
  return 0;
}

async function status(): Promise<number> {
  const state = await readState();
  const running = state ? alive(state) : [];
  if (!state || running.length === 0) {
    out("no cluster is running");
    return 1;
  }
  out(`running at ${state.server}: ${running.join(", ")}`);
  out(join(state.workDir, "admin.kubeconfig"));
  return 0;
}

async function main(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "extender-url": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  await Deno.mkdir(clusterDir(), { recursive: true });
  switch (command) {
    case "up":
      return await up(values["extender-url"]);
    case "down":
      return await down();
    case "status":
      return await status();
    default:
      err(`Cannot run "${command}": unknown command\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
