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
   * The last parse: its text in the pieces it arrived in, the `[start,
   * end)` of every element in that text (two entries per element) and the
   * frozen result.
   */
  last?: {
    readonly pieces: readonly string[];
    readonly ranges: Int32Array;
    readonly value: readonly unknown[];
    /**
     * Characters of text the pieces keep alive at most: after a changed
     * body the pieces are mostly ranges of older bodies' text (see
     * `BodyComposer`). @default {the body's length}
     */
    readonly retainedChars?: number;
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
 * text → element index of the previous parse. After an element found
 * there, the text that follows is compared in blocks with the previous
 * body's, and the elements of an equal block are taken without being
 * split. An identical body is compared in slices and gives the identical
 * frozen array. The memo then holds the previous body's text and a copy of
 * what changed rather than this body's text, until older text would
 * outweigh the body.
 */
export async function parseLinstorJsonCooperatively(
  text: string,
  options: CooperativeParseOptions,
): Promise<unknown> {
  return await parsePieces(onePiece(text), options);
}

/**
 * {@link parseLinstorJsonCooperatively} of a UTF-8 body read chunk by
 * chunk: every `pieceBytes` are decoded as they arrive and elements are
 * split across piece edges, so the whole body is never one string
 * (decoding tens of MB at once is one long block of its own). A turn is
 * taken before working on each piece. An unchanged body is recognised by
 * comparing each decoded piece with the memo's, without splitting it. A
 * byte stream (a `fetch()` body) is read straight into the piece's buffer,
 * and cancelled when the parse stops early. Rejects with the stream's error
 * when reading fails; the memo changes only when the whole body was read
 * and parsed.
 */
export async function parseLinstorJsonStream(
  body: AsyncIterable<Uint8Array>,
  options: StreamParseOptions,
): Promise<unknown> {
  // A body described by the last one (see `BodyComposer`) drops its pieces
  // as it goes: small pieces are regular young objects that die young
  // instead of large objects that a scavenge promotes whenever it meets one
  // in use.
  const pieceBytes = options.pieceBytes ??
    (options.memo?.last === undefined || rebaseDue(options.memo.last)
      ? PIECE_BYTES
      : SMALL_PIECE_BYTES);
  if (!Number.isInteger(pieceBytes) || pieceBytes < 1) {
    throw new RangeError(
      `Cannot use "pieceBytes": ${pieceBytes} is not a positive integer`,
    );
  }
  return await parsePieces(decodeUtf8(body, pieceBytes), options);
}

/** Options of {@link parseLinstorJsonStream}. */
export interface StreamParseOptions extends CooperativeParseOptions {
  /**
   * Bytes decoded into one piece of text. When the memo will keep the
   * pieces (the first parse, or see `rebaseDue()`), larger than V8's
   * largest regular heap object: a piece is born in the large-object space
   * instead of being copied by young-generation collections. Otherwise
   * small: each piece is dropped once split.
   * @default {524288, or 65536 when building on the memo's last parse}
   */
  readonly pieceBytes?: number;
}

async function* onePiece(text: string): AsyncGenerator<string> {
  if (text !== "") yield text;
}

const PIECE_BYTES = 512 * 1024;
const SMALL_PIECE_BYTES = 64 * 1024;

/** The UTF-8 `chunks` as pieces of text of `pieceBytes` bytes each. */
async function* decodeUtf8(
  chunks: AsyncIterable<Uint8Array>,
  pieceBytes: number,
): AsyncGenerator<string> {
  const reader = byobReader(chunks);
  if (reader !== undefined) {
    yield* decodeUtf8Into(reader, pieceBytes);
    return;
  }
  // Like Response.text(): BOM dropped, invalid bytes replaced.
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(pieceBytes);
  let filled = 0;
  for await (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, pieceBytes - filled);
      buffer.set(chunk.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === pieceBytes) {
        const piece = decoder.decode(buffer, { stream: true });
        filled = 0;
        if (piece !== "") yield piece;
      }
    }
  }
  const rest = decoder.decode(buffer.subarray(0, filled));
  if (rest !== "") yield rest;
}

/**
 * A reader that reads `chunks` into a buffer of ours, when `chunks` is a
 * byte stream (a `fetch()` body is): the body then arrives without a new
 * `ArrayBuffer` per chunk. A 38 MB body in 64 KiB chunks was 600 external
 * buffers per poll, which memory-saver mode counts toward the limit that
 * starts a full collection.
 */
function byobReader(
  chunks: AsyncIterable<Uint8Array>,
): ReadableStreamBYOBReader | undefined {
  if (!(chunks instanceof ReadableStream) || chunks.locked) return undefined;
  try {
    return chunks.getReader({ mode: "byob" });
  } catch (error) {
    if (error instanceof TypeError) return undefined; // not a byte stream
    throw error;
  }
}

/** {@link decodeUtf8} reading straight into the piece's buffer. */
async function* decodeUtf8Into(
  reader: ReadableStreamBYOBReader,
  pieceBytes: number,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  // Each read hands the buffer to the stream and back (transferred).
  let buffer = new Uint8Array(pieceBytes);
  let filled = 0;
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read(buffer.subarray(filled));
      if (value !== undefined) buffer = new Uint8Array(value.buffer);
      if (done) break;
      filled += value.byteLength;
      if (filled === pieceBytes) {
        const piece = decoder.decode(buffer, { stream: true });
        filled = 0;
        if (piece !== "") yield piece;
      }
    }
    finished = true;
  } finally {
    // Like leaving a `for await` over the stream early: cancel it.
    if (finished) reader.releaseLock();
    else await reader.cancel().catch(() => {});
  }
  const rest = decoder.decode(buffer.subarray(0, filled));
  if (rest !== "") yield rest;
}

/** The parse of a body arriving as `pieces` of text. */
async function parsePieces(
  pieces: AsyncIterable<string>,
  options: CooperativeParseOptions,
): Promise<unknown> {
  const sliceChars = options.sliceChars ?? 131_072;
  // Comparing costs a small fraction of scanning per character.
  const compareChars = sliceChars * 8;
  const { memo, yieldControl } = options;
  const last = memo?.last;
  const received = new ReceivedText();
  const splitter = new ElementSplitter(received.pieces);
  const previous = last === undefined ? undefined : new PreviousParse(last);
  // With a last parse to build on, the memo will not keep this body's
  // pieces but the last body's text and a copy of what changed, and every
  // piece is dropped once split: a changed poll then leaves almost nothing
  // for the old generation (keeping the pieces meant promoting the whole
  // body on every changed poll, and with a small young generation and
  // memory-saver mode full collections to reclaim the last one).
  const composer = previous === undefined || previous.rebaseDue
    ? undefined
    : new BodyComposer(previous, received);
  // Sized like the last parse's once the body differs from the last one
  // (an unchanged body allocates neither): growing them element by element
  // left copies of every size for the collector.
  let elements: unknown[] = [];
  let count = 0;
  let ranges = new Int32Array(previous === undefined ? 1024 : 0);
  const sizeLikePrevious = () => {
    elements = new Array(previous!.elementCount);
    ranges = new Int32Array(previous!.elementCount * 2 + 64);
  };
  let sinceTurn = 0;
  let invalid = false;
  let done = false;
  /** Whether everything received so far equals the start of the last body. */
  let same = previous !== undefined;
  let receivedChars = 0;

  // Elements to parse, parsed together in one `JSON.parse` per slice (one
  // call per element costs more than parsing the same text at once).
  const newAt: number[] = [];
  const newTexts: string[] = [];
  const parseNew = () => {
    if (newTexts.length === 0) return;
    const parsed = parseLinstorJson(`[${newTexts.join(",")}]`) as unknown[];
    for (let k = 0; k < parsed.length; k++) {
      const element = parsed[k];
      if (memo) deepFreeze(element);
      elements[newAt[k]!] = element;
    }
    newAt.length = 0;
    newTexts.length = 0;
  };
  const turn = async () => {
    parseNew();
    composer?.copy();
    sinceTurn = 0;
    await yieldControl();
  };
  const turnIfDue = async (spent: number) => {
    sinceTurn += spent;
    if (sinceTurn >= sliceChars) await turn();
  };
  const addRange = (start: number, end: number) => {
    const at = (count - 1) * 2;
    if (at + 2 > ranges.length) {
      const grown = new Int32Array(Math.max(1024, ranges.length * 2));
      grown.set(ranges);
      ranges = grown;
    }
    ranges[at] = start;
    ranges[at + 1] = end;
  };
  /**
   * After an element found in the last parse: while the text that follows
   * equals the last body's text after that element, reuses the elements
   * in it without splitting them, comparing blocks of text (a comparison
   * costs a fraction of splitting). A block that differs is retried
   * smaller; below `SKIP_MIN_CHARS` the next element is split as usual.
   */
  const skipUnchanged = async () => {
    let block = SKIP_MAX_CHARS;
    while (!invalid && !done) {
      const newEnd = splitter.elementEnd;
      const skip = previous!.unchangedAfter(
        received,
        newEnd,
        Math.min(block, received.length - newEnd),
      );
      if (skip === undefined) return;
      if (skip === DIFFERS) {
        if (block <= SKIP_MIN_CHARS) return;
        block = Math.floor(block / 8);
        continue;
      }
      const shift = newEnd - previous!.foundEnd;
      for (let k = previous!.found + 1; k <= skip; k++) {
        elements[count++] = previous!.elementValue(k);
        if (memo) {
          addRange(
            previous!.elementStart(k) + shift,
            previous!.elementEnd(k) + shift,
          );
        }
      }
      const to = previous!.elementEnd(skip) + shift;
      splitter.skipTo(previous!.elementStart(skip) + shift, to);
      composer?.matchedUpTo(to, previous!.elementEnd(skip));
      previous!.skipTo(skip);
      await turnIfDue((to - newEnd) / 8);
    }
  };
  /** Splits and parses whatever `received` holds that was not split yet. */
  const drain = async () => {
    while (!invalid && !done) {
      const found = splitter.next(sliceChars);
      if (found === NEED) return;
      if (found === INVALID) invalid = true;
      else if (found === END) done = true;
      else if (found === MORE) await turnIfDue(sliceChars);
      else {
        let element = previous?.find(found);
        if (element === NEEDS_INDEX) {
          // The index is built with turns in between: hashing a large list
          // is a long block of its own.
          await previous!.buildIndex(sliceChars, yieldControl);
          element = previous!.find(found);
        }
        if (element === undefined) {
          newAt.push(count);
          newTexts.push(found);
          composer?.added(splitter.elementEnd);
        } else {
          composer?.matched(splitter.elementStart, splitter.elementEnd);
        }
        elements[count++] = element;
        if (memo) addRange(splitter.elementStart, splitter.elementEnd);
        // Scanning and comparing cost about as much per character as parsing.
        await turnIfDue(found.length);
        if (element !== undefined) await skipUnchanged();
      }
    }
  };

  for await (const piece of pieces) {
    // A piece arriving resumes this parse outside its turns: take one
    // before working on it, so that the parses of several bodies arriving
    // at once do not run their slices back to back (small pieces are
    // worked on in one slice until it is full).
    if (sinceTurn + piece.length >= sliceChars) await turn();
    if (same) {
      for (let at = 0; same && at < piece.length; at += compareChars) {
        const end = Math.min(piece.length, at + compareChars);
        same = previous!.bodyMatches(receivedChars + at, piece, at, end);
        await turnIfDue((end - at) / 8);
      }
      // A piece equal to the last body's text is not kept (an unchanged
      // poll leaves nothing for the old generation); when one differs, the
      // text before it is the last body's.
      if (!same) {
        received.push(...previous!.start(receivedChars));
        sizeLikePrevious();
      }
      receivedChars += piece.length;
      if (same) continue;
    }
    received.push(piece);
    if (!invalid) await drain();
    else await turnIfDue(piece.length / 8);
  }
  if (same) {
    if (receivedChars === previous!.bodyLength) return last!.value;
    received.push(...previous!.start(receivedChars));
    sizeLikePrevious();
  }
  splitter.end();
  await drain();
  if (invalid || !done) {
    if (received.released) {
      throw new SyntaxError(
        `Cannot parse the body: it is not a JSON array after character ${splitter.elementEnd}`,
      );
    }
    return parseLinstorJson(received.pieces.join(""));
  }
  parseNew();
  elements.length = count;
  if (memo) {
    const value = Object.freeze(elements);
    const kept = ranges.length === count * 2
      ? ranges
      : ranges.slice(0, count * 2);
    if (composer === undefined) {
      memo.last = { pieces: received.pieces, ranges: kept, value };
    } else {
      const { pieces, copiedChars } = composer.finish(received.length);
      memo.last = {
        pieces,
        ranges: kept,
        value,
        retainedChars: previous!.retainedChars + copiedChars,
      };
    }
  }
  return elements;
}

/** The text of a body received so far, in the pieces it arrived in. */
class ReceivedText {
  /** The pieces; a released one is empty (the splitter is past it). */
  readonly pieces: string[] = [];
  /** Where each piece starts in the body. */
  readonly #starts: number[] = [];
  #released = 0;
  /** Characters received. */
  length = 0;

  push(...pieces: string[]): void {
    for (const piece of pieces) {
      this.pieces.push(piece);
      this.#starts.push(this.length);
      this.length += piece.length;
    }
  }

  /** Whether a piece was released (the whole text cannot be read any more). */
  get released(): boolean {
    return this.#released > 0;
  }

  /** The text from `from` to `to` (not in a released piece). */
  text(from: number, to: number): string {
    if (from >= to) return "";
    const starts = this.#starts;
    let p = this.#released;
    while (p + 1 < starts.length && starts[p + 1]! <= from) p++;
    let text = "";
    for (; p < this.pieces.length && starts[p]! < to; p++) {
      const piece = this.pieces[p]!;
      const a = Math.max(0, from - starts[p]!);
      const b = Math.min(piece.length, to - starts[p]!);
      text += a === 0 && b === piece.length ? piece : piece.substring(a, b);
    }
    return text;
  }

  /**
   * Whether the `length` characters from `at` on equal the previous body's
   * from `previousAt` on (not in a released piece).
   */
  matches(
    at: number,
    length: number,
    previous: PreviousParse,
    previousAt: number,
  ): boolean {
    const starts = this.#starts;
    let p = this.#released;
    while (p + 1 < starts.length && starts[p + 1]! <= at) p++;
    const to = at + length;
    for (; at < to; p++) {
      const piece = this.pieces[p];
      if (piece === undefined) return false;
      const a = at - starts[p]!;
      const b = Math.min(piece.length, to - starts[p]!);
      if (b > a) {
        if (!previous.matches(previousAt, piece, a, b)) return false;
        previousAt += b - a;
        at += b - a;
      }
    }
    return true;
  }

  /**
   * Drops the pieces that end before character `before` (the splitter may
   * still stand at the end of the piece `before` is in).
   */
  release(before: number): void {
    const starts = this.#starts;
    while (
      this.#released + 1 < starts.length && starts[this.#released + 1]! < before
    ) {
      this.pieces[this.#released++] = "";
    }
  }
}

/**
 * Describes a body as the last body's text plus copies of what differs
 * from it, as the body is split: an element found in the last parse is the
 * range of the last body it came from (ranges that follow each other with
 * the same text in between are one range), anything else (changed
 * elements, differing separators) is copied out of the received pieces at
 * every turn, so that they can be released. The memo's pieces are then
 * substrings of the last body's pieces (V8 keeps a substring as a
 * reference into its parent) and of the copies: a poll that changed 1 % of
 * the elements keeps about 1 % of the body's text in new strings.
 */
class BodyComposer {
  readonly #previous: PreviousParse;
  readonly #received: ReceivedText;
  /** The body up to here is described by `#pieces` and the pending range. */
  #covered = 0;
  /** The pending range of the last body, `[#from, #to)`; none when `#from < 0`. */
  #from = 0;
  #to = 0;
  readonly #pieces: string[] = [];
  /** Pieces that are still substrings of received pieces (copied in `copy()`). */
  readonly #uncopied: number[] = [];
  /** Where the last piece starts in the body when it is uncopied text. */
  #uncopiedFrom = -1;
  #copiedChars = 0;

  constructor(previous: PreviousParse, received: ReceivedText) {
    this.#previous = previous;
    this.#received = received;
  }

  /** The element ending at `end` is the element `find()` found last. */
  matched(start: number, end: number): void {
    const from = this.#previous.foundStart;
    const to = this.#previous.foundEnd;
    if (
      this.#from >= 0 && start - this.#covered === from - this.#to &&
      this.#received.text(this.#covered, start) ===
        this.#previous.text(this.#to, from)
    ) {
      this.#to = to;
    } else {
      this.#flushRange();
      this.#add(start);
      this.#from = from;
      this.#to = to;
    }
    this.#covered = end;
  }

  /**
   * The text up to `end` is the last body's up to `previousEnd`, right
   * after the range `matched()` or this extended.
   */
  matchedUpTo(end: number, previousEnd: number): void {
    this.#to = previousEnd;
    this.#covered = end;
  }

  /** The element ending at `end` is new. */
  added(end: number): void {
    this.#flushRange();
    this.#add(end);
  }

  /** Copies the new text so far and releases the received pieces before it. */
  copy(): void {
    const uncopied = this.#uncopied;
    if (uncopied.length > 0) {
      const pieces = this.#pieces;
      const copied = flatCopy(uncopied.map((k) => pieces[k]!).join(""));
      let at = 0;
      for (const k of uncopied) {
        const length = pieces[k]!.length;
        pieces[k] = copied.substring(at, at + length);
        at += length;
      }
      this.#copiedChars += copied.length;
      uncopied.length = 0;
      this.#uncopiedFrom = -1;
    }
    this.#received.release(this.#covered);
  }

  /** The pieces of the whole body, which is `length` characters long. */
  finish(length: number): { pieces: string[]; copiedChars: number } {
    const previous = this.#previous;
    if (
      this.#from >= 0 &&
      length - this.#covered === previous.bodyLength - this.#to &&
      this.#received.text(this.#covered, length) ===
        previous.text(this.#to, previous.bodyLength)
    ) {
      this.#to = previous.bodyLength;
      this.#covered = length;
    }
    this.#flushRange();
    this.#add(length);
    this.copy();
    return { pieces: this.#pieces, copiedChars: this.#copiedChars };
  }

  #flushRange(): void {
    if (this.#from < 0) return;
    this.#previous.slices(this.#from, this.#to, this.#pieces);
    this.#from = -1;
  }

  /** Adds the received text from `#covered` to `to` as new text. */
  #add(to: number): void {
    const from = this.#covered;
    if (to <= from) return;
    const pieces = this.#pieces;
    if (
      this.#uncopiedFrom >= 0 && this.#uncopied.at(-1) === pieces.length - 1
    ) {
      // Joined with the new text before it.
      pieces[pieces.length - 1] = this.#received.text(this.#uncopiedFrom, to);
    } else {
      this.#uncopied.push(pieces.length);
      this.#uncopiedFrom = from;
      pieces.push(this.#received.text(from, to));
    }
    this.#covered = to;
  }
}

/**
 * A copy of `text` that does not refer to the string it came from: V8
 * keeps a substring as a reference into its parent, so a substring of a
 * 512 KiB piece would keep the piece; flattening a concatenation copies.
 */
function flatCopy(text: string): string {
  return ` ${text}`.substring(1);
}

/**
 * Whether the next parse should keep its own pieces rather than describe
 * its body by `last`: when the pieces keep alive more than twice the
 * body's text (older bodies' text that is no longer used, copies of
 * changes), or when they outnumber the elements (every change splits a
 * range of the last body).
 */
function rebaseDue(last: NonNullable<ParseMemo["last"]>): boolean {
  let length = 0;
  for (const piece of last.pieces) length += piece.length;
  return (last.retainedChars ?? length) > REBASE_RETAINED * length ||
    last.pieces.length > last.value.length + REBASE_PIECES;
}

/** The largest block of text `skipUnchanged()` compares at once. */
const SKIP_MAX_CHARS = 65_536;

/** Below this a block that differs is split element by element. */
const SKIP_MIN_CHARS = 256;

/** What `PreviousParse.unchangedAfter()` answers when the text differs. */
const DIFFERS = -1;

/** Consecutive misses by position before the previous parse is indexed by text. */
const MISSES_BEFORE_INDEX = 4;

/** A body built on older ones is kept as its own pieces once they keep alive more than this many bodies' text. */
const REBASE_RETAINED = 2;

/** A body built on older ones is kept as its own pieces once its pieces outnumber its elements by this many. */
const REBASE_PIECES = 1024;

/** Characters of an element's start that key the index (with its length). */
const INDEX_PREFIX_CHARS = 64;

/** What `PreviousParse.find()` answers when it needs `buildIndex()` first. */
const NEEDS_INDEX: unique symbol = Symbol("needs index");

/** The previous parse: its body, and its elements by their source text. */
class PreviousParse {
  readonly #pieces: readonly string[];
  /** Where each piece starts in the body. */
  readonly #starts: number[];
  readonly #ranges: Int32Array;
  readonly #values: readonly unknown[];
  /** The piece `bodyMatches()` looked at last (bodies are compared in order). */
  #piece = 0;
  /** The piece `text()` found last (elements are mostly read in order). */
  #textPiece = 0;
  /** The element `find()` found last. */
  #found = -1;
  /** Where the next element is expected in the previous parse. */
  #next = 0;
  #misses = 0;
  /**
   * Elements by length and first characters (hashing whole elements is
   * slow); candidates are compared in full.
   */
  #index: Map<string, number | number[]> | undefined;
  /** Characters of the previous body. */
  readonly bodyLength: number;
  /** Characters of text its pieces keep alive at most. */
  readonly retainedChars: number;

  constructor(last: NonNullable<ParseMemo["last"]>) {
    this.#pieces = last.pieces;
    this.#ranges = last.ranges;
    this.#values = last.value;
    this.#starts = [];
    let length = 0;
    for (const piece of last.pieces) {
      this.#starts.push(length);
      length += piece.length;
    }
    this.bodyLength = length;
    this.retainedChars = last.retainedChars ?? length;
    this.rebaseDue = rebaseDue(last);
  }

  /** See `rebaseDue()`. */
  readonly rebaseDue: boolean;

  /** Elements of the previous parse. */
  get elementCount(): number {
    return this.#values.length;
  }

  /** The element `find()` found last. */
  get found(): number {
    return this.#found;
  }

  /** Element `k` of the previous parse. */
  elementValue(k: number): unknown {
    return this.#values[k];
  }

  /** Where element `k` starts in the previous body. */
  elementStart(k: number): number {
    return this.#ranges[k * 2]!;
  }

  /** Where element `k` ends in the previous body. */
  elementEnd(k: number): number {
    return this.#ranges[k * 2 + 1]!;
  }

  /** Takes elements up to `k` as found: the next is expected after it. */
  skipTo(k: number): void {
    this.#found = k;
    this.#next = k + 1;
    this.#misses = 0;
  }

  /**
   * The last element `m` after the one `find()` found last such that the
   * `received` text from `at` on equals this body's text from that
   * element's end to `m`'s end and one character beyond (so that a number
   * does not go on), at most `limit` characters; `DIFFERS` when the text
   * differs, `undefined` when no element fits.
   */
  unchangedAfter(
    received: ReceivedText,
    at: number,
    limit: number,
  ): number | undefined {
    const ranges = this.#ranges;
    const k = this.#found;
    const from = ranges[k * 2 + 1]!;
    let low = k;
    let high = this.#values.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (ranges[middle * 2 + 1]! - from < limit) low = middle;
      else high = middle - 1;
    }
    if (low === k) return undefined;
    const length = ranges[low * 2 + 1]! - from + 1;
    return received.matches(at, length, this, from) ? low : DIFFERS;
  }

  /** Whether `text[from, to)` equals the previous body from character `at` on. */
  matches(at: number, text: string, from: number, to: number): boolean {
    while (from < to) {
      const p = this.#pieceAt(at);
      const piece = this.#pieces[p]!;
      const offset = at - this.#starts[p]!;
      const length = Math.min(to - from, piece.length - offset);
      if (
        length <= 0 ||
        piece.substring(offset, offset + length) !==
          text.substring(from, from + length)
      ) {
        return false;
      }
      at += length;
      from += length;
    }
    return true;
  }

  /** Where the element `find()` found last starts in the previous body. */
  get foundStart(): number {
    return this.#ranges[this.#found * 2]!;
  }

  /** Where the element `find()` found last ends in the previous body. */
  get foundEnd(): number {
    return this.#ranges[this.#found * 2 + 1]!;
  }

  /** The first `length` characters of the previous body, as pieces. */
  start(length: number): string[] {
    const start: string[] = [];
    for (let k = 0; k < this.#pieces.length; k++) {
      const piece = this.#pieces[k]!;
      const left = length - this.#starts[k]!;
      if (left <= 0) break;
      start.push(left >= piece.length ? piece : piece.substring(0, left));
    }
    return start;
  }

  /** Whether `piece[from, to)` equals the previous body from character `at` on. */
  bodyMatches(at: number, piece: string, from: number, to: number): boolean {
    let k = this.#piece;
    while (from < to) {
      while (
        k < this.#pieces.length &&
        this.#starts[k]! + this.#pieces[k]!.length <= at
      ) {
        k++;
      }
      const previous = this.#pieces[k];
      if (previous === undefined) return false;
      const offset = at - this.#starts[k]!;
      const length = Math.min(to - from, previous.length - offset);
      if (
        previous.substring(offset, offset + length) !==
          piece.substring(from, from + length)
      ) {
        return false;
      }
      at += length;
      from += length;
    }
    this.#piece = k;
    return true;
  }

  /**
   * The previous element whose text equals `text`, `undefined` when there
   * is none, or `NEEDS_INDEX` after a run of misses when the index is not
   * built yet (call `buildIndex()`, then ask again).
   */
  find(text: string): unknown {
    const next = this.#next;
    const found = this.#at(next, text) ??
      this.#at(next + 1, text) ?? // one removed
      this.#at(next - 1, text); // one inserted
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
    const candidates = this.#index.get(indexKey(text));
    if (candidates !== undefined) {
      for (
        const k of typeof candidates === "number" ? [candidates] : candidates
      ) {
        const value = this.#at(k, text);
        if (value !== undefined) return value;
      }
    }
    this.#next = next + 1;
    return undefined;
  }

  #at(k: number, text: string): unknown {
    if (
      k < 0 || k >= this.#values.length ||
      this.#ranges[k * 2 + 1]! - this.#ranges[k * 2]! !== text.length ||
      this.#text(k) !== text
    ) {
      return undefined;
    }
    this.#next = k + 1;
    this.#found = k;
    return this.#values[k];
  }

  /** The source text of element `k` of the previous parse. */
  #text(k: number): string {
    return this.text(this.#ranges[k * 2]!, this.#ranges[k * 2 + 1]!);
  }

  /** The previous body's text from `from` to `to`. */
  text(from: number, to: number): string {
    if (from >= to) return "";
    let p = this.#pieceAt(from);
    const starts = this.#starts;
    const piece = this.#pieces[p]!;
    const offset = from - starts[p]!;
    if (to - starts[p]! <= piece.length) {
      return piece.substring(offset, to - starts[p]!);
    }
    // Across piece edges.
    let text = piece.substring(offset);
    while (++p < this.#pieces.length && starts[p]! < to) {
      const next = this.#pieces[p]!;
      text += next.substring(0, Math.min(next.length, to - starts[p]!));
    }
    return text;
  }

  /** Appends the previous body's text from `from` to `to` to `into`, as substrings of its pieces. */
  slices(from: number, to: number, into: string[]): void {
    if (from >= to) return;
    const starts = this.#starts;
    for (let p = this.#pieceAt(from); from < to; p++) {
      const piece = this.#pieces[p]!;
      const a = from - starts[p]!;
      const b = Math.min(piece.length, to - starts[p]!);
      if (b > a) {
        into.push(
          a === 0 && b === piece.length ? piece : piece.substring(a, b),
        );
      }
      from = starts[p]! + b;
    }
  }

  /** The piece holding character `at` (the last one starting at or before it). */
  #pieceAt(at: number): number {
    const starts = this.#starts;
    let p = this.#textPiece;
    if (starts[p]! > at) {
      let low = 0;
      while (low < p) {
        const middle = (low + p + 1) >> 1;
        if (starts[middle]! <= at) low = middle;
        else p = middle - 1;
      }
    } else {
      // Mostly the same piece or the next few; far ahead, a binary search.
      let steps = 0;
      while (p + 1 < starts.length && starts[p + 1]! <= at) {
        if (++steps > 8) {
          let high = starts.length - 1;
          while (p < high) {
            const middle = (p + high + 1) >> 1;
            if (starts[middle]! <= at) p = middle;
            else high = middle - 1;
          }
          break;
        }
        p++;
      }
    }
    this.#textPiece = p;
    return p;
  }

  /** Indexes the previous parse, giving a turn every `sliceChars` characters. */
  async buildIndex(
    sliceChars: number,
    yieldControl: () => Promise<void>,
  ): Promise<void> {
    const index = new Map<string, number | number[]>();
    let sinceTurn = 0;
    for (let k = 0; k < this.#values.length; k++) {
      const text = this.#text(k);
      const key = indexKey(text);
      const existing = index.get(key);
      if (existing === undefined) index.set(key, k);
      else if (typeof existing === "number") index.set(key, [existing, k]);
      else existing.push(k);
      sinceTurn += text.length;
      if (sinceTurn >= sliceChars) {
        sinceTurn = 0;
        await yieldControl();
      }
    }
    this.#index = index;
  }
}

function indexKey(text: string): string {
  return `${text.length}:${text.substring(0, INDEX_PREFIX_CHARS)}`;
}

/** Freezes a value fresh from `JSON.parse` (no cycles, nothing frozen yet). */
function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  if (Array.isArray(value)) {
    for (let k = 0; k < value.length; k++) deepFreeze(value[k]);
  } else {
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const child = record[key];
      if (typeof child === "object" && child !== null) deepFreeze(child);
    }
  }
  Object.freeze(value);
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
 * Finds the source text of a JSON array's top-level elements in a text
 * that arrives in pieces (an element may span several), one element per
 * call. It checks only the array's own punctuation; `JSON.parse` validates
 * each element.
 */
class ElementSplitter {
  /** The pieces received so far (the caller appends to it). */
  readonly #pieces: readonly string[];
  #ended = false;
  /** The scan position: a piece and a character in it. */
  #piece = 0;
  #at = 0;
  /** Where the current piece starts in the whole text. */
  #pieceStart = 0;
  /** Where the last element found starts and ends in the whole text. */
  #start = 0;
  #end = 0;
  #state: "start" | "first" | "element" | "inside" | "after" | "done" = "start";
  // The element being scanned:
  #startPiece = 0;
  #startAt = 0;
  #depth = 0;
  #scalar = false;
  #inString = false;
  /** A piece ended inside a string after an unpaired backslash. */
  #escape = false;

  constructor(pieces: readonly string[]) {
    this.#pieces = pieces;
  }

  /** No more pieces will arrive. */
  end(): void {
    this.#ended = true;
  }

  /**
   * Goes on after an element from `start` to `end` (in the pieces received
   * so far) as if `next()` had returned it; called between elements.
   */
  skipTo(start: number, end: number): void {
    const pieces = this.#pieces;
    while (end - this.#pieceStart > pieces[this.#piece]!.length) {
      this.#pieceStart += pieces[this.#piece]!.length;
      this.#piece++;
    }
    this.#at = end - this.#pieceStart;
    this.#state = "after";
    this.#start = start;
    this.#end = end;
  }

  /** Where the last element `next()` returned starts in the whole text. */
  get elementStart(): number {
    return this.#start;
  }

  /** Where the last element `next()` returned ends in the whole text. */
  get elementEnd(): number {
    return this.#end;
  }

  /**
   * The next element's text; `MORE` when `budget` characters were scanned
   * without finding one (call again after a turn), `NEED` when the pieces
   * so far are used up, `END` after the closing bracket once `end()` was
   * called, and `INVALID` when the text is not an array.
   */
  next(budget: number): string | SplitterSignal {
    const pieces = this.#pieces;
    let spent = 0;
    for (;;) {
      const piece = pieces[this.#piece];
      if (piece === undefined) {
        if (!this.#ended) return NEED;
        return this.#state === "done" ? END : INVALID;
      }
      if (this.#at >= piece.length) {
        this.#pieceStart += piece.length;
        this.#piece++;
        this.#at = 0;
        continue;
      }
      if (this.#state === "inside") {
        const from = this.#at;
        const end = this.#scan(piece);
        if (end === NOT_AN_ELEMENT) return INVALID;
        if (end === PIECE_USED_UP) {
          spent += piece.length - from;
          this.#pieceStart += piece.length;
          this.#piece++;
          this.#at = 0;
          if (spent >= budget) return MORE;
          continue;
        }
        this.#at = end;
        this.#state = "after";
        this.#end = this.#pieceStart + end;
        return this.#text(end);
      }
      const code = piece.charCodeAt(this.#at);
      if (isSpace(code)) {
        this.#at++;
        spent++;
        continue;
      }
      switch (this.#state) {
        case "start":
          if (code !== OPEN_BRACKET) return INVALID;
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
          return INVALID;
        case "element":
          if (spent >= budget) return MORE;
          this.#startPiece = this.#piece;
          this.#startAt = this.#at;
          this.#start = this.#pieceStart + this.#at;
          this.#depth = 0;
          this.#inString = false;
          this.#escape = false;
          this.#scalar = code !== OPEN_BRACE && code !== OPEN_BRACKET &&
            code !== QUOTE;
          this.#state = "inside";
          continue;
        case "done":
          return INVALID;
      }
    }
  }

  /**
   * Scans the element on from `#at` in `piece`: where it ends in the
   * piece, `PIECE_USED_UP` when it goes on in the next one, or
   * `NOT_AN_ELEMENT`.
   */
  #scan(piece: string): number {
    let at = this.#at;
    const length = piece.length;
    if (this.#scalar) {
      for (; at < length; at++) {
        const code = piece.charCodeAt(at);
        if (
          code === COMMA || code === CLOSE_BRACKET || code === CLOSE_BRACE ||
          isSpace(code)
        ) {
          return at;
        }
      }
      return PIECE_USED_UP;
    }
    for (;;) {
      if (this.#inString) {
        if (this.#escape) {
          if (at >= length) return PIECE_USED_UP;
          this.#escape = false;
          at++;
        }
        const from = at;
        for (;;) {
          const quote = piece.indexOf('"', at);
          if (quote < 0) {
            let backslashes = 0;
            while (
              length - 1 - backslashes >= from &&
              piece.charCodeAt(length - 1 - backslashes) === BACKSLASH
            ) {
              backslashes++;
            }
            this.#escape = backslashes % 2 === 1;
            return PIECE_USED_UP;
          }
          let backslashes = 0;
          while (
            quote - 1 - backslashes >= from &&
            piece.charCodeAt(quote - 1 - backslashes) === BACKSLASH
          ) {
            backslashes++;
          }
          at = quote + 1;
          if (backslashes % 2 === 0) break;
        }
        this.#inString = false;
        if (this.#depth === 0) return at; // a string element
      }
      for (; at < length; at++) {
        const code = piece.charCodeAt(at);
        if (code === QUOTE) break;
        if (code === OPEN_BRACE || code === OPEN_BRACKET) {
          this.#depth++;
        } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
          if (this.#depth === 0) return NOT_AN_ELEMENT;
          this.#depth--;
          if (this.#depth === 0) return at + 1;
        }
      }
      if (at >= length) return PIECE_USED_UP;
      this.#inString = true;
      at++;
    }
  }

  /** The text of the element from its start to `end` in the current piece. */
  #text(end: number): string {
    const pieces = this.#pieces;
    const first = pieces[this.#startPiece]!;
    if (this.#startPiece === this.#piece) {
      return first.substring(this.#startAt, end);
    }
    let text = first.substring(this.#startAt);
    for (let k = this.#startPiece + 1; k < this.#piece; k++) {
      text += pieces[k]!;
    }
    return text + pieces[this.#piece]!.substring(0, end);
  }
}

/** `ElementSplitter.#scan()`: the element goes on in the next piece. */
const PIECE_USED_UP = -1;
/** `ElementSplitter.#scan()`: not an element. */
const NOT_AN_ELEMENT = -2;

const MORE: unique symbol = Symbol("more");
const NEED: unique symbol = Symbol("need");
const END: unique symbol = Symbol("end");
const INVALID: unique symbol = Symbol("invalid");
/** What `ElementSplitter.next()` answers instead of an element. */
type SplitterSignal = typeof MORE | typeof NEED | typeof END | typeof INVALID;

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
