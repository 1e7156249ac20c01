import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { ProblemSchema } from '../http/openapi-responses.ts';
import { createMetrics } from '../observability/metrics.ts';
import { ConcurrencyLimiter } from './concurrency.ts';
import { RateLimiter } from './limiter.ts';
import { MemoryRateLimitStore } from './memory-store.ts';
import type { PlanCache } from './plan-cache.ts';
import { registerRateLimiting } from './plugin.ts';
import { policyTable } from './policies.ts';

test('a client gone while its plan is being read leaves no concurrency slot taken', async () => {
  const app = Fastify();
  // The plugin documents 429 and 503 as problem responses on every /v1 route.
  app.addSchema(ProblemSchema);
  const concurrency = new ConcurrencyLimiter(2);
  let planRead: () => void = () => {};
  const slowPlans = {
    cached: () => undefined,
    planOf: () =>
      new Promise<'free'>((resolve) => {
        planRead = () => resolve('free');
      }),
  } as unknown as PlanCache;
  registerRateLimiting(app, {
    limiter: new RateLimiter({
      local: new MemoryRateLimitStore(),
      metrics: createMetrics(),
      log: app.log,
    }),
    policies: policyTable(undefined),
    plans: slowPlans,
    concurrency,
    identify: async () => ({ userId: 'u1', sessionId: 's1' }),
    metrics: createMetrics(),
  });
  app.get('/v1/me', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const { port } = app.server.address() as AddressInfo;
    // The client gives up while the hook awaits the plan.
    const request = http.get({ port, host: '127.0.0.1', path: '/v1/me' });
    request.on('error', () => {});
    await sleep(50);
    request.destroy();
    await sleep(50);
    planRead();
    await sleep(50);
    assert.equal(concurrency.inFlight('user:u1'), 0);
  } finally {
    await app.close();
  }
});
