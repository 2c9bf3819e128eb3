/**
 * `guardProjection()`: a projected Kubernetes object that throws when code
 * reads a field the projection dropped (present in the original, absent in
 * the copy), so a mode's tests fail on a read its declared fields miss even
 * when the answer would not change.
 *
 * @module
 */

/** Thrown on a read of a field the projection dropped. */
export class DroppedFieldRead extends Error {
  override name = "DroppedFieldRead";
  /** The path read, e.g. `metadata.annotations["x"]`. */
  readonly path: string;

  /** A read of `path`. */
  constructor(path: string) {
    super(
      `Cannot read "${path}": the projection dropped it (declare it in the mode's fields)`,
    );
    this.path = path;
  }
}

/**
 * Wraps `projected` (the projection of `original`) so that reading a field
 * of it, or of any object inside it, that `original` has but `projected`
 * lacks throws `DroppedFieldRead`. Wrappers are cached, so the same inner
 * object is the same wrapper at every read (identity checks still hold).
 */
export function guardProjection<T extends object>(
  original: T,
  projected: T,
  options: { path?: string } = {},
): T {
  return wrap(original, projected, options.path ?? "", new WeakMap()) as T;
}

function isGuardable(value: unknown): value is object {
  return value !== null && typeof value === "object" &&
    !(value instanceof Date);
}

function wrap(
  original: unknown,
  projected: object,
  path: string,
  cache: WeakMap<object, object>,
): object {
  const cached = cache.get(projected);
  if (cached !== undefined) return cached;
  const source = isGuardable(original)
    ? original as Record<PropertyKey, unknown>
    : {};
  const proxy = new Proxy(projected, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof key === "symbol") return value;
      const inner = Array.isArray(target)
        ? `${path}[${key}]`
        : /^[A-Za-z_][\w]*$/.test(key)
        ? (path === "" ? key : `${path}.${key}`)
        : `${path}[${JSON.stringify(key)}]`;
      if (!Object.hasOwn(target, key)) {
        if (Object.hasOwn(source, key) && source[key] !== undefined) {
          throw new DroppedFieldRead(inner);
        }
        return value;
      }
      return isGuardable(value)
        ? wrap(source[key], value, inner, cache)
        : value;
    },
  });
  cache.set(projected, proxy);
  return proxy;
}
