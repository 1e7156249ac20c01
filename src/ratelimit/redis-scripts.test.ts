// The Lua scripts are the algorithms of gcra.ts and sliding-window.ts again, in
// another language: this file proves they agree, step by step, on the property
// tests' random policies and arrivals, with refunds mixed in. Each script is run with one line changed:
// the clock comes from the test instead of Redis's TIME, so any moment can be
// replayed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { type GcraState, gcra, gcraParams, gcraRefund } from './gcra.ts';
import {
  GCRA_REFUND_SCRIPT,
  GCRA_SCRIPT,
  SLIDING_WINDOW_REFUND_SCRIPT,
  SLIDING_WINDOW_SCRIPT,
} from './redis-store.ts';
import { policyArb, stepsArb } from './reference.ts';
import {
  type SlidingWindowState,
  slidingWindow,
  slidingWindowParams,
  slidingWindowRefund,
} from './sliding-window.ts';
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

/**
 * Runs one step's transaction, opened with TIME and closed with the state, its
 * PTTL and TIME again: the script's reply, what it left, and how long Redis
 * really took meanwhile.
 */
async function runStep(
  tx: ReturnType<Redis['multi']>,
): Promise<{ reply: unknown; stored: unknown; pttl: unknown; tookMs: number }> {
  const values = ((await tx.exec()) as Exec).map(([error, value]) => {
    assert.ifError(error);
    return value;
  });
  const [reply, stored, pttl, ended] = values.slice(-4);
  const micros = (time: unknown) =>
    Number((time as string[])[0]) * 1e6 + Number((time as string[])[1]);
  return { reply, stored, pttl, tookMs: Math.ceil((micros(ended) - micros(values[0])) / 1000) };
}

/**
 * What a script left in Redis, given the state before it (set with no expiry)
 * and the one the TypeScript keeps: nothing written when that is the same
 * state; no key when it is none; else that state, expiring at the reset.
 * `stored` is the key's fields as numbers, undefined when there is no key.
 */
function assertStored<S>(
  expected: { before: S | undefined; after: S | undefined; resetAfterMs: number },
  stored: number[] | undefined,
  { pttl, tookMs }: { pttl: unknown; tookMs: number },
  fields: (state: S) => number[],
): void {
  const { before, after, resetAfterMs } = expected;
  if (after === before) {
    assert.deepEqual(stored, before === undefined ? undefined : fields(before), 'nothing written');
    assert.equal(pttl, before === undefined ? -2 : -1, 'nothing written');
  } else if (after === undefined) {
    assert.equal(pttl, -2, 'the key is deleted');
  } else {
    assert.deepEqual(stored, fields(after));
    // PTTL is read a moment after the script set it, and on Redis before 7.2 its
    // clock runs on inside MULTI: by a ms, or more on a loaded machine.
    const ttl = pttl as number;
    assert.ok(ttl <= resetAfterMs && ttl >= resetAfterMs - tookMs - 1, `PTTL ${ttl}`);
  }
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

  test('GCRA: the same decisions and refunds, the same stored TAT, expiring at the reset', async () => {
    const decideScript = withTestClock(GCRA_SCRIPT);
    const refundScript = withTestClock(GCRA_REFUND_SCRIPT);
    const key = `${keyPrefix}{gcra}:test:gcra`;
    const scenario = policyArb.chain((numbers) => {
      const policy: RatePolicy = { name: 'test', algorithm: 'gcra', ...numbers };
      const { windowMs, capacity } = gcraParams(policy);
      return fc.tuple(fc.constant(policy), stepsArb(windowMs, capacity + 1));
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ([policy, steps]) => {
        const { intervalUs, capacity, windowMs } = gcraParams(policy);
        let state: GcraState | undefined;
        for (const { at, cost, refund } of steps) {
          // One transaction per step: expiry time stands still inside it, so a 1 ms expiry cannot strike.
          const tx = redis.multi().time().del(key);
          if (state) tx.set(key, state.tatUs);
          if (refund) tx.eval(refundScript, 1, key, intervalUs, cost, ...timeArgs(at));
          else tx.eval(decideScript, 1, key, intervalUs, capacity, cost, windowMs, ...timeArgs(at));
          const { reply, stored, ...expiry } = await runStep(tx.get(key).pttl(key).time());

          const step = `${refund ? 'refund' : 'decision'} at ${at}, cost ${cost}`;
          let expected: { state: GcraState | undefined; resetAfterMs: number };
          if (refund) {
            expected = gcraRefund(state, at, cost, policy);
            assert.equal(reply, expected.resetAfterMs, step);
          } else {
            const { decision, state: next } = gcra(state, at, cost, policy);
            assert.deepEqual(toDecision(reply), decision, step);
            expected = { state: next, resetAfterMs: decision.resetAfterMs };
          }
          assertStored(
            { before: state, after: expected.state, resetAfterMs: expected.resetAfterMs },
            stored === null ? undefined : [Number(stored)],
            expiry,
            (s) => [s.tatUs],
          );
          state = expected.state;
        }
      }),
      { numRuns: 60 },
    );
  });

  test('sliding window: the same decisions and refunds, the same stored counts, expiring at the reset', async () => {
    const decideScript = withTestClock(SLIDING_WINDOW_SCRIPT);
    const refundScript = withTestClock(SLIDING_WINDOW_REFUND_SCRIPT);
    const key = `${keyPrefix}{sw}:test:sliding_window`;
    const scenario = policyArb.chain((numbers) => {
      const policy: RatePolicy = { name: 'test', algorithm: 'sliding_window', ...numbers };
      const { windowMs, limit } = slidingWindowParams(policy);
      return fc.tuple(fc.constant(policy), stepsArb(windowMs, limit + 1));
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ([policy, steps]) => {
        const { windowMs, limit } = slidingWindowParams(policy);
        let state: SlidingWindowState | undefined;
        for (const { at, cost, refund } of steps) {
          const tx = redis.multi().time().del(key);
          if (state) tx.hset(key, { s: state.windowStart, c: state.current, p: state.previous });
          if (refund) tx.eval(refundScript, 1, key, windowMs, cost, ...timeArgs(at));
          else tx.eval(decideScript, 1, key, windowMs, limit, cost, ...timeArgs(at));
          const { reply, stored, ...expiry } = await runStep(
            tx.hmget(key, 's', 'c', 'p').pttl(key).time(),
          );

          const step = `${refund ? 'refund' : 'decision'} at ${at}, cost ${cost}`;
          let expected: { state: SlidingWindowState | undefined; resetAfterMs: number };
          if (refund) {
            expected = slidingWindowRefund(state, at, cost, policy);
            assert.equal(reply, expected.resetAfterMs, step);
          } else {
            const { decision, state: next } = slidingWindow(state, at, cost, policy);
            assert.deepEqual(toDecision(reply), decision, step);
            expected = { state: next, resetAfterMs: decision.resetAfterMs };
          }
          const fields = stored as (string | null)[];
          assertStored(
            { before: state, after: expected.state, resetAfterMs: expected.resetAfterMs },
            fields[0] === null ? undefined : fields.map(Number),
            expiry,
            (s) => [s.windowStart, s.current, s.previous],
          );
          state = expected.state;
        }
      }),
      { numRuns: 60 },
    );
  });
});
