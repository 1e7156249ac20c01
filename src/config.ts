import path from 'node:path';

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
  readonly accessTokenTtlSeconds: number;
  readonly refreshIdleTtlSeconds: number;
  readonly refreshAbsoluteTtlSeconds: number;
  readonly refreshReuseGraceSeconds: number;
  readonly shutdownTimeoutMs: number;
  readonly trustProxy: boolean;
}

interface Setting {
  readonly name: string;
  readonly description: string;
  readonly default: string;
}

/** The table the README's configuration section is written from. */
export const settings: readonly Setting[] = [
  { name: 'PORT', description: 'TCP port the HTTP server listens on', default: '3000' },
  {
    name: 'HOST',
    description: 'Interface to bind',
    default: '127.0.0.1 (development), 0.0.0.0 (production)',
  },
  {
    name: 'NODE_ENV',
    description: '`development`, `production` or `test`; production requires explicit secrets',
    default: 'development',
  },
  {
    name: 'DATABASE_URL',
    description: 'PostgreSQL connection string; unset starts an embedded PostgreSQL',
    default: 'embedded, under `$DATA_DIR/pg`',
  },
  { name: 'DATABASE_POOL_SIZE', description: 'Connections in the pg pool', default: '10' },
  {
    name: 'DATA_DIR',
    description: 'Where embedded PostgreSQL and generated secrets live',
    default: './data',
  },
  {
    name: 'REDIS_URL',
    description: 'Redis for shared limits and fan-out; unset uses in-process stores',
    default: 'unset',
  },
  {
    name: 'LOG_LEVEL',
    description: 'pino level: fatal, error, warn, info, debug, trace, silent',
    default: 'info',
  },
  {
    name: 'TOKEN_SIGNING_KEY',
    description:
      'Secret from which the access-token, refresh-token and cursor keys are derived, ≥ 32 bytes; required in production',
    default: 'generated into `$DATA_DIR/secrets.json`',
  },
  { name: 'ACCESS_TOKEN_TTL_SECONDS', description: 'Access token lifetime', default: '600' },
  {
    name: 'REFRESH_IDLE_TTL_SECONDS',
    description: 'A refresh token unused this long expires',
    default: '2592000 (30 days)',
  },
  {
    name: 'REFRESH_ABSOLUTE_TTL_SECONDS',
    description: 'A refresh token family expires this long after login, however used',
    default: '7776000 (90 days)',
  },
  {
    name: 'REFRESH_REUSE_GRACE_SECONDS',
    description:
      'How long a spent refresh token still answers with its successor (concurrent double refresh)',
    default: '3',
  },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    description: 'How long SIGTERM waits for in-flight requests before closing connections',
    default: '10000',
  },
  {
    name: 'TRUST_PROXY',
    description: 'Trust `X-Forwarded-*` from a reverse proxy (true/false)',
    default: 'false',
  },
];

/** A bad setting: main prints its message as the one line it exits with. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.join(' or ')}`);
  }
  return raw;
}

export const MIN_SIGNING_KEY_BYTES = 32;

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

/** Parses an environment into a frozen Config; throws ConfigError naming the variable at fault. */
export function parseConfig(env: Env): Config {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'], 'development');
  const production = nodeEnv === 'production';
  const config: Config = {
    env: nodeEnv,
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: text(env, 'HOST') ?? (production ? '0.0.0.0' : '127.0.0.1'),
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
    trustProxy: boolean(env, 'TRUST_PROXY', false),
  };
  if (config.refreshIdleTtlSeconds > config.refreshAbsoluteTtlSeconds) {
    throw new ConfigError('REFRESH_IDLE_TTL_SECONDS must not exceed REFRESH_ABSOLUTE_TTL_SECONDS');
  }
  return Object.freeze(config);
}

/** The process's configuration. The one place in src/ that reads `process.env`. */
export function loadConfig(): Config {
  return parseConfig(process.env);
}
