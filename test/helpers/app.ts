import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { type Config, parseConfig } from '../../src/config.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { readMigrations } from '../../src/db/migrator.ts';
import type { ServingState } from '../../src/observability/health.ts';
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts';
import { createQueryObserver } from '../../src/observability/query-observer.ts';
import { deriveKeys } from '../../src/secrets.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export const GENEROUS_RATE_LIMITS = [
  'read.free',
  'read.pro',
  'write.free',
  'write.pro',
  'search.free',
  'search.pro',
  'auth',
  'login',
]
  .map((policy) => `${policy}=100000/60`)
  .join(' ');

/** Every log line the app wrote, parsed, for tests that read the logs. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly database: Database;
  readonly logs: LogCapture;
  /** Another app instance on the same database, as a second API node would be. */
  another(env?: Record<string, string>): Promise<FastifyInstance>;
  close(): Promise<void>;
}

interface TestAppOptions {
  /** Extra environment for config.ts, e.g. { REFRESH_REUSE_GRACE_SECONDS: '0' }. */
  readonly env?: Record<string, string>;
  /** Reuse a database (several apps on one database); a fresh one otherwise. */
  readonly database?: TestDatabase;
  /** The metrics the app serves at /metrics (a test shares them with a job worker); fresh ones otherwise. */
  readonly metrics?: Metrics;
  /** What /readyz reports as draining; a test calls beginDraining() on it, as main.ts does on SIGTERM. */
  readonly serving?: ServingState;
}

/** The app on a fresh copy of the migrated database, with logs captured at debug level. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const testDb = options.database ?? (await createTestDatabase());
  const signingKey = randomBytes(32).toString('base64');
  const configFor = (env: Record<string, string> = {}) =>
    parseConfig({
      NODE_ENV: 'test',
      DATABASE_URL: testDb.url,
      TOKEN_SIGNING_KEY: signingKey,
      LOG_LEVEL: 'debug',
      DATABASE_POOL_SIZE: '20',
      // Limits stay on, so every test passes through the limiter, but far above
      // what any test sends (one fires 100 creates at once from one user).
      RATE_LIMITS: GENEROUS_RATE_LIMITS,
      RATE_LIMIT_CONCURRENCY: '1000',
      // Timing signals on a busy CI machine would shed requests at random.
      LOAD_SHED_EVENT_LOOP_DELAY_MS: '0',
      LOAD_SHED_HEAP_USED_MB: '0',
      ...options.env,
      ...env,
    });
  const config = configFor();
  // As runtime.ts does: one set of metrics, which also times the app's SQL.
  const metrics = options.metrics ?? createMetrics();
  const database = openDatabase(testDb.url, config.databasePoolSize, {
    onQuery: createQueryObserver({
      registry: config.metricsEnabled ? metrics.registry : undefined,
      slowQueryMs: config.observability.slowQueryMs,
    }),
  });
  const migrations = await readMigrations();
  const logs = new LogCapture();
  const build = (
    cfg: Config,
    db: Database,
    stream: Writable,
    metrics?: Metrics,
    serving?: ServingState,
  ) =>
    buildApp({
      config: cfg,
      db: db.db,
      keys: deriveKeys(signingKey),
      migrations,
      logStream: stream,
      metrics,
      serving,
    });
  const app = await build(config, database, logs, metrics, options.serving);
  const others: { app: FastifyInstance; database: Database }[] = [];
  return {
    app,
    config,
    database,
    logs,
    async another(env) {
      const cfg = configFor(env);
      const otherDb = openDatabase(testDb.url, cfg.databasePoolSize);
      const other = await build(cfg, otherDb, new LogCapture());
      others.push({ app: other, database: otherDb });
      return other;
    },
    async close() {
      for (const other of others) {
        await other.app.close();
        await other.database.close();
      }
      await app.close();
      await database.close();
      if (!options.database) await testDb.drop();
    },
  };
}
