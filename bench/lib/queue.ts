// Scratch databases for the job queue benchmarks (bench/jobs/): each one created
// fresh on the benchmark's PostgreSQL server, migrated as `npm test` migrates its
// template (our migrations, then graphile-worker's), emptied between rounds and
// dropped at the end. A bench that needs a queue of its own (webhook deliveries,
// say) creates one more with `createQueueDatabase`.
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrator.ts';
import { migrateJobQueue } from '../../src/jobs/worker.ts';
import { openRuntime } from '../../src/runtime.ts';
import { type BenchDatabase, say } from './database.ts';

/**
 * The server to create scratch databases on, chosen by the app's rules:
 * DATABASE_URL, or an embedded PostgreSQL under DATA_DIR. Unlike
 * openBenchDatabase it migrates nothing: the database it connects to is only
 * used to create and drop others (and to describe the server in the report).
 */
export async function openBenchServer(): Promise<BenchDatabase> {
  const config = loadConfig();
  const runtime = await openRuntime(config, say);
  const url = runtime.database.pool.options.connectionString;
  if (url === undefined) throw new Error('the database pool has no connection string');
  return { config, runtime, db: runtime.database.db, url };
}

/** `url` with its database name replaced by `name`. */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export interface QueueCounts {
  /** Rows left in the queue: waiting, running or failed for good. */
  readonly jobs: number;
  /** Of those, the ones that ran out of attempts. */
  readonly failed: number;
  /** Rows whose last attempt threw (retried or failed). */
  readonly errored: number;
}

export interface QueueDatabase {
  readonly name: string;
  /** For the worker child and the enqueuers. */
  readonly url: string;
  /** A small pool of the bench's own, for the checks between rounds. */
  readonly admin: Database;
  /**
   * Empties the queue: TRUNCATE rather than DELETE, so a round starts with a
   * fresh table and index instead of the dead rows of the last one. Takes an
   * exclusive lock, so call it between rounds, with the workers idle.
   */
  empty(): Promise<void>;
  counts(): Promise<QueueCounts>;
  /** Polls until the queue is empty or `timeoutMs` passed; the last counts. */
  drained(timeoutMs?: number): Promise<QueueCounts>;
  /** Closes the admin pool and drops the database (FORCE: ends stray sessions). */
  drop(): Promise<void>;
}

const identifier = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  return name;
};

/**
 * Drops `name` if a crashed run left it, creates it, runs our migrations and
 * graphile-worker's on it. `server` is any connection to the server.
 */
export async function createQueueDatabase(
  server: BenchDatabase,
  name: string,
): Promise<QueueDatabase> {
  const quoted = identifier(name);
  await sql.raw(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`).execute(server.db);
  await sql.raw(`CREATE DATABASE ${quoted}`).execute(server.db);
  const url = databaseUrl(server.url, name);
  const admin = openDatabase(url, 2);
  await migrate(admin.db);
  await migrateJobQueue(admin.pool);

  const counts = async (): Promise<QueueCounts> => {
    const { rows } = await sql<QueueCounts>`
      SELECT count(*)::int AS jobs,
        (count(*) FILTER (WHERE attempts >= max_attempts))::int AS failed,
        (count(*) FILTER (WHERE last_error IS NOT NULL))::int AS errored
      FROM graphile_worker._private_jobs`.execute(admin.db);
    return rows[0]!;
  };
  return {
    name,
    url,
    admin,
    async empty() {
      await sql`TRUNCATE graphile_worker._private_jobs, graphile_worker._private_job_queues`.execute(
        admin.db,
      );
    },
    counts,
    async drained(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await counts();
        if (now.jobs === 0 || Date.now() > deadline) return now;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async drop() {
      await admin.close();
      await sql.raw(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`).execute(server.db);
    },
  };
}
