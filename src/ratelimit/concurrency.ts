/**
 * Stripe's second limiter: how many requests one caller may have in flight on
 * this node at once. It guards what a rate cannot — a few slow requests (a deep
 * search, a team delete) holding the node's database connections — so it is
 * counted per node, where those connections are (ADR 0016).
 */
export class ConcurrencyLimiter {
  readonly #limit: number;
  /** Only callers with a request in flight: the map never outgrows the node's sockets. */
  readonly #inFlight = new Map<string, number>();

  /** `limit` 0 turns the cap off. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  /**
   * Takes a slot for `key`, or answers false when the caller is at the cap. A
   * true answer must be followed by exactly one `release`.
   */
  tryAcquire(key: string): boolean {
    if (this.#limit === 0) return true;
    const current = this.#inFlight.get(key) ?? 0;
    if (current >= this.#limit) return false;
    this.#inFlight.set(key, current + 1);
    return true;
  }

  release(key: string): void {
    if (this.#limit === 0) return;
    const current = this.#inFlight.get(key) ?? 0;
    if (current <= 1) this.#inFlight.delete(key);
    else this.#inFlight.set(key, current - 1);
  }

  /** Requests in flight for `key` (tests and metrics). */
  inFlight(key: string): number {
    return this.#inFlight.get(key) ?? 0;
  }
}
