import { Kysely, type LogEvent, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { preparingPool } from './prepared-statements.ts';
import type { DB } from './types.ts';

export type Db = Kysely<DB>;
export type Trx = Transaction<DB>;

// Return BIGINT (int8) and NUMERIC as JS numbers only where we know they fit;
// counts come back as strings by default, which is the safe choice for money-like
// values but noise for row counts. Tasklane stores no int8 that can exceed 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));
// A DATE column stays 'YYYY-MM-DD': turning it into a Date would shift it by the
// server's time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

// Sessions run in UTC (see `options` below), so a timestamptz arrives as
// '2026-11-22 06:11:38.123+00', which Date parses natively once it looks like
// ISO 8601 — several times faster than the general parser, which stays the
// fallback for anything else (infinity, BC dates, other offsets). A page of 50
// tasks parses 150 of these.
const UTC_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00$/;
const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ);
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (value) =>
  UTC_TIMESTAMP.test(value)
    ? new Date(`${value.slice(0, 10)}T${value.slice(11, -3)}Z`)
    : (parseTimestamptz(value) as Date),
);

export interface Database {
  readonly db: Db;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Told of every statement Kysely runs, when it ends (observability/query-observer.ts). */
  readonly onQuery?: (event: LogEvent) => void;
}

/** A pg Pool and the Kysely instance over it. */
export function openDatabase(
  connectionString: string,
  poolSize: number,
  options: DatabaseOptions = {},
): Database {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    // A query that waits this long for a connection fails instead of queueing forever.
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    // Recycled hourly: bounds each connection's cache of prepared statements.
    maxLifetimeSeconds: 3600,
    application_name: 'tasklane',
    options: '-c TimeZone=UTC',
  });
  // An idle client that loses its server emits 'error' on the pool; without a
  // listener that would crash the process. The next checkout reconnects.
  pool.on('error', () => {});
  // A checked-out client whose server goes away emits 'error' too (a LISTEN
  // connection held by the job worker, say). The query in flight rejects with
  // it, which is where it is handled; the event alone must not crash the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool: preparingPool(pool) }),
    ...(options.onQuery ? { log: options.onQuery } : {}),
  });
  return {
    db,
    pool,
    // db.destroy() ends the pool too.
    close: () => db.destroy(),
  };
}
