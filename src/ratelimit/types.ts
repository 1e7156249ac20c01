/**
 * The rate limiter's vocabulary (issue 4). Algorithms are pure functions over
 * these; stores (memory, Redis) keep the state and apply them atomically.
 */

export type Algorithm = 'gcra' | 'sliding_window';

/** "At most `quota` requests per `windowSeconds`", as named in RateLimit-Policy. */
export interface RatePolicy {
  /** The name clients see in `RateLimit-Policy` / `RateLimit` (e.g. "read"). */
  readonly name: string;
  readonly quota: number;
  readonly windowSeconds: number;
  /**
   * Extra requests admitted at once beyond the steady rate (GCRA's burst
   * tolerance, in requests). 0: a quota of q per w arrives at most one request
   * every w/q seconds after the first q.
   */
  readonly burst: number;
  readonly algorithm: Algorithm;
}

/** The outcome of one request against one policy. */
export interface Decision {
  readonly allowed: boolean;
  /** Requests still admissible right now (the `r` of the RateLimit header). */
  readonly remaining: number;
  /** When refused: milliseconds until the same request would be admitted (≥ 0). */
  readonly retryAfterMs: number;
  /** Milliseconds until the caller is back to a full quota (the `t` of RateLimit). */
  readonly resetAfterMs: number;
}

/** Where limiter state lives: one atomic decision per call, whatever the backend. */
export interface RateLimitStore {
  /**
   * Charges `cost` (≥ 0; 0 only reads) against `key` under `policy` and answers
   * the decision. A refused request charges nothing.
   */
  decide(key: string, policy: RatePolicy, cost: number): Promise<Decision>;
  close(): Promise<void>;
}
