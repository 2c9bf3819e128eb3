/**
 * Kubernetes resource quantities (`10Gi`, `500M`, `1e9`), read with the
 * grammar of apimachinery's `resource.Quantity`:
 *
 * - a number: digits with an optional fraction (`1`, `1.5`, `1.`, `.5`) and
 *   an optional sign;
 * - then one suffix, or none: binary `Ki Mi Gi Ti Pi Ei` (powers of 1024),
 *   decimal `m k M G T P E` (`m` is 1/1000; `k` is lower case), or a decimal
 *   exponent `e<n>`/`E<n>` (`1e9`; `1E` alone is one exa);
 * - nothing else: no spaces, no `K`, no `KiB`.
 *
 * @module
 */

const SUFFIXES: Readonly<Record<string, number>> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  m: 1e-3,
};

const QUANTITY =
  /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?)$/;

/**
 * Parses a Kubernetes quantity into a number of units (bytes for storage),
 * rounded up to a whole unit as `Quantity.Value()` does.
 *
 * @throws {SyntaxError} when `text` is not a quantity.
 * @throws {RangeError} when it is negative or not finite.
 */
export function parseQuantity(text: string): number {
  const match = QUANTITY.exec(text);
  if (!match) {
    throw new SyntaxError(
      `Cannot parse quantity "${text}": not a Kubernetes quantity`,
    );
  }
  const base = Number(match[1]);
  const value = match[2] !== undefined
    ? base * 10 ** Number(match[2].slice(1))
    : base * (SUFFIXES[match[3] ?? ""] ?? 1);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Cannot parse quantity "${text}": out of range`);
  }
  return Math.ceil(value);
}
