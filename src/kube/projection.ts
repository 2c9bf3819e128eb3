/**
 * Projections: the fields of each Kubernetes kind a mode reads, declared as
 * data, and the copy of an object that keeps only those (what an informer
 * hands the state model, so the caches hold nothing a mode does not read).
 *
 * @module
 */
import { ANNOTATION_LAST_APPLIED } from "../constants.ts";
import type { KubeKind, KubeObjectOf } from "./api.ts";
import { stripObject } from "./informer.ts";

/**
 * Which parts of a value to keep. `true` keeps the value whole. An object
 * keeps, of an object value (or of each object in an array value), only the
 * fields it names, each by its own selection; a name ending in `*` keeps
 * every field whose name starts with the text before the `*` (annotation
 * prefixes), whole.
 */
export type FieldSelection =
  | true
  | { readonly [field: string]: FieldSelection };

/** The selection of one kind: its top-level fields (`metadata`, `spec`, …). */
export type KindFields = { readonly [field: string]: FieldSelection };

/**
 * A mode's projection: per kind, the fields it reads. A kind without an entry
 * keeps what {@linkcode stripObject} keeps.
 */
export type KubeFields = { readonly [K in KubeKind]?: KindFields };

/**
 * Metadata fields kept whatever a selection says: the state model keys
 * objects by namespace and name and skips unchanged revisions by uid and
 * resourceVersion, and writes use them as preconditions.
 */
export const IDENTITY_FIELDS: readonly string[] = Object.freeze([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
]);

/**
 * The informer transform of `kind` under `fields`: a copy of each object
 * with only the selected fields (plus {@linkcode IDENTITY_FIELDS}), or
 * {@linkcode stripObject} when `fields` has no entry for the kind. The
 * `kubectl.kubernetes.io/last-applied-configuration` annotation is dropped
 * even from annotations kept whole. The input is not changed; fields the
 * input lacks stay absent (no `undefined` values are added).
 */
export function projectionOf<K extends KubeKind>(
  kind: K,
  fields: KubeFields,
): (obj: KubeObjectOf<K>) => KubeObjectOf<K> {
  const selection = fields[kind];
  if (selection === undefined) return (obj) => stripObject(kind, obj);
  const withIdentity = withIdentityFields(selection);
  return (obj) => projectValue(obj, withIdentity) as KubeObjectOf<K>;
}

/** Copies `value` keeping what `selection` names (see {@linkcode FieldSelection}). */
export function projectValue(
  value: unknown,
  selection: FieldSelection,
): unknown {
  if (selection === true || value === null || typeof value !== "object") {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item) => projectValue(item, selection));
  }
  if (value instanceof Date) return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field in selection) {
    const inner = selection[field]!;
    if (field.endsWith("*")) {
      const prefix = field.slice(0, -1);
      for (const key in source) {
        if (
          key.startsWith(prefix) && source[key] !== undefined &&
          key !== ANNOTATION_LAST_APPLIED
        ) {
          out[key] = projectValue(source[key], inner);
        }
      }
      continue;
    }
    const item = source[field];
    if (item === undefined) continue;
    out[field] = field === "annotations" && inner === true
      ? withoutLastApplied(item)
      : projectValue(item, inner);
  }
  return out;
}

function withIdentityFields(selection: KindFields): KindFields {
  const metadata = selection.metadata;
  if (metadata === true) return selection;
  const kept: Record<string, FieldSelection> = {};
  for (const field of IDENTITY_FIELDS) kept[field] = true;
  return { ...selection, metadata: { ...kept, ...metadata } };
}

function withoutLastApplied(annotations: unknown): unknown {
  if (annotations === null || typeof annotations !== "object") {
    return annotations;
  }
  const source = annotations as Record<string, unknown>;
  if (source[ANNOTATION_LAST_APPLIED] === undefined) return source;
  const { [ANNOTATION_LAST_APPLIED]: _, ...rest } = source;
  return rest;
}
