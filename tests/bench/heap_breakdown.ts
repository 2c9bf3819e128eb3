/**
 * Where a V8 heap goes, from a `.heapsnapshot` file (`node:v8`
 * `writeHeapSnapshot()`): self size summed by node type (objects, strings,
 * arrays, code, hidden) and, for objects, by constructor name; strings also by
 * how often the same text repeats (duplicated strings are what interning
 * would save).
 *
 * Run: `tools/deno run --allow-read tests/bench/heap_breakdown.ts FILE
 * [--top=30]`; `memory_bench.ts --snapshot=DIR` calls it after each process.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The parts of a heap snapshot this reads. */
export interface HeapSnapshot {
  snapshot: {
    meta: { "node_fields": string[]; "node_types": [string[], ...unknown[]] };
    "node_count": number;
  };
  nodes: number[];
  strings: string[];
}

/** One line of a breakdown. */
export interface HeapBucket {
  name: string;
  count: number;
  bytes: number;
}

/** A snapshot's breakdown. */
export interface HeapSummary {
  totalBytes: number;
  byType: HeapBucket[];
  byConstructor: HeapBucket[];
  /** Strings whose text occurs more than once: the bytes beyond the first copy. */
  duplicateStringBytes: number;
  duplicateStrings: HeapBucket[];
}

function sorted(map: Map<string, HeapBucket>): HeapBucket[] {
  return [...map.values()].sort((a, b) => b.bytes - a.bytes);
}

function add(
  map: Map<string, HeapBucket>,
  name: string,
  bytes: number,
): void {
  const bucket = map.get(name);
  if (bucket) {
    bucket.count++;
    bucket.bytes += bytes;
  } else map.set(name, { name, count: 1, bytes });
}

/** Sums a snapshot's self sizes by type, constructor and duplicated string. */
export function summarizeHeapSnapshot(heap: HeapSnapshot): HeapSummary {
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const byType = new Map<string, HeapBucket>();
  const byConstructor = new Map<string, HeapBucket>();
  const strings = new Map<string, HeapBucket>();
  let totalBytes = 0;
  for (let i = 0; i < heap.nodes.length; i += width) {
    const type = types[heap.nodes[i + typeAt]!] ?? "?";
    const name = heap.strings[heap.nodes[i + nameAt]!] ?? "";
    const bytes = heap.nodes[i + sizeAt]!;
    totalBytes += bytes;
    add(byType, type, bytes);
    if (type === "object" || type === "closure" || type === "regexp") {
      add(byConstructor, type === "object" ? name : `(${type})`, bytes);
    } else if (type === "array" || type === "hidden" || type === "code") {
      add(byConstructor, `(${type}) ${name.slice(0, 40)}`, bytes);
    } else if (type === "string") {
      add(strings, name.slice(0, 200), bytes);
    }
  }
  let duplicateStringBytes = 0;
  const duplicates = new Map<string, HeapBucket>();
  for (const bucket of strings.values()) {
    if (bucket.count < 2) continue;
    const extra = bucket.bytes - bucket.bytes / bucket.count;
    duplicateStringBytes += extra;
    duplicates.set(bucket.name, { ...bucket, bytes: extra });
  }
  return {
    totalBytes,
    byType: sorted(byType),
    byConstructor: sorted(byConstructor),
    duplicateStringBytes,
    duplicateStrings: sorted(duplicates),
  };
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(2);
}

/** Markdown tables of a summary. */
export function breakdownText(
  summary: HeapSummary,
  title: string,
  top = 25,
): string {
  const lines = [
    `Heap snapshot of ${title}: ${mib(summary.totalBytes)} MiB in all`,
    "",
    "| node type | count | MiB |",
    "| --------- | ----: | --: |",
    ...summary.byType.map((b) =>
      `| ${b.name} | ${b.count} | ${mib(b.bytes)} |`
    ),
    "",
    "| constructor / kind (self size) | count | MiB |",
    "| ------------------------------ | ----: | --: |",
    ...summary.byConstructor.slice(0, top).map((b) =>
      `| ${b.name.replaceAll("|", "\\|")} | ${b.count} | ${mib(b.bytes)} |`
    ),
    "",
    `Duplicated strings: ${
      mib(summary.duplicateStringBytes)
    } MiB beyond one copy of each text; most duplicated:`,
    "",
    "| string | copies | extra MiB |",
    "| ------ | -----: | --------: |",
    ...summary.duplicateStrings.slice(0, 10).map((b) =>
      `| \`${
        JSON.stringify(b.name.slice(0, 60)).replaceAll("|", "\\|")
      }\` | ${b.count} | ${mib(b.bytes)} |`
    ),
  ];
  return lines.join("\n");
}

/**
 * Reads a `.heapsnapshot` file of any size: the node table and the string
 * table are scanned from the bytes (a large snapshot is longer than the
 * longest string V8 can parse in one piece); edges are skipped.
 */
export async function readHeapSnapshot(path: string): Promise<HeapSnapshot> {
  const bytes = await Deno.readFile(path);
  const decoder = new TextDecoder();
  const find = (text: string, from = 0): number => {
    const needle = new TextEncoder().encode(text);
    outer: for (let i = from; i <= bytes.length - needle.length; i++) {
      for (let j = 0; j < needle.length; j++) {
        if (bytes[i + j] !== needle[j]) continue outer;
      }
      return i;
    }
    throw new SyntaxError(`Cannot find ${text} in ${path}`);
  };
  const nodesAt = find('"nodes":[');
  const header = JSON.parse(
    decoder.decode(bytes.subarray(0, nodesAt)).replace(/,\s*$/, "") + "}",
  ) as { snapshot: HeapSnapshot["snapshot"] };
  const fields = header.snapshot.meta.node_fields.length;
  const nodes = new Array<number>(header.snapshot.node_count * fields);
  let at = nodesAt + '"nodes":['.length;
  for (let k = 0; k < nodes.length; k++) {
    while (bytes[at]! < 0x30 || bytes[at]! > 0x39) at++;
    let value = 0;
    while (bytes[at]! >= 0x30 && bytes[at]! <= 0x39) {
      value = value * 10 + bytes[at]! - 0x30;
      at++;
    }
    nodes[k] = value;
  }
  at = find('"strings":[', at) + '"strings":['.length;
  const strings: string[] = [];
  for (;;) {
    while (bytes[at] !== 0x22 && bytes[at] !== 0x5d) at++;
    if (bytes[at] === 0x5d) break;
    const start = at++;
    while (bytes[at] !== 0x22) at += bytes[at] === 0x5c ? 2 : 1;
    at++;
    strings.push(JSON.parse(decoder.decode(bytes.subarray(start, at))));
  }
  return { snapshot: header.snapshot, nodes, strings };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  for (const file of positionals) {
    const summary = summarizeHeapSnapshot(await readHeapSnapshot(file));
    Deno.stdout.writeSync(
      new TextEncoder().encode(
        breakdownText(summary, file, Number(values.top)) + "\n\n",
      ),
    );
  }
}
