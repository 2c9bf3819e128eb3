/**
 * A LINSTOR node → pool map kept by node id, for the maps a filter's pass
 * builds over thousands of nodes (what a new reservation holds).
 *
 * @module
 */

/**
 * A read-only map of LINSTOR node names to pools, filled by node id
 * (`SnapshotIndex.intern()`): adding is an array write instead of a hash
 * insert, and the filter's loops read it by id (`byId()`). Names resolve
 * through the id table it was built with, so it stays right after that
 * table's index is gone. Entries iterate in the order they were added.
 */
export class NodeIdMap implements ReadonlyMap<string, string> {
  readonly #ids: ReadonlyMap<string, number>;
  readonly #names: string[] = [];
  readonly #byId: (string | undefined)[] = [];

  /** `ids`: the id of each node name (the index's table, which only grows). */
  constructor(ids: ReadonlyMap<string, number>) {
    this.#ids = ids;
  }

  /**
   * Adds `name` → `value`; `id` must be the id of `name` in the table.
   * Adding a name again replaces its value.
   */
  add(name: string, id: number, value: string): void {
    if (this.#byId[id] === undefined) this.#names.push(name);
    this.#byId[id] = value;
  }

  /** The values by node id, when `ids` is the table this map was built with. */
  byId(
    ids: ReadonlyMap<string, number>,
  ): readonly (string | undefined)[] | undefined {
    return ids === this.#ids ? this.#byId : undefined;
  }

  get size(): number {
    return this.#names.length;
  }

  get(name: string): string | undefined {
    const id = this.#ids.get(name);
    return id === undefined ? undefined : this.#byId[id];
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  forEach(
    callback: (
      value: string,
      key: string,
      map: ReadonlyMap<string, string>,
    ) => void,
    thisArg?: unknown,
  ): void {
    for (const name of this.#names) {
      callback.call(thisArg, this.get(name)!, name, this);
    }
  }

  entries(): MapIterator<[string, string]> {
    return this.#asMap().entries();
  }

  keys(): MapIterator<string> {
    return this.#asMap().keys();
  }

  values(): MapIterator<string> {
    return this.#asMap().values();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }

  /** A plain `Map` of the entries, in order (iteration is rare: narrowing, metrics). */
  #asMap(): Map<string, string> {
    const map = new Map<string, string>();
    for (const name of this.#names) map.set(name, this.get(name)!);
    return map;
  }
}
