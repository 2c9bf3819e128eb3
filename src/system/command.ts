/**
 * The command edge: the only place that starts child processes
 * (`Deno.Command`). Modes take a {@link CommandRunner} as a parameter, so
 * tests hand them a fake runner or real test-double executables.
 *
 * Every command runs with a bounded time (`timeoutMs`), can be aborted, gets
 * a fixed environment (`LC_ALL=C` unless overridden, plus `env`), and
 * reports failures as a {@link CommandError} carrying the exit code and
 * standard error.
 *
 * @module
 */

/** What to run. */
export interface CommandSpec {
  /** Program name (looked up in `PATH`) or path. */
  readonly program: string;
  /** Arguments, passed as they are (no shell). */
  readonly args?: readonly string[];
  /**
   * Extra environment on top of the inherited one; `LC_ALL=C` is always set
   * unless given here.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the process (SIGKILL) after this many milliseconds (run: default 30 s; stream: none). */
  readonly timeoutMs?: number;
  /** Kill the process when this aborts. */
  readonly signal?: AbortSignal;
  /** Written to standard input, which is then closed (run only). */
  readonly stdin?: string;
  /**
   * `true` (default): a non-zero exit rejects with a {@link CommandError}.
   * `false`: a non-zero exit resolves with its code and output.
   */
  readonly check?: boolean;
}

/** What a finished command printed. */
export interface CommandOutput {
  /** Exit code (128 + signal number when killed by a signal). */
  readonly code: number;
  /** Standard output, decoded as UTF-8. */
  readonly stdout: string;
  /** Standard error, decoded as UTF-8. */
  readonly stderr: string;
}

/** How a streamed command ended. */
export interface CommandStatus {
  /** Exit code; `null` when it could not be started. */
  readonly code: number | null;
  /** The last 64 KiB of standard error. */
  readonly stderr: string;
  /** Why it ended when that was not its own doing. */
  readonly reason?: CommandFailure;
}

/** A long-running command whose standard output is read line by line. */
export interface CommandStream {
  /** Standard output, one line at a time (without the newline). */
  readonly lines: AsyncIterable<string>;
  /** Settles when the process has exited and its output is drained. Never rejects. */
  readonly status: Promise<CommandStatus>;
  /** Stops the process (SIGTERM, then SIGKILL after 2 s); idempotent. */
  kill(): void;
}

/** Runs commands. The real one is {@link createCommandRunner}. */
export interface CommandRunner {
  /** Runs a command to its end and collects its output. */
  run(spec: CommandSpec): Promise<CommandOutput>;
  /** Starts a long-running command and streams its standard output lines. */
  stream(spec: CommandSpec): CommandStream;
}

/** Why a command failed. */
export type CommandFailure = "exit" | "timeout" | "aborted" | "spawn";

/** Fields of a {@link CommandError}: its public fields plus the cause. */
export type CommandErrorDetails =
  & Pick<
    CommandError,
    "program" | "args" | "reason" | "code" | "stdout" | "stderr"
  >
  & { readonly cause?: unknown };

/** A command that could not be started, exited non-zero, timed out or was aborted. */
export class CommandError extends Error {
  /** The program. */
  readonly program: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** Why it failed. */
  readonly reason: CommandFailure;
  /** Exit code when it exited, else `null`. */
  readonly code: number | null;
  /** Standard output collected so far. */
  readonly stdout: string;
  /** Standard error collected so far. */
  readonly stderr: string;

  /** Builds the error; the message names the command and what happened. */
  constructor(details: CommandErrorDetails) {
    super(
      `Cannot run "${[details.program, ...details.args].join(" ")}": ${
        describeFailure(details)
      }`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = "CommandError";
    this.program = details.program;
    this.args = details.args;
    this.reason = details.reason;
    this.code = details.code;
    this.stdout = details.stdout;
    this.stderr = details.stderr;
  }
}

/** Default bound of {@link CommandRunner.run}. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

const STDERR_TAIL_BYTES = 64 * 1024;
const KILL_GRACE_MS = 2_000;

function describeFailure(details: CommandErrorDetails): string {
  const stderr = details.stderr.trim().split("\n").slice(-3).join(" | ");
  const tail = stderr === "" ? "" : `: ${stderr}`;
  switch (details.reason) {
    case "exit":
      return `exited with code ${details.code}${tail}`;
    case "timeout":
      return `timed out and was killed${tail}`;
    case "aborted":
      return `aborted${tail}`;
    case "spawn":
      return `could not be started (${
        details.cause instanceof Error ? details.cause.message : details.cause
      })`;
  }
}

function environment(spec: CommandSpec): Record<string, string> {
  return { LC_ALL: "C", ...spec.env };
}

function exitCode(status: Deno.CommandStatus): number {
  if (status.signal !== null) {
    const number = SIGNAL_NUMBERS[status.signal];
    return 128 + (number ?? 0);
  }
  return status.code;
}

const SIGNAL_NUMBERS: Readonly<Partial<Record<Deno.Signal, number>>> = Object
  .freeze({
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGPIPE: 13,
    SIGTERM: 15,
  });

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Combines the caller's signal and the timeout into one, with the reason told apart. */
function bounds(
  spec: CommandSpec,
  defaultTimeoutMs: number | undefined,
): { signal: AbortSignal; reason(): CommandFailure | undefined } {
  const signals: AbortSignal[] = [];
  const timeoutMs = spec.timeoutMs ?? defaultTimeoutMs;
  const timeout = timeoutMs === undefined
    ? undefined
    : AbortSignal.timeout(timeoutMs);
  if (timeout) signals.push(timeout);
  if (spec.signal) signals.push(spec.signal);
  const signal = AbortSignal.any(signals);
  return {
    signal,
    reason() {
      if (spec.signal?.aborted) return "aborted";
      if (timeout?.aborted) return "timeout";
      return undefined;
    },
  };
}

async function runOnce(spec: CommandSpec): Promise<CommandOutput> {
  const args = [...(spec.args ?? [])];
  const limit = bounds(spec, DEFAULT_COMMAND_TIMEOUT_MS);
  const failure = (
    reason: CommandFailure,
    output: Partial<CommandOutput>,
    cause?: unknown,
  ) =>
    new CommandError({
      program: spec.program,
      args,
      reason,
      code: output.code ?? null,
      stdout: output.stdout ?? "",
      stderr: output.stderr ?? "",
      cause,
    });
  if (limit.signal.aborted) throw failure(limit.reason() ?? "aborted", {});
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(spec.program, {
      args,
      env: environment(spec),
      stdin: spec.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: limit.signal,
    }).spawn();
  } catch (error) {
    throw failure("spawn", {}, error);
  }
  if (spec.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(spec.stdin));
      await writer.close();
    } catch {
      // The process closed its input early; its exit status tells the rest.
    }
  }
  const output = await outputWithin(child, limit.signal);
  if (output === undefined) {
    // Killed, but something (a grandchild, a process stuck in the kernel)
    // still holds its output open: give up on it rather than hang.
    throw failure(limit.reason() ?? "aborted", {});
  }
  const result: CommandOutput = {
    code: exitCode(output),
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
  };
  const reason = limit.reason();
  if (reason !== undefined) throw failure(reason, result);
  if (result.code !== 0 && spec.check !== false) {
    throw failure("exit", result);
  }
  return result;
}

/**
 * The child's output, or `undefined` when `signal` aborted and the output
 * still did not end within {@link KILL_GRACE_MS} (it is drained in the
 * background then).
 */
function outputWithin(
  child: Deno.ChildProcess,
  signal: AbortSignal,
): Promise<Deno.CommandOutput | undefined> {
  const output = child.output();
  return new Promise((resolve, reject) => {
    let grace: AbortSignal | undefined;
    const giveUp = () => resolve(undefined);
    const onAbort = () => {
      grace = AbortSignal.timeout(KILL_GRACE_MS);
      grace.addEventListener("abort", giveUp, { once: true });
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    output.then(resolve, reject).finally(() => {
      signal.removeEventListener("abort", onAbort);
      grace?.removeEventListener("abort", giveUp);
    });
  });
}

async function* splitLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffered = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      yield buffered.slice(0, newline).replace(/\r$/, "");
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  if (buffered !== "") yield buffered;
}

async function collectTail(
  stream: ReadableStream<Uint8Array>,
): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (text.length > STDERR_TAIL_BYTES * 2) {
      text = text.slice(-STDERR_TAIL_BYTES);
    }
  }
  return text.slice(-STDERR_TAIL_BYTES);
}

function startStream(spec: CommandSpec): CommandStream {
  const args = [...(spec.args ?? [])];
  const limit = bounds(spec, undefined);
  let child: Deno.ChildProcess | undefined;
  let spawnError: unknown;
  try {
    if (!limit.signal.aborted) {
      child = new Deno.Command(spec.program, {
        args,
        env: environment(spec),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: limit.signal,
      }).spawn();
    }
  } catch (error) {
    spawnError = error;
  }
  if (child === undefined) {
    const reason: CommandFailure = spawnError === undefined
      ? (limit.reason() ?? "aborted")
      : "spawn";
    const stderr = spawnError instanceof Error ? spawnError.message : "";
    return {
      lines: (async function* () {})(),
      status: Promise.resolve({ code: null, stderr, reason }),
      kill() {},
    };
  }
  const process = child;
  let killed = false;
  const lines = splitLines(process.stdout);
  const stderrTail = collectTail(process.stderr);
  const status = (async (): Promise<CommandStatus> => {
    const exited = await process.status;
    const stderr = await stderrTail;
    const reason = limit.reason() ?? (killed ? "aborted" : undefined);
    return {
      code: exitCode(exited),
      stderr,
      ...(reason === undefined ? {} : { reason }),
    };
  })();
  return {
    lines,
    status,
    kill() {
      if (killed) return;
      killed = true;
      try {
        process.kill("SIGTERM");
      } catch {
        return; // already exited
      }
      const timer = AbortSignal.timeout(KILL_GRACE_MS);
      const escalate = () => {
        try {
          process.kill("SIGKILL");
        } catch {
          // exited in time
        }
      };
      timer.addEventListener("abort", escalate, { once: true });
      process.status.finally(() =>
        timer.removeEventListener("abort", escalate)
      );
    },
  };
}

/** The real runner over `Deno.Command`. */
export function createCommandRunner(): CommandRunner {
  return {
    run: runOnce,
    stream: startStream,
  };
}
