import type { Db } from '../../db/database.ts';
import type { IfMatch } from '../../http/etag.ts';
import { type TaskRow, updateTask } from './tasks.repository.ts';
import { presentTask, taskKey } from './tasks.schemas.ts';
import { appendTaskEvent, withTaskForWrite } from './tasks.service.ts';

/**
 * Moves a task to the trash: it disappears from lists and GET, and can be
 * restored until the purge removes it for good (tasks.repository.ts
 * purgeDeletedTasks). Deleting is a change like any other: version moves on.
 */
export async function deleteTask(
  db: Db,
  userId: string,
  taskId: string,
  ifMatch: IfMatch | undefined,
): Promise<void> {
  await withTaskForWrite(db, userId, taskId, { ifMatch }, async (trx, task, access) => {
    const at = new Date();
    await updateTask(trx, task.id, { deleted_at: at }, at);
    await appendTaskEvent(trx, access, {
      type: 'task.deleted',
      actorId: userId,
      taskId: task.id,
      data: { key: taskKey(task.project_key, task.number), deleted_at: at.toISOString() },
    });
  });
}

/**
 * Brings a task back from the trash, with its key and comments. Restoring a live
 * task asks for the state it is already in: it answers the task and writes nothing.
 */
export async function restoreTask(
  db: Db,
  userId: string,
  taskId: string,
  ifMatch: IfMatch | undefined,
): Promise<TaskRow> {
  const options = { ifMatch, includeTrash: true };
  return withTaskForWrite(db, userId, taskId, options, async (trx, task, access) => {
    if (task.deleted_at === null) return task;
    const at = new Date();
    const row = await updateTask(trx, task.id, { deleted_at: null }, at);
    const restored = { ...row, project_key: task.project_key };
    await appendTaskEvent(trx, access, {
      type: 'task.restored',
      actorId: userId,
      taskId: task.id,
      data: presentTask(restored),
    });
    return restored;
  });
}
