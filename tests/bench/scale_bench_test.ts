import assert from "node:assert/strict";
import {
  drawScaling,
  type ExtenderPoint,
  mergeScaleResults,
  pairOnlyCpuMs,
  parseScaleResults,
  type PollPoint,
  type ScaleResults,
  scaleTables,
} from "./scale_bench.ts";

function pollPoint(nodes: number, scale: number): PollPoint {
  return {
    nodes,
    resources: nodes * 20,
    bytes: nodes * 7_800,
    coldCpuMs: 70 * scale,
    unchanged: {
      cpuPerPollMs: 0,
      longestStallMs: 20,
      longestStallThreadMs: 3 * scale,
      gc: { longestMs: 2 },
    },
    changed: {
      cpuPerPollMs: 15 * scale,
      longestStallMs: 40,
      longestStallThreadMs: 2,
      gc: { longestMs: 8 },
    },
    rssMiB: 90 * scale,
  };
}

function extenderPoint(
  nodes: number,
  latency: { p50: number; p99: number },
): ExtenderPoint {
  return {
    resources: nodes * 20,
    claims: nodes * 10,
    names: nodes,
    requestKiB: nodes / 25,
    pairs: 3_000,
    readySeconds: 0.7,
    pairP50Ms: latency.p50,
    pairP99Ms: latency.p99,
    cpuMsPerPair: latency.p50 / 2,
    // 2,950 pairs in 29.5 s at 20 ms/s idle: 0.2 ms per pair is not the pairs'.
    measuredPairs: 2_950,
    measuredSeconds: 29.5,
    idleCpuMsPerS: 20,
    readyRssMiB: 100,
    rssMiB: 110,
    hwmMiB: 120,
  };
}

/** 100 and 1,000 nodes; Node objects only at 100. */
function results(): ScaleResults {
  return {
    provenance: {
      commit: "abc1234",
      date: "2026-12-03 16:45",
      machine: "2× Test CPU, 24 GiB, load 1.0–2.0, Deno 2.9.6",
    },
    points: [
      {
        nodes: 100,
        poll: pollPoint(100, 1),
        names: extenderPoint(100, { p50: 1, p99: 10 }),
        objects: extenderPoint(100, { p50: 10, p99: 100 }),
      },
      {
        nodes: 1_000,
        poll: pollPoint(1_000, 10),
        names: extenderPoint(1_000, { p50: 10, p99: 100 }),
      },
    ],
  };
}

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].length;
}

Deno.test("drawScaling() draws a titled panel per quantity with units and legends", () => {
  const svg = drawScaling(results());
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  for (
    const title of [
      "Extender: filter + prioritize pair, wall clock",
      "Extender: process CPU per pair",
      "Resident memory (VmRSS)",
      "LINSTOR poll: CPU per poll",
      "LINSTOR poll: longest event-loop block",
    ]
  ) {
    assert.equal(
      count(svg, new RegExp(`>${title.replace(/[()+]/g, "\\$&")}<`, "g")),
      1,
      title,
    );
  }
  for (
    const legend of [
      "p50, every node's name",
      "p99, full Node objects (to 100 nodes)",
      "extender after its pairs, names",
      "first (full) poll",
      "longest GC pause (wall clock)",
      "10 % of a core at a 10 s poll interval",
    ]
  ) {
    assert.ok(svg.includes(`>${legend}<`), legend);
  }
  assert.match(svg, />1 ms</);
  assert.match(svg, />100 MiB</);
  assert.match(svg, />1,000</, "the x axis labels the sizes");
  assert.match(svg, /Measured at abc1234, 2026-12-03 16:45 UTC/);
});

Deno.test("drawScaling() places values on logarithmic axes", () => {
  const svg = drawScaling(results());
  // The latency panel (x 80–350, y 40–260) spans 1 to 100 ms: 10 ms lies
  // halfway up, and 1,000 nodes (the largest size) on the right edge.
  for (const tick of ["1 ms", "10 ms", "100 ms"]) {
    assert.ok(svg.includes(`>${tick}<`), tick);
  }
  assert.ok(svg.includes(`<circle cx="80" cy="260" r="3" fill="#17becf"/>`));
  assert.ok(svg.includes(`<circle cx="350" cy="150" r="3" fill="#17becf"/>`));
  assert.ok(svg.includes(`<circle cx="350" cy="40" r="3" fill="#17becf"/>`));
});

Deno.test("drawScaling() draws a point per measured value and no line to a missing one", () => {
  const svg = drawScaling(results());
  // Node objects at 100 nodes only: 4 points (p50, p99, CPU, RSS), no line.
  assert.equal(count(svg, /<circle [^>]*fill="#bcbd22"/g), 4);
  assert.equal(count(svg, /<polyline [^>]*stroke="#bcbd22"/g), 0);
  // Names at both sizes: 2 × 6 points (p50, p99, CPU, CPU less idle, RSS,
  // idle CPU per poll interval), 6 lines.
  assert.equal(count(svg, /<circle [^>]*fill="#17becf"/g), 12);
  assert.equal(count(svg, /<polyline [^>]*stroke="#17becf"/g), 6);
});

Deno.test("drawScaling() does not depend on the order of the points", () => {
  const forward = results();
  const backward = { ...forward, points: [...forward.points].reverse() };
  assert.equal(drawScaling(backward), drawScaling(forward));
});

Deno.test("drawScaling() marks a panel as not measured when a part is missing", () => {
  const input = results();
  for (const point of input.points) delete point.poll;
  const svg = drawScaling(input);
  // The poll CPU panel still shows the serving extender's idle CPU.
  assert.equal(count(svg, />not measured</g), 1);
  assert.equal(count(svg, /fill="#d62728"/g), 0);
});

Deno.test("parseScaleResults() reads its own output and rejects other JSON", () => {
  const input = results();
  assert.deepEqual(parseScaleResults(JSON.stringify(input)), input);
  assert.throws(() => parseScaleResults("[]"), TypeError);
  assert.throws(
    () =>
      parseScaleResults(
        JSON.stringify({ provenance: {}, points: [{ nodes: "many" }] }),
      ),
    /points\[0\]/,
  );
});

Deno.test("mergeScaleResults() replaces the parts measured now and keeps the others", () => {
  const base = results();
  const measured: ScaleResults = {
    provenance: { ...base.provenance, commit: "def5678" },
    points: [
      { nodes: 1_000, names: extenderPoint(1_000, { p50: 5, p99: 50 }) },
      { nodes: 20_000, names: extenderPoint(20_000, { p50: 40, p99: 90 }) },
    ],
  };
  const merged = mergeScaleResults(base, measured);
  assert.deepEqual(merged.points.map((p) => p.nodes), [100, 1_000, 20_000]);
  assert.equal(merged.points[1]!.names!.pairP50Ms, 5);
  assert.deepEqual(merged.points[1]!.poll, base.points[1]!.poll);
  assert.equal(merged.provenance.commit, "def5678");
});

Deno.test("scaleTables() writes a poll row per size and an extender row per request kind", () => {
  const text = scaleTables(results());
  const rows = text.split("\n").filter((line) => /^\| [\d,]+ \|/.test(line));
  assert.equal(rows.length, 2 + 3);
  assert.ok(
    text.includes(
      "| 100 | Node objects | 2,000 | 1,000 | 4 KiB | 0.7 s | 3,000 | 10 / 100 ms | 5.0 ms (4.8 ms) | 2.0 % | 100 → 110 (120) MiB |",
    ),
  );
  assert.ok(text.includes("| 1,000 | 20,000 | 7.4 MiB | 700 ms | 0 ms |"));
});

Deno.test("pairOnlyCpuMs() subtracts the idle rate over the pairs' time, unless unknown or noise", () => {
  const point = extenderPoint(100, { p50: 1, p99: 2 });
  assert.ok(Math.abs(pairOnlyCpuMs(point)! - 0.3) < 1e-9);
  assert.equal(pairOnlyCpuMs({ ...point, idleCpuMsPerS: NaN }), undefined);
  const { idleCpuMsPerS: _, ...noIdle } = point;
  assert.equal(pairOnlyCpuMs(noIdle), undefined);
  assert.equal(pairOnlyCpuMs({ ...point, idleCpuMsPerS: 100 }), undefined);
});
