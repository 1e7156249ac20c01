// The minimal app of the HTTP half of the rate limiter benchmark: one GET route
// answering a small JSON object, alone or behind one limiter, so the rows differ
// by the limiter only. Started by decisions.ts as its own process, one per variant:
//
//   VARIANT=<name> PORT=<port> REDIS_URL=<url> node bench/ratelimit/http-app.ts
//
// The caller is the `x-caller` header (autocannon draws it from 10 000 keys), as
// the key would be the authenticated user in the app; every limiter uses it.
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { MemoryRateLimitStore } from '../../src/ratelimit/memory-store.ts';
import { RedisRateLimitStore } from '../../src/ratelimit/redis-store.ts';
import type { RateLimitStore } from '../../src/ratelimit/types.ts';
import { HTTP_VARIANTS, type HttpVariant } from './http-variants.ts';
import { BENCH_POLICY, connectRedis, GENEROUS_POINTS, REDIS_PREFIX } from './limiters.ts';

const callerOf = (request: FastifyRequest): string => {
  const caller = request.headers['x-caller'];
  return typeof caller === 'string' && caller !== '' ? caller : request.ip;
};

const POLICY_HEADER = `"${BENCH_POLICY.name}";q=${BENCH_POLICY.quota};w=${BENCH_POLICY.windowSeconds}`;

/** What a Tasklane pre-handler does: decide, set the RateLimit headers, answer 429 when refused. */
function tasklaneHook(store: RateLimitStore) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const decision = await store.decide(callerOf(request), BENCH_POLICY, 1);
    reply.header('ratelimit-policy', POLICY_HEADER);
    reply.header(
      'ratelimit',
      `"${BENCH_POLICY.name}";r=${decision.remaining};t=${Math.ceil(decision.resetAfterMs / 1000)}`,
    );
    if (!decision.allowed) {
      reply.header('retry-after', Math.ceil(decision.retryAfterMs / 1000));
      await reply.code(429).send({ title: 'Too Many Requests' });
    }
  };
}

async function main() {
  const variant = process.env.VARIANT as HttpVariant;
  if (!(variant in HTTP_VARIANTS)) throw new Error(`unknown VARIANT ${variant}`);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const app = Fastify({ logger: false });
  const generous = {
    max: GENEROUS_POINTS,
    timeWindow: 60_000,
    keyGenerator: callerOf,
    // Its default LRU of 5000 entries would forget callers of a 10 000-key space.
    cache: 20_000,
  };
  let store: RateLimitStore | undefined;
  switch (variant) {
    case 'bare':
      break;
    case 'empty hook':
      app.addHook('onRequest', async () => {});
      break;
    case 'fastify-rate-limit memory':
      await app.register(rateLimit, generous);
      break;
    case 'fastify-rate-limit Redis': {
      const redis = await connectRedis(redisUrl);
      app.addHook('onClose', async () => void (await redis.quit()));
      await app.register(rateLimit, { ...generous, redis, nameSpace: `${REDIS_PREFIX}frl:` });
      break;
    }
    case 'Tasklane memory hook':
      store = new MemoryRateLimitStore();
      break;
    case 'Tasklane Redis hook': {
      const redisStore = new RedisRateLimitStore({
        url: redisUrl,
        keyPrefix: `${REDIS_PREFIX}tlhttp:`,
      });
      if (!(await redisStore.waitUntilConnected(5000))) throw new Error('Redis is not reachable');
      store = redisStore;
      break;
    }
  }
  if (store !== undefined) {
    app.addHook('onRequest', tasklaneHook(store));
    const opened = store;
    app.addHook('onClose', async () => opened.close());
  }
  app.get('/hello', async () => ({ hello: 'world' }));
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
}

await main();
