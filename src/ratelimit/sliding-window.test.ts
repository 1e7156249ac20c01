import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { policyWindowMs } from './gcra.ts';
import {
  type Arrival,
  admittedOnly,
  arrivalsArb,
  heaviestWindow,
  policyArb,
  replay,
  slidingLogAdmits,
} from './reference.ts';
import { type SlidingWindowState, slidingWindow, slidingWindowLimit } from './sliding-window.ts';
import type { RatePolicy } from './types.ts';

function policy(overrides: Partial<RatePolicy> = {}): RatePolicy {
  return {
    name: 'test',
    quota: 10,
    windowSeconds: 1,
    burst: 0,
    algorithm: 'sliding_window',
    ...overrides,
  };
}

/** A window start: 1 s windows begin here. */
const T0 = 1_750_000_000_000;

function run(p: RatePolicy, arrivals: readonly Arrival[], initial?: SlidingWindowState) {
  return replay<SlidingWindowState>(
    (state, now, cost) => slidingWindow(state, now, cost, p),
    arrivals,
    initial,
  );
}

const times = (count: number, at: number, cost = 1): Arrival[] =>
  Array.from({ length: count }, () => ({ at, cost }));

const scenarioArb = policyArb.chain((numbers) => {
  const p = policy(numbers);
  return fc.record({
    policy: fc.constant(p),
    arrivals: arrivalsArb(policyWindowMs(p), slidingWindowLimit(p) + 1),
  });
});

describe('slidingWindow, hand-computed (10 per second)', () => {
  const p = policy();

  test('a fresh caller gets 10 in a window, counting down; the state lasts until the next window ends', () => {
    const { decisions, state } = run(p, times(10, T0));
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.remaining, d.retryAfterMs, d.resetAfterMs]),
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((remaining) => [true, remaining, 0, 2000]),
    );
    assert.deepEqual(state, { windowStart: T0, current: 10, previous: 0 });
  });

  test('when full, a request is refused, changes nothing, and fits exactly retryAfterMs later', () => {
    const { state } = run(p, times(10, T0));
    const refused = slidingWindow(state, T0, 1, p);
    // Next window, 100 ms in: 10 × 900/1000 = 9 estimated, room for 1.
    assert.deepEqual(refused.decision, {
      allowed: false,
      remaining: 0,
      retryAfterMs: 1100,
      resetAfterMs: 2000,
    });
    assert.equal(refused.state, state);
    assert.equal(slidingWindow(state, T0 + 1099, 1, p).decision.allowed, false);
    assert.deepEqual(slidingWindow(state, T0 + 1100, 1, p), {
      decision: { allowed: true, remaining: 0, retryAfterMs: 0, resetAfterMs: 1900 },
      state: { windowStart: T0 + 1000, current: 1, previous: 10 },
    });
  });

  test('halfway through the next window, the previous one counts half', () => {
    const { state } = run(p, times(10, T0));
    assert.equal(slidingWindow(state, T0 + 1500, 1, p).decision.remaining, 4);
    assert.equal(slidingWindow(state, T0 + 1500, 5, p).decision.allowed, true);
    assert.equal(slidingWindow(state, T0 + 1500, 6, p).decision.allowed, false);
  });

  test('cost 0 reads without charging; a cost over quota + burst is never admitted', () => {
    assert.deepEqual(slidingWindow(undefined, T0, 0, p), {
      decision: { allowed: true, remaining: 10, retryAfterMs: 0, resetAfterMs: 0 },
      state: undefined,
    });
    assert.deepEqual(slidingWindow(undefined, T0, 11, policy({ burst: 0 })).decision, {
      allowed: false,
      remaining: 10,
      retryAfterMs: 1000,
      resetAfterMs: 0,
    });
    assert.equal(slidingWindow(undefined, T0, 12, policy({ burst: 2 })).decision.allowed, true);
  });

  test('the documented worst case is reached: a full window in its last ms, then 9 more, 19 in one second', () => {
    const arrivals = [
      ...times(10, T0 + 999),
      ...Array.from({ length: 999 }, (_, i) => ({ at: T0 + 1000 + i, cost: 1 })),
    ];
    const admits = run(p, arrivals).decisions.map((d) => d.allowed);
    assert.equal(heaviestWindow(admittedOnly(arrivals, admits), 1000), 19);
    assert.equal(19, 10 + Math.floor((10 * 998) / 1000));
  });

  test('a full window at its start is over-counted: refused at the boundary though the exact log admits', () => {
    const arrivals = [...times(10, T0), { at: T0 + 1000, cost: 1 }];
    assert.equal(slidingLogAdmits(10, 1000, arrivals).at(-1), true);
    const { decisions } = run(p, arrivals);
    assert.deepEqual(decisions.at(-1), {
      allowed: false,
      remaining: 0,
      retryAfterMs: 100,
      resetAfterMs: 1000,
    });
  });
});

describe('slidingWindow, properties over random arrivals and policies', () => {
  test('each fixed window admits at most quota + burst, and any window fewer than twice that', () => {
    fc.assert(
      fc.property(scenarioArb, ({ policy: p, arrivals }) => {
        const windowMs = policyWindowMs(p);
        const limit = slidingWindowLimit(p);
        const admitted = admittedOnly(
          arrivals,
          run(p, arrivals).decisions.map((d) => d.allowed),
        );
        const perWindow = new Map<number, number>();
        for (const { at, cost } of admitted) {
          const start = at - (at % windowMs);
          perWindow.set(start, (perWindow.get(start) ?? 0) + cost);
        }
        assert.ok([...perWindow.values()].every((sum) => sum <= limit));
        const heaviest = heaviestWindow(admitted, windowMs);
        assert.ok(heaviest <= limit + Math.floor((limit * (windowMs - 2)) / windowMs));
      }),
      { numRuns: 400 },
    );
  });

  test('each decision is the exact one, give or take the previous window’s count', () => {
    fc.assert(
      fc.property(scenarioArb, ({ policy: p, arrivals }) => {
        const windowMs = policyWindowMs(p);
        const limit = slidingWindowLimit(p);
        const { decisions } = run(p, arrivals);
        const admitted: Arrival[] = [];
        for (const [i, { at, cost }] of arrivals.entries()) {
          const decision = decisions[i]!;
          if (cost === 0 || cost > limit) {
            assert.equal(decision.allowed, cost === 0);
            continue;
          }
          // By brute force from what was admitted: the exact count of the trailing
          // window, and the previous fixed window's total.
          const exact = sum(admitted.filter((a) => a.at > at - windowMs));
          const elapsed = at % windowMs;
          const windowStart = at - elapsed;
          const previous = sum(
            admitted.filter((a) => a.at >= windowStart - windowMs && a.at < windowStart),
          );
          const over = (exact + cost - limit) * windowMs;
          if (decision.allowed) {
            assert.ok(over <= previous * elapsed, 'admitted beyond the error bound');
            admitted.push(arrivals[i]!);
          } else {
            assert.ok(over > -previous * (windowMs - elapsed), 'refused within the error bound');
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  test('a caller that never sends more than half of quota + burst in any window is never refused', () => {
    fc.assert(
      fc.property(scenarioArb, ({ policy: p, arrivals }) => {
        const half = Math.floor(slidingWindowLimit(p) / 2);
        const paced = admittedOnly(arrivals, slidingLogAdmits(half, policyWindowMs(p), arrivals));
        assert.ok(run(p, paced).decisions.every((d) => d.allowed));
      }),
      { numRuns: 300 },
    );
  });

  test('remaining, retryAfterMs and resetAfterMs are exact, and a refused or cost-0 request changes nothing', () => {
    const probeArb = scenarioArb.chain((scenario) =>
      fc.record({
        scenario: fc.constant(scenario),
        delay: fc.integer({ min: 0, max: 3 * policyWindowMs(scenario.policy) }),
        cost: fc.integer({ min: 0, max: slidingWindowLimit(scenario.policy) }),
      }),
    );
    fc.assert(
      fc.property(probeArb, ({ scenario: { policy: p, arrivals }, delay, cost }) => {
        const limit = slidingWindowLimit(p);
        const { state } = run(p, arrivals);
        const now = (arrivals.at(-1)?.at ?? T0) + delay;
        const { decision, state: after } = slidingWindow(state, now, cost, p);

        if (!decision.allowed || cost === 0) assert.equal(after, state);
        if (cost === 0) assert.equal(decision.allowed, true);

        const { remaining } = decision;
        if (remaining > 0) {
          assert.equal(slidingWindow(after, now, remaining, p).decision.allowed, true);
        }
        assert.equal(slidingWindow(after, now, remaining + 1, p).decision.allowed, false);

        if (!decision.allowed) {
          const { retryAfterMs } = decision;
          assert.ok(retryAfterMs >= 1);
          assert.equal(slidingWindow(state, now + retryAfterMs, cost, p).decision.allowed, true);
          assert.equal(
            slidingWindow(state, now + retryAfterMs - 1, cost, p).decision.allowed,
            false,
          );
        } else {
          assert.equal(decision.retryAfterMs, 0);
        }

        const { resetAfterMs } = decision;
        const full = slidingWindow(after, now + resetAfterMs, 0, p).decision;
        assert.deepEqual([full.remaining, full.resetAfterMs], [limit, 0]);
        if (resetAfterMs > 0) {
          assert.ok(slidingWindow(after, now + resetAfterMs - 1, 0, p).decision.remaining < limit);
        }
      }),
      { numRuns: 400 },
    );
  });
});

function sum(arrivals: readonly Arrival[]): number {
  return arrivals.reduce((total, a) => total + a.cost, 0);
}
