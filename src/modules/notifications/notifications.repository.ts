import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Notification } from '../../db/types.ts';
import { type ChannelPreferences, withDefaults } from '../../notifications/preferences.ts';

/**
 * A page of a user's inbox, newest first, keyset on id alone (UUIDv7): served
 * by notifications_user_id_idx, or notifications_user_unread_idx for `unread`
 * (the partial index's predicate is repeated so the planner matches it).
 */
export function listInbox(
  db: Db,
  userId: string,
  page: { unread: boolean; before: string | undefined; limit: number },
): Promise<Notification[]> {
  let query = db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
  if (page.unread) query = query.where('read_at', 'is', null);
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  return query.orderBy('id', 'desc').limit(page.limit).execute();
}

export function findNotification(
  db: Db,
  userId: string,
  id: string,
): Promise<Notification | undefined> {
  return db
    .selectFrom('notifications')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

/** Marks it read if it is unread; returns it only when this call changed it. */
export function markRead(db: Db, userId: string, id: string): Promise<Notification | undefined> {
  return db
    .updateTable('notifications')
    .set({ read_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Every unread notification of the user, read now. Returns how many. */
export async function markAllRead(db: Db, userId: string): Promise<number> {
  const result = await db
    .updateTable('notifications')
    .set({ read_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function findPreferences(db: Db, userId: string): Promise<ChannelPreferences> {
  const row = await db
    .selectFrom('notification_preferences')
    .select(['in_app', 'email', 'push', 'sms'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return withDefaults(row);
}

/**
 * Sets the given channels. The first choice creates the row, whose other columns
 * take the table's defaults; one statement either way, so concurrent patches of
 * different channels both land.
 */
export async function upsertPreferences(
  db: Db,
  userId: string,
  patch: Partial<ChannelPreferences>,
): Promise<ChannelPreferences> {
  const now = new Date();
  const row = await db
    .insertInto('notification_preferences')
    .values({ user_id: userId, ...patch, updated_at: now })
    .onConflict((conflict) => conflict.column('user_id').doUpdateSet({ ...patch, updated_at: now }))
    .returning(['in_app', 'email', 'push', 'sms'])
    .executeTakeFirstOrThrow();
  return withDefaults(row);
}
