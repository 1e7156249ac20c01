/** The life of one send row: pending → sending → sent, or failed (ADR 0020). */
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { NotificationSend } from '../db/types.ts';

export const MAX_ERROR_LENGTH = 1000;

/**
 * Claims a send for an attempt: `sending`, one attempt more. A row already
 * `sent` is never claimed, so never sent again. A row left `sending` (a worker
 * died mid-attempt: the message may or may not have gone) is claimed again and
 * re-sent under its same Message-ID. A `failed` row is claimed only when an
 * operator re-runs its job from the dead-letter list.
 */
export function claimSend(db: Db, id: string): Promise<NotificationSend | undefined> {
  return db
    .updateTable('notification_sends')
    .set((eb) => ({ state: 'sending', attempts: eb('attempts', '+', 1) }))
    .where('id', '=', id)
    .where('state', 'in', ['pending', 'sending', 'failed'])
    .returningAll()
    .executeTakeFirst();
}

/** The provider accepted the message. */
export async function markSendSent(db: Db, id: string): Promise<void> {
  await db
    .updateTable('notification_sends')
    .set({ state: 'sent', sent_at: sql<Date>`now()`, last_error: null })
    .where('id', '=', id)
    .where('state', '=', 'sending')
    .execute();
}

/**
 * An attempt failed. Before the last attempt the row stays `sending`: the
 * outcome of a failed attempt can be unknown (a timeout after the data went
 * out), and the retry re-sends under the same id either way. After the last, `failed`.
 */
export async function recordSendError(
  db: Db,
  id: string,
  error: string,
  final: boolean,
): Promise<void> {
  await db
    .updateTable('notification_sends')
    .set({ last_error: error.slice(0, MAX_ERROR_LENGTH), ...(final ? { state: 'failed' } : {}) })
    .where('id', '=', id)
    .where('state', '=', 'sending')
    .execute();
}
