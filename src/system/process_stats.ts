/**
 * The process's own statistics for the standard process metrics: CPU time,
 * memory and file descriptors from `/proc/self` (Linux), V8's heap, the
 * event loop's lag and the runtime's version. Read when `/metrics` is
 * scraped.
 *
 * @module
 */
import process from "node:process";

/** Resident, virtual and data-segment size of the process, in bytes. */
export interface ProcessMemory {
  readonly residentBytes: number;
  /** `VmSize`; absent without `/proc`. */
  readonly virtualBytes?: number;
  /** `VmData`; absent without `/proc`. */
  readonly heapBytes?: number;
}

/** One V8 heap space (`new`, `old`, `code`, …), in bytes. */
export interface HeapSpace {
  readonly space: string;
  readonly totalBytes: number;
  readonly usedBytes: number;
  readonly availableBytes: number;
}

/** Reads the process's statistics; each call reads afresh. */
export interface ProcessStats {
  /** CPU time used since the process started. */
  cpu(): { userSeconds: number; systemSeconds: number };
  /** When the process started, in seconds since the epoch. */
  startTimeSeconds(): number;
  memory(): ProcessMemory;
  /** Open file descriptors; `undefined` without `/proc`. */
  openFds(): number | undefined;
  /** The soft limit of open file descriptors; `undefined` without `/proc`. */
  maxFds(): number | undefined;
  /** V8's heap: total, used and external (`ArrayBuffer`s) memory. */
  heap(): { totalBytes: number; usedBytes: number; externalBytes: number };
  heapSpaces(): readonly HeapSpace[];
  /** How long a macrotask scheduled now waits before it runs. */
  eventLoopLagSeconds(): Promise<number>;
  /** The type of each resource that keeps the event loop alive. */
  activeResources(): readonly string[];
  /** The Node.js version the runtime implements (`v26.3.0`). */
  runtimeVersion(): string;
}

/**
 * The statistics of this process. No event-loop delay histogram: Deno's
 * `monitorEventLoopDelay()` keeps one of 2–20 MiB for the process's lifetime
 * (docs/benchmarks.md, "The 16 MiB block").
 */
export function processStats(): ProcessStats {
  // Loaded here, not imported: only a mode's process needs it, not every
  // process that imports `src/system` (`--help`, `version`).
  const { getHeapSpaceStatistics } = process.getBuiltinModule("node:v8");
  return {
    cpu() {
      const usage = process.cpuUsage();
      return {
        userSeconds: usage.user / 1e6,
        systemSeconds: usage.system / 1e6,
      };
    },
    startTimeSeconds() {
      return Math.round(performance.timeOrigin / 1000);
    },
    memory() {
      const status = readProc("/proc/self/status");
      const kib = (key: string) => {
        const match = status && new RegExp(`^${key}:\\s*(\\d+)`, "m")
          .exec(status);
        return match ? Number(match[1]) * 1024 : undefined;
      };
      const resident = kib("VmRSS");
      if (resident === undefined) {
        return { residentBytes: Deno.memoryUsage().rss };
      }
      const virtualBytes = kib("VmSize");
      const heapBytes = kib("VmData");
      return {
        residentBytes: resident,
        ...(virtualBytes === undefined ? {} : { virtualBytes }),
        ...(heapBytes === undefined ? {} : { heapBytes }),
      };
    },
    openFds() {
      try {
        let count = 0;
        for (const _ of Deno.readDirSync("/proc/self/fd")) count++;
        // Less the descriptor that listed the folder.
        return count - 1;
      } catch {
        return undefined;
      }
    },
    maxFds() {
      const limits = readProc("/proc/self/limits");
      const match = limits && /^Max open files\s+(\d+)/m.exec(limits);
      return match ? Number(match[1]) : undefined;
    },
    heap() {
      const usage = Deno.memoryUsage();
      return {
        totalBytes: usage.heapTotal,
        usedBytes: usage.heapUsed,
        externalBytes: usage.external,
      };
    },
    heapSpaces() {
      return getHeapSpaceStatistics().map((space) => ({
        space: space.space_name.replace(/_space$/, ""),
        totalBytes: space.space_size,
        usedBytes: space.space_used_size,
        availableBytes: space.space_available_size,
      }));
    },
    async eventLoopLagSeconds() {
      // An immediate runs after the pending I/O callbacks, as prom-client
      // measured it.
      const start = performance.now();
      await new Promise((resolve) => setImmediate(resolve));
      return (performance.now() - start) / 1000;
    },
    activeResources() {
      return process.getActiveResourcesInfo();
    },
    runtimeVersion() {
      return process.version;
    },
  };
}

function readProc(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}
