// The environment a benchmark gives a Tasklane process (`node src/main.ts serve`):
// production mode with a throwaway signing key, and the rate limiter in one of
// three modes. Shared by bench/run.ts and bench/ratelimit/end-to-end.ts.
import { randomBytes } from 'node:crypto';

export const LIMITER_MODES = ['memory', 'redis', 'off'] as const;
export type LimiterMode = (typeof LIMITER_MODES)[number];

/**
 * The bench is one user at thousands of requests per second: far past any real
 * quota. The limiter still decides every request, with quotas nothing reaches.
 */
export function limiterEnv(mode: LimiterMode, connections: number): Record<string, string> {
  // An inherited REDIS_URL must not turn the memory run into a Redis one.
  if (mode === 'off') return { RATE_LIMIT_ENABLED: 'false', REDIS_URL: '' };
  const policies = ['read', 'write', 'search'].flatMap((name) =>
    ['free', 'pro'].map((plan) => `${name}.${plan}=100000000/60`),
  );
  return {
    RATE_LIMITS: [...policies, 'auth=1000000/60', 'login=1000000/60'].join(' '),
    RATE_LIMIT_CONCURRENCY: String(connections),
    RATE_LIMIT_NODE_RPS: '0',
    ...(mode === 'redis'
      ? {
          REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
          RATE_LIMIT_KEY_PREFIX: `bench-${randomBytes(4).toString('hex')}:`,
        }
      : { REDIS_URL: '' }),
  };
}

export interface TasklaneEnvOptions {
  /** DATABASE_URL, DATABASE_POOL_SIZE: what the ceilings get too. */
  readonly common: Record<string, string>;
  readonly dataDir: string;
  readonly port: number;
  readonly logLevel: string;
  readonly limiter: LimiterMode;
  readonly connections: number;
}

export function tasklaneEnv(options: TasklaneEnvOptions): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...options.common,
    // Production mode with a throwaway key: nothing is read from or written to DATA_DIR
    // but what the app does anyway.
    NODE_ENV: 'production',
    TOKEN_SIGNING_KEY: randomBytes(48).toString('base64'),
    DATA_DIR: options.dataDir,
    HOST: '127.0.0.1',
    PORT: String(options.port),
    LOG_LEVEL: options.logLevel,
    ACCESS_TOKEN_TTL_SECONDS: '86400',
    ...limiterEnv(options.limiter, options.connections),
  };
}
