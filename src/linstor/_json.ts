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
  return JSON.parse(
    text,
    (key: string, value: unknown, context?: unknown) => {
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
    },
  );
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
