/** What notification jobs read about their sources: events, tasks, comments, names. */
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Event, TaskStatus } from '../db/types.ts';

export function findEvent(db: Db, id: string): Promise<Event | undefined> {
  return db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A task with what a notification says about it (its key) and where it lives. */
export interface NotifiedTask {
  readonly id: string;
  readonly project_id: string;
  readonly team_id: string;
  readonly project_key: string;
  readonly number: number;
  readonly title: string;
  readonly status: TaskStatus;
  readonly assignee_id: string | null;
  readonly due_date: string | null;
  readonly deleted_at: Date | null;
  readonly archived_at: Date | null;
}

function notifiedTasks(db: Db) {
  return db
    .selectFrom('tasks as t')
    .innerJoin('projects as p', 'p.id', 't.project_id')
    .select([
      't.id',
      't.project_id',
      'p.team_id',
      'p.key as project_key',
      't.number',
      't.title',
      't.status',
      't.assignee_id',
      't.due_date',
      't.deleted_at',
      'p.archived_at',
    ]);
}

export function findNotifiedTask(db: Db, taskId: string): Promise<NotifiedTask | undefined> {
  return notifiedTasks(db).where('t.id', '=', taskId).executeTakeFirst();
}

export function findComment(
  db: Db,
  commentId: string,
): Promise<{ author_id: string | null; body: string; deleted_at: Date | null } | undefined> {
  return db
    .selectFrom('comments')
    .select(['author_id', 'body', 'deleted_at'])
    .where('id', '=', commentId)
    .executeTakeFirst();
}

/** Display names by user id, for the text of a notification. */
export async function userNames(db: Db, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('users').select(['id', 'name']).where('id', 'in', ids).execute();
  return new Map(rows.map((row) => [row.id, row.name]));
}

/**
 * A batch of live, open, assigned tasks due on `dueDate` in live projects whose
 * assignee has not been told yet (no inbox row and no send for the source key),
 * keyset on id. Not yet told is only a shortcut: createNotifications is
 * idempotent by constraint anyway.
 */
export function tasksDueOn(
  db: Db,
  dueDate: string,
  page: { after: string | undefined; limit: number },
): Promise<NotifiedTask[]> {
  const sourceKey = sql<string>`'due_soon:' || t.id || ':' || to_char(t.due_date, 'YYYY-MM-DD')`;
  let query = notifiedTasks(db)
    .where('t.due_date', '=', dueDate)
    .where('t.deleted_at', 'is', null)
    .where('t.status', 'not in', ['done', 'canceled'])
    .where('t.assignee_id', 'is not', null)
    .where('p.archived_at', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('notifications as n')
            .select(sql`1`.as('one'))
            .whereRef('n.user_id', '=', 't.assignee_id')
            .where('n.source_key', '=', sourceKey),
        ),
      ),
    )
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('notification_sends as s')
            .select(sql`1`.as('one'))
            .whereRef('s.user_id', '=', 't.assignee_id')
            .where('s.source_key', '=', sourceKey),
        ),
      ),
    );
  if (page.after !== undefined) query = query.where('t.id', '>', page.after);
  return query.orderBy('t.id').limit(page.limit).execute();
}
