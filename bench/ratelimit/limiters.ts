// The limiters the decision benchmark compares, each reduced to "decide for this
// key, admitted or not", with the same generous policy, and the Redis keys they
// leave behind.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { gcraParams } from '../../src/ratelimit/gcra.ts';
import { MemoryRateLimitStore } from '../../src/ratelimit/memory-store.ts';
import { GCRA_SCRIPT, RedisRateLimitStore } from '../../src/ratelimit/redis-store.ts';
import type { RatePolicy } from '../../src/ratelimit/types.ts';
import type { Decide, DecideSync } from './drive.ts';

/**
 * The read policy's rate (600 a minute) with a burst no run can exhaust, so
 * every decision admits and writes state that lives as long as in production
 * (the TAT runs 100 ms ahead per decision).
 */
export const BENCH_POLICY: RatePolicy = {
  name: 'bench',
  quota: 600,
  windowSeconds: 60,
  burst: 99_999_999,
  algorithm: 'gcra',
};
/** The other libraries' equivalent: this many points per window never runs out either. */
export const GENEROUS_POINTS = 100_000_000;

/** Every Redis key of this benchmark starts with this; deleted at the start and the end. */
export const REDIS_PREFIX = 'bench:ratelimit:';

export interface Candidate {
  /** What the report looks rows up by. */
  readonly id: CandidateId;
  /** Row label. */
  readonly label: string;
  readonly backend: 'none' | 'memory' | 'redis';
  /** What the row measures, for the README-style legend in the report. */
  readonly about: string;
  readonly decide?: Decide;
  /** A synchronous decision: measured with one caller only (nothing is ever in flight). */
  readonly decideSync?: DecideSync;
  close(): Promise<void>;
}

export type CandidateId =
  | 'floor'
  | 'tasklane-memory'
  | 'tasklane-memory-now'
  | 'rlflx-memory'
  | 'tasklane-redis'
  | 'evalsha-gcra'
  | 'evalsha-time'
  | 'rlflx-redis';

/** An ioredis client as the libraries' docs set one up for a limiter, connected. */
export async function connectRedis(url: string): Promise<Redis> {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  client.on('error', () => {}); // a failed command says enough; no unhandled 'error' event
  if (client.status !== 'ready') {
    try {
      await Promise.race([
        once(client, 'ready'),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`Redis at ${url} is not reachable`)), 5000).unref(),
        ),
      ]);
    } catch (error) {
      client.disconnect(); // or it keeps reconnecting, and the process never exits
      throw error;
    }
  }
  return client;
}

async function quit(client: Redis): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}

/** The rows of the decision table, in the order they run in each round. */
export async function openCandidates(redisUrl: string): Promise<Candidate[]> {
  const gcra = gcraParams(BENCH_POLICY);

  const memory = new MemoryRateLimitStore();
  const rlflxMemory = new RateLimiterMemory({ points: GENEROUS_POINTS, duration: 60 });

  const store = new RedisRateLimitStore({ url: redisUrl, keyPrefix: `${REDIS_PREFIX}tl:` });
  if (!(await store.waitUntilConnected(5000))) {
    await store.close();
    throw new Error(`Redis at ${redisUrl} is not reachable`);
  }
  const bareTime = await connectRedis(redisUrl);
  const timeSha = String(await bareTime.script('LOAD', "return redis.call('TIME')"));
  const bareGcra = await connectRedis(redisUrl);
  const gcraSha = String(await bareGcra.script('LOAD', GCRA_SCRIPT));
  const rlflxClient = await connectRedis(redisUrl);
  const rlflxRedis = new RateLimiterRedis({
    storeClient: rlflxClient,
    keyPrefix: `${REDIS_PREFIX}rlflx`,
    points: GENEROUS_POINTS,
    duration: 60,
  });

  // consume() rejects with a RateLimiterRes when limited, with an Error when the store fails.
  const consume = async (limiter: RateLimiterMemory | RateLimiterRedis, key: string) => {
    try {
      await limiter.consume(key);
      return true;
    } catch (error) {
      if (error instanceof RateLimiterRes) return false;
      throw error;
    }
  };
  const nothing = async () => {};

  return [
    {
      id: 'floor',
      label: 'harness floor (an empty async function)',
      backend: 'none',
      about:
        'the cost of the measurement itself: two `hrtime.bigint()`, a histogram record and an `await`',
      decide: async () => true,
      close: nothing,
    },
    {
      id: 'tasklane-memory',
      label: 'Tasklane memory store `decide`',
      backend: 'memory',
      about: '`MemoryRateLimitStore.decide` (GCRA, LRU of 100 000 entries), the async interface',
      decide: async (key) => (await memory.decide(key, BENCH_POLICY, 1)).allowed,
      close: () => memory.close(),
    },
    {
      id: 'tasklane-memory-now',
      label: 'Tasklane memory store `decideNow`',
      backend: 'memory',
      about: 'the same store without the promise (synchronous, so only 1 in flight)',
      decideSync: (key) => memory.decideNow(key, BENCH_POLICY, 1).allowed,
      close: nothing,
    },
    {
      id: 'rlflx-memory',
      label: 'rate-limiter-flexible `RateLimiterMemory`',
      backend: 'memory',
      about: '`consume(key)` of an in-process fixed window',
      decide: (key) => consume(rlflxMemory, key),
      close: nothing,
    },
    {
      id: 'tasklane-redis',
      label: 'Tasklane Redis store `decide`',
      backend: 'redis',
      about:
        '`RedisRateLimitStore.decide`: key building, policy constants, EVALSHA of redis-gcra.lua (ioredis `evalsha`, EVAL on NOSCRIPT), a 50 ms timeout per call',
      decide: async (key) => (await store.decide(key, BENCH_POLICY, 1)).allowed,
      close: () => store.close(),
    },
    {
      id: 'evalsha-gcra',
      label: 'bare EVALSHA of redis-gcra.lua',
      backend: 'redis',
      about:
        'ioredis `evalsha` of our GCRA script, policy constants computed once, no wrapper: the store minus its own code',
      decide: async (key) => {
        const reply = (await bareGcra.evalsha(
          gcraSha,
          1,
          `${REDIS_PREFIX}gcra:{${key}}`,
          gcra.intervalUs,
          gcra.capacity,
          1,
          gcra.windowMs,
        )) as number[];
        return reply[0] === 1;
      },
      close: () => quit(bareGcra),
    },
    {
      id: 'evalsha-time',
      label: "bare EVALSHA of `return redis.call('TIME')`",
      backend: 'redis',
      about:
        'ioredis `evalsha` of a script that only reads the clock: the floor of any one-round-trip Redis limiter',
      decide: async () => {
        await bareTime.evalsha(timeSha, 0);
        return true;
      },
      close: () => quit(bareTime),
    },
    {
      id: 'rlflx-redis',
      label: 'rate-limiter-flexible `RateLimiterRedis`',
      backend: 'redis',
      about:
        '`consume(key)` with an ioredis client: one EVALSHA of its fixed-window script (SET NX, INCRBY, PTTL)',
      decide: (key) => consume(rlflxRedis, key),
      close: () => quit(rlflxClient),
    },
  ];
}

/** Deletes every key under `REDIS_PREFIX`; answers how many there were. */
export async function deleteBenchKeys(client: Redis): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
