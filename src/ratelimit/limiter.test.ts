import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { createMetrics } from '../observability/metrics.ts';
import { RateLimiter, UNAVAILABLE } from './limiter.ts';
import { MemoryRateLimitStore } from './memory-store.ts';
import { RateLimitStoreError } from './redis-store.ts';
import type { Decision, RateLimitStore, RatePolicy } from './types.ts';

const read: RatePolicy = {
  name: 'read',
  quota: 10,
  windowSeconds: 60,
  burst: 9,
  algorithm: 'gcra',
};
const auth: RatePolicy = {
  name: 'auth',
  quota: 10,
  windowSeconds: 60,
  burst: 9,
  algorithm: 'gcra',
};
const admitted: Decision = { allowed: true, remaining: 5, retryAfterMs: 0, resetAfterMs: 1 };

/** A shared store that fails the calls `fails(n)` picks, and admits the rest. */
function flakyStore(fails: (call: number) => boolean): RateLimitStore {
  let call = 0;
  return {
    async decide() {
      call += 1;
      if (fails(call)) throw new RateLimitStoreError('timeout', 'late');
      return admitted;
    },
    async refund() {},
    async close() {},
  };
}

function capturingLog() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_fields: unknown, msg: string) => lines.push({ level, msg });
  const log = { warn: at('warn'), info: at('info'), debug: at('debug') };
  return { lines, log: log as unknown as FastifyBaseLogger };
}

describe('RateLimiter', () => {
  test('a store failure: throughput falls back to this node, sign-in is unavailable, both counted', async () => {
    const { log } = capturingLog();
    const metrics = createMetrics();
    const limiter = new RateLimiter({
      shared: flakyStore(() => true),
      local: new MemoryRateLimitStore(),
      metrics,
      log,
    });
    const charge = await limiter.charge('user:a', read, 1);
    assert.notEqual(charge, UNAVAILABLE);
    assert.equal(charge !== UNAVAILABLE && charge.decision.remaining, 9, 'decided in memory');
    assert.equal(await limiter.charge('ip:1', auth, 1), UNAVAILABLE);
    const text = await metrics.registry.metrics();
    assert.match(text, /ratelimit_store_errors_total\{reason="timeout"\} 2/);
    assert.match(text, /ratelimit_decisions_total\{class="auth",outcome="unavailable"\} 1/);
  });

  test('a store that misses one deadline in two logs one warning, not one per miss', async () => {
    const { lines, log } = capturingLog();
    const limiter = new RateLimiter({
      shared: flakyStore((call) => call % 2 === 0),
      local: new MemoryRateLimitStore(),
      metrics: createMetrics(),
      log,
    });
    for (let i = 0; i < 1000; i++) await limiter.charge(`user:${i}`, read, 1);
    assert.deepEqual(
      lines.map((line) => line.level),
      ['warn', 'info'],
      'one warning, one recovery: the interval is not reset by a success',
    );
  });
});
