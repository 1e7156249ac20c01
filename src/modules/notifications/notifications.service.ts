import type { Db } from '../../db/database.ts';
import type { Notification } from '../../db/types.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { splitPage } from '../../http/pagination.ts';
import { AppError } from '../../http/problems.ts';
import type { ChannelPreferences } from '../../notifications/preferences.ts';
import {
  findNotification,
  findPreferences,
  listInbox,
  markAllRead,
  markRead,
  upsertPreferences,
} from './notifications.repository.ts';

const notificationNotFound = () => new AppError('not_found', 'notification not found');

/** A page of the caller's own inbox, newest first; `unread` keeps the unread ones. */
export async function listNotifications(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  query: { limit: number; cursor?: string; unread?: boolean },
): Promise<{ notifications: Notification[]; nextCursor: string | null }> {
  const unread = query.unread === true;
  const binding = { list: 'notifications', userId, unread };
  const before = query.cursor ? String(cursors.decode(query.cursor, binding)[0]) : undefined;
  const rows = await listInbox(db, userId, { unread, before, limit: query.limit + 1 });
  const { items, last, hasMore } = splitPage(rows, query.limit);
  return {
    notifications: items,
    nextCursor: hasMore && last ? cursors.encode(binding, [last.id]) : null,
  };
}

/**
 * Marks one of the caller's notifications read and returns it. Marking it again
 * keeps the first read_at, so a retry answers the same. Someone else's is 404,
 * like one that does not exist.
 */
export async function readNotification(db: Db, userId: string, id: string): Promise<Notification> {
  const changed = await markRead(db, userId, id);
  if (changed) return changed;
  const existing = await findNotification(db, userId, id);
  if (!existing) throw notificationNotFound();
  return existing;
}

export async function readAllNotifications(db: Db, userId: string): Promise<void> {
  await markAllRead(db, userId);
}

export function getPreferences(db: Db, userId: string): Promise<ChannelPreferences> {
  return findPreferences(db, userId);
}

/** JSON Merge Patch of the channels; an empty patch changes nothing and writes nothing. */
export function patchPreferences(
  db: Db,
  userId: string,
  patch: Partial<ChannelPreferences>,
): Promise<ChannelPreferences> {
  if (Object.keys(patch).length === 0) return findPreferences(db, userId);
  return upsertPreferences(db, userId, patch);
}
