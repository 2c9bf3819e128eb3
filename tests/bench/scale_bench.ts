/**
 * How the LINSTOR poll scales with the cluster: runs `poll_bench.ts` at
 * 100 to 20,000 nodes (20 resources per node, so 2,000 to 400,000
 * resources; generated data) and draws the CPU of a full first poll, of an
 * unchanged and of a 1 %-changed poll, the longest event-loop block (the
 * longest gap of a 1 ms timer counted in the polling thread's own CPU
 * time, the same gap in wall-clock time from any cause, and the longest GC
 * pause) and the resident memory against cluster size into
 * `docs/scaling.svg`.
 *
 * Run: `tools/deno run --allow-all tests/bench/scale_bench.ts`
 * (`--sizes=100,500,2000` to choose; `--out=PATH` for the picture).
 *
 * @module
 */
import { parseArgs } from "node:util";

interface Phase {
  cpuPerPollMs: number;
  longestStallMs: number;
  longestStallCpuMs: number;
  longestStallThreadMs: number;
  longestSegmentMs: number;
  gc?: { longestMs: number };
}

interface Point {
  nodes: number;
  resources: number;
  bytes: number;
  coldCpuMs: number;
  unchanged: Phase;
  changed: Phase;
  rssMiB: number;
}

function print(line: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}

async function measure(nodes: number): Promise<Point> {
  const polls = nodes >= 5_000 ? 3 : 6;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("./poll_bench.ts", import.meta.url).pathname,
      `--nodes=${nodes}`,
      `--volumes=${nodes * 10}`,
      "--replicas=2",
      `--polls=${polls}`,
      "--json",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const line = new TextDecoder().decode(output.stdout).trim().split("\n")
    .at(-1);
  if (!output.success || !line) {
    throw new Error(`poll_bench.ts failed at ${nodes} nodes`);
  }
  return JSON.parse(line) as Point;
}

interface Series {
  name: string;
  color: string;
  values: number[];
}

/** A small log-log line chart as SVG text. */
function chart(
  title: string,
  unit: string,
  xs: number[],
  series: Series[],
  box: { x: number; y: number; w: number; h: number },
): string {
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const px = (x: number) =>
    box.x + (Math.log10(x / xMin) / Math.log10(xMax / xMin)) * box.w;
  const py = (y: number) =>
    box.y + box.h -
    (Math.log10(Math.max(y, yMin) / yMin) / Math.log10(yMax / yMin)) * box.h;
  const parts: string[] = [
    `<text x="${box.x}" y="${
      box.y - 12
    }" font-size="14" font-weight="bold">${title}</text>`,
    `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#999"/>`,
  ];
  for (let y = yMin; y <= yMax; y *= 10) {
    parts.push(
      `<line x1="${box.x}" x2="${box.x + box.w}" y1="${py(y)}" y2="${
        py(y)
      }" stroke="#eee"/>`,
      `<text x="${box.x - 6}" y="${
        py(y) + 4
      }" font-size="11" text-anchor="end">${y} ${unit}</text>`,
    );
  }
  for (const x of xs) {
    parts.push(
      `<text x="${px(x)}" y="${
        box.y + box.h + 16
      }" font-size="11" text-anchor="middle">${x.toLocaleString("en")}</text>`,
    );
  }
  parts.push(
    `<text x="${box.x + box.w / 2}" y="${
      box.y + box.h + 32
    }" font-size="11" text-anchor="middle">nodes (20 LINSTOR resources per node)</text>`,
  );
  series.forEach((s, i) => {
    const points = s.values.map((v, j) => `${px(xs[j]!)},${py(v)}`).join(" ");
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"/>`,
      ...s.values.map((v, j) =>
        `<circle cx="${px(xs[j]!)}" cy="${py(v)}" r="3" fill="${s.color}"/>`
      ),
      `<text x="${box.x + 8}" y="${
        box.y + 16 + i * 14
      }" font-size="11" fill="${s.color}">${s.name}</text>`,
    );
  });
  return parts.join("\n");
}

/** The longest stall in the polling thread's own CPU time, either phase. */
function ownStall(p: Point): number {
  return Math.max(
    p.unchanged.longestStallThreadMs,
    p.changed.longestStallThreadMs,
  );
}

/** The longest GC pause of either phase (wall clock). */
function gcPause(p: Point): number {
  return Math.max(p.unchanged.gc?.longestMs ?? 0, p.changed.gc?.longestMs ?? 0);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string", default: "100,500,2000,5000,20000" },
      out: {
        type: "string",
        default: new URL("../../docs/scaling.svg", import.meta.url).pathname,
      },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  const points: Point[] = [];
  print(
    "| nodes | resources | JSON MiB | full poll CPU ms | unchanged CPU ms | 1% changed CPU ms | longest stall, thread CPU ms | longest stall ms | longest GC pause ms | RSS MiB |",
  );
  print(
    "| ----: | --------: | -------: | ---------------: | ---------------: | ----------------: | ---------------------------: | ---------------: | ------------------: | ------: |",
  );
  for (const nodes of sizes) {
    const p = await measure(nodes);
    points.push(p);
    print(
      `| ${p.nodes} | ${p.resources} | ${(p.bytes / 2 ** 20).toFixed(1)} | ${
        p.coldCpuMs.toFixed(0)
      } | ${p.unchanged.cpuPerPollMs.toFixed(0)} | ${
        p.changed.cpuPerPollMs.toFixed(0)
      } | ${ownStall(p).toFixed(1)} | ${
        Math.max(p.unchanged.longestStallMs, p.changed.longestStallMs)
          .toFixed(1)
      } | ${gcPause(p).toFixed(1)} | ${p.rssMiB.toFixed(0)} |`,
    );
  }
  const xs = points.map((p) => p.nodes);
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="380" font-family="sans-serif">`,
    `<rect width="1000" height="380" fill="white"/>`,
    chart("LINSTOR poll CPU", "ms", xs, [
      {
        name: "first (full) poll",
        color: "#d62728",
        values: points.map((p) => p.coldCpuMs),
      },
      {
        name: "1% changed",
        color: "#ff7f0e",
        values: points.map((p) => p.changed.cpuPerPollMs),
      },
      {
        name: "unchanged",
        color: "#2ca02c",
        values: points.map((p) => p.unchanged.cpuPerPollMs),
      },
    ], { x: 70, y: 40, w: 260, h: 270 }),
    chart("Longest event-loop block", "ms", xs, [
      {
        name: "longest stall, polling thread's CPU",
        color: "#1f77b4",
        values: points.map(ownStall),
      },
      {
        name: "longest GC pause (wall clock)",
        color: "#e377c2",
        values: points.map(gcPause),
      },
      {
        name: "longest timer delay (any cause)",
        color: "#8c564b",
        values: points.map((p) =>
          Math.max(p.unchanged.longestStallMs, p.changed.longestStallMs)
        ),
      },
    ], { x: 400, y: 40, w: 260, h: 270 }),
    chart("Resident memory", "MiB", xs, [
      {
        name: "RSS after the polls",
        color: "#9467bd",
        values: points.map((p) => p.rssMiB),
      },
    ], { x: 730, y: 40, w: 250, h: 270 }),
    `</svg>`,
  ].join("\n");
  await Deno.writeTextFile(values.out, svg + "\n");
  print(`picture: ${values.out}`);
}

if (import.meta.main) await main();
