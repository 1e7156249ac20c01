import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';

/**
 * Runs `requests` so that they really overlap. Fired with a bare Promise.all, the
 * first often finishes before the second has a pool connection, and a race test
 * passes without any locking at all. Here the row `table.id = id` is held by a
 * transaction of the test's own while the requests start; once they are all waiting
 * on a lock (or `maxWaitMs` has passed, as when the code under test takes no lock),
 * it is released and they proceed together.
 */
export async function raceOnRow<T>(
  db: Db,
  row: { table: 'teams' | 'projects' | 'tasks' | 'comments'; id: string },
  requests: readonly (() => Promise<T>)[],
  maxWaitMs = 2_000,
): Promise<T[]> {
  let racing: Promise<T[]> | undefined;
  await db.transaction().execute(async (trx) => {
    await sql`SELECT 1 FROM ${sql.table(row.table)} WHERE id = ${row.id} FOR UPDATE`.execute(trx);
    racing = Promise.all(requests.map((request) => request()));
    // Awaited by the caller below; this only keeps an early failure from counting as unhandled.
    racing.catch(() => {});
    const deadline = Date.now() + maxWaitMs;
    while (Date.now() < deadline && (await waitingOnLocks(db)) < requests.length) {
      await sleep(5);
    }
  });
  return racing!;
}

/** Sessions of this database blocked on a lock right now. */
async function waitingOnLocks(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(db);
  return rows[0]?.n ?? 0;
}
