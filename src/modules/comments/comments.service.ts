import type { Db } from '../../db/database.ts';
import type { Comment } from '../../db/types.ts';
import { appendEvent } from '../../events/event-log.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { splitPage } from '../../http/pagination.ts';
import { invalidField } from '../../http/problems.ts';
import { uuidv7 } from '../../lib/ids.ts';
import { accessToComment, accessToTask, assertNotArchived } from './comment-access.ts';
import {
  type CommentPosition,
  findComment,
  findTask,
  insertComment,
  listComments,
  lockTaskShared,
} from './comments.repository.ts';
import { presentComment } from './comments.schemas.ts';

/**
 * Markdown keeps its whitespace (indentation, trailing line breaks), so the body
 * is stored as sent; only a body with nothing but whitespace is refused.
 */
export function checkCommentBody(body: string): string {
  if (body.trim() === '') throw invalidField('/body', 'must not be blank');
  return body;
}

/** A new comment on a live task, with its comment.created event, in one transaction. */
export async function createComment(
  db: Db,
  userId: string,
  taskId: string,
  input: { body: string },
): Promise<Comment> {
  const body = checkCommentBody(input.body);
  return db.transaction().execute(async (trx) => {
    const task = await lockTaskShared(trx, taskId);
    const access = await accessToTask(trx, userId, task, 'comment.write');
    assertNotArchived(access);
    const now = new Date();
    const comment = await insertComment(trx, {
      id: uuidv7(now.getTime()),
      task_id: taskId,
      author_id: userId,
      body,
      created_at: now,
      updated_at: now,
    });
    // The whole comment, body included: the event log is the audit trail.
    await appendEvent(trx, {
      teamId: access.teamId,
      projectId: access.projectId,
      type: 'comment.created',
      actorId: userId,
      subjectId: comment.id,
      data: presentComment(comment),
    });
    return comment;
  });
}

/** One live comment on a live task the caller can see. */
export async function getComment(db: Db, userId: string, commentId: string): Promise<Comment> {
  const comment = await findComment(db, commentId);
  await accessToComment(db, userId, comment, { includeTrash: false });
  return comment!;
}

/** A page of a task's comments, oldest first, or of its trash (`trash`). */
export async function listTaskComments(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  taskId: string,
  query: { limit: number; cursor?: string; deleted?: 'only' },
): Promise<{ comments: Comment[]; nextCursor: string | null }> {
  await accessToTask(db, userId, await findTask(db, taskId), 'task.read');
  const trash = query.deleted === 'only';
  const binding = { list: 'comments', taskId, deleted: query.deleted ?? null };
  const after = query.cursor ? positionOf(cursors.decode(query.cursor, binding)) : undefined;
  const rows = await listComments(db, taskId, { trash, after, limit: query.limit + 1 });
  const { items, last, hasMore } = splitPage(rows, query.limit);
  if (!hasMore || !last) return { comments: items, nextCursor: null };
  const at = trash ? last.deleted_at! : last.created_at;
  return { comments: items, nextCursor: cursors.encode(binding, [at.toISOString(), last.id]) };
}

function positionOf(position: readonly unknown[]): CommentPosition {
  return { at: new Date(String(position[0])), id: String(position[1]) };
}
