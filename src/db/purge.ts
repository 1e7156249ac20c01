import { sql } from 'kysely';
import type { Db } from './database.ts';

/**
 * Deletes for good up to `batchSize` rows of `table` soft-deleted before
 * `olderThan`, returning how many went. Small batches keep each statement's locks
 * short; SKIP LOCKED lets several workers purge at once without waiting on each
 * other or on a restore in progress. The jobs issue schedules it.
 */
export async function purgeSoftDeleted(
  db: Db,
  table: 'tasks' | 'comments',
  olderThan: Date,
  batchSize: number,
): Promise<number> {
  const result = await sql`DELETE FROM ${sql.table(table)} WHERE id IN (
      SELECT id FROM ${sql.table(table)}
      WHERE deleted_at < ${olderThan}
      LIMIT ${batchSize}
      FOR UPDATE SKIP LOCKED)`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
