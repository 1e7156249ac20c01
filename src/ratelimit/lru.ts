/**
 * A bounded least-recently-used cache whose entries also expire. The in-memory
 * rate limit store keeps one entry per (policy, caller) in it, so memory stays
 * bounded however many distinct callers arrive (ADR 0015).
 *
 * A Map iterates in insertion order, so deleting and re-inserting a key on use
 * keeps the least recently used key first: eviction takes the first key. Only
 * not on every use: re-inserting one hot key again and again made each decision
 * ~10× slower (V8 leaves a deleted slot behind per move, and keeps rebuilding the
 * table; bench/README.md "Rate limiter decisions"). An entry moves only once
 * half the cache has been placed after it. Eviction needs the whole cache placed
 * after an entry, so any entry used within the last `maxEntries / 2` placements
 * is still never evicted: LRU within a factor of two, with a hot key moving once
 * per `maxEntries / 2` placements instead of on every use.
 *
 * Expiry is lazy (a read of an expired entry drops it) plus a little pruning at
 * the cold end on every insert, so idle callers do not wait for eviction to
 * give their memory back. No timer: nothing to stop, nothing running when idle.
 */

interface Entry<V> {
  value: V;
  /** On the cache's clock (whatever `now` callers pass); gone from then on. */
  expiresAt: number;
  /** The cache's placement count when this entry was last put at the young end. */
  placedAt: number;
}

/** How many expired entries at the cold end one insert may drop. */
const PRUNE_PER_INSERT = 2;

const ANYTHING = /^/;

export class LruTtlCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #maxEntries: number;
  /** An entry with fewer placements after it than this is young enough to stay put. */
  readonly #moveAfter: number;
  /** Inserts and moves to the young end so far. */
  #placements = 0;

  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.#maxEntries = maxEntries;
    this.#moveAfter = Math.floor(maxEntries / 2);
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.#entries.size;
  }

  /** The live value under `key`, marking it most recently used; undefined once expired. */
  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#markUsed(key, entry);
    return entry.value;
  }

  /** When the live entry under `key` expires, without marking it used. */
  expiresAt(key: string, now: number): number | undefined {
    const entry = this.#entries.get(key);
    return entry !== undefined && entry.expiresAt > now ? entry.expiresAt : undefined;
  }

  /**
   * Stores `value` until `expiresAt` as the most recently used entry, evicting
   * the least recently used one when full.
   */
  set(key: string, value: V, expiresAt: number, now: number): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      // Updated in place: no allocation on the hot path of a known caller.
      entry.value = value;
      entry.expiresAt = expiresAt;
      this.#markUsed(key, entry);
      return;
    }
    this.#pruneColdEnd(now);
    if (this.#entries.size >= this.#maxEntries) {
      const coldest = this.#entries.keys().next();
      if (!coldest.done) this.#entries.delete(coldest.value);
    }
    this.#entries.set(flatten(key), { value, expiresAt, placedAt: this.#placements++ });
  }

  #markUsed(key: string, entry: Entry<V>): void {
    if (this.#placements - entry.placedAt < this.#moveAfter) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    entry.placedAt = this.#placements++;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  // The cold end is the least recently used, so most likely expired; stopping at
  // the first live entry keeps each insert O(1).
  #pruneColdEnd(now: number): void {
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (dropped === PRUNE_PER_INSERT || entry.expiresAt > now) return;
      this.#entries.delete(key);
      dropped++;
    }
  }
}

/**
 * V8 keeps a string built by concatenation (`user:${id}`) as a tree of its
 * parts, and a key kept for minutes keeps the whole tree: 530 bytes an entry
 * instead of 210 in bench/ratelimit/memory-footprint.ts. A RegExp needs a flat
 * subject, so testing one flattens the string in place — the same string, so
 * lookups are unchanged whatever a future V8 does.
 */
function flatten(key: string): string {
  ANYTHING.test(key);
  return key;
}
