/**
 * The sliding-window counter (Cloudflare's, and most API gateways'): two fixed
 * windows' counts, the previous one weighted by how much of it the sliding window
 * still covers, as if its requests had been spread evenly over it. ADR 0014.
 *
 * The limit N is `quota + burst` per `windowSeconds` (W), the same per-window
 * bound GCRA holds exactly. Here it holds approximately:
 *
 * - each fixed window [kW, (k+1)W) admits at most N;
 * - each decision's estimate is within `previous` of the exact cost admitted in
 *   the trailing W: admitted ⇒ exact + cost ≤ N + previous·elapsed/W, and
 *   refused ⇒ exact + cost > N − previous·(W − elapsed)/W;
 * - so a sliding window of W ms admits at most N + ⌊N·(W − 2)/W⌋ < 2N (reached
 *   when a full previous window landed in its last millisecond), and a caller
 *   that never sends more than ⌊N/2⌋ in any W is never refused.
 *
 * All arithmetic is on integers (counts × milliseconds).
 */
import { assertCost, assertNow, policyWindowMs } from './gcra.ts';
import type { Decision, RatePolicy } from './types.ts';

export interface SlidingWindowState {
  /** Start of the current fixed window: ms since the epoch, a multiple of the window. */
  readonly windowStart: number;
  /** Cost admitted since `windowStart`. */
  readonly current: number;
  /** Cost admitted in the window just before. */
  readonly previous: number;
}

export interface SlidingWindowResult {
  readonly decision: Decision;
  /** The state to keep; the input itself (same object, or undefined) when nothing was charged. */
  readonly state: SlidingWindowState | undefined;
}

/** N: the most a full window admits, and the largest cost ever admitted. */
export function slidingWindowLimit(policy: RatePolicy): number {
  return policy.quota + policy.burst;
}

/**
 * The policy's window W in ms and its limit N, after the checks of
 * `policyWindowMs` and one more: every product of a count and a time stays exact.
 */
export function slidingWindowParams(policy: RatePolicy): { windowMs: number; limit: number } {
  const windowMs = policyWindowMs(policy);
  const limit = slidingWindowLimit(policy);
  if (limit * windowMs * 2 > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`policy ${policy.name}: (quota + burst) × window is too large`);
  }
  return { windowMs, limit };
}

const MAX_NOW_MS = Number.MAX_SAFE_INTEGER - 2 ** 41;

/**
 * Charges `cost` at `nowMs` if the estimate leaves room. The decision's numbers
 * are exact for this estimator, as GCRA's are: `remaining` more cost-1 requests
 * now would be admitted and one more would not; a refused request is admitted
 * `retryAfterMs` later and not 1 ms earlier (if nothing else is charged); at
 * `resetAfterMs` the estimate is 0 and the state can be dropped. A refused
 * request changes nothing; cost 0 only reads and is always admitted. A cost over
 * N is never admitted: refused with `retryAfterMs = max(resetAfterMs, W)`.
 */
export function slidingWindow(
  state: SlidingWindowState | undefined,
  nowMs: number,
  cost: number,
  policy: RatePolicy,
): SlidingWindowResult {
  const { windowMs, limit } = slidingWindowParams(policy);
  assertNow(nowMs, MAX_NOW_MS);
  assertCost(cost);
  const { start, previous, current } = roll(state, nowMs, windowMs);
  const counts: Counts = { start, previous, current, windowMs, limit };
  // A clock behind the state's window counts as that window's first millisecond.
  const elapsed = Math.max(0, nowMs - start);

  if (cost === 0) {
    return { decision: outcome(counts, nowMs, elapsed, true, 0), state };
  }
  if (cost <= limit && fits(counts, elapsed, current + cost)) {
    const next = { windowStart: start, current: current + cost, previous };
    return {
      decision: outcome({ ...counts, current: next.current }, nowMs, elapsed, true, 0),
      state: next,
    };
  }
  const retryAt =
    cost > limit
      ? nowMs + Math.max(resetAfter(counts, nowMs), windowMs)
      : admissibleAt(counts, elapsed, cost);
  return { decision: outcome(counts, nowMs, elapsed, false, retryAt - nowMs), state };
}

export interface SlidingWindowRefund {
  /**
   * The state to keep: the input itself (same object, or undefined) when nothing
   * changes, undefined when both counts are back to 0 and the state can be dropped.
   */
  readonly state: SlidingWindowState | undefined;
  /** When the kept state expires: the new `resetAfterMs`, 0 when there is none to keep. */
  readonly resetAfterMs: number;
}

/**
 * Gives back `cost` charged earlier (a request whose response turned out free).
 * A charge lands whole in one fixed window, so it comes off the current window's
 * count when that count holds it, and otherwise off the previous one's (the
 * charge was made before the boundary); counts never go below 0. Refunded in the
 * window of its charge, or in the next with nothing charged there yet, the
 * estimate is exactly as if the charge had never been made; ADR 0014 says what
 * happens otherwise.
 */
export function slidingWindowRefund(
  state: SlidingWindowState | undefined,
  nowMs: number,
  cost: number,
  policy: RatePolicy,
): SlidingWindowRefund {
  const { windowMs, limit } = slidingWindowParams(policy);
  assertNow(nowMs, MAX_NOW_MS);
  assertCost(cost);
  const counts: Counts = { ...roll(state, nowMs, windowMs), windowMs, limit };
  let { previous, current } = counts;
  if (current >= cost) current -= cost;
  else previous = Math.max(0, previous - cost);

  if (current === counts.current && previous === counts.previous) {
    return { state, resetAfterMs: resetAfter(counts, nowMs) };
  }
  if (current === 0 && previous === 0) return { state: undefined, resetAfterMs: 0 };
  return {
    state: { windowStart: counts.start, current, previous },
    resetAfterMs: resetAfter({ ...counts, current, previous }, nowMs),
  };
}

interface Counts {
  readonly start: number;
  readonly previous: number;
  readonly current: number;
  readonly windowMs: number;
  readonly limit: number;
}

/** The state's counts as seen from the window holding `nowMs`. */
function roll(
  state: SlidingWindowState | undefined,
  nowMs: number,
  windowMs: number,
): { start: number; previous: number; current: number } {
  const start = nowMs - (nowMs % windowMs);
  if (state === undefined) return { start, previous: 0, current: 0 };
  if (state.windowStart >= start) {
    return { start: state.windowStart, previous: state.previous, current: state.current };
  }
  if (state.windowStart === start - windowMs) return { start, previous: state.current, current: 0 };
  return { start, previous: 0, current: 0 };
}

/** estimate ≤ N, times W: previous·(W − elapsed) + current·W ≤ N·W. */
function fits({ previous, windowMs, limit }: Counts, elapsed: number, current: number): boolean {
  return previous * (windowMs - elapsed) + current * windowMs <= limit * windowMs;
}

/** The first ms at which `cost` fits, when nothing else is charged; cost ≤ N. */
function admissibleAt(
  { start, previous, current, windowMs, limit }: Counts,
  elapsed: number,
  cost: number,
): number {
  // Later in this window, as the previous window's weight shrinks:
  // the first x with previous·(W − x) ≤ room·W.
  const room = limit - current - cost;
  if (room >= 0 && previous > 0) {
    const x = windowMs - Math.floor((room * windowMs) / previous);
    if (x <= windowMs - 1) return start + Math.max(x, elapsed + 1);
  }
  // In the next window, where this window's count is the previous one; y = W is
  // the window after that, where nothing is counted.
  const y =
    current === 0 ? 0 : Math.max(0, windowMs - Math.floor(((limit - cost) * windowMs) / current));
  return start + windowMs + y;
}

/** When the estimate reaches 0: the end of the last window that counts anything. */
function resetAfter({ start, previous, current, windowMs }: Counts, nowMs: number): number {
  if (current > 0) return start + 2 * windowMs - nowMs;
  if (previous > 0) return start + windowMs - nowMs;
  return 0;
}

function outcome(
  counts: Counts,
  nowMs: number,
  elapsed: number,
  allowed: boolean,
  retryAfterMs: number,
): Decision {
  const { previous, current, windowMs, limit } = counts;
  const room = limit * windowMs - previous * (windowMs - elapsed) - current * windowMs;
  return {
    allowed,
    remaining: Math.max(0, Math.floor(room / windowMs)),
    retryAfterMs,
    resetAfterMs: resetAfter(counts, nowMs),
  };
}
