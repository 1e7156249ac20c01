/**
 * What happens after a delivery attempt (ADR 0018), as pure functions of the
 * attempt's result so the rules are tested without a network: success, retry
 * later (the schedule with jitter, or the receiver's Retry-After when it asks for
 * longer), or give up; and when an endpoint's circuit opens.
 */

export type AttemptResult =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfterMs?: number }
  | { readonly kind: 'error'; readonly error: string };

export type AttemptOutcome =
  | { readonly next: 'succeeded' }
  | { readonly next: 'retry'; readonly delayMs: number }
  | { readonly next: 'failed'; readonly disableEndpoint?: 'gone' | 'retries_exhausted' };

/** Statuses that mean "slow down": their Retry-After is honoured. */
const SLOW_DOWN = new Set([429, 502, 503, 504]);
/** A Retry-After is honoured up to a day; beyond that it is likely a mistake. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;
const CIRCUIT_MAX_COOLDOWN_MS = 3_600_000;

/** ±20 %: a burst of failures spreads out instead of retrying in lockstep. */
export function jittered(delayMs: number, random: () => number = Math.random): number {
  return Math.round(delayMs * (0.8 + 0.4 * random()));
}

export interface OutcomeInput {
  readonly result: AttemptResult;
  /** Attempts made so far, this one included. */
  readonly attempts: number;
  /** A manual retry of a finished delivery: one attempt, no schedule, no disabling. */
  readonly manual: boolean;
  readonly scheduleMs: readonly number[];
  readonly random?: () => number;
}

export function isSuccess(result: AttemptResult): boolean {
  return result.kind === 'response' && result.status >= 200 && result.status < 300;
}

export function outcomeOf(input: OutcomeInput): AttemptOutcome {
  const { result } = input;
  if (isSuccess(result)) return { next: 'succeeded' };
  // 410 Gone: the receiver says the endpoint is no more; stop at once.
  if (result.kind === 'response' && result.status === 410) {
    return { next: 'failed', disableEndpoint: 'gone' };
  }
  if (input.manual) return { next: 'failed' };
  const scheduled = input.scheduleMs[input.attempts - 1];
  if (scheduled === undefined) return { next: 'failed', disableEndpoint: 'retries_exhausted' };
  let delayMs = jittered(scheduled, input.random);
  if (result.kind === 'response' && SLOW_DOWN.has(result.status) && result.retryAfterMs) {
    delayMs = Math.max(delayMs, Math.min(result.retryAfterMs, MAX_RETRY_AFTER_MS));
  }
  return { next: 'retry', delayMs };
}

/**
 * After `failures` consecutive failed attempts, how long the circuit stays open
 * (undefined: still closed): the cooldown from the threshold on, doubling per
 * further failure (each a failed half-open probe), at most an hour, jittered.
 */
export function circuitOpenForMs(
  failures: number,
  threshold: number,
  cooldownMs: number,
  random: () => number = Math.random,
): number | undefined {
  if (failures < threshold) return undefined;
  const doublings = Math.min(failures - threshold, 20);
  return jittered(Math.min(cooldownMs * 2 ** doublings, CIRCUIT_MAX_COOLDOWN_MS), random);
}

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined if neither. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
