/** The SQL behind createNotifications: who receives, and the rows that record it. */
import type { Insertable } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { NotificationSendsTable, NotificationsTable } from '../db/types.ts';
import { type ChannelPreferences, withDefaults } from './preferences.ts';

export interface Recipient {
  readonly id: string;
  readonly email: string;
  readonly preferences: ChannelPreferences;
}

/** The users among `userIds` that exist, with their address and channel preferences. */
export async function findRecipients(
  db: Db | Trx,
  userIds: readonly string[],
): Promise<Recipient[]> {
  if (userIds.length === 0) return [];
  const rows = await db
    .selectFrom('users as u')
    .leftJoin('notification_preferences as p', 'p.user_id', 'u.id')
    .select(['u.id', 'u.email', 'p.in_app', 'p.email as email_on', 'p.push', 'p.sms'])
    .where('u.id', 'in', userIds)
    .orderBy('u.id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    email: row.email,
    preferences: withDefaults({
      in_app: row.in_app,
      email: row.email_on,
      push: row.push,
      sms: row.sms,
    }),
  }));
}

/** Inbox rows; one that exists for (user, source_key) is left as it is. Returns how many are new. */
export async function insertInboxRows(
  trx: Trx,
  rows: readonly Insertable<NotificationsTable>[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await trx
    .insertInto('notifications')
    .values([...rows])
    .onConflict((conflict) => conflict.columns(['user_id', 'source_key']).doNothing())
    .returning('id')
    .execute();
  return inserted.length;
}

/**
 * Send rows; one that exists for (user, source_key, channel) is left as it is,
 * whatever its state. Returns the ids of the new ones: only they get a job.
 */
export async function insertSends(
  trx: Trx,
  rows: readonly Insertable<NotificationSendsTable>[],
): Promise<string[]> {
  if (rows.length === 0) return [];
  const inserted = await trx
    .insertInto('notification_sends')
    .values([...rows])
    .onConflict((conflict) => conflict.columns(['user_id', 'source_key', 'channel']).doNothing())
    .returning('id')
    .execute();
  return inserted.map((row) => row.id);
}

/** The owners and admins of a team: those who manage it. */
export async function teamManagerIds(db: Db | Trx, teamId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('team_members')
    .select('user_id')
    .where('team_id', '=', teamId)
    .where('role', 'in', ['owner', 'admin'])
    .orderBy('user_id')
    .execute();
  return rows.map((row) => row.user_id);
}
