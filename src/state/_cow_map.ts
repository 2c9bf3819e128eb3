/**
 * Copy-on-write string-keyed maps with O(1) frozen views.
 *
 * Why: the Kubernetes indexes change one object at a time while the extender
 * reads snapshots at a high rate. Copying a 50,000-entry `Map` per event (so
 * that older snapshots stay unchanged) costs milliseconds; a `CowMap` splits
 * its entries into shards by key hash, a view shares every shard, and the
 * next write copies only the one shard it touches. A view is therefore built
 * in O(shards) and a write after a view costs O(entries / shards).
 *
 * @module
 */

/** Shards of a `CowMap` (a power of two). */
const DEFAULT_SHARDS = 256;

/** FNV-1a hash of `key`, masked to `mask`. */
function shardOf(key: string, mask: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) & mask;
}

/**
 * A read-only map over shards nobody mutates any more. Iteration order is
 * shard order, then insertion order within a shard (not global insertion
 * order).
 */
export class FrozenMap<V> implements ReadonlyMap<string, V> {
  readonly #shards: readonly ReadonlyMap<string, V>[];
  readonly #mask: number;
  readonly #size: number;

  /** Wraps `shards` (length a power of two) holding `size` entries in all. */
  constructor(shards: readonly ReadonlyMap<string, V>[], size: number) {
    this.#shards = shards;
    this.#mask = shards.length - 1;
    this.#size = size;
    Object.freeze(this);
  }

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  #shard(key: string): ReadonlyMap<string, V> {
    return this.#mask === 0
      ? this.#shards[0]!
      : this.#shards[shardOf(key, this.#mask)]!;
  }

  /** The value stored under `key`. */
  get(key: string): V | undefined {
    return this.#shard(key).get(key);
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this.#shard(key).has(key);
  }

  /** Calls `callback` for every entry. */
  forEach(
    callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void,
    thisArg?: unknown,
  ): void {
    for (const shard of this.#shards) {
      for (const [key, value] of shard) {
        callback.call(thisArg, value, key, this);
      }
    }
  }

  /** Every `[key, value]` pair. */
  *entries(): MapIterator<[string, V]> {
    for (const shard of this.#shards) yield* shard.entries();
  }

  /** Every key. */
  *keys(): MapIterator<string> {
    for (const shard of this.#shards) yield* shard.keys();
  }

  /** Every value. */
  *values(): MapIterator<V> {
    for (const shard of this.#shards) yield* shard.values();
  }

  /** Same as `entries()`. */
  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  /**
   * A new map with `changes` applied (`undefined` deletes a key); it shares
   * every shard the changes do not touch and copies the others.
   */
  withChanges(changes: ReadonlyMap<string, V | undefined>): FrozenMap<V> {
    const shards = this.#shards.slice();
    const copied = new Array<boolean>(shards.length).fill(false);
    let size = this.#size;
    for (const [key, value] of changes) {
      const index = this.#mask === 0 ? 0 : shardOf(key, this.#mask);
      if (!copied[index]) {
        shards[index] = new Map(shards[index]);
        copied[index] = true;
      }
      const shard = shards[index] as Map<string, V>;
      if (value === undefined) {
        if (shard.delete(key)) size--;
      } else {
        if (!shard.has(key)) size++;
        shard.set(key, value);
      }
    }
    return new FrozenMap(shards, size);
  }

  /** `[object FrozenMap]`. */
  get [Symbol.toStringTag](): string {
    return "FrozenMap";
  }
}

/** Wraps a map the caller never mutates again as a runtime-immutable view. */
export function freezeMap<V>(map: Map<string, V>): ReadonlyMap<string, V> {
  return new FrozenMap([map], map.size);
}

/** A mutable string-keyed map whose `view()` is an O(shards) frozen copy. */
export class CowMap<V> {
  readonly #shards: Map<string, V>[];
  /** `true` when the shard is shared with a view and must be copied first. */
  readonly #shared: boolean[];
  readonly #mask: number;
  #size = 0;
  #view: FrozenMap<V> | undefined;

  /** An empty map with `shards` shards (a power of two). */
  constructor(shards = DEFAULT_SHARDS) {
    if (!Number.isInteger(shards) || shards < 1 || (shards & (shards - 1))) {
      throw new RangeError(
        `Cannot create a copy-on-write map with "${shards}" shards: must be a power of two`,
      );
    }
    this.#shards = Array.from({ length: shards }, () => new Map());
    this.#shared = new Array<boolean>(shards).fill(false);
    this.#mask = shards - 1;
  }

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  /** The value stored under `key`. */
  get(key: string): V | undefined {
    return this.#shards[shardOf(key, this.#mask)]!.get(key);
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this.#shards[shardOf(key, this.#mask)]!.has(key);
  }

  /** Every value (live; do not write while iterating). */
  values(): IterableIterator<V> {
    return this.#iterateValues();
  }

  *#iterateValues(): IterableIterator<V> {
    for (const shard of this.#shards) yield* shard.values();
  }

  /** Stores `value` under `key`. */
  set(key: string, value: V): void {
    const shard = this.#writable(shardOf(key, this.#mask));
    if (!shard.has(key)) this.#size++;
    shard.set(key, value);
    this.#view = undefined;
  }

  /** Removes `key`; `false` when it was absent. */
  delete(key: string): boolean {
    const index = shardOf(key, this.#mask);
    if (!this.#shards[index]!.has(key)) return false;
    this.#writable(index).delete(key);
    this.#size--;
    this.#view = undefined;
    return true;
  }

  /** A frozen view of the current content; the same object until a write. */
  view(): ReadonlyMap<string, V> {
    if (this.#view === undefined) {
      this.#view = new FrozenMap(this.#shards.slice(), this.#size);
      this.#shared.fill(true);
    }
    return this.#view;
  }

  #writable(index: number): Map<string, V> {
    if (this.#shared[index]) {
      this.#shards[index] = new Map(this.#shards[index]);
      this.#shared[index] = false;
    }
    return this.#shards[index]!;
  }
}
