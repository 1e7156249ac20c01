import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/**
 * The revision of its schema that the graphile-worker we ship installs (0.18.0:
 * migrations 000001 to 000020). graphile-worker exports no such number, so it is
 * written here; queue-schema.test.ts fails when an upgrade moves it.
 */
export const JOB_QUEUE_SCHEMA_REVISION = 20;

/**
 * The highest graphile-worker migration applied to this database, or undefined
 * when none is. Throws as the query does when the `graphile_worker` schema is
 * missing (SQLSTATE 42P01).
 */
export async function jobQueueSchemaRevision(db: Db): Promise<number | undefined> {
  const { rows } = await sql<{ revision: number | null }>`
    SELECT max(id) AS revision FROM graphile_worker.migrations
  `.execute(db);
  return rows[0]?.revision ?? undefined;
}
