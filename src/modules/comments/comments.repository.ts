import { sql } from 'kysely';
import type { Db, Trx } from '../../db/database.ts';
import { purgeSoftDeleted } from '../../db/purge.ts';
import type { Comment } from '../../db/types.ts';

/** A task as comments see it: where it lives, and whether it is in the trash. */
export interface CommentedTask {
  id: string;
  project_id: string;
  team_id: string;
  deleted_at: Date | null;
}

/** A comment with the task and project it hangs under, for visibility and rules. */
export type CommentInContext = Comment & {
  project_id: string;
  team_id: string;
  task_deleted_at: Date | null;
};

function tasksWithTeam(db: Db | Trx, taskId: string) {
  return db
    .selectFrom('tasks as t')
    .innerJoin('projects as p', 'p.id', 't.project_id')
    .select(['t.id', 't.project_id', 'p.team_id', 't.deleted_at'])
    .where('t.id', '=', taskId);
}

export function findTask(db: Db, taskId: string): Promise<CommentedTask | undefined> {
  return tasksWithTeam(db, taskId).executeTakeFirst();
}

/**
 * The task, share-locked until the transaction ends: a concurrent soft delete of
 * the task waits for the new comment to commit, or the comment sees it deleted.
 */
export function lockTaskShared(trx: Trx, taskId: string): Promise<CommentedTask | undefined> {
  return tasksWithTeam(trx, taskId).forShare('t').executeTakeFirst();
}

function commentsInContext(db: Db | Trx, commentId: string) {
  return db
    .selectFrom('comments as c')
    .innerJoin('tasks as t', 't.id', 'c.task_id')
    .innerJoin('projects as p', 'p.id', 't.project_id')
    .selectAll('c')
    .select(['t.project_id', 'p.team_id', 't.deleted_at as task_deleted_at'])
    .where('c.id', '=', commentId);
}

export function findComment(db: Db, commentId: string): Promise<CommentInContext | undefined> {
  return commentsInContext(db, commentId).executeTakeFirst();
}

/** The comment, locked for update until the transaction ends: writers queue behind it. */
export function lockComment(trx: Trx, commentId: string): Promise<CommentInContext | undefined> {
  return commentsInContext(trx, commentId).forUpdate('c').executeTakeFirst();
}

export function insertComment(
  trx: Trx,
  comment: {
    id: string;
    task_id: string;
    author_id: string;
    body: string;
    created_at: Date;
    updated_at: Date;
  },
): Promise<Comment> {
  return trx.insertInto('comments').values(comment).returningAll().executeTakeFirstOrThrow();
}

/** Sets `changes`, stamps updated_at and bumps the version, so the ETag moves. */
export function updateComment(
  trx: Trx,
  id: string,
  changes: { body?: string; deleted_at?: Date | null },
  at: Date,
): Promise<Comment> {
  return trx
    .updateTable('comments')
    .set((eb) => ({ ...changes, updated_at: at, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Where a page of comments starts: strictly after this (time, id). */
export interface CommentPosition {
  at: Date;
  id: string;
}

/**
 * A page of a task's comments. Live ones in the order they were posted, keyset on
 * (created_at, id), served by comments_task_created_idx; the trash in the order
 * of deletion, keyset on (deleted_at, id), served by comments_task_deleted_idx.
 * Both indexes are partial, so each predicate repeats their WHERE clause.
 */
export function listComments(
  db: Db,
  taskId: string,
  page: { trash: boolean; after: CommentPosition | undefined; limit: number },
): Promise<Comment[]> {
  const key = page.trash ? sql.ref('deleted_at') : sql.ref('created_at');
  let query = db
    .selectFrom('comments')
    .selectAll()
    .where('task_id', '=', taskId)
    .where('deleted_at', page.trash ? 'is not' : 'is', null);
  const after = page.after;
  if (after) query = query.where(sql<boolean>`(${key}, id) > (${after.at}, ${after.id}::uuid)`);
  return query
    .orderBy(page.trash ? 'deleted_at' : 'created_at')
    .orderBy('id')
    .limit(page.limit)
    .execute();
}

/**
 * The seam for the purge job (jobs issue): deletes for good up to `batchSize`
 * comments trashed before `olderThan` and returns how many. The job calls it in a
 * loop until it returns less than a batch. Rows locked right now (being restored)
 * are skipped, not waited for, and one restored meanwhile no longer matches. No
 * event: comment.deleted already recorded the change people saw.
 */
export function purgeDeletedComments(db: Db, olderThan: Date, batchSize: number): Promise<number> {
  return purgeSoftDeleted(db, 'comments', olderThan, batchSize);
}
