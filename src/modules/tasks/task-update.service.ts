import type { Db } from '../../db/database.ts';
import { diffFields } from '../../events/event-log.ts';
import type { IfMatch } from '../../http/etag.ts';
import { type TaskFields, type TaskRow, updateTask } from './tasks.repository.ts';
import {
  appendTaskEvent,
  assertAssigneeCanSee,
  cleanFields,
  withTaskForWrite,
} from './tasks.service.ts';

function mutableFields(task: TaskRow): TaskFields {
  const { title, description, status, priority, assignee_id, due_date, labels } = task;
  return { title, description, status, priority, assignee_id, due_date, labels };
}

/**
 * Moves the task to `wanted` (some or all of its mutable fields). Only fields whose
 * value really changes are written and recorded; when none does, nothing is
 * written: version, ETag and the event log stay put.
 */
async function changeTask(
  db: Db,
  userId: string,
  taskId: string,
  wanted: Partial<TaskFields>,
  ifMatch: IfMatch | undefined,
): Promise<TaskRow> {
  return withTaskForWrite(db, userId, taskId, { ifMatch }, async (trx, task, access) => {
    const changes = diffFields(mutableFields(task), wanted);
    if (Object.keys(changes).length === 0) return task;
    // Only a new assignee is checked: a task keeps an assignee who has since lost access.
    if (changes.assignee_id) await assertAssigneeCanSee(trx, wanted.assignee_id, task.project_id);
    const changed = Object.fromEntries(
      Object.entries(changes).map(([field, { after }]) => [field, after]),
    ) as Partial<TaskFields>;
    const updated = await updateTask(trx, task.id, changed, new Date());
    await appendTaskEvent(trx, access, {
      type: 'task.updated',
      actorId: userId,
      taskId: task.id,
      data: { changes },
    });
    return { ...updated, project_key: task.project_key };
  });
}

/** PUT: every mutable field is given and replaces the current one. */
export function replaceTask(
  db: Db,
  userId: string,
  taskId: string,
  fields: TaskFields,
  ifMatch: IfMatch | undefined,
): Promise<TaskRow> {
  return changeTask(db, userId, taskId, cleanFields(fields), ifMatch);
}

/** PATCH (JSON Merge Patch): absent fields stay; null (assignee, due date) clears. */
export function patchTask(
  db: Db,
  userId: string,
  taskId: string,
  patch: Partial<TaskFields>,
  ifMatch: IfMatch | undefined,
): Promise<TaskRow> {
  return changeTask(db, userId, taskId, cleanFields(patch), ifMatch);
}
