/**
 * "Due tomorrow": an hourly cron job tells the assignee of every open task due
 * tomorrow (UTC). The source key `due_soon:<task_id>:<due_date>` makes it once
 * per task and date however often the job runs; moving the due date to another
 * day is a new reminder.
 */
import { Type } from 'typebox';
import { projectAccess } from '../auth/project-permissions.ts';
import { defineJob, JOB_PRIORITY } from '../jobs/catalogue.ts';
import { createNotifications } from './create.ts';
import { type NotifiedTask, tasksDueOn } from './sources.repository.ts';

const BATCH_SIZE = 200;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Tomorrow's date in UTC, `YYYY-MM-DD`, as `tasks.due_date` holds it. */
export function tomorrowUtc(now: Date): string {
  return new Date(now.getTime() + DAY_MS).toISOString().slice(0, 10);
}

export const notifyDueSoonJob = defineJob({
  name: 'notify-due-soon',
  // A cron job carries graphile-worker's `_cron` and nothing of ours.
  payload: Type.Object({}, { additionalProperties: true }),
  priority: 'bulk',
  maxAttempts: 3,
  async run(_payload, { db, log, signal }) {
    const dueDate = tomorrowUtc(new Date());
    let after: string | undefined;
    let notified = 0;
    for (;;) {
      const tasks = await tasksDueOn(db, dueDate, { after, limit: BATCH_SIZE });
      const told = await notifyBatch(db, tasks);
      notified += told;
      after = tasks.at(-1)?.id;
      // One transaction per batch: locks are held for one batch, and a stop waits for one at most.
      if (tasks.length < BATCH_SIZE || signal.aborted) break;
    }
    if (notified > 0) log.info({ due_date: dueDate, notified }, 'due-soon reminders created');
  },
});

async function notifyBatch(
  db: Parameters<typeof tasksDueOn>[0],
  tasks: readonly NotifiedTask[],
): Promise<number> {
  // An assignee who has since lost sight of the project is not told about its task.
  const visible: NotifiedTask[] = [];
  for (const task of tasks) {
    const access = await projectAccess(db, task.assignee_id!, [task.project_id]);
    if (access.has(task.project_id)) visible.push(task);
  }
  if (visible.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    let told = 0;
    for (const task of visible) {
      const key = `${task.project_key}-${task.number}`;
      const created = await createNotifications(trx, [task.assignee_id!], {
        teamId: task.team_id,
        kind: 'due_soon',
        sourceKey: `due_soon:${task.id}:${task.due_date}`,
        title: `${key} is due tomorrow: ${task.title}`,
        body: `${key} “${task.title}” is due on ${task.due_date}.`,
        taskId: task.id,
        data: { project_id: task.project_id, task_key: key, due_date: task.due_date },
      });
      if (created.inbox > 0 || created.sendIds.length > 0) told++;
    }
    return told;
  });
}

/** Hourly, at minute 7; `jobKey` keeps one waiting however long a backlog. */
export const NOTIFICATION_CRONTAB = `7 * * * * ${notifyDueSoonJob.name} ?priority=${JOB_PRIORITY.bulk}&jobKey=${notifyDueSoonJob.name}`;
