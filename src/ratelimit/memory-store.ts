import { type GcraState, gcra, gcraRefund } from './gcra.ts';
import { LruTtlCache } from './lru.ts';
import { type SlidingWindowState, slidingWindow, slidingWindowRefund } from './sliding-window.ts';
import type { Decision, RateLimitStore, RatePolicy } from './types.ts';

type State = GcraState | SlidingWindowState;

export interface MemoryStoreOptions {
  /** Entries kept before the least recently used is evicted (default 100 000). */
  readonly maxEntries?: number;
  /**
   * Integer milliseconds since the epoch. The default is the process's monotonic
   * clock anchored at its start (`performance.timeOrigin + performance.now()`),
   * so a wall clock stepped by NTP neither refills nor freezes a bucket.
   */
  readonly clock?: () => number;
}

export const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * The rate limit store of a single node, and the fallback of the Redis store
 * when Redis is unreachable. Decisions are synchronous inside, so each one is
 * atomic; state lives in a bounded LRU until the caller is back to a full quota.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #cache: LruTtlCache<State>;
  readonly #clock: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    this.#cache = new LruTtlCache(options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.#clock = options.clock ?? monotonicEpochMs;
  }

  /** Callers with live state (a gauge for metrics). */
  get size(): number {
    return this.#cache.size;
  }

  async decide(key: string, policy: RatePolicy, cost: number): Promise<Decision> {
    return this.decideNow(key, policy, cost);
  }

  /** `decide` without the promise, for callers already on the hot path. */
  decideNow(key: string, policy: RatePolicy, cost: number): Decision {
    const now = this.#clock();
    const cacheKey = entryKey(key, policy);
    const state = this.#cache.get(cacheKey, now);
    const next =
      policy.algorithm === 'gcra'
        ? gcra(asGcra(state), now, cost, policy)
        : slidingWindow(asSlidingWindow(state), now, cost, policy);
    // The algorithms hand back the very state they were given when nothing was charged.
    if (next.state !== undefined && next.state !== state) {
      this.#cache.set(cacheKey, next.state, now + next.decision.resetAfterMs, now);
    }
    return next.decision;
  }

  async refund(key: string, policy: RatePolicy, cost: number): Promise<void> {
    this.refundNow(key, policy, cost);
  }

  /** `refund` without the promise, as `decideNow` is to `decide`. */
  refundNow(key: string, policy: RatePolicy, cost: number): void {
    const now = this.#clock();
    const cacheKey = entryKey(key, policy);
    const state = this.#cache.get(cacheKey, now);
    const next =
      policy.algorithm === 'gcra'
        ? gcraRefund(asGcra(state), now, cost, policy)
        : slidingWindowRefund(asSlidingWindow(state), now, cost, policy);
    if (next.state === undefined) {
      // Back to a full bucket, which a missing entry says as well.
      this.#cache.delete(cacheKey);
    } else if (next.state !== state) {
      this.#cache.set(cacheKey, next.state, now + next.resetAfterMs, now);
    }
  }

  /** Milliseconds until the state of `key` under `policy` expires; undefined when there is none. */
  ttlMs(key: string, policy: RatePolicy): number | undefined {
    const now = this.#clock();
    const expiresAt = this.#cache.expiresAt(entryKey(key, policy), now);
    return expiresAt === undefined ? undefined : expiresAt - now;
  }

  async close(): Promise<void> {
    this.#cache.clear();
  }
}

// A state of the other shape (a policy name reused across algorithms) counts as none.
function asGcra(state: State | undefined): GcraState | undefined {
  return state !== undefined && 'tatUs' in state ? state : undefined;
}

function asSlidingWindow(state: State | undefined): SlidingWindowState | undefined {
  return state !== undefined && 'current' in state ? state : undefined;
}

// Policy names are header tokens and never hold a NUL, so (name, key) pairs cannot collide.
function entryKey(key: string, policy: RatePolicy): string {
  // Refused as the Redis store refuses it, so both behave the same.
  if (key === '') throw new RangeError('a rate limit key is not empty');
  return `${policy.name}\u0000${key}`;
}

function monotonicEpochMs(): number {
  return Math.floor(performance.timeOrigin + performance.now());
}
