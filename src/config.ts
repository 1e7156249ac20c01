import { isIP } from 'node:net';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import {
  bearerSecret,
  boolean,
  ConfigError,
  duration,
  durations,
  type Env,
  integer,
  oneOf,
  optionalInteger,
  text,
  url,
} from './config-parse.ts';
import { type TracingConfig, tracingConfig } from './observability/tracing-config.ts';
import { type PolicyTable, policyTable } from './ratelimit/policies.ts';

export { ConfigError };

/**
 * Every setting Tasklane reads from its environment, parsed and validated once at
 * start. Nothing else in src/ reads `process.env`: it receives a frozen Config.
 */
export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  /** Unset → Tasklane starts an embedded PostgreSQL under `${dataDir}/pg`. */
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Unset outside production → generated once and kept under `${dataDir}/secrets.json`. */
  readonly tokenSigningKey: string | undefined;
  /** `Authorization: Bearer <it>` opens /v1/admin/*; unset → the admin API is not served (404). */
  readonly adminToken: string | undefined;
  readonly accessTokenTtlSeconds: number;
  readonly refreshIdleTtlSeconds: number;
  readonly refreshAbsoluteTtlSeconds: number;
  readonly refreshReuseGraceSeconds: number;
  readonly shutdownTimeoutMs: number;
  /**
   * After SIGTERM, how long /readyz answers 503 while everything else serves on,
   * so load balancers take the node out before its listener closes.
   */
  readonly shutdownDrainDelayMs: number;
  /** Longest each /readyz check (database, migrations, queue, Redis) may take. */
  readonly readinessTimeoutMs: number;
  /**
   * Which `X-Forwarded-For` hops to believe (Fastify's trustProxy): none, the
   * proxies' addresses or CIDR ranges, or every hop.
   */
  readonly trustProxy: boolean | readonly string[];
  readonly rateLimit: RateLimitConfig;
  /** Run the job worker inside `serve` (false: only `tasklane worker` processes run jobs). */
  readonly jobsInProcess: boolean;
  /** Jobs one worker runs at once. */
  readonly jobConcurrency: number;
  /**
   * A job locked this long by a worker whose heartbeat is this old (or gone) is
   * handed back to the queue (ADR 0021).
   */
  readonly jobLockTimeoutSeconds: number;
  /** `tasklane worker` serves GET /metrics on this port; unset → no metrics server. */
  readonly workerMetricsPort: number | undefined;
  /** False: no per-request or per-query metrics and no /metrics on the API port. */
  readonly metricsEnabled: boolean;
  /** When set, GET /metrics asks for `Authorization: Bearer <it>` (API port and metrics servers). */
  readonly metricsToken: string | undefined;
  /** `serve` answers /metrics on this port instead of the API's; unset → on the API port. */
  readonly metricsPort: number | undefined;
  /** Where the separate metrics servers (METRICS_PORT, WORKER_METRICS_PORT) bind. */
  readonly metricsHost: string;
  /** Days a deleted task or comment stays in the trash before the purge job deletes it. */
  readonly trashRetentionDays: number;
  /** Where notification emails go (smtp:// or smtps://); unset → they are only logged. */
  readonly smtpUrl: string | undefined;
  /** The From of notification emails. */
  readonly smtpFrom: string;
  readonly loadShedding: LoadSheddingConfig;
  readonly webhooks: WebhookConfig;
  readonly observability: ObservabilityConfig;
}

export interface ObservabilityConfig {
  /** Requests at least this slow are logged as `slow request` with their breakdown; 0: never. */
  readonly slowRequestMs: number;
  /** SQL statements at least this slow are logged as `slow query`; 0: never. */
  readonly slowQueryMs: number;
  /** OpenTelemetry tracing (the standard OTEL_* variables); undefined: off. */
  readonly tracing: TracingConfig | undefined;
}

export interface WebhookConfig {
  /** Deliver to private, loopback and link-local addresses too (SSRF guard off: tests, private networks). */
  readonly allowPrivateTargets: boolean;
  /** Delay before each retry, after the first attempt (ADR 0018); its length is the number of retries. */
  readonly retryScheduleMs: readonly number[];
  /** Longest a delivery attempt may take, connect to last byte. */
  readonly timeoutMs: number;
  /** Consecutive failed attempts that open an endpoint's circuit. */
  readonly circuitFailures: number;
  /** How long an open circuit waits before its first half-open probe (doubling per failed probe, at most an hour). */
  readonly circuitCooldownMs: number;
}

export interface RateLimitConfig {
  /** False turns every limit off (benchmarks of the bare API; never in production). */
  readonly enabled: boolean;
  readonly policies: PolicyTable;
  /** Requests one caller may have in flight on one node; 0 = no cap. */
  readonly concurrency: number;
  /** Requests per second this node takes from everyone together; 0 = no ceiling. */
  readonly nodeRequestsPerSecond: number;
  /** Longest wait for Redis before a decision fails open or closed. */
  readonly redisTimeoutMs: number;
  readonly redisKeyPrefix: string;
}

export interface LoadSheddingConfig {
  /** Each signal over its threshold sheds load; 0 turns a signal off. */
  readonly maxEventLoopDelayMs: number;
  readonly maxHeapUsedBytes: number;
  readonly maxInFlight: number;
}

export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '5s 5m 30m 2h 5h 10h 14h 20h 24h';

export const MIN_SIGNING_KEY_BYTES = 32;

export const DEFAULT_SMTP_FROM = 'Tasklane <notifications@tasklane.invalid>';

export const MIN_ADMIN_TOKEN_LENGTH = 32;

export const MIN_METRICS_TOKEN_LENGTH = 32;

/** Load balancers probe every few seconds and act after a failure or two. */
const PRODUCTION_DRAIN_DELAY_MS = 5000;

function signingKey(env: Env, production: boolean): string | undefined {
  const raw = text(env, 'TOKEN_SIGNING_KEY');
  if (raw === undefined) {
    if (production) {
      throw new ConfigError(
        'TOKEN_SIGNING_KEY is required when NODE_ENV=production (generate one: openssl rand -base64 48)',
      );
    }
    return undefined;
  }
  if (Buffer.byteLength(raw) < MIN_SIGNING_KEY_BYTES) {
    throw new ConfigError(`TOKEN_SIGNING_KEY must be at least ${MIN_SIGNING_KEY_BYTES} bytes long`);
  }
  return raw;
}

/** Names proxy-addr (Fastify's trustProxy) gives to the private ranges. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** false, true, or the proxies' addresses / CIDR ranges. */
function trustProxy(env: Env, name: string): boolean | readonly string[] {
  const raw = text(env, name);
  if (raw === undefined || /^false$/i.test(raw)) return false;
  if (/^true$/i.test(raw)) return true;
  const ranges = raw.split(',').map((part) => part.trim());
  for (const range of ranges) {
    if (NAMED_RANGES.has(range)) continue;
    const [address = '', bits, extra] = range.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !validBits || extra !== undefined) {
      throw new ConfigError(
        `${name} must be true, false, or proxy addresses / CIDR ranges separated by commas; "${range}" is none of these`,
      );
    }
  }
  return Object.freeze(ranges);
}

const MIB = 1024 * 1024;

/**
 * 60 % of what V8 may allocate: with reads and writes shed from 1.5× that, a
 * higher threshold would leave nothing but searches to refuse before the
 * process runs out of memory.
 */
export function defaultHeapThresholdMib(): number {
  return Math.floor((getHeapStatistics().heap_size_limit * 0.6) / MIB);
}

function rateLimitPolicies(env: Env): PolicyTable {
  try {
    return policyTable(text(env, 'RATE_LIMITS'));
  } catch (error) {
    throw new ConfigError(`RATE_LIMITS: ${(error as Error).message}`);
  }
}

function keyPrefix(env: Env, name: string, fallback: string): string {
  const raw = text(env, name) ?? fallback;
  // The key's hash tag is the caller; braces in the prefix would move it (ADR 0015).
  if (/[{}\s]/.test(raw)) throw new ConfigError(`${name} must not contain braces or spaces`);
  return raw;
}

/** Parses an environment into a frozen Config; throws ConfigError naming the variable at fault. */
export function parseConfig(env: Env): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'], 'development');
  const production = nodeEnv === 'production';
  const host = text(env, 'HOST') ?? (production ? '0.0.0.0' : '127.0.0.1');
  const config: Config = {
    env: nodeEnv,
    port: integer(env, 'PORT', 3000, 0, 65535),
    host,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    dataDir: path.resolve(text(env, 'DATA_DIR') ?? 'data'),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
    tokenSigningKey: signingKey(env, production),
    adminToken: bearerSecret(env, 'ADMIN_TOKEN', MIN_ADMIN_TOKEN_LENGTH),
    accessTokenTtlSeconds: integer(env, 'ACCESS_TOKEN_TTL_SECONDS', 600, 30, 86_400),
    refreshIdleTtlSeconds: integer(env, 'REFRESH_IDLE_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
    refreshAbsoluteTtlSeconds: integer(
      env,
      'REFRESH_ABSOLUTE_TTL_SECONDS',
      90 * 86_400,
      60,
      3 * 365 * 86_400,
    ),
    refreshReuseGraceSeconds: integer(env, 'REFRESH_REUSE_GRACE_SECONDS', 3, 0, 60),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    shutdownDrainDelayMs: integer(
      env,
      'SHUTDOWN_DRAIN_DELAY_MS',
      production ? PRODUCTION_DRAIN_DELAY_MS : 0,
      0,
      600_000,
    ),
    readinessTimeoutMs: integer(env, 'READINESS_TIMEOUT_MS', 500, 1, 60_000),
    trustProxy: trustProxy(env, 'TRUST_PROXY'),
    jobsInProcess: boolean(env, 'JOBS_IN_PROCESS', true),
    jobConcurrency: integer(env, 'JOB_CONCURRENCY', 4, 1, 100),
    // Under 4 hours: past that, graphile-worker takes the lock back on its own.
    jobLockTimeoutSeconds: integer(env, 'JOB_LOCK_TIMEOUT_SECONDS', 30, 1, 14_400),
    workerMetricsPort: optionalInteger(env, 'WORKER_METRICS_PORT', 1, 65535),
    metricsEnabled: boolean(env, 'METRICS_ENABLED', true),
    metricsToken: bearerSecret(env, 'METRICS_TOKEN', MIN_METRICS_TOKEN_LENGTH),
    metricsPort: optionalInteger(env, 'METRICS_PORT', 1, 65535),
    metricsHost: text(env, 'METRICS_HOST') ?? host,
    trashRetentionDays: integer(env, 'TRASH_RETENTION_DAYS', 30, 1, 3650),
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    smtpFrom: text(env, 'SMTP_FROM') ?? DEFAULT_SMTP_FROM,
    rateLimit: {
      enabled: boolean(env, 'RATE_LIMIT_ENABLED', true),
      policies: rateLimitPolicies(env),
      concurrency: integer(env, 'RATE_LIMIT_CONCURRENCY', 20, 0, 100_000),
      nodeRequestsPerSecond: integer(env, 'RATE_LIMIT_NODE_RPS', 10_000, 0, 10_000_000),
      redisTimeoutMs: integer(env, 'RATE_LIMIT_REDIS_TIMEOUT_MS', 25, 1, 10_000),
      redisKeyPrefix: keyPrefix(env, 'RATE_LIMIT_KEY_PREFIX', 'rl:'),
    },
    loadShedding: {
      maxEventLoopDelayMs: integer(env, 'LOAD_SHED_EVENT_LOOP_DELAY_MS', 100, 0, 60_000),
      maxHeapUsedBytes:
        integer(env, 'LOAD_SHED_HEAP_USED_MB', defaultHeapThresholdMib(), 0, 1_000_000) * MIB,
      maxInFlight: integer(env, 'LOAD_SHED_MAX_IN_FLIGHT', 256, 0, 10_000_000),
    },
    webhooks: {
      allowPrivateTargets: boolean(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', false),
      retryScheduleMs: durations(env, 'WEBHOOK_RETRY_SCHEDULE', DEFAULT_WEBHOOK_RETRY_SCHEDULE),
      timeoutMs: duration(env, 'WEBHOOK_TIMEOUT', '10s'),
      circuitFailures: integer(env, 'WEBHOOK_CIRCUIT_FAILURES', 5, 1, 1000),
      circuitCooldownMs: duration(env, 'WEBHOOK_CIRCUIT_COOLDOWN', '1m'),
    },
    observability: {
      slowRequestMs: integer(env, 'SLOW_REQUEST_MS', 1000, 0, 600_000),
      slowQueryMs: integer(env, 'SLOW_QUERY_MS', 250, 0, 600_000),
      tracing: tracingConfig(env),
    },
  };
  if (config.metricsPort !== undefined && config.metricsPort === config.port) {
    throw new ConfigError(
      'METRICS_PORT must differ from PORT (unset it to serve /metrics on PORT)',
    );
  }
  if (config.refreshIdleTtlSeconds > config.refreshAbsoluteTtlSeconds) {
    throw new ConfigError('REFRESH_IDLE_TTL_SECONDS must not exceed REFRESH_ABSOLUTE_TTL_SECONDS');
  }
  return Object.freeze(config);
}

/** The process's configuration. The one place in src/ that reads `process.env`. */
export function loadConfig(): Config {
  return parseConfig(process.env);
}
