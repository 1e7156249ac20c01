import type { ProjectAccess } from '../../auth/project-permissions.ts';
import type { Db, Trx } from '../../db/database.ts';
import type { Comment } from '../../db/types.ts';
import { appendEvent, diffFields } from '../../events/event-log.ts';
import { assertIfMatch, type IfMatch } from '../../http/etag.ts';
import { accessToComment, assertMayChange, assertNotArchived } from './comment-access.ts';
import { type CommentInContext, lockComment, updateComment } from './comments.repository.ts';
import { presentComment } from './comments.schemas.ts';
import { checkCommentBody } from './comments.service.ts';

/**
 * Runs a change to one comment with its row locked, after the checks every change
 * shares, in this order: 404 (cannot see it), 403 (neither its author nor a
 * moderator), 409 (archived project), 412 (stale If-Match).
 */
async function withCommentLocked<T>(
  db: Db,
  userId: string,
  commentId: string,
  options: { includeTrash: boolean; ifMatch: IfMatch | undefined },
  change: (trx: Trx, comment: CommentInContext, access: ProjectAccess) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const comment = await lockComment(trx, commentId);
    const access = await accessToComment(trx, userId, comment, options);
    assertMayChange(access, comment!, userId);
    assertNotArchived(access);
    assertIfMatch(options.ifMatch, comment!.version);
    return change(trx, comment!, access);
  });
}

const eventOf = (access: ProjectAccess, userId: string, comment: Comment) => ({
  teamId: access.teamId,
  projectId: access.projectId,
  actorId: userId,
  subjectId: comment.id,
});

/** JSON Merge Patch of the body; its author or a moderator. */
export async function editComment(
  db: Db,
  userId: string,
  commentId: string,
  patch: { body?: string },
  ifMatch: IfMatch | undefined,
): Promise<Comment> {
  const body = patch.body === undefined ? undefined : checkCommentBody(patch.body);
  const options = { includeTrash: false, ifMatch };
  return withCommentLocked(db, userId, commentId, options, async (trx, comment, access) => {
    const changes = diffFields({ body: comment.body }, { body });
    // A patch that changes nothing is not a change: version, ETag and the log stay put.
    if (Object.keys(changes).length === 0) return comment;
    const updated = await updateComment(trx, comment.id, { body }, new Date());
    await appendEvent(trx, {
      ...eventOf(access, userId, updated),
      type: 'comment.updated',
      data: { task_id: updated.task_id, changes },
    });
    return updated;
  });
}

/** Moves a live comment to the trash; its author or a moderator. */
export async function deleteComment(
  db: Db,
  userId: string,
  commentId: string,
  ifMatch: IfMatch | undefined,
): Promise<void> {
  const options = { includeTrash: false, ifMatch };
  await withCommentLocked(db, userId, commentId, options, async (trx, comment, access) => {
    const at = new Date();
    await updateComment(trx, comment.id, { deleted_at: at }, at);
    await appendEvent(trx, {
      ...eventOf(access, userId, comment),
      type: 'comment.deleted',
      data: { task_id: comment.task_id, deleted_at: at.toISOString() },
    });
  });
}

/**
 * Brings a comment back from the trash; its author or a moderator. Restoring a
 * live comment changes nothing and answers it as it is, so a retry is harmless.
 */
export async function restoreComment(
  db: Db,
  userId: string,
  commentId: string,
  ifMatch: IfMatch | undefined,
): Promise<Comment> {
  const options = { includeTrash: true, ifMatch };
  return withCommentLocked(db, userId, commentId, options, async (trx, comment, access) => {
    if (comment.deleted_at === null) return comment;
    const restored = await updateComment(trx, comment.id, { deleted_at: null }, new Date());
    await appendEvent(trx, {
      ...eventOf(access, userId, restored),
      type: 'comment.restored',
      // The whole comment, as for comment.created: a feed that dropped it can show it again.
      data: presentComment(restored),
    });
    return restored;
  });
}
