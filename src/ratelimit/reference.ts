/**
 * Brute-force limiters for the property tests (test support, not used by the app).
 * They decide from the whole list of admitted requests, by definition, with no
 * state to get wrong; gcra.ts and sliding-window.ts are checked against them.
 */
import fc from 'fast-check';
import type { Decision } from './types.ts';

/** One request: when it arrives (integer ms) and what it costs. Lists are in time order. */
export interface Arrival {
  readonly at: number;
  readonly cost: number;
}

/**
 * The exact sliding log: a request is admitted when the cost already admitted in
 * the `windowMs` milliseconds ending at it, plus its own, is at most `limit`.
 * "No more than `limit` in any window of `windowMs`", decided greedily.
 */
export function slidingLogAdmits(
  limit: number,
  windowMs: number,
  arrivals: readonly Arrival[],
): boolean[] {
  const admitted: Arrival[] = [];
  return arrivals.map((arrival) => {
    const inWindow = sumCost(admitted.filter((a) => a.at > arrival.at - windowMs));
    const admit = inWindow + arrival.cost <= limit;
    if (admit) admitted.push(arrival);
    return admit;
  });
}

/**
 * GCRA by its other definition, the affine arrival curve of network calculus: a
 * request at t is admitted when, for every admitted request at s ≤ t, the cost
 * admitted in [s, t] plus its own is at most `capacity + (t − s) / T`: the bucket
 * full at s plus what refills by t. Windows of every length, not just one.
 * (In integers: cost × T ≤ capacity × T + (t − s) × 1000, with T in µs.)
 */
export function arrivalCurveAdmits(
  capacity: number,
  intervalUs: number,
  arrivals: readonly Arrival[],
): boolean[] {
  const admitted: Arrival[] = [];
  return arrivals.map((arrival) => {
    let admit = arrival.cost <= capacity;
    let since = arrival.cost;
    for (let i = admitted.length - 1; i >= 0 && admit; i--) {
      const earlier = admitted[i]!;
      since += earlier.cost;
      admit = since * intervalUs <= capacity * intervalUs + (arrival.at - earlier.at) * 1000;
    }
    if (admit) admitted.push(arrival);
    return admit;
  });
}

/** The largest total cost of `arrivals` inside any `windowMs` consecutive milliseconds. */
export function heaviestWindow(arrivals: readonly Arrival[], windowMs: number): number {
  let heaviest = 0;
  for (const first of arrivals) {
    const inside = arrivals.filter((a) => a.at >= first.at && a.at < first.at + windowMs);
    heaviest = Math.max(heaviest, sumCost(inside));
  }
  return heaviest;
}

/** A limiter's decision function, bound to a policy. */
export type DecideFn<S> = (
  state: S | undefined,
  nowMs: number,
  cost: number,
) => { decision: Decision; state: S | undefined };

/** A limiter's refund function, bound to a policy. */
export type RefundFn<S> = (
  state: S | undefined,
  nowMs: number,
  cost: number,
) => { state: S | undefined };

/** Feeds `arrivals` to a limiter from an empty state; its decisions, in order. */
export function replay<S>(
  decide: DecideFn<S>,
  arrivals: readonly Arrival[],
  initial?: S,
): { decisions: Decision[]; state: S | undefined } {
  let state = initial;
  const decisions = arrivals.map(({ at, cost }) => {
    const result = decide(state, at, cost);
    state = result.state;
    return result.decision;
  });
  return { decisions, state };
}

/** A request whose response may turn out free (a 304), and then be refunded. */
export interface FreeableArrival extends Arrival {
  /** When its charge, if admitted, is given back; undefined: the response was not free. */
  readonly refundedAt?: number;
}

/**
 * Charges each arrival and, when a free one was admitted, refunds it at its
 * `refundedAt`, as the HTTP layer does with a 304. Decisions in order.
 */
export function replayWithRefunds<S>(
  decide: DecideFn<S>,
  refund: RefundFn<S>,
  arrivals: readonly FreeableArrival[],
): { decisions: Decision[]; state: S | undefined } {
  let state: S | undefined;
  const decisions = arrivals.map(({ at, cost, refundedAt }) => {
    const result = decide(state, at, cost);
    state = result.state;
    if (refundedAt !== undefined && result.decision.allowed) {
      state = refund(state, refundedAt, cost).state;
    }
    return result.decision;
  });
  return { decisions, state };
}

/**
 * What a refund promises, by definition: the free arrivals decided but never
 * charged (the state they would leave is dropped). Decisions in order.
 */
export function replayNeverCharged<S>(
  decide: DecideFn<S>,
  arrivals: readonly FreeableArrival[],
): { decisions: Decision[]; state: S | undefined } {
  let state: S | undefined;
  const decisions = arrivals.map(({ at, cost, refundedAt }) => {
    const result = decide(state, at, cost);
    if (refundedAt === undefined) state = result.state;
    return result.decision;
  });
  return { decisions, state };
}

/** The arrivals whose decision admitted them. */
export function admittedOnly(arrivals: readonly Arrival[], admits: readonly boolean[]): Arrival[] {
  return arrivals.filter((_, i) => admits[i]);
}

function sumCost(arrivals: readonly Arrival[]): number {
  return arrivals.reduce((sum, a) => sum + a.cost, 0);
}

/** A policy's numbers for the property tests: small quotas that fill up, and some large ones. */
export const policyArb = fc.record({
  quota: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 12 }) },
    { weight: 1, arbitrary: fc.integer({ min: 13, max: 3000 }) },
  ),
  // 7 ms and 0.05 s: windows that T does not divide, and intervals under 1 ms.
  windowSeconds: fc.constantFrom(0.007, 0.05, 0.2, 1, 3, 60),
  burst: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 4 }) },
    { weight: 1, arbitrary: fc.integer({ min: 5, max: 40 }) },
  ),
});

/**
 * Arrivals in time order from a random epoch: bursts in one millisecond, steady
 * trickles, and pauses of up to two windows; costs mostly 1, sometimes 0 or
 * more (up to `maxCost`).
 */
export function arrivalsArb(windowMs: number, maxCost: number): fc.Arbitrary<Arrival[]> {
  const gap = fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: Math.ceil(windowMs / 8) }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: windowMs * 2 }) },
  );
  const cost = fc.oneof(
    { weight: 6, arbitrary: fc.constant(1) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: maxCost }) },
  );
  return fc
    .tuple(
      fc.integer({ min: 0, max: 2e12 }),
      fc.array(fc.tuple(gap, cost), { maxLength: 80, size: 'max' }),
    )
    .map(([start, steps]) => {
      let at = start;
      return steps.map(([g, c]) => {
        at += g;
        return { at, cost: c };
      });
    });
}

/**
 * `arrivalsArb`, with about two in five responses free: each refunded at its own
 * arrival or later, but no later than the next arrival, so nothing else is
 * charged between a charge and its refund.
 */
export function freeableArrivalsArb(
  windowMs: number,
  maxCost: number,
): fc.Arbitrary<FreeableArrival[]> {
  // How far towards the next arrival the refund comes, in percent; undefined: not free.
  const refundDelay = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 100 }) },
  );
  return arrivalsArb(windowMs, maxCost).chain((arrivals) =>
    fc
      .array(refundDelay, { minLength: arrivals.length, maxLength: arrivals.length })
      .map((delays) =>
        arrivals.map((arrival, i) => {
          const percent = delays[i];
          if (percent === undefined) return arrival;
          const next = arrivals[i + 1]?.at ?? arrival.at + 2 * windowMs;
          return {
            ...arrival,
            refundedAt: arrival.at + Math.floor(((next - arrival.at) * percent) / 100),
          };
        }),
      ),
  );
}

/** What a store is asked, in time order: a decision, or (`refund`) a refund of `cost`. */
export interface Step extends Arrival {
  readonly refund: boolean;
}

/**
 * `arrivalsArb` with about one step in three a refund instead: of any cost,
 * at any moment, whether or not anything was charged — what a careless or
 * hostile caller of `refund` could do.
 */
export function stepsArb(windowMs: number, maxCost: number): fc.Arbitrary<Step[]> {
  return arrivalsArb(windowMs, maxCost).chain((arrivals) =>
    fc
      .array(fc.integer({ min: 0, max: 2 }), {
        minLength: arrivals.length,
        maxLength: arrivals.length,
      })
      .map((kinds) => arrivals.map((arrival, i) => ({ ...arrival, refund: kinds[i] === 0 }))),
  );
}
