import {
  authorizeProject,
  type ProjectAccess,
  type ProjectAction,
  projectAccess,
  projectRoleAllows,
} from '../../auth/project-permissions.ts';
import type { Db, Trx } from '../../db/database.ts';
import { AppError } from '../../http/problems.ts';
import type { CommentedTask, CommentInContext } from './comments.repository.ts';

export const taskNotFound = () => new AppError('not_found', 'task not found');
export const commentNotFound = () => new AppError('not_found', 'comment not found');

const forbidden = (access: ProjectAccess, what: string) =>
  new AppError('forbidden', `your role in this project (${access.role}) does not allow ${what}`);

/**
 * The caller's access to the project of a live task they can see. A task in the
 * trash is 404 here, as the task itself is: its comments go with it until restored.
 */
export async function accessToTask(
  db: Db | Trx,
  userId: string,
  task: CommentedTask | undefined,
  action: ProjectAction,
): Promise<ProjectAccess> {
  if (!task || task.deleted_at !== null) throw taskNotFound();
  return authorizeProject(db, userId, task.project_id, action, taskNotFound);
}

/**
 * The caller's access to a comment they can see: its task is live and its project
 * visible to them. `includeTrash` admits a soft-deleted comment (to restore it).
 */
export async function accessToComment(
  db: Db | Trx,
  userId: string,
  comment: CommentInContext | undefined,
  options: { includeTrash: boolean },
): Promise<ProjectAccess> {
  if (!comment || comment.task_deleted_at !== null) throw commentNotFound();
  if (comment.deleted_at !== null && !options.includeTrash) throw commentNotFound();
  const access = (await projectAccess(db, userId, [comment.project_id])).get(comment.project_id);
  if (!access) throw commentNotFound();
  return access;
}

/**
 * Changing a comment takes its author (who must still be allowed to comment) or a
 * moderator, i.e. a project admin: a member cannot edit someone else's words.
 */
export function assertMayChange(
  access: ProjectAccess,
  comment: Pick<CommentInContext, 'author_id'>,
  userId: string,
): void {
  const own = comment.author_id !== null && comment.author_id === userId;
  if (!projectRoleAllows(access.role, own ? 'comment.write' : 'comment.moderate')) {
    throw forbidden(access, own ? 'commenting' : "changing other people's comments");
  }
}

/** Comments of an archived project are read-only, like everything else in it. */
export function assertNotArchived(access: ProjectAccess): void {
  if (access.archived) {
    throw new AppError('conflict', 'the project is archived: unarchive it to change its comments');
  }
}
