/**
 * Structural equality of plain data (what JSON decoding and the snapshot
 * builders produce: primitives, arrays, plain objects, `ReadonlyMap`s).
 *
 * @module
 */

/** Whether `a` and `b` hold the same plain data. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (
    typeof a !== "object" || typeof b !== "object" || a === null || b === null
  ) {
    return false;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!deepEqual(a[i], b[i])) return false;
    }
    return true;
  }
  if (Array.isArray(b)) return false;
  const aMap = isMapLike(a);
  if (aMap !== isMapLike(b)) return false;
  if (aMap) {
    const left = a as ReadonlyMap<unknown, unknown>;
    const right = b as ReadonlyMap<unknown, unknown>;
    if (left.size !== right.size) return false;
    for (const [key, value] of left) {
      if (!right.has(key) || !deepEqual(value, right.get(key))) return false;
    }
    return true;
  }
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) {
    if (!Object.hasOwn(b, key)) return false;
    if (
      !deepEqual(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
      )
    ) {
      return false;
    }
  }
  return true;
}

function isMapLike(value: object): boolean {
  return typeof (value as { get?: unknown }).get === "function" &&
    typeof (value as { entries?: unknown }).entries === "function";
}
