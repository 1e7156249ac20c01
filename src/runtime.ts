import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { API_VERSION, buildApp } from './app.ts';
import type { Config } from './config.ts';
import { type Database, openDatabase } from './db/database.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded.ts';
import { type Migration, migrate, readMigrations } from './db/migrator.ts';
import { migrateJobQueue } from './jobs/worker.ts';
import type { ServingState } from './observability/health.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { registerPoolMetrics } from './observability/process-metrics.ts';
import { createQueryObserver } from './observability/query-observer.ts';
import { startTracing } from './observability/tracing.ts';
import { deriveKeys, loadSigningSecret } from './secrets.ts';

export interface Runtime {
  readonly database: Database;
  readonly migrations: readonly Migration[];
  /** One set per process: the API's /metrics and the in-process job worker share it. */
  readonly metrics: Metrics;
  /** Closes the pool, stops the embedded PostgreSQL if this process started one, flushes spans. */
  close(): Promise<void>;
}

type Log = (message: string) => void;

/** The database to use: DATABASE_URL, or an embedded PostgreSQL under DATA_DIR/pg. */
export async function openRuntime(config: Config, log: Log): Promise<Runtime> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (url === undefined) {
    const directory = path.join(config.dataDir, 'pg');
    log(`DATABASE_URL is unset: starting embedded PostgreSQL in ${directory}`);
    embedded = await startEmbeddedPostgres({ directory });
    url = embedded.url;
  }
  // First, so every span of the process has a provider to go to (off: a no-op).
  const tracing = startTracing(config.observability.tracing, API_VERSION);
  const metrics = createMetrics();
  const database = openDatabase(url, config.databasePoolSize, {
    onQuery: createQueryObserver({
      registry: config.metricsEnabled ? metrics.registry : undefined,
      slowQueryMs: config.observability.slowQueryMs,
    }),
  });
  registerPoolMetrics(metrics.registry, database.pool);
  return {
    database,
    migrations: await readMigrations(),
    metrics,
    async close() {
      await database.close();
      await embedded?.stop();
      // Last: the spans of the shutdown itself are sent too.
      await tracing.shutdown();
    },
  };
}

/** Applies pending migrations; every node may call this at start. */
export async function migrateRuntime(runtime: Runtime, log: Log): Promise<void> {
  const applied = await migrate(runtime.database.db);
  log(
    applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database schema is current',
  );
  await migrateJobQueue(runtime.database.pool);
}

export async function buildServer(
  config: Config,
  runtime: Runtime,
  serving: ServingState,
): Promise<FastifyInstance> {
  return buildApp({
    config,
    db: runtime.database.db,
    keys: deriveKeys(loadSigningSecret(config)),
    migrations: runtime.migrations,
    metrics: runtime.metrics,
    serving,
  });
}
