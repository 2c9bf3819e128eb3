/**
 * How the suite scales with the cluster, from 100 to 20,000 nodes (20 LINSTOR
 * resources per node, so 2,000 to 400,000 resources; generated data):
 *
 * - the LINSTOR poll (`poll_bench.ts` at each size: 10 volumes × 2 replicas
 *   per node): CPU of a full first poll, of an unchanged and of a 1 %-changed
 *   poll, the longest event-loop block (the longest gap of a 1 ms timer
 *   counted in the polling thread's own CPU time, the same gap in wall-clock
 *   time from any cause, and the longest GC pause) and the resident memory;
 * - the extender as a serving process (`memory_bench.ts` at each size: the
 *   real `main.ts extender` against the generated LINSTOR lists and a
 *   list-and-watch Kubernetes API, 20/3 volumes of 3 replicas per node, a
 *   PV and claim per volume and half as many again unbound claims): the
 *   client's wall-clock p50 and p99 per filter + prioritize pair over
 *   loopback HTTP, the extender's own CPU per pair and its resident memory
 *   after the pairs, with every node's name per request and, up to
 *   `--objects-up-to` nodes, with full Node objects.
 *
 * It writes the measured figures to `docs/scaling.json` and draws them into
 * `docs/scaling.svg` (a log-log panel per quantity); `--from=FILE` redraws
 * the picture from such a file without measuring (and, with `--parts`,
 * measures only those parts and keeps the file's other figures).
 *
 * Run: `tools/deno run --allow-all tests/bench/scale_bench.ts`
 * - `--sizes=100,500,2000,5000,20000`;
 * - `--parts=poll,names,objects` (default all; none with `--from`);
 * - `--pairs=3000` per size and request kind, `--budget-seconds=60` to stop
 *   a series earlier (the pairs done are recorded);
 * - `--objects-up-to=2000`: the largest size sent full Node objects;
 * - `--idle-seconds=10`: how long the extender's CPU is measured idle before
 *   its pairs (one LINSTOR poll interval), to tell its own polls and
 *   watches from the pairs' cost;
 * - `--out=PATH` for the picture, `--json-out=PATH` for the figures.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { provenance } from "./_provenance.ts";
import { runChild } from "./_run_child.ts";

/** One phase of the poll benchmark (a subset of what it reports). */
export interface PollPhase {
  cpuPerPollMs: number;
  longestStallMs: number;
  longestStallThreadMs: number;
  gc?: { longestMs: number };
}

/** The poll benchmark at one size. */
export interface PollPoint {
  nodes: number;
  resources: number;
  /** Bytes of LINSTOR JSON per poll. */
  bytes: number;
  coldCpuMs: number;
  unchanged: PollPhase;
  changed: PollPhase;
  rssMiB: number;
}

/** The serving extender at one size and request kind. */
export interface ExtenderPoint {
  resources: number;
  claims: number;
  /** Candidate nodes per request. */
  names: number;
  requestKiB: number;
  /** Filter + prioritize pairs sent (including the warm-up). */
  pairs: number;
  readySeconds: number;
  pairP50Ms: number;
  pairP99Ms: number;
  /** The extender process's CPU per pair (ms), all of it. */
  cpuMsPerPair: number;
  /** Pairs after the warm-up and their wall-clock seconds (what `cpuMsPerPair` covers). */
  measuredPairs?: number;
  measuredSeconds?: number;
  /** The process's CPU per second while idle before the pairs (its own polls, watches). */
  idleCpuMsPerS?: number;
  readyRssMiB: number;
  /** `VmRSS` after the pairs. */
  rssMiB: number;
  /** `VmHWM`: the peak. */
  hwmMiB: number;
}

/** Everything measured at one cluster size. */
export interface ScalePoint {
  nodes: number;
  poll?: PollPoint;
  /** Requests with node names only (`nodeCacheCapable: true`). */
  names?: ExtenderPoint;
  /** Requests with full Node objects. */
  objects?: ExtenderPoint;
}

/** A run: the figures and where they were measured. */
export interface ScaleResults {
  /** Commit, date (UTC), machine and load average of the run. */
  provenance: { commit: string; date: string; machine: string };
  points: ScalePoint[];
}

/** The parts a run can measure (`--parts`). */
export type ScalePart = "poll" | "names" | "objects";

const PARTS: readonly ScalePart[] = ["poll", "names", "objects"];

/** Parses a `scaling.json`; throws on anything that is not one. */
export function parseScaleResults(text: string): ScaleResults {
  const raw = JSON.parse(text) as Partial<ScaleResults> | null;
  if (
    typeof raw !== "object" || raw === null || !Array.isArray(raw.points) ||
    typeof raw.provenance !== "object" || raw.provenance === null
  ) {
    throw new TypeError(
      "Cannot read scale results: expected an object with provenance and points",
    );
  }
  for (const [i, point] of raw.points.entries()) {
    if (
      typeof point !== "object" || point === null ||
      !Number.isFinite(point.nodes) || point.nodes <= 0
    ) {
      throw new TypeError(
        `Cannot read scale results "points[${i}]": expected a positive node count`,
      );
    }
  }
  return raw as ScaleResults;
}

/** Merges `measured` into `base`: a part measured now replaces the old one. */
export function mergeScaleResults(
  base: ScaleResults,
  measured: ScaleResults,
): ScaleResults {
  const byNodes = new Map(base.points.map((p) => [p.nodes, { ...p }]));
  for (const point of measured.points) {
    byNodes.set(point.nodes, { ...byNodes.get(point.nodes), ...point });
  }
  return {
    provenance: measured.provenance,
    points: [...byNodes.values()].sort((a, b) => a.nodes - b.nodes),
  };
}

// ---------------------------------------------------------------- drawing

interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  values: (number | undefined)[];
}

interface Guide {
  name: string;
  value: number;
}

interface Panel {
  title: string;
  unit: string;
  series: Series[];
  guides?: Guide[];
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** A coordinate, rounded so the file does not change with float noise. */
function at(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** `10 ** exponent` as a tick label: 0.01, 0.1, 1, 10, 1,000. */
function powerLabel(exponent: number): string {
  return exponent < 0
    ? (10 ** exponent).toFixed(-exponent)
    : (10 ** exponent).toLocaleString("en");
}

/** A log-log line chart with its legend below the axes. */
function chart(panel: Panel, xs: readonly number[], box: Box): string {
  const measured = panel.series.flatMap((s) => s.values)
    .filter((v): v is number => v !== undefined && v > 0);
  const all = [...measured, ...(panel.guides ?? []).map((g) => g.value)];
  const parts: string[] = [
    `<text x="${box.x}" y="${box.y - 10}" font-size="14" font-weight="bold">${
      escapeXml(panel.title)
    }</text>`,
    `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#999"/>`,
  ];
  if (measured.length === 0) {
    parts.push(
      `<text x="${at(box.x + box.w / 2)}" y="${
        at(box.y + box.h / 2)
      }" font-size="12" text-anchor="middle" fill="#999">not measured</text>`,
    );
    return parts.join("\n");
  }
  const lowExp = Math.floor(Math.log10(Math.min(...all)));
  const highExp = Math.max(
    lowExp + 1,
    Math.ceil(Math.log10(Math.max(...all))),
  );
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const px = (x: number) =>
    xMax === xMin
      ? box.x + box.w / 2
      : box.x + (Math.log10(x / xMin) / Math.log10(xMax / xMin)) * box.w;
  // Values at or below zero (an unchanged poll of ~0 ms) sit on the bottom edge.
  const py = (y: number) => {
    const e = y > 0 ? Math.max(Math.log10(y), lowExp) : lowExp;
    return box.y + box.h - ((e - lowExp) / (highExp - lowExp)) * box.h;
  };
  for (let e = lowExp; e <= highExp; e++) {
    const y = at(py(10 ** e));
    parts.push(
      `<line x1="${box.x}" x2="${
        box.x + box.w
      }" y1="${y}" y2="${y}" stroke="#eee"/>`,
      `<text x="${box.x - 6}" y="${
        at(py(10 ** e) + 4)
      }" font-size="11" text-anchor="end">${powerLabel(e)} ${
        escapeXml(panel.unit)
      }</text>`,
    );
  }
  for (const x of xs) {
    parts.push(
      `<text x="${at(px(x))}" y="${
        box.y + box.h + 16
      }" font-size="11" text-anchor="middle">${x.toLocaleString("en")}</text>`,
    );
  }
  parts.push(
    `<text x="${at(box.x + box.w / 2)}" y="${
      box.y + box.h + 31
    }" font-size="11" text-anchor="middle">nodes (20 LINSTOR resources per node)</text>`,
  );
  let legendY = box.y + box.h + 50;
  const legend = (name: string, color: string, dash: string) => {
    parts.push(
      `<line x1="${box.x}" x2="${box.x + 22}" y1="${legendY - 4}" y2="${
        legendY - 4
      }" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${box.x + 28}" y="${legendY}" font-size="11">${
        escapeXml(name)
      }</text>`,
    );
    legendY += 15;
  };
  for (const guide of panel.guides ?? []) {
    const y = at(py(guide.value));
    parts.push(
      `<line x1="${box.x}" x2="${
        box.x + box.w
      }" y1="${y}" y2="${y}" stroke="#666" stroke-dasharray="2 3"/>`,
    );
    legend(guide.name, "#666", ` stroke-dasharray="2 3"`);
  }
  for (const s of panel.series) {
    const dash = s.dashed ? ` stroke-dasharray="6 3"` : "";
    // A missing value breaks the line: draw each run of measured points.
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) {
        parts.push(
          `<polyline points="${
            run.join(" ")
          }" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`,
        );
      }
      run = [];
    };
    s.values.forEach((v, j) => {
      if (v === undefined) return flush();
      const x = at(px(xs[j]!));
      const y = at(py(v));
      run.push(`${x},${y}`);
      parts.push(`<circle cx="${x}" cy="${y}" r="3" fill="${s.color}"/>`);
    });
    flush();
    legend(s.name, s.color, dash);
  }
  return parts.join("\n");
}

/**
 * CPU per pair minus what the process spends anyway (its idle rate over the
 * pairs' wall-clock time); `undefined` when unknown or lost in the noise.
 */
export function pairOnlyCpuMs(e: ExtenderPoint): number | undefined {
  if (
    e.idleCpuMsPerS === undefined || !Number.isFinite(e.idleCpuMsPerS) ||
    !e.measuredPairs || !e.measuredSeconds
  ) return undefined;
  const net = e.cpuMsPerPair -
    e.idleCpuMsPerS * e.measuredSeconds / e.measuredPairs;
  return net > 0 ? net : undefined;
}

function pollStall(p: PollPoint): number {
  return Math.max(
    p.unchanged.longestStallThreadMs,
    p.changed.longestStallThreadMs,
  );
}

function pollTimerDelay(p: PollPoint): number {
  return Math.max(p.unchanged.longestStallMs, p.changed.longestStallMs);
}

function pollGcPause(p: PollPoint): number {
  return Math.max(p.unchanged.gc?.longestMs ?? 0, p.changed.gc?.longestMs ?? 0);
}

/** The picture of `results`: a panel per quantity, log axes, legends; SVG text. */
export function drawScaling(results: ScaleResults): string {
  const points = [...results.points].sort((a, b) => a.nodes - b.nodes);
  const xs = points.map((p) => p.nodes);
  const poll = (pick: (p: PollPoint) => number) =>
    points.map((p) => p.poll ? pick(p.poll) : undefined);
  const ext = (
    kind: "names" | "objects",
    pick: (p: ExtenderPoint) => number,
  ) => points.map((p) => p[kind] ? pick(p[kind]) : undefined);
  const objectsUpTo = Math.max(
    0,
    ...points.filter((p) => p.objects).map((p) => p.nodes),
  );
  const objectsNote = objectsUpTo > 0
    ? ` (to ${objectsUpTo.toLocaleString("en")} nodes)`
    : "";
  const panels: Panel[] = [
    {
      title: "Extender: filter + prioritize pair, wall clock",
      unit: "ms",
      series: [
        {
          name: "p50, every node's name",
          color: "#17becf",
          values: ext("names", (p) => p.pairP50Ms),
        },
        {
          name: "p99, every node's name",
          color: "#17becf",
          dashed: true,
          values: ext("names", (p) => p.pairP99Ms),
        },
        {
          name: `p50, full Node objects${objectsNote}`,
          color: "#bcbd22",
          values: ext("objects", (p) => p.pairP50Ms),
        },
        {
          name: `p99, full Node objects${objectsNote}`,
          color: "#bcbd22",
          dashed: true,
          values: ext("objects", (p) => p.pairP99Ms),
        },
      ],
    },
    {
      title: "Extender: process CPU per pair",
      unit: "ms",
      series: [
        {
          name: "every node's name",
          color: "#17becf",
          values: ext("names", (p) => p.cpuMsPerPair),
        },
        {
          name: "every node's name, idle CPU subtracted",
          color: "#17becf",
          dashed: true,
          values: points.map((p) => p.names && pairOnlyCpuMs(p.names)),
        },
        {
          name: `full Node objects${objectsNote}`,
          color: "#bcbd22",
          values: ext("objects", (p) => p.cpuMsPerPair),
        },
      ],
      guides: [{ name: "1,000 pairs/s per core", value: 1 }],
    },
    {
      title: "Resident memory (VmRSS)",
      unit: "MiB",
      series: [
        {
          name: "polling process after its polls",
          color: "#9467bd",
          values: poll((p) => p.rssMiB),
        },
        {
          name: "extender after its pairs, names",
          color: "#17becf",
          values: ext("names", (p) => p.rssMiB),
        },
        {
          name: `extender after its pairs, Node objects${objectsNote}`,
          color: "#bcbd22",
          values: ext("objects", (p) => p.rssMiB),
        },
      ],
    },
    {
      title: "LINSTOR poll: CPU per poll",
      unit: "ms",
      series: [
        {
          name: "first (full) poll",
          color: "#d62728",
          values: poll((p) => p.coldCpuMs),
        },
        {
          name: "1 % changed",
          color: "#ff7f0e",
          values: poll((p) => p.changed.cpuPerPollMs),
        },
        {
          name: "unchanged (~0 on the bottom edge)",
          color: "#2ca02c",
          values: poll((p) => p.unchanged.cpuPerPollMs),
        },
        {
          name: "serving extender, idle, per 10 s poll interval",
          color: "#17becf",
          dashed: true,
          values: ext("names", (p) => (p.idleCpuMsPerS ?? NaN) * 10)
            .map((v) => Number.isFinite(v) ? v : undefined),
        },
      ],
      guides: [{ name: "10 % of a core at a 10 s poll interval", value: 1000 }],
    },
    {
      title: "LINSTOR poll: longest event-loop block",
      unit: "ms",
      series: [
        {
          name: "longest stall, polling thread's CPU",
          color: "#1f77b4",
          values: poll(pollStall),
        },
        {
          name: "longest GC pause (wall clock)",
          color: "#e377c2",
          values: poll(pollGcPause),
        },
        {
          name: "longest timer delay, any cause (wall clock)",
          color: "#8c564b",
          values: poll(pollTimerDelay),
        },
      ],
    },
  ];
  const width = 1160;
  const column = 370;
  const row = 370;
  const body = panels.map((panel, i) =>
    chart(panel, xs, {
      x: 80 + (i % 3) * column,
      y: 40 + Math.floor(i / 3) * row,
      w: 270,
      h: 220,
    })
  );
  const notes = [
    "Generated clusters, one process per size and part,",
    "loopback HTTP, the client in another process.",
    "Extender: main.ts extender; 20/3 volumes × 3 replicas",
    "per node, a PV and a claim per volume and half as",
    "many again unbound; a pod with 2 bound claims and",
    "1 unbound; every node's name (or Node object) in",
    "each request; p50/p99 after a warm-up.",
    "Poll: the LINSTOR client and state model polling",
    "10 volumes × 2 replicas per node.",
    `Measured at ${results.provenance.commit}, ${results.provenance.date} UTC;`,
    ...results.provenance.machine.split(/(?<=GiB,) /),
  ];
  const notesX = 80 + 2 * column;
  const notesY = 40 + row;
  body.push(
    `<text x="${notesX}" y="${
      notesY - 10
    }" font-size="14" font-weight="bold">How it was measured</text>`,
    ...notes.map((line, i) =>
      `<text x="${notesX}" y="${notesY + 12 + i * 15}" font-size="11">${
        escapeXml(line)
      }</text>`
    ),
  );
  const height = 40 + 2 * row;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...body,
    `</svg>`,
    "",
  ].join("\n");
}

// ---------------------------------------------------------------- tables

function fixed(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** The two Markdown tables of `results` (poll, extender), as docs/benchmarks.md shows them. */
export function scaleTables(results: ScaleResults): string {
  const points = [...results.points].sort((a, b) => a.nodes - b.nodes);
  const poll = [
    "| nodes | resources | JSON per poll | full poll CPU | unchanged CPU | 1 % changed CPU | longest stall, thread CPU | longest timer delay | longest GC pause | RSS |",
    "| ----: | --------: | ------------: | ------------: | ------------: | --------------: | ------------------------: | ------------------: | ---------------: | --: |",
  ];
  for (const { poll: p } of points) {
    if (!p) continue;
    poll.push(
      `| ${fixed(p.nodes)} | ${fixed(p.resources)} | ${
        fixed(p.bytes / 2 ** 20, 1)
      } MiB | ${fixed(p.coldCpuMs)} ms | ${
        fixed(p.unchanged.cpuPerPollMs)
      } ms | ${fixed(p.changed.cpuPerPollMs)} ms | ${
        fixed(pollStall(p), 1)
      } ms | ${fixed(pollTimerDelay(p))} ms | ${fixed(pollGcPause(p))} ms | ${
        fixed(p.rssMiB)
      } MiB |`,
    );
  }
  const extender = [
    "| nodes | request | LINSTOR resources | claims | request body | ready after | pairs | pair p50 / p99 | extender CPU per pair (idle subtracted) | idle CPU | RSS ready → after pairs (peak) |",
    "| ----: | ------- | ----------------: | -----: | -----------: | ----------: | ----: | -------------: | --------------------------------------: | -------: | -----------------------------: |",
  ];
  for (const point of points) {
    for (const kind of ["names", "objects"] as const) {
      const e = point[kind];
      if (!e) continue;
      extender.push(
        `| ${fixed(point.nodes)} | ${
          kind === "names" ? "names" : "Node objects"
        } | ${fixed(e.resources)} | ${fixed(e.claims)} | ${
          e.requestKiB >= 1024
            ? `${fixed(e.requestKiB / 1024, 1)} MiB`
            : `${fixed(e.requestKiB)} KiB`
        } | ${fixed(e.readySeconds, 1)} s | ${fixed(e.pairs)} | ${
          fixed(e.pairP50Ms, e.pairP50Ms < 10 ? 1 : 0)
        } / ${fixed(e.pairP99Ms, e.pairP99Ms < 10 ? 1 : 0)} ms | ${
          fixed(e.cpuMsPerPair, e.cpuMsPerPair < 10 ? 1 : 0)
        } ms${
          pairOnlyCpuMs(e) === undefined
            ? ""
            : ` (${fixed(pairOnlyCpuMs(e), pairOnlyCpuMs(e)! < 10 ? 1 : 0)} ms)`
        } | ${
          e.idleCpuMsPerS === undefined || !Number.isFinite(e.idleCpuMsPerS)
            ? "–"
            : `${fixed(e.idleCpuMsPerS / 10, 1)} %`
        } | ${fixed(e.readyRssMiB)} → ${fixed(e.rssMiB)} (${
          fixed(e.hwmMiB)
        }) MiB |`,
      );
    }
  }
  return `${poll.join("\n")}\n\n${extender.join("\n")}\n`;
}

// ---------------------------------------------------------------- measuring

function print(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}

async function measurePoll(nodes: number): Promise<PollPoint> {
  return await runChild("./poll_bench.ts", [
    `--nodes=${nodes}`,
    `--volumes=${nodes * 10}`,
    "--replicas=2",
    `--polls=${nodes >= 5_000 ? 3 : 6}`,
    "--json",
  ]) as PollPoint;
}

async function measureExtender(
  nodes: number,
  options: {
    request: "names" | "objects";
    pairs: number;
    budgetS: number;
    idleS: number;
  },
): Promise<ExtenderPoint> {
  const r = await runChild("./memory_bench.ts", [
    `--sizes=${nodes}`,
    "--per-node=20",
    `--names=${nodes}`,
    `--request=${options.request}`,
    `--pairs=${options.pairs}`,
    `--budget-seconds=${options.budgetS}`,
    `--extender-idle-seconds=${options.idleS}`,
    "--affinity=false",
    "--json",
  ]) as Required<ExtenderPoint>;
  return {
    resources: r.resources,
    claims: r.claims,
    names: r.names,
    requestKiB: r.requestKiB,
    pairs: r.pairs,
    readySeconds: r.readySeconds,
    pairP50Ms: r.pairP50Ms,
    pairP99Ms: r.pairP99Ms,
    cpuMsPerPair: r.cpuMsPerPair,
    measuredPairs: r.measuredPairs,
    measuredSeconds: r.measuredSeconds,
    idleCpuMsPerS: r.idleCpuMsPerS,
    readyRssMiB: r.readyRssMiB,
    rssMiB: r.rssMiB,
    hwmMiB: r.hwmMiB,
  };
}

async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ")[0] ?? "?";
  } catch {
    return "?";
  }
}

/** Writes `text` and formats it: `deno fmt` formats SVG and JSON, and the gate checks them. */
async function writeFormatted(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", path],
    stdout: "null",
    stderr: "inherit",
  }).output();
}

async function main(): Promise<void> {
  const docs = new URL("../../docs/", import.meta.url).pathname;
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string", default: "100,500,2000,5000,20000" },
      parts: { type: "string" },
      pairs: { type: "string", default: "3000" },
      "budget-seconds": { type: "string", default: "60" },
      "idle-seconds": { type: "string", default: "10" },
      "objects-up-to": { type: "string", default: "2000" },
      from: { type: "string" },
      out: { type: "string", default: `${docs}scaling.svg` },
      "json-out": { type: "string", default: `${docs}scaling.json` },
    },
  });
  const parts = (values.parts ?? (values.from ? "" : PARTS.join(",")))
    .split(",").filter((p) => p !== "") as ScalePart[];
  for (const part of parts) {
    if (!PARTS.includes(part)) {
      throw new RangeError(
        `Cannot measure "${part}": expected one of ${PARTS.join(", ")}`,
      );
    }
  }
  const sizes = values.sizes.split(",").map(Number);
  const pairs = Number(values.pairs);
  const budgetS = Number(values["budget-seconds"]);
  const idleS = Number(values["idle-seconds"]);
  const objectsUpTo = Number(values["objects-up-to"]);
  let results: ScaleResults = values.from
    ? parseScaleResults(await Deno.readTextFile(values.from))
    : { provenance: { commit: "", date: "", machine: "" }, points: [] };
  if (parts.length > 0) {
    const base = results;
    const loads = [await loadAverage()];
    const measured: ScalePoint[] = [];
    // A part that fails is reported and left out; the figures are written
    // after every size, so a failure at 20,000 nodes keeps the smaller sizes.
    const attempt = async <T>(what: string, run: () => Promise<T>) => {
      try {
        return await run();
      } catch (error) {
        print(`${what} failed, left out: ${error}`);
        return undefined;
      } finally {
        loads.push(await loadAverage());
      }
    };
    for (const nodes of sizes) {
      const point: ScalePoint = { nodes };
      const kinds = ["names", "objects"] as const;
      if (parts.includes("poll")) {
        const poll = await attempt(
          `poll at ${nodes}`,
          () => measurePoll(nodes),
        );
        if (poll) point.poll = poll;
      }
      for (const request of kinds) {
        if (!parts.includes(request)) continue;
        if (request === "objects" && nodes > objectsUpTo) continue;
        const e = await attempt(
          `extender (${request}) at ${nodes}`,
          () => measureExtender(nodes, { request, pairs, budgetS, idleS }),
        );
        if (e) point[request] = e;
      }
      print(`${nodes} nodes: ${JSON.stringify(point)}`);
      measured.push(point);
      results = mergeScaleResults(base, {
        provenance: await provenance({
          paths: ["src", "main.ts", "tests/bench"],
          loads,
        }),
        points: measured,
      });
      await writeFormatted(
        values["json-out"],
        JSON.stringify(results, null, 2) + "\n",
      );
    }
    print(`figures: ${values["json-out"]}`);
  }
  print(scaleTables(results));
  await writeFormatted(values.out, drawScaling(results));
  print(`picture: ${values.out}`);
}

if (import.meta.main) await main();
