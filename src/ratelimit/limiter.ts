import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../observability/metrics.ts';
import type { MemoryRateLimitStore } from './memory-store.ts';
import { failsClosed, type PolicyName } from './policies.ts';
import { RateLimitStoreError } from './redis-store.ts';
import type { Decision, RateLimitStore, RatePolicy } from './types.ts';

/** A charge the shared store could not decide, for a policy that fails closed. */
export const UNAVAILABLE = 'unavailable';

/** One policy charged for one request: what to show in `RateLimit`, and what to refund. */
export interface Charge {
  readonly key: string;
  readonly policy: RatePolicy;
  readonly cost: number;
  readonly decision: Decision;
  /** The store that decided: a refund goes back to the same one. */
  readonly store: RateLimitStore;
}

/** At most one warning per this long while the shared store keeps failing. */
const STORE_WARNING_INTERVAL_MS = 10_000;

export interface RateLimiterOptions {
  /** Redis, shared by the fleet; absent on a single node, where `local` decides alone. */
  readonly shared?: RateLimitStore;
  readonly local: MemoryRateLimitStore;
  readonly metrics: Metrics;
  readonly log: FastifyBaseLogger;
}

/**
 * Charges policies against the shared store, and decides what happens when it
 * cannot answer (ADR 0016): throughput policies fall back to this node's
 * memory store, security policies answer UNAVAILABLE (the HTTP layer's 503).
 * Either way a metric counts it and one log line at most every ten seconds
 * says so; the first decision Redis makes again logs the recovery.
 */
export class RateLimiter {
  readonly #shared: RateLimitStore | undefined;
  readonly #local: MemoryRateLimitStore;
  readonly #metrics: Metrics;
  readonly #log: FastifyBaseLogger;
  #failingSince: number | undefined;
  #lastWarningAt = 0;
  #errorsSinceWarning = 0;
  /** prom-client children by class and outcome: found once, not hashed per request. */
  readonly #counters = new Map<string, { inc(): void }>();
  /** A warning was logged since the last success. */
  #warned = false;

  constructor(options: RateLimiterOptions) {
    this.#shared = options.shared;
    this.#local = options.local;
    this.#metrics = options.metrics;
    this.#log = options.log;
  }

  async charge(
    key: string,
    policy: RatePolicy,
    cost: number,
  ): Promise<Charge | typeof UNAVAILABLE> {
    const charge = await this.#decide(key, policy, cost);
    const outcome =
      charge === UNAVAILABLE ? UNAVAILABLE : charge.decision.allowed ? 'allowed' : 'limited';
    this.#decisionCounter(policy.name, outcome).inc();
    return charge;
  }

  #decisionCounter(className: string, outcome: string): { inc(): void } {
    const id = `${className} ${outcome}`;
    let counter = this.#counters.get(id);
    if (counter === undefined) {
      counter = this.#metrics.rateLimitDecisions.labels({ class: className, outcome });
      this.#counters.set(id, counter);
    }
    return counter;
  }

  /** Gives a charge back (a 304). Best effort: a failed refund only costs the caller one request. */
  refund(charge: Charge): void {
    charge.store.refund(charge.key, charge.policy, charge.cost).catch((error: unknown) => {
      this.#log.debug({ err: error }, 'rate limit refund failed');
    });
  }

  async #decide(
    key: string,
    policy: RatePolicy,
    cost: number,
  ): Promise<Charge | typeof UNAVAILABLE> {
    const shared = this.#shared;
    if (shared === undefined) return this.#decideLocally(key, policy, cost);
    try {
      const decision = await shared.decide(key, policy, cost);
      if (this.#failingSince !== undefined) this.#recovered();
      return { key, policy, cost, decision, store: shared };
    } catch (error) {
      if (!(error instanceof RateLimitStoreError)) throw error;
      this.#storeFailed(error, policy.name as PolicyName);
      if (failsClosed(policy.name as PolicyName)) return UNAVAILABLE;
      return this.#decideLocally(key, policy, cost);
    }
  }

  #decideLocally(key: string, policy: RatePolicy, cost: number): Charge {
    const decision = this.#local.decideNow(key, policy, cost);
    return { key, policy, cost, decision, store: this.#local };
  }

  #storeFailed(error: RateLimitStoreError, policy: PolicyName): void {
    this.#metrics.rateLimitStoreErrors.inc({ reason: error.reason });
    const now = Date.now();
    this.#failingSince ??= now;
    this.#errorsSinceWarning += 1;
    if (now - this.#lastWarningAt < STORE_WARNING_INTERVAL_MS) return;
    this.#log.warn(
      {
        reason: error.reason,
        errors: this.#errorsSinceWarning,
        failing_for_ms: now - this.#failingSince,
        policy,
      },
      'rate limit store failing: throughput limits fall back to this node, auth limits answer 503',
    );
    this.#lastWarningAt = now;
    this.#errorsSinceWarning = 0;
    this.#warned = true;
  }

  /**
   * A success after failures. Said only when a warning was: a Redis that misses
   * one deadline in a hundred must not log a warning and a recovery per miss.
   * The warning interval is not reset, so such flapping warns every ten seconds
   * at most, with the count of misses.
   */
  #recovered(): void {
    if (this.#warned) {
      this.#log.info(
        { failed_for_ms: Date.now() - (this.#failingSince ?? Date.now()) },
        'rate limit store recovered: limits are shared again',
      );
    }
    this.#failingSince = undefined;
    this.#warned = false;
  }

  async close(): Promise<void> {
    await Promise.all([this.#shared?.close(), this.#local.close()]);
  }
}
