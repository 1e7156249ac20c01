import {
  accessFromMembership,
  assertProjectAction,
  authorizeProject,
  type ProjectAccess,
  projectAccess,
} from '../../auth/project-permissions.ts';
import type { Db, Trx } from '../../db/database.ts';
import { appendEvent, type EventType } from '../../events/event-log.ts';
import { assertIfMatch, type IfMatch } from '../../http/etag.ts';
import { AppError, invalidField } from '../../http/problems.ts';
import {
  findTaskWithMembership,
  lockTask,
  type TaskFields,
  type TaskRow,
} from './tasks.repository.ts';

const taskNotFound = () => new AppError('not_found', 'task not found');

export const projectArchived = () =>
  new AppError('conflict', 'the project is archived: unarchive it before changing its tasks');

/** A live task the user can see. Tasks in the trash are 404 here; restore brings them back. */
export async function getTask(db: Db, userId: string, taskId: string): Promise<TaskRow> {
  const row = await findTaskWithMembership(db, taskId, userId);
  if (!row || row.deleted_at !== null) throw taskNotFound();
  assertProjectAction(accessFromMembership(row), 'task.read', taskNotFound);
  return row;
}

/**
 * Runs a change to one task in a transaction, with the task row locked, once the
 * user may write to its project, the project is not archived and `If-Match`
 * admits the locked version (so of two writers holding one ETag, one gets 412).
 * Tasks in the trash are 404 unless `includeTrash` (restore).
 */
export async function withTaskForWrite<T>(
  db: Db,
  userId: string,
  taskId: string,
  options: { ifMatch: IfMatch | undefined; includeTrash?: boolean },
  work: (trx: Trx, task: TaskRow, access: ProjectAccess) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const task = await lockTask(trx, taskId);
    if (!task || (task.deleted_at !== null && !options.includeTrash)) throw taskNotFound();
    // A project the caller cannot see answers like a missing task, leaking nothing.
    const access = await authorizeProject(trx, userId, task.project_id, 'task.write', taskNotFound);
    if (access.archived) throw projectArchived();
    assertIfMatch(options.ifMatch, task.version);
    return work(trx, task, access);
  });
}

/** An assignee must be able to see the project the task is in (any role will do). */
export async function assertAssigneeCanSee(
  db: Db | Trx,
  assigneeId: string | null | undefined,
  projectId: string,
): Promise<void> {
  if (assigneeId === null || assigneeId === undefined) return;
  const access = await projectAccess(db, assigneeId, [projectId]);
  if (!access.has(projectId)) {
    throw invalidField('/assignee_id', 'must be a user who can see the project');
  }
}

function cleanTitle(title: string): string {
  const trimmed = title.trim();
  if (trimmed === '') throw invalidField('/title', 'must not be blank');
  return trimmed;
}

/**
 * Fields as they will be stored: the title trimmed (blank is 422), an assignee id
 * in lowercase as PostgreSQL answers it, so that an unchanged value compares equal.
 */
export function cleanFields<T extends Partial<TaskFields>>(fields: T): T {
  return {
    ...fields,
    ...(fields.title === undefined ? {} : { title: cleanTitle(fields.title) }),
    ...(typeof fields.assignee_id === 'string'
      ? { assignee_id: fields.assignee_id.toLowerCase() }
      : {}),
  };
}

/** Appends a task event, in the task's team and project, to the change's transaction. */
export function appendTaskEvent(
  trx: Trx,
  access: ProjectAccess,
  event: { type: EventType; actorId: string; taskId: string; data: Record<string, unknown> },
): Promise<void> {
  return appendEvent(trx, {
    teamId: access.teamId,
    projectId: access.projectId,
    type: event.type,
    actorId: event.actorId,
    subjectId: event.taskId,
    data: event.data,
  });
}
