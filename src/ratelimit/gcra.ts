/**
 * GCRA, the Generic Cell Rate Algorithm (ITU-T I.371's virtual scheduling, as in
 * redis-cell): a token bucket kept as one number, the theoretical arrival time
 * (TAT) — the moment the bucket will be full again — with no refill process.
 * ADR 0014 gives the reasoning; what a policy means here:
 *
 * - one request's worth of time, the emission interval T, is
 *   `windowSeconds / quota`, rounded up to a whole microsecond;
 * - a full bucket admits `burst + 1` requests at once, then one every T;
 * - so no window of `windowSeconds` ever admits more than `quota + burst`
 *   (the `burst + 1` at its start plus at most `quota - 1` refills inside it),
 *   and that bound is reached.
 *
 * Time is integer milliseconds in and out; the TAT is integer microseconds, so
 * emission intervals under a millisecond stay exact, and a TAT fits a double
 * exactly (2^53 µs) until the year 2255. No floating point accumulates.
 */
import type { Decision, RatePolicy } from './types.ts';

/** GCRA's whole state. Keep it until `resetAfterMs`: after that it says what a missing one says. */
export interface GcraState {
  /** Theoretical arrival time: integer microseconds since the Unix epoch. */
  readonly tatUs: number;
}

export interface GcraResult {
  readonly decision: Decision;
  /**
   * The state to keep. When nothing was charged (refused, or cost 0) it is the
   * input itself, the same object or undefined: there is nothing to write.
   */
  readonly state: GcraState | undefined;
}

/** A policy's GCRA constants, all integers. */
export interface GcraParams {
  /** T: the time one request costs, `windowSeconds / quota` rounded up to a whole µs. */
  readonly intervalUs: number;
  /** Requests a full bucket admits at once: `burst + 1`. No larger cost is ever admitted. */
  readonly capacity: number;
  /** The bucket measured in time, `capacity × T`: how far the TAT may run ahead of now. */
  readonly toleranceUs: number;
  /** The policy's window in ms. */
  readonly windowMs: number;
}

/** ~35 years: keeps every sum of a TAT and a tolerance below 2^53 until 2220. */
const MAX_TOLERANCE_US = 2 ** 50;
const MAX_NOW_MS = Math.floor((Number.MAX_SAFE_INTEGER - MAX_TOLERANCE_US) / 1000);

/** Validates the policy and derives its constants. Throws RangeError on a policy no limiter can honour. */
export function gcraParams(policy: RatePolicy): GcraParams {
  const windowMs = policyWindowMs(policy);
  const capacity = policy.burst + 1;
  // Rounding up keeps "at most quota + burst per window" true; the rate is lower by < 1 µs per request.
  const intervalUs = Math.ceil((windowMs * 1000) / policy.quota);
  const toleranceUs = capacity * intervalUs;
  if (toleranceUs > MAX_TOLERANCE_US) {
    throw new RangeError(`policy ${policy.name}: (burst + 1) × window / quota is over 35 years`);
  }
  return { intervalUs, capacity, toleranceUs, windowMs };
}

/**
 * Charges `cost` at `nowMs` if the bucket holds it. Admitted: the TAT moves
 * `cost × T` ahead of max(TAT, now). Refused: nothing changes, and the same
 * request is admitted `retryAfterMs` later (exactly: not 1 ms earlier) if nothing
 * else is charged meanwhile. Cost 0 only reads and is always admitted.
 *
 * `remaining` is exact: that many more cost-1 requests at `nowMs` would be
 * admitted and one more would not. `resetAfterMs` is exact: the bucket is full
 * (the state can be dropped) then, and not 1 ms earlier.
 *
 * A cost over `burst + 1` can never be admitted. It is refused with
 * `retryAfterMs = max(resetAfterMs, windowMs)` — not a promise, only a pause
 * for a client that would otherwise retry at once; the policy layer should
 * refuse such (route cost, policy) pairs at startup.
 */
export function gcra(
  state: GcraState | undefined,
  nowMs: number,
  cost: number,
  policy: RatePolicy,
): GcraResult {
  const params = gcraParams(policy);
  assertNow(nowMs, MAX_NOW_MS);
  assertCost(cost);
  assertState(state);
  const nowUs = nowMs * 1000;
  // A TAT in the past is a full bucket: idle time is not banked beyond it.
  const tatUs = Math.max(state?.tatUs ?? nowUs, nowUs);
  const debtUs = tatUs - nowUs;
  if (cost === 0) {
    return { decision: outcome(params, true, debtUs, 0), state };
  }
  if (cost <= params.capacity && debtUs + cost * params.intervalUs <= params.toleranceUs) {
    const nextUs = tatUs + cost * params.intervalUs;
    return { decision: outcome(params, true, nextUs - nowUs, 0), state: { tatUs: nextUs } };
  }
  const retryAfterMs =
    cost > params.capacity
      ? Math.max(ceilMs(debtUs), params.windowMs)
      : ceilMs(debtUs + cost * params.intervalUs - params.toleranceUs);
  return { decision: outcome(params, false, debtUs, retryAfterMs), state };
}

export interface GcraRefund {
  /**
   * The state to keep: the input itself (same object, or undefined) when nothing
   * changes, undefined when the bucket is full again and the state can be dropped.
   */
  readonly state: GcraState | undefined;
  /** When the kept state expires: the new `resetAfterMs`, 0 when there is none to keep. */
  readonly resetAfterMs: number;
}

/**
 * Gives back `cost` charged earlier (a request whose response turned out free):
 * the TAT moves back `cost × T`, but never behind now, where the bucket is full;
 * idle time is not banked by a refund either. A missing or past TAT is already a
 * full bucket and stays as it is. Refunded at the instant of its charge, or with
 * nothing else charged in between, the state is exactly the one that charge
 * started from; ADR 0014 says what happens otherwise.
 */
export function gcraRefund(
  state: GcraState | undefined,
  nowMs: number,
  cost: number,
  policy: RatePolicy,
): GcraRefund {
  const { intervalUs } = gcraParams(policy);
  assertNow(nowMs, MAX_NOW_MS);
  assertCost(cost);
  assertState(state);
  const nowUs = nowMs * 1000;
  if (state === undefined || state.tatUs <= nowUs) return { state, resetAfterMs: 0 };
  if (cost === 0) return { state, resetAfterMs: ceilMs(state.tatUs - nowUs) };
  const tatUs = state.tatUs - cost * intervalUs;
  if (tatUs <= nowUs) return { state: undefined, resetAfterMs: 0 };
  return { state: { tatUs }, resetAfterMs: ceilMs(tatUs - nowUs) };
}

function assertState(state: GcraState | undefined): void {
  if (state !== undefined && !Number.isSafeInteger(state.tatUs)) {
    throw new RangeError(`a GCRA state is an integer number of µs, got ${state.tatUs}`);
  }
}

function outcome(
  { intervalUs, toleranceUs }: GcraParams,
  allowed: boolean,
  debtUs: number,
  retryAfterMs: number,
): Decision {
  return {
    allowed,
    // Negative only when the clock ran backwards past the state.
    remaining: Math.max(0, Math.floor((toleranceUs - debtUs) / intervalUs)),
    retryAfterMs,
    resetAfterMs: ceilMs(debtUs),
  };
}

// Math.floor/ceil of a quotient of two non-negative integers whose sum is under
// 2^53 is exact: the rounding error of the division cannot cross an integer.
function ceilMs(us: number): number {
  return Math.ceil(us / 1000);
}

/**
 * The policy's window in whole milliseconds, after checking the policy's numbers:
 * quota a positive integer, burst a non-negative integer, the window a positive
 * whole number of milliseconds (0.2 s is fine; the header rounds it).
 */
export function policyWindowMs(policy: RatePolicy): number {
  const { name, quota, burst, windowSeconds } = policy;
  if (!Number.isSafeInteger(quota) || quota < 1) {
    throw new RangeError(`policy ${name}: quota is an integer >= 1, got ${quota}`);
  }
  if (!Number.isSafeInteger(burst) || burst < 0) {
    throw new RangeError(`policy ${name}: burst is an integer >= 0, got ${burst}`);
  }
  const windowMs = Math.round(windowSeconds * 1000);
  if (!(windowMs >= 1 && windowMs <= 2 ** 40) || Math.abs(windowMs - windowSeconds * 1000) > 1e-6) {
    throw new RangeError(
      `policy ${name}: windowSeconds is a whole number of ms > 0, got ${windowSeconds}`,
    );
  }
  return windowMs;
}

export function assertNow(nowMs: number, max: number): void {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0 || nowMs > max) {
    throw new RangeError(`a rate limit clock reads integer ms since the epoch, got ${nowMs}`);
  }
}

export function assertCost(cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 0) {
    throw new RangeError(`a rate limit cost is an integer >= 0, got ${cost}`);
  }
}
