// The Lua scripts are the algorithms of gcra.ts and sliding-window.ts again, in
// another language: this file proves they agree, step by step, on the property
// tests' random policies and arrivals. Each script is run with one line changed:
// the clock comes from the test instead of Redis's TIME, so any moment can be
// replayed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { type GcraState, gcra, gcraParams } from './gcra.ts';
import { GCRA_SCRIPT, SLIDING_WINDOW_SCRIPT } from './redis-store.ts';
import { arrivalsArb, policyArb } from './reference.ts';
import { type SlidingWindowState, slidingWindow, slidingWindowLimit } from './sliding-window.ts';
import type { Decision, RatePolicy } from './types.ts';

const redisUrl = process.env.REDIS_URL;
const keyPrefix = `rl-test-${randomBytes(6).toString('hex')}:`;

const CLOCK_LINE = "local time = redis.call('TIME')";

/** The script with its clock read from the last two arguments, as TIME's {seconds, µs}. */
function withTestClock(script: string): string {
  assert.ok(script.includes(CLOCK_LINE), 'the script reads the time in one known line');
  return script.replace(CLOCK_LINE, 'local time = { ARGV[#ARGV - 1], ARGV[#ARGV] }');
}

/** TIME's reply for `nowMs`, with random microseconds the script must drop as gcra.ts does. */
function timeArgs(nowMs: number): [number, number] {
  return [Math.floor(nowMs / 1000), (nowMs % 1000) * 1000 + Math.floor(Math.random() * 1000)];
}

function toDecision(reply: unknown): Decision {
  const [allowed, remaining, retryAfterMs, resetAfterMs] = reply as number[];
  return {
    allowed: allowed === 1,
    remaining: remaining!,
    retryAfterMs: retryAfterMs!,
    resetAfterMs: resetAfterMs!,
  };
}

type Exec = [Error | null, unknown][];

// PTTL is read a moment after the script set it; on Redis before 7.2 a
// millisecond may tick in between, even inside MULTI.
function assertExpiresAtReset(pttl: unknown, decision: Decision): void {
  const ttl = pttl as number;
  assert.ok(ttl <= decision.resetAfterMs && ttl >= decision.resetAfterMs - 1, `PTTL ${ttl}`);
}

describe('the Redis scripts agree with the TypeScript algorithms', {
  skip: redisUrl ? false : 'REDIS_URL is not set',
}, () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(redisUrl!);
  });
  after(async () => {
    for await (const keys of redis.scanStream({ match: `${keyPrefix}*`, count: 1000 })) {
      if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
    }
    redis.disconnect();
  });

  test('GCRA: the same decisions, the same stored TAT, expiring at the reset', async () => {
    const script = withTestClock(GCRA_SCRIPT);
    const key = `${keyPrefix}{gcra}:test:gcra`;
    const scenario = policyArb.chain((numbers) => {
      const policy: RatePolicy = { name: 'test', algorithm: 'gcra', ...numbers };
      const { windowMs, capacity } = gcraParams(policy);
      return fc.tuple(fc.constant(policy), arrivalsArb(windowMs, capacity + 1));
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ([policy, arrivals]) => {
        const { intervalUs, capacity, windowMs } = gcraParams(policy);
        let state: GcraState | undefined;
        for (const { at, cost } of arrivals) {
          const expected = gcra(state, at, cost, policy);
          // One transaction per step: time stands still inside it, so a 1 ms expiry cannot strike.
          const tx = redis.multi().del(key);
          if (state) tx.set(key, state.tatUs);
          tx.eval(script, 1, key, intervalUs, capacity, cost, windowMs, ...timeArgs(at));
          tx.get(key).pttl(key);
          const results = (await tx.exec()) as Exec;
          const [reply, stored, pttl] = results.slice(-3).map(([error, value]) => {
            assert.ifError(error);
            return value;
          });
          assert.deepEqual(toDecision(reply), expected.decision, `at ${at}, cost ${cost}`);
          if (expected.state !== state) {
            assert.equal(Number(stored), expected.state!.tatUs);
            assertExpiresAtReset(pttl, expected.decision);
          }
          state = expected.state;
        }
      }),
      { numRuns: 60 },
    );
  });

  test('sliding window: the same decisions, the same stored counts, expiring at the reset', async () => {
    const script = withTestClock(SLIDING_WINDOW_SCRIPT);
    const key = `${keyPrefix}{sw}:test:sliding_window`;
    const scenario = policyArb.chain((numbers) => {
      const policy: RatePolicy = { name: 'test', algorithm: 'sliding_window', ...numbers };
      const windowMs = Math.round(policy.windowSeconds * 1000);
      return fc.tuple(fc.constant(policy), arrivalsArb(windowMs, slidingWindowLimit(policy) + 1));
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ([policy, arrivals]) => {
        const windowMs = Math.round(policy.windowSeconds * 1000);
        const limit = slidingWindowLimit(policy);
        let state: SlidingWindowState | undefined;
        for (const { at, cost } of arrivals) {
          const expected = slidingWindow(state, at, cost, policy);
          const tx = redis.multi().del(key);
          if (state) tx.hset(key, { s: state.windowStart, c: state.current, p: state.previous });
          tx.eval(script, 1, key, windowMs, limit, cost, ...timeArgs(at));
          tx.hmget(key, 's', 'c', 'p').pttl(key);
          const results = (await tx.exec()) as Exec;
          const [reply, stored, pttl] = results.slice(-3).map(([error, value]) => {
            assert.ifError(error);
            return value;
          });
          assert.deepEqual(toDecision(reply), expected.decision, `at ${at}, cost ${cost}`);
          if (expected.state !== state) {
            const next = expected.state!;
            assert.deepEqual((stored as string[]).map(Number), [
              next.windowStart,
              next.current,
              next.previous,
            ]);
            assertExpiresAtReset(pttl, expected.decision);
          }
          state = expected.state;
        }
      }),
      { numRuns: 60 },
    );
  });
});
