/**
 * Request parsing helpers of the simulator: typed body fields, the
 * AutoSelectFilter, list paging and filters, route matching.
 *
 * @module
 */
import type { AutoSelectFilter, Props } from "../linstor/types.ts";
import { FILTER_STRING_LISTS, keyOf } from "./_model.ts";

const ENCODER = new TextEncoder();

/** Unusable request input (answered with 400 and the parse-error code). */
export class BadRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadRequest";
  }
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** What one optional field must be: a type guard and its wording. */
interface FieldKind<T> {
  is(value: unknown): value is T;
  readonly must: string;
}

/** An optional field of `kind`: absent or null is `undefined`. */
function optionalField<T>(
  body: Record<string, unknown>,
  key: string,
  kind: FieldKind<T>,
): T | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!kind.is(value)) {
    throw new BadRequest(`field "${key}" must be ${kind.must}`);
  }
  return value;
}

const STRING: FieldKind<string> = {
  is: (value): value is string => typeof value === "string",
  must: "a string",
};

const PROPS: FieldKind<Props> = {
  is: (value): value is Props =>
    isObject(value) &&
    Object.values(value).every((v) => typeof v === "string"),
  must: "a map of strings",
};

const STRINGS: FieldKind<string[]> = {
  is: (value): value is string[] =>
    Array.isArray(value) && value.every((v) => typeof v === "string"),
  must: "a list of strings",
};

const INTEGER: FieldKind<number> = {
  is: (value): value is number =>
    typeof value === "number" && Number.isSafeInteger(value),
  must: "an integer",
};

/** An optional string field; `BadRequest` for another type. */
export function optionalString(
  body: Record<string, unknown>,
  key: string,
): string | undefined {
  return optionalField(body, key, STRING);
}

/** An optional string map field; `BadRequest` for another shape. */
export function optionalProps(
  body: Record<string, unknown>,
  key: string,
): Props | undefined {
  return optionalField(body, key, PROPS);
}

/** An optional list of strings; `BadRequest` for another shape. */
export function optionalStrings(
  body: Record<string, unknown>,
  key: string,
): string[] | undefined {
  return optionalField(body, key, STRINGS);
}

/** An optional safe integer field; `BadRequest` for another type. */
export function optionalInteger(
  body: Record<string, unknown>,
  key: string,
): number | undefined {
  return optionalField(body, key, INTEGER);
}

/** The `override_props` / `delete_props` / `delete_namespaces` of a modify body. */
export function propsChange(body: Record<string, unknown>): {
  override_props?: Props;
  delete_props?: string[];
  delete_namespaces?: string[];
} {
  const override = optionalProps(body, "override_props");
  const del = optionalStrings(body, "delete_props");
  const ns = optionalStrings(body, "delete_namespaces");
  return {
    ...(override ? { override_props: override } : {}),
    ...(del ? { delete_props: del } : {}),
    ...(ns ? { delete_namespaces: ns } : {}),
  };
}

/** Validates an AutoSelectFilter body field. */
export function readFilter(value: unknown): AutoSelectFilter {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    throw new BadRequest(`field "select_filter" must be an object`);
  }
  const filter: AutoSelectFilter = {};
  for (const key of ["place_count", "additional_place_count"] as const) {
    const n = optionalInteger(value, key);
    if (n !== undefined) {
      if (n < 0) {
        throw new BadRequest(`field "select_filter.${key}" must be >= 0`);
      }
      filter[key] = n;
    }
  }
  for (const key of FILTER_STRING_LISTS) {
    const list = optionalStrings(value, key);
    if (list !== undefined) filter[key] = list;
  }
  for (
    const key of [
      "storage_pool",
      "not_place_with_rsc_regex",
      "diskless_type",
    ] as const
  ) {
    const s = optionalString(value, key);
    if (s !== undefined) filter[key] = s;
  }
  if (filter.not_place_with_rsc_regex !== undefined) {
    try {
      new RegExp(filter.not_place_with_rsc_regex);
    } catch {
      throw new BadRequest(
        `field "select_filter.not_place_with_rsc_regex" is not a valid regex`,
      );
    }
  }
  const x = value.x_replicas_on_different_map;
  if (x !== undefined && x !== null) {
    if (
      !isObject(x) || Object.values(x).some((v) => !Number.isSafeInteger(v))
    ) {
      throw new BadRequest(
        `field "select_filter.x_replicas_on_different_map" must map to integers`,
      );
    }
    filter.x_replicas_on_different_map = x as Record<string, number>;
  }
  if (
    value.diskless_on_remaining !== undefined &&
    value.diskless_on_remaining !== null
  ) {
    if (typeof value.diskless_on_remaining !== "boolean") {
      throw new BadRequest(
        `field "select_filter.diskless_on_remaining" must be a boolean`,
      );
    }
    filter.diskless_on_remaining = value.diskless_on_remaining;
  }
  return filter;
}

/** Non-empty fields of `override` replace those of `base` (LINSTOR's filter merge). */
export function mergeFilter(
  base: AutoSelectFilter,
  override: AutoSelectFilter,
): AutoSelectFilter {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    merged[key] = value;
  }
  return merged as AutoSelectFilter;
}

/** Applies `limit`/`offset` like the controller (`limit=0`: everything). */
export function page<T>(items: T[], url: URL): T[] {
  const limitText = url.searchParams.get("limit");
  const offsetText = url.searchParams.get("offset");
  const parse = (text: string | null, name: string) => {
    if (text === null || text === "") return 0;
    if (!/^\d+$/.test(text)) {
      throw new BadRequest(`query parameter "${name}" must be an integer >= 0`);
    }
    return Number(text);
  };
  const limit = parse(limitText, "limit");
  const offset = parse(offsetText, "offset");
  return limit > 0 ? items.slice(offset, offset + limit) : items;
}

/** Values of a repeated query parameter. */
export function listParam(url: URL, name: string): string[] {
  return url.searchParams.getAll(name).filter((v) => v !== "");
}

/** True when `list` is empty or names `name` (case-insensitive). */
export function nameIn(list: string[], name: string): boolean {
  return list.length === 0 || list.some((item) => keyOf(item) === keyOf(name));
}

/** True when the query parameter is `true`. */
export function bool(url: URL, name: string): boolean {
  return url.searchParams.get(name)?.toLowerCase() === "true";
}

/** Compares two strings in time independent of where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = ENCODER.encode(a);
  const y = ENCODER.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  }
  return diff === 0;
}

/** Path parameters when `segments` match `pattern`, else `undefined`. */
export function matchRoute(
  pattern: string[],
  segments: string[],
): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? "";
    const segment = segments[i] ?? "";
    if (p.startsWith("{") && p.endsWith("}")) {
      try {
        params[p.slice(1, -1)] = decodeURIComponent(segment);
      } catch {
        return undefined;
      }
    } else if (p !== segment) {
      return undefined;
    }
  }
  return params;
}
