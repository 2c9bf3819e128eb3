/**
 * Kubernetes resource quantities (`10Gi`, `500M`, `1e9`) as bytes.
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
 * Parses a Kubernetes quantity into bytes, rounded up to a whole byte;
 * throws `SyntaxError` for text that is not a quantity.
 */
export function parseQuantity(text: string): number {
  const match = QUANTITY.exec(text.trim());
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
