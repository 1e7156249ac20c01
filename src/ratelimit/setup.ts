import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { AccessTokenIssuer } from '../auth/access-tokens.ts';
import { bearerPrincipal } from '../auth/authenticate.ts';
import type { RateLimitConfig } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Metrics } from '../observability/metrics.ts';
import { ConcurrencyLimiter } from './concurrency.ts';
import { RateLimiter } from './limiter.ts';
import { MemoryRateLimitStore } from './memory-store.ts';
import { PlanCache } from './plan-cache.ts';
import { registerRateLimiting } from './plugin.ts';
import { RedisRateLimitStore } from './redis-store.ts';

/** How long a starting node waits for Redis before it serves with the fallback. */
const REDIS_BOOT_WAIT_MS = 1000;

export interface RateLimitingSetup {
  readonly config: RateLimitConfig;
  readonly redisUrl: string | undefined;
  readonly db: Db;
  readonly accessTokens: AccessTokenIssuer;
  readonly metrics: Metrics;
  readonly log: FastifyBaseLogger;
}

/** What the rest of the app may ask of the limiter. */
export interface RateLimiting {
  /**
   * One PING through the limiter's Redis client, for /readyz; undefined when
   * there is no such client (no REDIS_URL, or limits off).
   */
  readonly pingRedis: ((timeoutMs: number) => Promise<void>) | undefined;
}

/**
 * Builds the limiter from configuration and hooks it into every request: Redis
 * shared by the fleet when REDIS_URL is set, this node's memory otherwise.
 */
export async function setUpRateLimiting(
  app: FastifyInstance,
  setup: RateLimitingSetup,
): Promise<RateLimiting> {
  const { config, redisUrl, log } = setup;
  if (!config.enabled) {
    log.warn('rate limiting is off (RATE_LIMIT_ENABLED=false)');
    return { pingRedis: undefined };
  }
  let shared: RedisRateLimitStore | undefined;
  if (redisUrl !== undefined) {
    shared = new RedisRateLimitStore({
      url: redisUrl,
      timeoutMs: config.redisTimeoutMs,
      keyPrefix: config.redisKeyPrefix,
      // The limiter reports failed decisions; connection errors repeat every retry.
      onConnectionError: () => {},
      onCommandError: (reason) => setup.metrics.redisCommandErrors.inc({ reason }),
    });
    if (!(await shared.waitUntilConnected(REDIS_BOOT_WAIT_MS))) {
      log.warn('Redis is not reachable yet: rate limits are per node until it is');
    }
  }
  const limiter = new RateLimiter({
    shared,
    local: new MemoryRateLimitStore(),
    metrics: setup.metrics,
    log,
  });
  registerRateLimiting(app, {
    limiter,
    policies: config.policies,
    plans: new PlanCache(setup.db),
    concurrency: new ConcurrencyLimiter(config.concurrency),
    nodeCeiling:
      config.nodeRequestsPerSecond === 0
        ? undefined
        : {
            store: new MemoryRateLimitStore({ maxEntries: 1 }),
            policy: {
              name: 'node',
              quota: config.nodeRequestsPerSecond,
              windowSeconds: 1,
              burst: config.nodeRequestsPerSecond - 1,
              algorithm: 'gcra',
            },
          },
    identify: bearerPrincipal(setup.accessTokens),
    metrics: setup.metrics,
  });
  app.addHook('onClose', async () => await limiter.close());
  const store = shared;
  return { pingRedis: store && ((timeoutMs) => store.ping(timeoutMs)) };
}
