// Refunds (a 304 costs nothing): gcraRefund and slidingWindowRefund by hand, then
// as properties over the random policies and arrivals of gcra.test.ts and
// sliding-window.test.ts, against the definition "as if never charged".
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type GcraState, gcra, gcraParams, gcraRefund, policyWindowMs } from './gcra.ts';
import {
  type DecideFn,
  freeableArrivalsArb,
  policyArb,
  replay,
  replayNeverCharged,
  replayWithRefunds,
  stepsArb,
} from './reference.ts';
import {
  type SlidingWindowState,
  slidingWindow,
  slidingWindowLimit,
  slidingWindowRefund,
} from './sliding-window.ts';
import type { Algorithm, RatePolicy } from './types.ts';

/** A window start: 1 s windows begin here. */
const T0 = 1_750_000_000_000;

function policy(algorithm: Algorithm, overrides: Partial<RatePolicy> = {}): RatePolicy {
  return { name: 'test', quota: 10, windowSeconds: 1, burst: 2, algorithm, ...overrides };
}

describe('gcraRefund, hand-computed (10 per second, burst 2: T = 100 ms, 3 at once)', () => {
  const p = policy('gcra');
  const drained: GcraState = { tatUs: (T0 + 300) * 1000 };

  test('a refund moves the TAT back cost × T, the reset with it, and frees that many', () => {
    assert.deepEqual(gcraRefund(drained, T0, 1, p), {
      state: { tatUs: (T0 + 200) * 1000 },
      resetAfterMs: 200,
    });
    const refunded = gcraRefund(drained, T0 + 50, 2, p);
    assert.deepEqual(refunded, { state: { tatUs: (T0 + 100) * 1000 }, resetAfterMs: 50 });
    assert.equal(gcra(refunded.state, T0 + 50, 0, p).decision.remaining, 2);
  });

  test('a refund stops at a full bucket: the state is dropped, and no idle time is banked', () => {
    assert.deepEqual(gcraRefund(drained, T0, 5, p), { state: undefined, resetAfterMs: 0 });
    // 250 ms in, 2.5 requests have refilled: giving one back fills the bucket, not more.
    assert.deepEqual(gcraRefund(drained, T0 + 250, 1, p), { state: undefined, resetAfterMs: 0 });
    const { decisions } = replay<GcraState>(
      (state, now, cost) => gcra(state, now, cost, p),
      [1, 1, 1, 1].map((cost) => ({ at: T0 + 250, cost })),
    );
    assert.deepEqual(
      decisions.map((d) => d.allowed),
      [true, true, true, false],
    );
  });

  test('a missing or past TAT, or a cost of 0, is left as it is: nothing to write', () => {
    assert.deepEqual(gcraRefund(undefined, T0, 2, p), { state: undefined, resetAfterMs: 0 });
    const past: GcraState = { tatUs: (T0 - 5) * 1000 };
    assert.equal(gcraRefund(past, T0, 1, p).state, past);
    const unchanged = gcraRefund(drained, T0 + 100, 0, p);
    assert.equal(unchanged.state, drained);
    assert.equal(unchanged.resetAfterMs, 200);
  });

  test('a cost, clock, state or policy that gcra refuses, gcraRefund refuses too', () => {
    for (const cost of [-1, 0.5, Number.NaN]) {
      assert.throws(() => gcraRefund(drained, T0, cost, p), RangeError);
    }
    assert.throws(() => gcraRefund(drained, T0 + 0.5, 1, p), RangeError);
    assert.throws(() => gcraRefund({ tatUs: 1.5 }, T0, 1, p), RangeError);
    assert.throws(() => gcraRefund(drained, T0, 1, { ...p, quota: 0 }), RangeError);
  });
});

describe('slidingWindowRefund, hand-computed (10 per second)', () => {
  const p = policy('sliding_window', { burst: 0 });
  const full: SlidingWindowState = { windowStart: T0, current: 10, previous: 0 };

  test('in the window of its charge, a refund comes off the current count', () => {
    assert.deepEqual(slidingWindowRefund(full, T0 + 400, 3, p), {
      state: { windowStart: T0, current: 7, previous: 0 },
      resetAfterMs: 1600,
    });
  });

  test('in the next window, a charge now counted as the previous window comes off that count', () => {
    const refunded = slidingWindowRefund(full, T0 + 1500, 3, p);
    assert.deepEqual(refunded, {
      state: { windowStart: T0 + 1000, current: 0, previous: 7 },
      resetAfterMs: 500,
    });
    // Half of the previous window still counts: 10 − 7/2 = 6.5, where it was 10 − 10/2.
    assert.equal(slidingWindow(full, T0 + 1500, 0, p).decision.remaining, 5);
    assert.equal(slidingWindow(refunded.state, T0 + 1500, 0, p).decision.remaining, 6);
  });

  test('when the next window already counts the cost, it comes off that one: up to cost × elapsed / W too much', () => {
    const { state } = slidingWindow(full, T0 + 1500, 5, p); // 10 / 2 + 5: full again
    assert.deepEqual(state, { windowStart: T0 + 1000, current: 5, previous: 10 });
    // A refund of 3 charged before the boundary. Never charged, the estimate would
    // be 7 · ½ + 5 = 8.5; taken off the current count it is 10 · ½ + 2 = 7, 3 · ½ lower.
    const refunded = slidingWindowRefund(state, T0 + 1500, 3, p);
    assert.deepEqual(refunded.state, { windowStart: T0 + 1000, current: 2, previous: 10 });
    const neverCharged = { windowStart: T0 + 1000, current: 5, previous: 7 };
    assert.equal(slidingWindow(refunded.state, T0 + 1500, 0, p).decision.remaining, 3);
    assert.equal(slidingWindow(neverCharged, T0 + 1500, 0, p).decision.remaining, 1);
  });

  test('counts never go below 0, and when both are back to 0 the state is dropped', () => {
    const some: SlidingWindowState = { windowStart: T0, current: 3, previous: 4 };
    assert.deepEqual(slidingWindowRefund(some, T0, 3, p), {
      state: { windowStart: T0, current: 0, previous: 4 },
      resetAfterMs: 1000,
    });
    // Larger than the current count: its charge can only be in the previous one.
    assert.deepEqual(slidingWindowRefund(some, T0, 5, p), {
      state: { windowStart: T0, current: 3, previous: 0 },
      resetAfterMs: 2000,
    });
    assert.deepEqual(slidingWindowRefund({ ...some, previous: 0 }, T0, 3, p), {
      state: undefined,
      resetAfterMs: 0,
    });
    assert.deepEqual(slidingWindowRefund(full, T0 + 1999, 10, p), {
      state: undefined,
      resetAfterMs: 0,
    });
  });

  test('a missing state, a cost of 0, or nothing to give back leaves the state as it is', () => {
    assert.deepEqual(slidingWindowRefund(undefined, T0, 2, p), {
      state: undefined,
      resetAfterMs: 0,
    });
    assert.deepEqual(slidingWindowRefund(full, T0, 0, p), { state: full, resetAfterMs: 2000 });
    assert.equal(slidingWindowRefund(full, T0, 0, p).state, full);
    assert.equal(slidingWindowRefund(full, T0 + 2000, 1, p).state, full, 'two windows on');
    // More than either count: no charge of that size can be in them.
    assert.equal(slidingWindowRefund(full, T0, 11, p).state, full);
  });

  test('a cost, clock or policy that slidingWindow refuses, slidingWindowRefund refuses too', () => {
    for (const cost of [-1, 0.5, Number.NaN]) {
      assert.throws(() => slidingWindowRefund(full, T0, cost, p), RangeError);
    }
    assert.throws(() => slidingWindowRefund(full, T0 + 0.5, 1, p), RangeError);
    assert.throws(() => slidingWindowRefund(full, T0, 1, { ...p, burst: -1 }), RangeError);
  });
});

/** One algorithm, as the properties below see it. */
interface Limiter<S> {
  readonly algorithm: Algorithm;
  /** A full bucket's `remaining`, and the largest cost ever admitted. */
  full(p: RatePolicy): number;
  decide(p: RatePolicy): DecideFn<S>;
  refund(
    p: RatePolicy,
  ): (
    state: S | undefined,
    nowMs: number,
    cost: number,
  ) => { state: S | undefined; resetAfterMs: number };
  /** Checks a state a refund wrote holds no more than a full bucket. */
  assertNotBeyondFull(state: S, nowMs: number): void;
  /** GCRA frees exactly min(full, remaining + cost); the sliding window at most that. */
  readonly freesExactly: boolean;
}

const gcraLimiter: Limiter<GcraState> = {
  algorithm: 'gcra',
  full: (p) => gcraParams(p).capacity,
  decide: (p) => (state, now, cost) => gcra(state, now, cost, p),
  refund: (p) => (state, now, cost) => gcraRefund(state, now, cost, p),
  assertNotBeyondFull: (state, nowMs) => assert.ok(state.tatUs > nowMs * 1000, 'TAT behind now'),
  freesExactly: true,
};

const slidingWindowLimiter: Limiter<SlidingWindowState> = {
  algorithm: 'sliding_window',
  full: slidingWindowLimit,
  decide: (p) => (state, now, cost) => slidingWindow(state, now, cost, p),
  refund: (p) => (state, now, cost) => slidingWindowRefund(state, now, cost, p),
  assertNotBeyondFull: ({ current, previous }) => {
    assert.ok(current >= 0 && previous >= 0 && current + previous > 0, `${current}, ${previous}`);
  },
  freesExactly: false,
};

function refundProperties<S>(limiter: Limiter<S>): void {
  const { algorithm } = limiter;

  describe(`refunds of ${algorithm}, properties over random arrivals and policies`, () => {
    test('a charge refunded before anything else is charged is as if it had never been made: every decision after is the same', () => {
      const scenarioArb = policyArb.chain((numbers) => {
        const p = policy(algorithm, numbers);
        const arrivals = freeableArrivalsArb(policyWindowMs(p), limiter.full(p) + 1);
        return fc.record({ policy: fc.constant(p), arrivals });
      });
      fc.assert(
        fc.property(scenarioArb, ({ policy: p, arrivals }) => {
          const decide = limiter.decide(p);
          const refunded = replayWithRefunds(decide, limiter.refund(p), arrivals);
          const neverCharged = replayNeverCharged(decide, arrivals);
          assert.deepEqual(refunded.decisions, neverCharged.decisions);

          const last = arrivals.at(-1);
          const end = last === undefined ? T0 : Math.max(last.at, last.refundedAt ?? last.at);
          const windowMs = policyWindowMs(p);
          for (const later of [end, end + Math.floor(windowMs / 3), end + windowMs]) {
            assert.deepEqual(
              decide(refunded.state, later, 0).decision,
              decide(neverCharged.state, later, 0).decision,
              `${later - end} ms after the last step`,
            );
          }
        }),
        { numRuns: 400 },
      );
    });

    test('any refund frees at most its cost and never beyond a full bucket, expires at the reset, and leaves a missing state missing', () => {
      const scenarioArb = policyArb.chain((numbers) => {
        const p = policy(algorithm, numbers);
        const steps = stepsArb(policyWindowMs(p), limiter.full(p) + 1);
        return fc.record({ policy: fc.constant(p), steps });
      });
      fc.assert(
        fc.property(scenarioArb, ({ policy: p, steps }) => {
          const decide = limiter.decide(p);
          const refund = limiter.refund(p);
          const full = limiter.full(p);
          let state: S | undefined;
          for (const { at, cost, refund: isRefund } of steps) {
            if (!isRefund) {
              state = decide(state, at, cost).state;
              continue;
            }
            const before = decide(state, at, 0).decision.remaining;
            const refunded = refund(state, at, cost);
            const after = decide(refunded.state, at, 0).decision;
            const bound = Math.min(full, before + cost);
            assert.ok(after.remaining >= before && after.remaining <= bound, `${after.remaining}`);
            if (limiter.freesExactly) assert.equal(after.remaining, bound);
            assert.equal(refunded.resetAfterMs, after.resetAfterMs);
            if (state === undefined) assert.equal(refunded.state, undefined);
            if (cost === 0) assert.equal(refunded.state, state);
            if (refunded.state !== undefined && refunded.state !== state) {
              limiter.assertNotBeyondFull(refunded.state, at);
            }
            state = refunded.state;
          }
        }),
        { numRuns: 400 },
      );
    });
  });
}

refundProperties(gcraLimiter);
refundProperties(slidingWindowLimiter);
