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
  const withIdentity = compiled(withIdentityFields(selection));
  return (obj) => copySelected(obj, withIdentity) as KubeObjectOf<K>;
}

/** Copies `value` keeping what `selection` names (see {@linkcode FieldSelection}). */
export function projectValue(
  value: unknown,
  selection: FieldSelection,
): unknown {
  return selection === true ? value : copySelected(value, compiled(selection));
}

/**
 * A selection ready for copying. Each copy of one selection is made by its
 * own constructor, whose prototype is `Object.prototype` (the copy is a
 * plain object): V8 then sizes those objects for the fields they get
 * (in-object slack tracking) instead of giving every `{}` room for four
 * properties and a property array for the fifth on (a one-field object is
 * 32 bytes instead of 56, five fields 64 instead of 96).
 */
interface CompiledSelection {
  readonly create: new () => Record<string, unknown>;
  /** In the selection's order: a field or a prefix (`…*`), with its inner selection. */
  readonly entries: readonly CompiledEntry[];
}

interface CompiledEntry {
  readonly field: string;
  /** The text before the `*` of a prefix entry; `undefined` for a field. */
  readonly prefix: string | undefined;
  readonly inner: CompiledSelection | true;
  /** `annotations` kept whole (without the last-applied annotation). */
  readonly annotationsWhole: boolean;
}

/**
 * One copy of every empty result (an object of which the selection keeps
 * no field, such as a PV's annotations without override annotations):
 * frozen, so a write to it fails instead of reaching other objects.
 */
const EMPTY_COPY: Readonly<Record<string, unknown>> = Object.freeze({});

const COMPILED = new WeakMap<object, CompiledSelection>();

function compiled(selection: { readonly [field: string]: FieldSelection }) {
  let out = COMPILED.get(selection);
  if (out === undefined) {
    const entries: CompiledEntry[] = [];
    for (const field in selection) {
      const inner = selection[field]!;
      entries.push({
        field,
        prefix: field.endsWith("*") ? field.slice(0, -1) : undefined,
        inner: inner === true ? true : compiled(inner),
        annotationsWhole: field === "annotations" && inner === true,
      });
    }
    out = { create: plainConstructor(), entries };
    COMPILED.set(selection, out);
  }
  return out;
}

function plainConstructor(): new () => Record<string, unknown> {
  // Named for heap snapshots, which list objects by their constructor.
  const create = function Projected() {} as unknown as {
    new (): Record<string, unknown>;
    prototype: object;
  };
  create.prototype = Object.prototype;
  return create;
}

function copySelected(value: unknown, selection: CompiledSelection): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    return value.map((item) => copySelected(item, selection));
  }
  if (value instanceof Date) return value;
  const source = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const entry of selection.entries) {
    const { prefix, inner } = entry;
    if (prefix !== undefined) {
      for (const key in source) {
        if (
          key.startsWith(prefix) && source[key] !== undefined &&
          key !== ANNOTATION_LAST_APPLIED
        ) {
          out ??= new selection.create();
          out[key] = inner === true
            ? source[key]
            : copySelected(source[key], inner);
        }
      }
      continue;
    }
    const item = source[entry.field];
    if (item === undefined) continue;
    out ??= new selection.create();
    out[entry.field] = entry.annotationsWhole
      ? withoutLastApplied(item)
      : inner === true
      ? item
      : copySelected(item, inner);
  }
  return out ?? EMPTY_COPY;
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
