import assert from "node:assert/strict";
import { processStats } from "../../src/system/mod.ts";

Deno.test("`processStats()` reads this process's CPU, memory, descriptors, heap and event loop", async () => {
  const stats = processStats();
  const cpu = stats.cpu();
  assert.ok(cpu.userSeconds > 0 && cpu.systemSeconds >= 0, "CPU time");
  const start = stats.startTimeSeconds();
  assert.ok(
    Number.isInteger(start) && start * 1000 <= performance.timeOrigin + 1000,
  );
  const memory = stats.memory();
  assert.ok(memory.residentBytes > 10 * 2 ** 20, "resident memory");
  if (Deno.build.os === "linux") {
    assert.ok(memory.virtualBytes! >= memory.residentBytes, "VmSize");
    assert.ok(memory.heapBytes! > 0, "VmData");
    assert.ok(stats.openFds()! >= 3, "stdin, stdout, stderr");
    assert.ok(stats.maxFds()! >= stats.openFds()!, "limit");
  }
  const heap = stats.heap();
  assert.ok(heap.usedBytes > 0 && heap.usedBytes <= heap.totalBytes);
  const spaces = stats.heapSpaces().map((s) => s.space);
  assert.ok(spaces.includes("old") && spaces.includes("new"), `${spaces}`);
  assert.ok((await stats.eventLoopLagSeconds()) >= 0);
  assert.ok(Array.isArray(stats.activeResources()));
  assert.match(stats.runtimeVersion(), /^v\d+\.\d+\.\d+/);
});
