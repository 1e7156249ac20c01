/**
 * Which routes fail most, on this node, over the last minutes (issue 6): the
 * answer behind GET /v1/admin/ops/top-errors. The fleet-wide view is the
 * `http_requests_total{status_class="5xx"}` metric; this one needs no
 * Prometheus and answers at once, from a few MB of memory (ADR 0023).
 *
 * Time is cut into buckets of `bucketMs`; each series (a method and a route
 * template) keeps the request and error counts of its last `bucketCount`
 * buckets in a ring, so recording is a few array writes and a query sums at
 * most `bucketCount` slots per series.
 */

/** Where the ranking reads the time, in ms. Monotonic by default: a wall-clock step back must not empty the window. */
export type Clock = () => number;

export interface ErrorRankingOptions {
  /** Width of one bucket, the granularity of every window. */
  readonly bucketMs?: number;
  /** Buckets kept per series: the longest window is bucketMs × bucketCount. */
  readonly bucketCount?: number;
  /** Series kept apart; responses of further (method, route) pairs share the overflow series. */
  readonly maxSeries?: number;
  readonly now?: Clock;
}

export interface RankingQuery {
  /** A whole number of buckets, from one bucket to the retention. */
  readonly windowMs: number;
  /** At most this many routes, the worst first. */
  readonly k: number;
  /** Routes with fewer requests in the window are left out: one failed call is no trend. */
  readonly minRequests: number;
}

export interface RouteErrorRate {
  readonly method: string;
  readonly route: string;
  readonly requests: number;
  readonly errors: number;
  /** errors / requests, from 0 (excluded: such routes are not listed) to 1. */
  readonly errorRate: number;
}

export const DEFAULT_BUCKET_MS = 10_000;
export const DEFAULT_BUCKET_COUNT = 360;
export const DEFAULT_MAX_SERIES = 1000;
/** The series every (method, route) pair beyond `maxSeries` is counted in. */
export const OVERFLOW = { method: '*', route: 'overflow' } as const;

/** A 5xx is the server's failure; 503 included: shedding, draining and node ceilings refuse the caller too. */
export function isError(status: number): boolean {
  return status >= 500;
}

/** The counts of one (method, route) pair, one slot per bucket, slot = bucket mod bucketCount. */
interface Series {
  readonly method: string;
  readonly route: string;
  /** Which bucket each slot holds now; a slot whose bucket is another counts nothing. */
  readonly buckets: Float64Array;
  readonly requests: Uint32Array;
  readonly errors: Uint32Array;
  /** The newest bucket recorded: a series with nothing in the window is skipped whole. */
  newest: number;
}

const monotonicClock: Clock = () => performance.timeOrigin + performance.now();

export class ErrorRanking {
  readonly bucketMs: number;
  readonly bucketCount: number;
  readonly maxSeries: number;
  readonly #now: Clock;
  /** route → method → series: two lookups by strings the caller already has, no key to build. */
  readonly #byRoute = new Map<string, Map<string, Series>>();
  readonly #all: Series[] = [];
  #overflow: Series | undefined;

  constructor(options: ErrorRankingOptions = {}) {
    this.bucketMs = options.bucketMs ?? DEFAULT_BUCKET_MS;
    this.bucketCount = options.bucketCount ?? DEFAULT_BUCKET_COUNT;
    this.maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
    this.#now = options.now ?? monotonicClock;
    for (const [name, value] of [
      ['bucketMs', this.bucketMs],
      ['bucketCount', this.bucketCount],
      ['maxSeries', this.maxSeries],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`${name} must be a positive integer`);
      }
    }
  }

  /** The longest window a query may ask for. */
  get retentionMs(): number {
    return this.bucketMs * this.bucketCount;
  }

  /** Series held, the overflow one included: never more than maxSeries + 1. */
  get seriesCount(): number {
    return this.#all.length + (this.#overflow ? 1 : 0);
  }

  /** Counts one response. Called on every response: no allocation once the series exists. */
  record(method: string, route: string, status: number): void {
    const series = this.#seriesFor(method, route);
    const bucket = Math.floor(this.#now() / this.bucketMs);
    // Older than the retention behind what the series already holds: that slot
    // belongs to a newer bucket, or will by the time anyone asks.
    if (bucket <= series.newest - this.bucketCount) return;
    const slot = this.#slotOf(bucket);
    if (series.buckets[slot] !== bucket) {
      series.buckets[slot] = bucket;
      series.requests[slot] = 0;
      series.errors[slot] = 0;
    }
    series.requests[slot]! += 1;
    if (isError(status)) series.errors[slot]! += 1;
    if (bucket > series.newest) series.newest = bucket;
  }

  /**
   * The routes with the highest error rate over the window: by error rate, then
   * errors, then `method route` (code-unit order), so ties always come out alike.
   *
   * A window of n buckets is the current bucket and the n − 1 before it: a
   * response at time t counts when floor(t / bucketMs) > floor(now / bucketMs) − n.
   * The bucket the window's far edge falls into is left out whole, so the window
   * reaches back at least (n − 1) buckets and never further than n.
   */
  top(query: RankingQuery): RouteErrorRate[] {
    const windowBuckets = query.windowMs / this.bucketMs;
    if (!Number.isInteger(windowBuckets) || windowBuckets < 1 || windowBuckets > this.bucketCount) {
      throw new RangeError(
        `the window must be a whole number of ${this.bucketMs} ms buckets, at most ${this.retentionMs} ms`,
      );
    }
    const current = Math.floor(this.#now() / this.bucketMs);
    const oldest = current - windowBuckets + 1;
    const rows: RouteErrorRate[] = [];
    const series = this.#overflow ? [...this.#all, this.#overflow] : this.#all;
    for (const one of series) {
      if (one.newest < oldest) continue;
      let requests = 0;
      let errors = 0;
      for (let bucket = oldest; bucket <= current && bucket <= one.newest; bucket++) {
        const slot = this.#slotOf(bucket);
        if (one.buckets[slot] !== bucket) continue;
        requests += one.requests[slot]!;
        errors += one.errors[slot]!;
      }
      if (errors === 0 || requests < query.minRequests) continue;
      rows.push({
        method: one.method,
        route: one.route,
        requests,
        errors,
        errorRate: errors / requests,
      });
    }
    return rows.sort(compareRanks).slice(0, query.k);
  }

  #slotOf(bucket: number): number {
    const slot = bucket % this.bucketCount;
    return slot < 0 ? slot + this.bucketCount : slot;
  }

  #seriesFor(method: string, route: string): Series {
    let methods = this.#byRoute.get(route);
    const found = methods?.get(method);
    if (found) return found;
    if (this.#all.length >= this.maxSeries) {
      this.#overflow ??= this.#newSeries(OVERFLOW.method, OVERFLOW.route);
      return this.#overflow;
    }
    if (!methods) {
      methods = new Map();
      this.#byRoute.set(route, methods);
    }
    const series = this.#newSeries(method, route);
    methods.set(method, series);
    this.#all.push(series);
    return series;
  }

  #newSeries(method: string, route: string): Series {
    return {
      method,
      route,
      buckets: new Float64Array(this.bucketCount).fill(Number.NEGATIVE_INFINITY),
      requests: new Uint32Array(this.bucketCount),
      errors: new Uint32Array(this.bucketCount),
      newest: Number.NEGATIVE_INFINITY,
    };
  }
}

/** Worst first; the order of the response, and of the tests' reference. */
export function compareRanks(a: RouteErrorRate, b: RouteErrorRate): number {
  if (a.errorRate !== b.errorRate) return b.errorRate - a.errorRate;
  if (a.errors !== b.errors) return b.errors - a.errors;
  const left = `${a.method} ${a.route}`;
  const right = `${b.method} ${b.route}`;
  return left < right ? -1 : left > right ? 1 : 0;
}
