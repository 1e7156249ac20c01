// Single-task SQL: one row at a time. List queries live in task-lists.*.
import type { MembershipRow } from '../../auth/project-permissions.ts';
import type { Db, Trx } from '../../db/database.ts';
import { purgeSoftDeleted } from '../../db/purge.ts';
import type { Task, TaskPriority, TaskStatus } from '../../db/types.ts';

/** A task row as the API needs it: no generated columns, plus its project's current key. */
export type TaskRow = Omit<Task, 'search' | 'priority_rank'> & { project_key: string };

/**
 * The fields a client may change (PUT replaces them all, PATCH some). A type, not
 * an interface, so that it is a Record<string, unknown> for diffFields.
 */
export type TaskFields = {
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  assignee_id: string | null;
  /** 'YYYY-MM-DD' */
  due_date: string | null;
  labels: string[];
};

// Not `search`: a tsvector as large as the description, read by no one here.
const columns = [
  't.id',
  't.project_id',
  't.number',
  't.title',
  't.description',
  't.status',
  't.priority',
  't.assignee_id',
  't.due_date',
  't.labels',
  't.created_by',
  't.created_at',
  't.updated_at',
  't.deleted_at',
  't.version',
] as const;

type Unaliased<C extends string> = C extends `t.${infer Name}` ? Name : never;
/** The same columns for INSERT/UPDATE … RETURNING, which has no `t` alias. */
const plainColumns = columns.map((column) => column.slice(2) as Unaliased<typeof column>);

function taskWithKey(db: Db | Trx) {
  return db
    .selectFrom('tasks as t')
    .innerJoin('projects as p', 'p.id', 't.project_id')
    .select(columns)
    .select('p.key as project_key');
}

/** The task, live or in the trash, with its project's key; the caller decides what to show. */
export function findTask(db: Db | Trx, id: string): Promise<TaskRow | undefined> {
  return taskWithKey(db).where('t.id', '=', id).executeTakeFirst();
}

/**
 * The task with what decides whether `userId` may see it — the project's
 * visibility and the user's team and project roles — in one round trip: reading
 * a task is the hottest path of the API, and a second query for the permission
 * check would double its database work.
 */
export function findTaskWithMembership(
  db: Db,
  id: string,
  userId: string,
): Promise<(TaskRow & MembershipRow) | undefined> {
  return taskWithKey(db)
    .leftJoin('team_members as tm', (join) =>
      join.onRef('tm.team_id', '=', 'p.team_id').on('tm.user_id', '=', userId),
    )
    .leftJoin('project_members as pm', (join) =>
      join.onRef('pm.project_id', '=', 'p.id').on('pm.user_id', '=', userId),
    )
    .select([
      'p.team_id',
      'p.visibility',
      'p.archived_at',
      'tm.role as team_role',
      'pm.role as project_role',
    ])
    .where('t.id', '=', id)
    .executeTakeFirst();
}

/**
 * The task row, locked against other writers until the transaction ends (the
 * project row is not locked). FOR NO KEY UPDATE, the lock an UPDATE of non-key
 * columns takes: writers of the task queue behind it, while inserts that only
 * reference the task (a comment's foreign key check) do not wait.
 */
export function lockTask(trx: Trx, id: string): Promise<TaskRow | undefined> {
  return taskWithKey(trx).where('t.id', '=', id).forNoKeyUpdate('t').executeTakeFirst();
}

/**
 * Hands out the project's next task number by incrementing its counter. The
 * UPDATE locks the project row until the transaction ends, so concurrent creates
 * take numbers one after another; a rollback undoes the increment, so no number
 * is lost. Also returns what the locked row says now (key, archived), which no
 * concurrent change can alter before commit.
 */
export async function takeTaskNumber(
  trx: Trx,
  projectId: string,
): Promise<{ number: number; projectKey: string; archived: boolean } | undefined> {
  const row = await trx
    .updateTable('projects')
    .set((eb) => ({ last_task_number: eb('last_task_number', '+', 1) }))
    .where('id', '=', projectId)
    .returning(['last_task_number', 'key', 'archived_at'])
    .executeTakeFirst();
  if (!row) return undefined;
  return { number: row.last_task_number, projectKey: row.key, archived: row.archived_at !== null };
}

export async function insertTask(
  trx: Trx,
  task: TaskFields & {
    id: string;
    project_id: string;
    number: number;
    created_by: string;
    created_at: Date;
  },
): Promise<Omit<TaskRow, 'project_key'>> {
  return trx
    .insertInto('tasks')
    .values({ ...task, updated_at: task.created_at })
    .returning(plainColumns)
    .executeTakeFirstOrThrow();
}

/**
 * Writes `changes` (and `deleted_at`, for the trash) to a row the caller has
 * locked: every write moves `version` on, so the ETag changes with it.
 */
export function updateTask(
  trx: Trx,
  id: string,
  changes: Partial<TaskFields> & { deleted_at?: Date | null },
  at: Date,
): Promise<Omit<TaskRow, 'project_key'>> {
  return trx
    .updateTable('tasks')
    .set((eb) => ({ ...changes, updated_at: at, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .returning(plainColumns)
    .executeTakeFirstOrThrow();
}

/**
 * Deletes for good up to `batchSize` tasks that went to the trash before
 * `olderThan` (their comments go with them, by cascade), and returns how many.
 * The seam for the purge job: it calls this until it returns less than a batch.
 * Rows locked right now (being restored) are skipped, not waited for, and a row
 * restored meanwhile no longer matches.
 */
export function purgeDeletedTasks(db: Db, olderThan: Date, batchSize: number): Promise<number> {
  return purgeSoftDeleted(db, 'tasks', olderThan, batchSize);
}
