/**
 * JSON for the LINSTOR wire: exact `ret_code` decoding and BigInt-free
 * request bodies.
 *
 * @module
 */

/** The third argument V8 passes to a `JSON.parse` reviver (source text access). */
interface ReviverContext {
  source?: string;
}

const INTEGER_SOURCE = /^-?(?:0|[1-9][0-9]*)$/;

/**
 * Parses a LINSTOR response body, turning every `ret_code` (at any depth,
 * e.g. inside storage-pool `reports`) into an exact `bigint`.
 *
 * `JSON.parse` alone rounds int64 values such as −4611686018427387603 to the
 * nearest double; the reviver reads the number's source text instead
 * (TC39 "JSON.parse source text access", on in Deno's V8). Throws a
 * `SyntaxError` for invalid JSON or a numeric `ret_code` that is not an
 * integer; a quoted integer is converted too, other values are kept.
 */
export function parseLinstorJson(text: string): unknown {
  // The reviver makes JSON.parse about 8x slower; a body without any
  // ret_code (every list the state model polls) does not need it. A key
  // spelled with escapes could hide a ret_code, so escapes take the slow path.
  if (!text.includes(RET_CODE_KEY) && !text.includes(UNICODE_ESCAPE)) {
    return JSON.parse(text);
  }
  return JSON.parse(text, reviveRetCode);
}

const RET_CODE_KEY = '"ret_code"';
const UNICODE_ESCAPE = "\\u";

function reviveRetCode(
  key: string,
  value: unknown,
  context?: unknown,
): unknown {
  if (key !== "ret_code") return value;
  if (typeof value === "number") {
    const source = (context as ReviverContext | undefined)?.source;
    if (source !== undefined && INTEGER_SOURCE.test(source)) {
      return BigInt(source);
    }
    if (source === undefined && Number.isSafeInteger(value)) {
      return BigInt(value);
    }
    throw new SyntaxError(
      `Cannot parse "ret_code": ${
        source ?? String(value)
      } is not an exact integer`,
    );
  }
  if (typeof value === "string" && INTEGER_SOURCE.test(value)) {
    return BigInt(value);
  }
  // Not a number: nothing was rounded. Keep it; ApiCallRc checks reject
  // it where a ret_code is required.
  return value;
}

/** Options of {@link parseLinstorJsonCooperatively}. */
export interface CooperativeParseOptions {
  /** Gives the event loop a turn (e.g. `() => clock.sleep(0)`). */
  readonly yieldControl: () => Promise<void>;
  /** Characters parsed between two turns. @default {131072} */
  readonly sliceChars?: number;
  /**
   * The previous parse of the same list (see {@link createParseMemo}). An
   * element whose text is unchanged is reused (the same frozen object)
   * instead of parsed again, so an unchanged poll allocates almost nothing.
   * The memo then holds this parse.
   */
  readonly memo?: ParseMemo;
}

/** What {@link parseLinstorJsonCooperatively} remembers of one list. */
export interface ParseMemo {
  /**
   * The last parse: its whole text, the `[start, end)` of every element in
   * it (two entries per element) and the frozen result.
   */
  last?: {
    readonly text: string;
    readonly ranges: Int32Array;
    readonly value: readonly unknown[];
  };
}

/** An empty memo for {@link parseLinstorJsonCooperatively}. */
export function createParseMemo(): ParseMemo {
  return {};
}

/**
 * The same result as {@link parseLinstorJson}, but a top-level array is
 * parsed element by element with a turn of the event loop every
 * `sliceChars` characters, so a process serving requests is not blocked
 * for the whole parse of a large list (the resource view of a large
 * cluster is tens of MB). Anything that is not a well-formed array is
 * handed to {@link parseLinstorJson}, which throws the usual `SyntaxError`.
 *
 * With a memo, an element is looked up in the previous parse by position
 * first (the same index, or one off for an inserted or removed element)
 * and compared as text, without hashing; only a run of misses builds a
 * text → element index of the previous parse. An identical body is
 * compared in slices and gives the identical frozen array.
 */
export async function parseLinstorJsonCooperatively(
  text: string,
  options: CooperativeParseOptions,
): Promise<unknown> {
  const sliceChars = options.sliceChars ?? 131_072;
  const memo = options.memo;
  const last = memo?.last;
  if (
    last !== undefined &&
    await sameText(last.text, text, {
      sliceChars: sliceChars * 8,
      yieldControl: options.yieldControl,
    })
  ) {
    return last.value;
  }
  const elements: unknown[] = [];
  let ranges = new Int32Array(1024);
  const previous = last === undefined ? undefined : new PreviousParse(last);
  let sinceTurn = 0;
  const scanner = new ArrayScanner(text);
  for (;;) {
    const range = scanner.next(sliceChars);
    if (range === "end") {
      if (memo) {
        memo.last = {
          text,
          ranges: ranges.slice(0, elements.length * 2),
          value: Object.freeze(elements),
        };
      }
      return elements;
    }
    if (range === "invalid") return parseLinstorJson(text);
    if (range !== "more") {
      const { start, end } = range;
      let element = previous?.find(text, start, end);
      if (element === NEEDS_INDEX) {
        // The index is built with turns in between: hashing a large list
        // is a long block of its own.
        await previous!.buildIndex(sliceChars, options.yieldControl);
        element = previous!.find(text, start, end);
      }
      if (element === undefined) {
        element = parseLinstorJson(text.slice(start, end));
        if (memo) deepFreeze(element);
      }
      if (memo) {
        const at = elements.length * 2;
        if (at + 2 > ranges.length) {
          const grown = new Int32Array(ranges.length * 2);
          grown.set(ranges);
          ranges = grown;
        }
        ranges[at] = start;
        ranges[at + 1] = end;
      }
      elements.push(element);
      // Scanning and comparing cost about as much per character as parsing.
      sinceTurn += end - start;
    } else {
      sinceTurn = sliceChars;
    }
    if (sinceTurn >= sliceChars) {
      sinceTurn = 0;
      await options.yieldControl();
    }
  }
}

/** Whether `a` and `b` are equal, compared `sliceChars` at a time with turns in between. */
async function sameText(
  a: string,
  b: string,
  options: { sliceChars: number; yieldControl: () => Promise<void> },
): Promise<boolean> {
  if (a.length !== b.length) return false;
  for (let at = 0; at < a.length; at += options.sliceChars) {
    const end = Math.min(a.length, at + options.sliceChars);
    if (a.substring(at, end) !== b.substring(at, end)) return false;
    if (end < a.length) await options.yieldControl();
  }
  return true;
}

/** Consecutive misses by position before the previous parse is indexed by text. */
const MISSES_BEFORE_INDEX = 4;

/** Characters of an element's start that key the index (with its length). */
const INDEX_PREFIX_CHARS = 64;

/** What `PreviousParse.find()` answers when it needs `buildIndex()` first. */
const NEEDS_INDEX: unique symbol = Symbol("needs index");

/** Finds elements of the previous parse by their source text. */
class PreviousParse {
  readonly #text: string;
  readonly #ranges: Int32Array;
  readonly #values: readonly unknown[];
  /** Where the next element is expected in the previous parse. */
  #next = 0;
  #misses = 0;
  /**
   * Elements by length and first characters (hashing whole elements is
   * slow); candidates are compared in full.
   */
  #index: Map<string, number | number[]> | undefined;

  constructor(last: NonNullable<ParseMemo["last"]>) {
    this.#text = last.text;
    this.#ranges = last.ranges;
    this.#values = last.value;
  }

  /**
   * The previous element whose text equals `text[start, end)`, `undefined`
   * when there is none, or `NEEDS_INDEX` after a run of misses when the
   * index is not built yet (call `buildIndex()`, then ask again).
   */
  find(
    text: string,
    start: number,
    end: number,
  ): unknown {
    const next = this.#next;
    const found = this.#at(next, text, start, end) ??
      this.#at(next + 1, text, start, end) ?? // one removed
      this.#at(next - 1, text, start, end); // one inserted
    if (found !== undefined) {
      this.#misses = 0;
      return found;
    }
    // Once built (a reorder or a run of changes), the index answers every miss.
    if (this.#index === undefined) {
      if (this.#misses < MISSES_BEFORE_INDEX) {
        this.#misses++;
        this.#next = next + 1; // most likely changed in place
        return undefined;
      }
      return NEEDS_INDEX;
    }
    const candidates = this.#index.get(indexKey(text, start, end));
    if (candidates !== undefined) {
      for (
        const k of typeof candidates === "number" ? [candidates] : candidates
      ) {
        const value = this.#at(k, text, start, end);
        if (value !== undefined) return value;
      }
    }
    this.#next = next + 1;
    return undefined;
  }

  #at(k: number, text: string, start: number, end: number): unknown {
    if (k < 0 || k >= this.#values.length) return undefined;
    const from = this.#ranges[k * 2]!;
    const to = this.#ranges[k * 2 + 1]!;
    if (
      to - from !== end - start ||
      this.#text.substring(from, to) !== text.substring(start, end)
    ) {
      return undefined;
    }
    this.#next = k + 1;
    return this.#values[k];
  }

  /** Indexes the previous parse, giving a turn every `sliceChars` characters. */
  async buildIndex(
    sliceChars: number,
    yieldControl: () => Promise<void>,
  ): Promise<void> {
    const index = new Map<string, number | number[]>();
    let sinceTurn = 0;
    for (let k = 0; k < this.#values.length; k++) {
      const from = this.#ranges[k * 2]!;
      const to = this.#ranges[k * 2 + 1]!;
      const key = indexKey(this.#text, from, to);
      const existing = index.get(key);
      if (existing === undefined) index.set(key, k);
      else if (typeof existing === "number") index.set(key, [existing, k]);
      else existing.push(k);
      sinceTurn += to - from;
      if (sinceTurn >= sliceChars) {
        sinceTurn = 0;
        await yieldControl();
      }
    }
    this.#index = index;
  }
}

function indexKey(text: string, start: number, end: number): string {
  return `${end - start}:${
    text.substring(start, Math.min(end, start + INDEX_PREFIX_CHARS))
  }`;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) {
    return;
  }
  Object.freeze(value);
  for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/**
 * Finds the source ranges of a JSON array's top-level elements, one call at
 * a time and at most `budget` characters per call. It checks only the
 * array's own punctuation; `JSON.parse` validates each element.
 */
class ArrayScanner {
  readonly #text: string;
  #at = 0;
  #state: "start" | "first" | "element" | "after" | "done" = "start";

  constructor(text: string) {
    this.#text = text;
  }

  next(
    budget: number,
  ): { start: number; end: number } | "more" | "end" | "invalid" {
    const text = this.#text;
    const limit = Math.min(text.length, this.#at + budget);
    for (;;) {
      while (this.#at < text.length && isSpace(text.charCodeAt(this.#at))) {
        this.#at++;
      }
      if (this.#state === "done") {
        return this.#at === text.length ? "end" : "invalid";
      }
      if (this.#at >= text.length) return "invalid";
      const code = text.charCodeAt(this.#at);
      switch (this.#state) {
        case "start":
          if (code !== OPEN_BRACKET) return "invalid";
          this.#at++;
          this.#state = "first";
          continue;
        case "first":
          if (code === CLOSE_BRACKET) {
            this.#at++;
            this.#state = "done";
            continue;
          }
          this.#state = "element";
          continue;
        case "after":
          if (code === COMMA) {
            this.#at++;
            this.#state = "element";
            continue;
          }
          if (code === CLOSE_BRACKET) {
            this.#at++;
            this.#state = "done";
            continue;
          }
          return "invalid";
        case "element": {
          if (this.#at >= limit) return "more";
          const start = this.#at;
          const end = this.#elementEnd(start);
          if (end < 0) return "invalid";
          this.#at = end;
          this.#state = "after";
          return { start, end };
        }
      }
    }
  }

  /** The end of the value starting at `start`, or -1. */
  #elementEnd(start: number): number {
    const text = this.#text;
    let depth = 0;
    let at = start;
    while (at < text.length) {
      const code = text.charCodeAt(at);
      if (code === QUOTE) {
        at = stringEnd(text, at);
        if (at < 0) return -1;
        if (depth === 0) return at;
        continue;
      }
      if (code === OPEN_BRACE || code === OPEN_BRACKET) {
        depth++;
      } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
        if (depth === 0) return at; // a scalar ended by the array's "]"
        depth--;
        if (depth === 0) return at + 1;
      } else if (depth === 0 && (code === COMMA || isSpace(code))) {
        return at; // a scalar element
      }
      at++;
    }
    return depth === 0 ? at : -1;
  }
}

/** The index after the closing quote of the string opening at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  let at = open + 1;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) {
      backslashes++;
    }
    if (backslashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/**
 * Serializes a request body. Throws a `TypeError` naming the key if a
 * `bigint` sneaks in: LINSTOR request bodies never carry one.
 */
export function stringifyLinstorJson(value: unknown): string {
  const text = JSON.stringify(value, (key, item: unknown) => {
    if (typeof item === "bigint") {
      throw new TypeError(
        `Cannot serialize "${key}": bigint values are not sent to LINSTOR`,
      );
    }
    return item;
  });
  if (text === undefined) {
    throw new TypeError(
      `Cannot serialize "body": ${typeof value} is not JSON`,
    );
  }
  return text;
}

/**
 * Compares two LINSTOR enum values case-insensitively (the server sends
 * `SATELLITE` where the API documents `Satellite`). `undefined` equals only
 * `undefined`.
 */
export function sameEnum(
  a: string | undefined,
  b: string | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.toUpperCase() === b.toUpperCase();
}
