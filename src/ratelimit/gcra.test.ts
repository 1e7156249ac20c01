import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type GcraState, gcra, gcraParams } from './gcra.ts';
import {
  type Arrival,
  admittedOnly,
  arrivalCurveAdmits,
  arrivalsArb,
  heaviestWindow,
  policyArb,
  replay,
  slidingLogAdmits,
} from './reference.ts';
import type { RatePolicy } from './types.ts';

function policy(overrides: Partial<RatePolicy> = {}): RatePolicy {
  return { name: 'test', quota: 10, windowSeconds: 1, burst: 2, algorithm: 'gcra', ...overrides };
}

const T0 = 1_750_000_000_000;

/** Runs the policy over arrivals from an empty state. */
function run(p: RatePolicy, arrivals: readonly Arrival[], initial?: GcraState) {
  return replay<GcraState>((state, now, cost) => gcra(state, now, cost, p), arrivals, initial);
}

const scenarioArb = policyArb.chain((numbers) => {
  const p = policy(numbers);
  const { windowMs, capacity } = gcraParams(p);
  return fc.record({ policy: fc.constant(p), arrivals: arrivalsArb(windowMs, capacity + 1) });
});

describe('gcraParams', () => {
  test('T is window / quota rounded up to a whole µs, and a full bucket holds burst + 1', () => {
    const cases: [Partial<RatePolicy>, number][] = [
      [{ quota: 600, windowSeconds: 60 }, 100_000],
      [{ quota: 7, windowSeconds: 60 }, 8_571_429],
      [{ quota: 3000, windowSeconds: 1 }, 334],
      [{ quota: 2, windowSeconds: 0.2 }, 100_000],
      [{ quota: 1, windowSeconds: 86_400 }, 86_400_000_000],
    ];
    for (const [overrides, intervalUs] of cases) {
      const params = gcraParams(policy({ ...overrides, burst: 4 }));
      assert.equal(params.intervalUs, intervalUs, JSON.stringify(overrides));
      assert.equal(params.capacity, 5);
      assert.equal(params.toleranceUs, 5 * intervalUs);
    }
  });

  test('when a policy has a zero, negative or fractional number, it is refused', () => {
    for (const overrides of [
      { quota: 0 },
      { quota: 1.5 },
      { burst: -1 },
      { burst: 0.5 },
      { windowSeconds: 0 },
      { windowSeconds: 0.0005 },
      { windowSeconds: Number.NaN },
    ]) {
      assert.throws(() => gcraParams(policy(overrides)), RangeError, JSON.stringify(overrides));
    }
  });

  test('when the clock or the cost is not a whole non-negative number, the call throws', () => {
    assert.throws(() => gcra(undefined, T0 + 0.5, 1, policy()), RangeError);
    assert.throws(() => gcra(undefined, T0, -1, policy()), RangeError);
    assert.throws(() => gcra(undefined, T0, 1.5, policy()), RangeError);
  });
});

describe('gcra, hand-computed (10 per second, burst 2: T = 100 ms, 3 at once)', () => {
  const p = policy();

  test('a fresh caller gets 3 at once, counting down, each 100 ms further from a full bucket', () => {
    const { decisions, state } = run(
      p,
      [1, 1, 1].map((cost) => ({ at: T0, cost })),
    );
    assert.deepEqual(decisions, [
      { allowed: true, remaining: 2, retryAfterMs: 0, resetAfterMs: 100 },
      { allowed: true, remaining: 1, retryAfterMs: 0, resetAfterMs: 200 },
      { allowed: true, remaining: 0, retryAfterMs: 0, resetAfterMs: 300 },
    ]);
    assert.deepEqual(state, { tatUs: (T0 + 300) * 1000 });
  });

  test('when the bucket is empty, a request is refused, changes nothing, and fits exactly retryAfterMs later', () => {
    const { state } = run(
      p,
      [1, 1, 1].map((cost) => ({ at: T0, cost })),
    );
    const refused = gcra(state, T0, 1, p);
    assert.deepEqual(refused.decision, {
      allowed: false,
      remaining: 0,
      retryAfterMs: 100,
      resetAfterMs: 300,
    });
    assert.equal(refused.state, state, 'the same state object: nothing to write');

    const early = gcra(state, T0 + 99, 1, p);
    assert.deepEqual(early.decision, {
      allowed: false,
      remaining: 0,
      retryAfterMs: 1,
      resetAfterMs: 201,
    });
    const onTime = gcra(state, T0 + 100, 1, p);
    assert.deepEqual(onTime.decision, {
      allowed: true,
      remaining: 0,
      retryAfterMs: 0,
      resetAfterMs: 300,
    });
  });

  test('cost 0 reads without charging and is admitted even from an empty bucket', () => {
    assert.deepEqual(gcra(undefined, T0, 0, p), {
      decision: { allowed: true, remaining: 3, retryAfterMs: 0, resetAfterMs: 0 },
      state: undefined,
    });
    const { state } = run(p, [{ at: T0, cost: 3 }]);
    const read = gcra(state, T0 + 50, 0, p);
    assert.deepEqual(read.decision, {
      allowed: true,
      remaining: 0,
      retryAfterMs: 0,
      resetAfterMs: 250,
    });
    assert.equal(read.state, state);
  });

  test('a cost of 2 or 3 charges 200 or 300 ms, and waits for the whole cost to fit', () => {
    const { state } = run(p, [{ at: T0, cost: 1 }]);
    assert.deepEqual(gcra(state, T0, 2, p).decision, {
      allowed: true,
      remaining: 0,
      retryAfterMs: 0,
      resetAfterMs: 300,
    });
    assert.deepEqual(gcra(state, T0, 3, p).decision, {
      allowed: false,
      remaining: 2,
      retryAfterMs: 100,
      resetAfterMs: 100,
    });
    assert.equal(gcra(state, T0 + 100, 3, p).decision.allowed, true);
  });

  test('when a cost exceeds burst + 1 it is never admitted, and retryAfterMs is at least a window', () => {
    const fresh = gcra(undefined, T0, 4, p);
    assert.deepEqual(fresh, {
      decision: { allowed: false, remaining: 3, retryAfterMs: 1000, resetAfterMs: 0 },
      state: undefined,
    });
    assert.equal(gcra(undefined, T0 + 3_600_000, 4, p).decision.allowed, false);
  });

  test('the window bound quota + burst is reached: 3 at once, then one every 100 ms, 12 in one second', () => {
    const arrivals = [
      ...[0, 0, 0].map((at) => ({ at: T0 + at, cost: 1 })),
      ...Array.from({ length: 9 }, (_, i) => ({ at: T0 + 100 * (i + 1), cost: 1 })),
    ];
    const { decisions, state } = run(p, arrivals);
    assert.ok(decisions.every((d) => d.allowed));
    assert.equal(heaviestWindow(arrivals, 1000), 12);
    for (let at = T0 + 900; at < T0 + 1000; at++) {
      assert.equal(gcra(state, at, 1, p).decision.allowed, false, `at +${at - T0} ms`);
    }
  });

  test('unlike a sliding log of 12 per second, a burst gets only burst + 1: GCRA spreads the quota', () => {
    const burst = Array.from({ length: 12 }, () => ({ at: T0, cost: 1 }));
    assert.equal(slidingLogAdmits(12, 1000, burst).filter(Boolean).length, 12);
    assert.equal(run(p, burst).decisions.filter((d) => d.allowed).length, 3);
  });

  test('under a millisecond per request, T keeps its µs: 3000 per second, burst 2', () => {
    const fast = policy({ quota: 3000, burst: 2 }); // T = 334 µs
    const { decisions, state } = run(
      fast,
      [1, 1, 1, 1].map((cost) => ({ at: T0, cost })),
    );
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.remaining, d.retryAfterMs, d.resetAfterMs]),
      [
        [true, 2, 0, 1],
        [true, 1, 0, 1],
        [true, 0, 0, 2],
        [false, 0, 1, 2],
      ],
    );
    assert.deepEqual(state, { tatUs: T0 * 1000 + 1002 });
    // One ms refills 1000 / 334 = 2.99 requests: 2 fit, the third waits for the next ms.
    const later = run(
      fast,
      [1, 1, 1].map((cost) => ({ at: T0 + 1, cost })),
      state,
    ).decisions;
    assert.deepEqual(
      later.map((d) => d.allowed),
      [true, true, false],
    );
  });
});

describe('gcra, properties over random arrivals and policies', () => {
  test('it decides exactly as the arrival-curve definition: cost in [s, t] ≤ burst + 1 + (t − s) / T for every admitted s', () => {
    fc.assert(
      fc.property(scenarioArb, ({ policy: p, arrivals }) => {
        const { capacity, intervalUs } = gcraParams(p);
        const decided = run(p, arrivals).decisions.map((d) => d.allowed);
        assert.deepEqual(decided, arrivalCurveAdmits(capacity, intervalUs, arrivals));
      }),
      { numRuns: 400 },
    );
  });

  test('no window of windowSeconds ever admits more than quota + burst', () => {
    fc.assert(
      fc.property(scenarioArb, ({ policy: p, arrivals }) => {
        const admits = run(p, arrivals).decisions.map((d) => d.allowed);
        const { windowMs } = gcraParams(p);
        const heaviest = heaviestWindow(admittedOnly(arrivals, admits), windowMs);
        assert.ok(heaviest <= p.quota + p.burst, `${heaviest} > ${p.quota} + ${p.burst}`);
      }),
      { numRuns: 400 },
    );
  });

  test('a greedy caller, retrying exactly at retryAfterMs, gets quota + burst in a window, less only T’s rounding and the ms clock', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 0, max: 2e12 }), (numbers, start) => {
        const p = policy(numbers);
        const { windowMs, intervalUs, capacity } = gcraParams(p);
        let state: GcraState | undefined;
        let now = start;
        let admitted = 0;
        while (now < start + windowMs) {
          const result = gcra(state, now, 1, p);
          state = result.state;
          if (result.decision.allowed) admitted++;
          else now += result.decision.retryAfterMs;
        }
        assert.ok(admitted <= p.quota + p.burst);
        // A clock in whole ms loses the refill of a full bucket's wait for the next ms,
        // unless T is whole ms or the burst covers a ms. Then: burst + 1 at once, and one
        // per T in the window's remaining W − 1 ms: quota − 1 of them when T is exact
        // and at least 1 ms.
        if (intervalUs % 1000 === 0 || p.burst * intervalUs >= 1000) {
          assert.equal(admitted, capacity + Math.floor((windowMs * 1000 - 1000) / intervalUs));
          if ((windowMs * 1000) % p.quota === 0 && intervalUs >= 1000) {
            assert.equal(admitted, p.quota + p.burst);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  test('a caller that never sends more than burst + 1 within (burst + 1) × T is never refused', () => {
    fc.assert(
      fc.property(scenarioArb, ({ policy: p, arrivals }) => {
        const { capacity, toleranceUs } = gcraParams(p);
        // Thin the arrivals to a sequence that keeps that pace, using the exact sliding log.
        const paced = admittedOnly(
          arrivals,
          slidingLogAdmits(capacity, Math.ceil(toleranceUs / 1000), arrivals),
        );
        assert.ok(run(p, paced).decisions.every((d) => d.allowed));
      }),
      { numRuns: 300 },
    );
  });

  test('remaining, retryAfterMs and resetAfterMs are exact, and a refused or cost-0 request changes nothing', () => {
    const probeArb = scenarioArb.chain((scenario) => {
      const { windowMs, capacity } = gcraParams(scenario.policy);
      return fc.record({
        scenario: fc.constant(scenario),
        delay: fc.integer({ min: 0, max: 2 * windowMs }),
        cost: fc.integer({ min: 0, max: capacity }),
      });
    });
    fc.assert(
      fc.property(probeArb, ({ scenario: { policy: p, arrivals }, delay, cost }) => {
        const { capacity } = gcraParams(p);
        const { state } = run(p, arrivals);
        const now = (arrivals.at(-1)?.at ?? T0) + delay;
        const { decision, state: after } = gcra(state, now, cost, p);

        if (!decision.allowed || cost === 0) assert.equal(after, state);
        if (cost === 0) assert.equal(decision.allowed, true);

        const { remaining } = decision;
        if (remaining > 0) assert.equal(gcra(after, now, remaining, p).decision.allowed, true);
        assert.equal(gcra(after, now, remaining + 1, p).decision.allowed, false);

        if (!decision.allowed) {
          const { retryAfterMs } = decision;
          assert.ok(retryAfterMs >= 1);
          assert.equal(gcra(state, now + retryAfterMs, cost, p).decision.allowed, true);
          assert.equal(gcra(state, now + retryAfterMs - 1, cost, p).decision.allowed, false);
        } else {
          assert.equal(decision.retryAfterMs, 0);
        }

        const { resetAfterMs } = decision;
        const full = gcra(after, now + resetAfterMs, 0, p).decision;
        assert.deepEqual([full.remaining, full.resetAfterMs], [capacity, 0]);
        if (resetAfterMs > 0) {
          assert.ok(gcra(after, now + resetAfterMs - 1, 0, p).decision.remaining < capacity);
        }
      }),
      { numRuns: 400 },
    );
  });
});
