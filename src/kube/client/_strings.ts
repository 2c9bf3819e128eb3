/**
 * Shares equal string values between the objects the adapter reads.
 * `JSON.parse` makes a new string for every value, so a cluster's 50,000
 * claims hold 50,000 copies of `"linstor.csi.linbit.com"`, of their class
 * name, access mode, finalizer…; an informer cache keeps them all. Passing
 * each freshly parsed object through {@linkcode StringTable.internAll} points
 * equal values at one copy (the others become garbage).
 *
 * @module
 */
import {
  KUBE_STRING_TABLE_MAX_ENTRIES,
  KUBE_STRING_TABLE_MAX_LENGTH,
} from "../../constants.ts";

/** A bounded table of shared strings (emptied when full, so unique values cannot grow it). */
export class StringTable {
  #strings = new Map<string, string>();
  #maxEntries: number;
  #maxLength: number;

  /** A table of at most `maxEntries` strings of at most `maxLength` characters. */
  constructor(
    options: { maxEntries?: number; maxLength?: number } = {},
  ) {
    this.#maxEntries = options.maxEntries ?? KUBE_STRING_TABLE_MAX_ENTRIES;
    this.#maxLength = options.maxLength ?? KUBE_STRING_TABLE_MAX_LENGTH;
  }

  /** Strings in the table now. */
  get size(): number {
    return this.#strings.size;
  }

  /** The table's copy of `text` (`text` itself when it is new, long, or the first of its kind). */
  intern(text: string): string {
    if (text.length > this.#maxLength) return text;
    const shared = this.#strings.get(text);
    if (shared !== undefined) return shared;
    if (this.#strings.size >= this.#maxEntries) this.#strings.clear();
    this.#strings.set(text, text);
    return text;
  }

  /**
   * Replaces, in place, every string value inside `value` (a freshly parsed
   * JSON value the caller owns; `Date`s and frozen objects are left alone)
   * by the table's copy, and returns `value`. Keys are not touched
   * (`JSON.parse` already shares them).
   */
  internAll<T>(value: T): T {
    this.#walk(value);
    return value;
  }

  #walk(value: unknown): void {
    if (typeof value !== "object" || value === null) return;
    if (value instanceof Date || Object.isFrozen(value)) return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const element = value[i];
        if (typeof element === "string") value[i] = this.intern(element);
        else this.#walk(element);
      }
      return;
    }
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const field = record[key];
      if (typeof field === "string") record[key] = this.intern(field);
      else this.#walk(field);
    }
  }
}
