/**
 * The rate limiter's vocabulary (issue 4). Algorithms are pure functions over
 * these; stores (memory, Redis) keep the state and apply them atomically.
 */

export type Algorithm = 'gcra' | 'sliding_window';

/**
 * A steady `quota` requests per `windowSeconds`, up to `burst + 1` of them at once,
 * and never more than `quota + burst` in any window of `windowSeconds` (exactly
 * for GCRA, approximately for the sliding window): ADR 0014.
 */
export interface RatePolicy {
  /** The name clients see in `RateLimit-Policy` / `RateLimit` (e.g. "read"). */
  readonly name: string;
  readonly quota: number;
  readonly windowSeconds: number;
  /**
   * Extra requests admitted at once beyond the steady rate (GCRA's burst
   * tolerance, in requests): a full bucket admits `burst + 1` back to back, then
   * one every w/q seconds. 0: one at a time, one every w/q seconds. For
   * "a whole quota at once", burst = quota − 1 (then up to 2·quota − 1 per window).
   * No cost above `burst + 1` is ever admitted. The sliding window's limit per
   * window is `quota + burst`.
   */
  readonly burst: number;
  readonly algorithm: Algorithm;
}

/** The outcome of one request against one policy. */
export interface Decision {
  readonly allowed: boolean;
  /** Requests still admissible right now (the `r` of the RateLimit header). */
  readonly remaining: number;
  /**
   * When refused: milliseconds until the same request would be admitted, if nothing
   * else is charged meanwhile (≥ 1, exact to the ms); 0 when allowed. A cost that
   * can never be admitted gets max(resetAfterMs, window), not a promise.
   */
  readonly retryAfterMs: number;
  /**
   * Milliseconds until the caller is back to a full bucket (the `t` of RateLimit),
   * when the state says nothing a missing one would not: its TTL.
   */
  readonly resetAfterMs: number;
}

/** Where limiter state lives: one atomic decision per call, whatever the backend. */
export interface RateLimitStore {
  /**
   * Charges `cost` (≥ 0; 0 only reads) against `key` under `policy` and answers
   * the decision. A refused request charges nothing.
   */
  decide(key: string, policy: RatePolicy, cost: number): Promise<Decision>;
  /**
   * Gives back `cost` charged earlier (a request that turned out to be a 304,
   * which costs nothing), never beyond a full bucket: as if that charge had never
   * been made when nothing else was charged in between, else up to `cost` more
   * generous than that (ADR 0014). Refunding more than was charged is no error
   * and still stops at a full bucket.
   */
  refund(key: string, policy: RatePolicy, cost: number): Promise<void>;
  close(): Promise<void>;
}
