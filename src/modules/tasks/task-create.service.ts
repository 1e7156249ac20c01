import { authorizeProject } from '../../auth/project-permissions.ts';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../http/problems.ts';
import { uuidv7 } from '../../lib/ids.ts';
import { insertTask, type TaskFields, type TaskRow, takeTaskNumber } from './tasks.repository.ts';
import { presentTask } from './tasks.schemas.ts';
import {
  appendTaskEvent,
  assertAssigneeCanSee,
  cleanFields,
  projectArchived,
} from './tasks.service.ts';

export type NewTaskInput = Pick<TaskFields, 'title'> & Partial<TaskFields>;

/**
 * A new task with the project's next key (ENG-1, ENG-2, … with no gaps and no
 * duplicates, see docs/decisions/0009) and its `task.created` event, in one
 * transaction.
 */
export async function createTask(
  db: Db,
  userId: string,
  projectId: string,
  input: NewTaskInput,
): Promise<TaskRow> {
  const fields: TaskFields = {
    description: '',
    status: 'todo',
    priority: 'none',
    assignee_id: null,
    due_date: null,
    labels: [],
    ...cleanFields(input),
  };
  return db.transaction().execute(async (trx) => {
    const access = await authorizeProject(trx, userId, projectId, 'task.write');
    if (access.archived) throw projectArchived();
    await assertAssigneeCanSee(trx, fields.assignee_id, projectId);
    // Last before the insert: from here to commit the project row is locked, and
    // every other create in this project waits for it.
    const taken = await takeTaskNumber(trx, projectId);
    if (!taken) throw new AppError('not_found', 'project not found');
    // Read again under the lock: an archive that committed while we waited wins.
    if (taken.archived) throw projectArchived();
    const now = new Date();
    const row = await insertTask(trx, {
      ...fields,
      id: uuidv7(now.getTime()),
      project_id: projectId,
      number: taken.number,
      created_by: userId,
      created_at: now,
    });
    const task = { ...row, project_key: taken.projectKey };
    await appendTaskEvent(trx, access, {
      type: 'task.created',
      actorId: userId,
      taskId: task.id,
      data: presentTask(task),
    });
    return task;
  });
}
