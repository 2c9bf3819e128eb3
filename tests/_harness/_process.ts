/**
 * Child processes of the control-plane harness: each runs in its own process
 * group, logs to a file, and is killed with its whole group on stop.
 *
 * @module
 */

/** Options of {@linkcode spawnComponent}. */
export interface SpawnOptions {
  /** Arguments after the binary. */
  args: string[];
  /** File that receives stdout and stderr (appended). */
  logFile: string;
  /**
   * Kill the child when the spawning thread dies (Linux `PR_SET_PDEATHSIG`
   * through util-linux `setpriv`), so a `kill -9` of the test runner leaves
   * nothing behind. Off for `cluster up`, whose children outlive it.
   *
   * @default {true}
   */
  dieWithParent?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** A running component. */
export interface Component {
  /** Short name used in messages ("etcd", "kube-apiserver" …). */
  readonly name: string;
  /** Process id; also the process group id. */
  readonly pid: number;
  /** The log file. */
  readonly logFile: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** True once the process has exited. */
  readonly done: boolean;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when gone. */
  stop(graceMs?: number): Promise<void>;
  /** Synchronous SIGKILL of the group, for unload/signal handlers. */
  killNow(): void;
  /** Lets this process exit while the component keeps running. */
  unref(): void;
}

let setprivChecked: boolean | undefined;

function hasSetpriv(): boolean {
  if (setprivChecked === undefined) {
    try {
      setprivChecked = Deno.statSync("/usr/bin/setpriv").isFile;
    } catch {
      setprivChecked = false;
    }
  }
  return setprivChecked;
}

function killGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Spawns `binary` detached in a new session (its own process group), stdout
 * and stderr appended to `options.logFile`.
 */
export async function spawnComponent(
  name: string,
  binary: string,
  options: SpawnOptions,
): Promise<Component> {
  const log = await Deno.open(options.logFile, {
    create: true,
    append: true,
  });
  // The log file is handed to the child through a shell redirection so that
  // the parent keeps no pipe open (nothing to drain, nothing to leak).
  log.close();
  const wrap = options.dieWithParent !== false && hasSetpriv();
  const argv = wrap
    ? ["setpriv", "--pdeathsig", "KILL", "--", binary, ...options.args]
    : [binary, ...options.args];
  const command = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'exec "$@" >>"$LINSTOR_SUITE_LOG" 2>&1 </dev/null',
      "sh",
      ...argv,
    ],
    env: { ...options.env, LINSTOR_SUITE_LOG: options.logFile },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  });
  const child = command.spawn();
  let done = false;
  const exited = child.status.then((status) => {
    done = true;
    return status;
  });
  const pid = child.pid;
  return {
    name,
    pid,
    logFile: options.logFile,
    exited,
    get done() {
      return done;
    },
    async stop(graceMs = 5_000): Promise<void> {
      if (done) return;
      killGroup(pid, "SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), graceMs);
      });
      const first = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (first === "timeout") {
        killGroup(pid, "SIGKILL");
        await exited;
      }
      // Anything the component forked in its group goes too.
      killGroup(pid, "SIGKILL");
    },
    killNow(): void {
      if (!done) killGroup(pid, "SIGKILL");
    },
    unref(): void {
      child.unref();
    },
  };
}

/** Returns the last `lines` lines of a log file, or "" when unreadable. */
export async function tailLog(path: string, lines = 30): Promise<string> {
  try {
    const text = await Deno.readTextFile(path);
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Binds port 0 on 127.0.0.1 and returns the port the kernel picked. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Options of {@linkcode pollUntil}. */
export interface PollOptions {
  /** Give up after this many ms. @default {30000} */
  timeoutMs?: number;
  /** Pause between attempts in ms. @default {100} */
  intervalMs?: number;
  /** Aborts the wait early (e.g. the component exited). */
  signal?: AbortSignal;
}

/**
 * Calls `probe` until it returns a value other than `undefined`, with a
 * bounded deadline. The last error thrown by `probe` becomes the `cause`.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: PollOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    options.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Cannot wait for "${what}": not done after ${timeoutMs} ms`,
        { cause: lastError },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
