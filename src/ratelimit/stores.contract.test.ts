// One contract, every store and algorithm: the memory store always, the Redis
// store when REDIS_URL is set (CI sets it). Real time with small windows; the
// exact numbers are the algorithms' own tests' business (gcra.test.ts,
// sliding-window.test.ts) and redis-scripts.test.ts proves the Lua agrees.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { MemoryRateLimitStore } from './memory-store.ts';
import { RedisRateLimitStore } from './redis-store.ts';
import type { Algorithm, Decision, RateLimitStore, RatePolicy } from './types.ts';

const redisUrl = process.env.REDIS_URL;

interface InspectableStore extends RateLimitStore {
  ttlMs(key: string, policy: RatePolicy): number | undefined | Promise<number | undefined>;
}

// A key prefix of this run's own: parallel runs on one Redis never share state.
const keyPrefix = `rl-test-${randomBytes(6).toString('hex')}:`;

const storesUnderTest = [
  {
    name: 'MemoryRateLimitStore',
    skip: false as const,
    open: async (): Promise<InspectableStore> => new MemoryRateLimitStore(),
    cleanUp: async () => {},
  },
  {
    name: 'RedisRateLimitStore',
    skip: redisUrl ? (false as const) : 'REDIS_URL is not set',
    open: async (): Promise<InspectableStore> => {
      const store = new RedisRateLimitStore({ url: redisUrl!, keyPrefix });
      assert.ok(await store.waitUntilConnected(2000), 'Redis at REDIS_URL answers');
      return store;
    },
    cleanUp: () => deleteKeys(redisUrl!, keyPrefix),
  },
];

/**
 * A policy that admits `capacity` requests at once, for either algorithm: GCRA
 * holds burst + 1 at once, the sliding window quota + burst per window.
 */
const policyFor: Record<Algorithm, (capacity: number, windowSeconds: number) => RatePolicy> = {
  gcra: (capacity, windowSeconds) => ({
    name: 'test',
    quota: capacity,
    burst: capacity - 1,
    windowSeconds,
    algorithm: 'gcra',
  }),
  sliding_window: (capacity, windowSeconds) => ({
    name: 'test',
    quota: capacity,
    burst: 0,
    windowSeconds,
    algorithm: 'sliding_window',
  }),
};

/**
 * Node starts a timer from the event loop's cached time, so it can fire up to
 * a millisecond early by the clock the memory store reads; the algorithms'
 * own tests prove "not 1 ms earlier", these only "then".
 */
function sleepAtLeast(ms: number): Promise<void> {
  return sleep(ms + 2);
}

async function decideTimes(
  store: RateLimitStore,
  key: string,
  limit: RatePolicy,
  times: number,
): Promise<Decision[]> {
  const decisions: Decision[] = [];
  for (let i = 0; i < times; i++) decisions.push(await store.decide(key, limit, 1));
  return decisions;
}

for (const underTest of storesUnderTest) {
  for (const algorithm of ['gcra', 'sliding_window'] as const) {
    const policy = policyFor[algorithm];

    describe(`${underTest.name}, ${algorithm}`, { skip: underTest.skip }, () => {
      let store: InspectableStore;
      before(async () => {
        store = await underTest.open();
      });
      after(async () => {
        await store?.close();
        await underTest.cleanUp();
      });

      test('a burst admits exactly its capacity, counting down, and the next only after retryAfterMs', async () => {
        const limit = policy(5, 0.2);
        const key = randomUUID();
        const admitted = await decideTimes(store, key, limit, 5);
        assert.deepEqual(
          admitted.map((d) => [d.allowed, d.remaining, d.retryAfterMs]),
          [4, 3, 2, 1, 0].map((remaining) => [true, remaining, 0]),
        );
        assert.ok(admitted.every((d) => d.resetAfterMs > 0 && d.resetAfterMs <= 400));

        const refused = await store.decide(key, limit, 1);
        assert.equal(refused.allowed, false);
        assert.equal(refused.remaining, 0);
        // GCRA: one emission interval (40 ms); the sliding window: into the next window.
        const longest = algorithm === 'gcra' ? 40 : 400;
        assert.ok(
          refused.retryAfterMs > 0 && refused.retryAfterMs <= longest,
          `${refused.retryAfterMs}`,
        );

        await sleepAtLeast(refused.retryAfterMs);
        assert.equal((await store.decide(key, limit, 1)).allowed, true);
      });

      test('cost 0 reads the state without charging, leaves none behind, and is never refused', async () => {
        const limit = policy(5, 3600);
        const key = randomUUID();
        assert.deepEqual(await store.decide(key, limit, 0), {
          allowed: true,
          remaining: 5,
          retryAfterMs: 0,
          resetAfterMs: 0,
        });
        assert.equal(await store.ttlMs(key, limit), undefined);

        await store.decide(key, limit, 2);
        for (let i = 0; i < 3; i++) {
          const read = await store.decide(key, limit, 0);
          assert.deepEqual([read.allowed, read.remaining], [true, 3]);
        }
        await store.decide(key, limit, 3);
        const exhausted = await store.decide(key, limit, 0);
        assert.deepEqual([exhausted.allowed, exhausted.remaining], [true, 0]);
        assert.ok(exhausted.resetAfterMs > 0);
      });

      test('a cost above 1 charges that many, and is refused, charging nothing, when fewer remain', async () => {
        const limit = policy(5, 3600);
        const key = randomUUID();
        assert.equal((await store.decide(key, limit, 3)).remaining, 2);
        const refused = await store.decide(key, limit, 3);
        assert.deepEqual([refused.allowed, refused.remaining], [false, 2]);
        assert.ok(refused.retryAfterMs > 0);
        const rest = await store.decide(key, limit, 2);
        assert.deepEqual([rest.allowed, rest.remaining], [true, 0]);
      });

      test('a cost over the capacity is never admitted, and asks for at least a window', async () => {
        const limit = policy(5, 60);
        const refused = await store.decide(randomUUID(), limit, 6);
        assert.deepEqual([refused.allowed, refused.remaining], [false, 5]);
        assert.ok(refused.retryAfterMs >= 60_000);
      });

      test('refused requests charge nothing: waiting the first retryAfterMs is enough', async () => {
        const limit = policy(2, 0.2);
        const key = randomUUID();
        await decideTimes(store, key, limit, 2);
        const first = await store.decide(key, limit, 1);
        assert.equal(first.allowed, false);
        const hammering = await decideTimes(store, key, limit, 20);
        assert.ok(hammering.every((d) => !d.allowed && d.retryAfterMs <= first.retryAfterMs));

        await sleepAtLeast(first.retryAfterMs);
        assert.equal((await store.decide(key, limit, 1)).allowed, true);
      });

      test('state expires when the caller is back to a full quota', async () => {
        const limit = policy(2, 0.2);
        const key = randomUUID();
        const [, last] = await decideTimes(store, key, limit, 2);
        const ttl = await store.ttlMs(key, limit);
        assert.ok(ttl !== undefined && ttl > 0 && ttl <= last!.resetAfterMs, `ttl ${ttl}`);

        await sleepAtLeast(last!.resetAfterMs);
        assert.equal(await store.ttlMs(key, limit), undefined);
        assert.equal((await store.decide(key, limit, 0)).remaining, 2);
      });

      test('50 concurrent decisions on one key against a capacity of 10 admit exactly 10', async () => {
        const limit = policy(10, 3600);
        const key = randomUUID();
        const decisions = await Promise.all(
          Array.from({ length: 50 }, () => store.decide(key, limit, 1)),
        );
        const admitted = decisions.filter((d) => d.allowed);
        assert.equal(admitted.length, 10);
        assert.deepEqual(
          admitted.map((d) => d.remaining).sort((a, b) => a - b),
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        );
      });

      test('drained, then refunded one, exactly one more is admitted', async () => {
        const limit = policy(5, 3600);
        const key = randomUUID();
        await decideTimes(store, key, limit, 5);
        assert.equal((await store.decide(key, limit, 1)).allowed, false);
        await store.refund(key, limit, 1);
        assert.equal((await store.decide(key, limit, 0)).remaining, 1);
        const after = await decideTimes(store, key, limit, 2);
        assert.deepEqual(
          after.map((d) => d.allowed),
          [true, false],
        );
      });

      test('a partly refunded state expires at its new reset; a wholly refunded one is gone', async () => {
        const limit = policy(5, 3600);
        const key = randomUUID();
        await store.decide(key, limit, 3);
        await store.refund(key, limit, 1);
        const read = await store.decide(key, limit, 0);
        assert.equal(read.remaining, 3);
        const ttl = await store.ttlMs(key, limit);
        // The expiry is whole ms rounded up at the refund, the reset rounded up at the
        // later read: the two may differ by the rounding, 1 ms.
        assert.ok(
          ttl !== undefined && ttl <= read.resetAfterMs + 1 && ttl > read.resetAfterMs - 100,
          `ttl ${ttl}, reset ${read.resetAfterMs}`,
        );

        await store.refund(key, limit, 2);
        assert.equal(await store.ttlMs(key, limit), undefined);
        assert.deepEqual(await store.decide(key, limit, 0), {
          allowed: true,
          remaining: 5,
          retryAfterMs: 0,
          resetAfterMs: 0,
        });
      });

      test('a refund on a fresh key changes nothing: no state, and never more than a full bucket', async () => {
        const limit = policy(5, 3600);
        const key = randomUUID();
        await store.refund(key, limit, 3);
        assert.equal(await store.ttlMs(key, limit), undefined);
        const burst = await decideTimes(store, key, limit, 6);
        assert.deepEqual(
          burst.map((d) => d.allowed),
          [true, true, true, true, true, false],
        );
        await store.refund(key, limit, 0);
        assert.equal((await store.decide(key, limit, 0)).remaining, 0);
      });

      test('callers and policies are independent', async () => {
        const limit = policy(1, 3600);
        const key = randomUUID();
        assert.equal((await store.decide(key, limit, 1)).allowed, true);
        assert.equal((await store.decide(key, limit, 1)).allowed, false);
        assert.equal((await store.decide(randomUUID(), limit, 1)).allowed, true);
        assert.equal((await store.decide(key, { ...limit, name: 'other' }, 1)).allowed, true);
      });

      test('decisions never read this process wall clock: skewing Date by an hour changes nothing', async (t) => {
        const limit = policy(2, 3600);
        const key = randomUUID();
        await decideTimes(store, key, limit, 2);
        const refused = await store.decide(key, limit, 1);
        for (const skewMs of [3_600_000, -3_600_000]) {
          t.mock.timers.enable({ apis: ['Date'], now: Date.now() + skewMs });
          try {
            const skewed = await store.decide(key, limit, 1);
            assert.equal(skewed.allowed, false, `with the clock ${skewMs} ms off`);
            assert.ok(Math.abs(skewed.retryAfterMs - refused.retryAfterMs) < 1000);
          } finally {
            t.mock.timers.reset();
          }
        }
      });

      test('to decide or refund, a cost that is not an integer >= 0, a policy no limiter can honour, or an empty key is a RangeError', async () => {
        for (const call of [store.decide, store.refund]) {
          const run = call.bind(store);
          for (const cost of [-1, 0.5, Number.NaN]) {
            await assert.rejects(run(randomUUID(), policy(5, 1), cost), RangeError, call.name);
          }
          await assert.rejects(run(randomUUID(), { ...policy(5, 1), quota: 0 }, 1), RangeError);
          await assert.rejects(run('', policy(5, 1), 1), RangeError);
        }
      });
    });
  }
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) {
      if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
}
