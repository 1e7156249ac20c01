// Rows written straight to the database, for tests of one module that need
// another module's data (a comment test needs a task) without its routes.
// Prefer the API factories (factories.ts) when the route exists.
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/database.ts';
import type { ProjectRole, TaskPriority, TaskStatus, Visibility } from '../../src/db/types.ts';
import { uuidv7 } from '../../src/lib/ids.ts';

export interface ProjectRow {
  readonly id: string;
  readonly teamId: string;
  readonly key: string;
}

/** A random 2–10 uppercase-letter project key. */
export function projectKey(): string {
  return Array.from(randomBytes(6), (byte) => String.fromCharCode(65 + (byte % 26))).join('');
}

export async function insertProject(
  db: Db,
  options: { teamId: string; key?: string; visibility?: Visibility; name?: string },
): Promise<ProjectRow> {
  const now = new Date();
  const row = {
    id: uuidv7(),
    team_id: options.teamId,
    name: options.name ?? 'Test Project',
    key: options.key ?? projectKey(),
    visibility: options.visibility ?? 'team',
    created_at: now,
    updated_at: now,
  };
  await db.insertInto('projects').values(row).execute();
  return { id: row.id, teamId: row.team_id, key: row.key };
}

export async function insertProjectMember(
  db: Db,
  projectId: string,
  userId: string,
  role: ProjectRole,
): Promise<void> {
  await db
    .insertInto('project_members')
    .values({ project_id: projectId, user_id: userId, role, joined_at: new Date() })
    .execute();
}

export interface TaskRowOptions {
  readonly title?: string;
  readonly description?: string;
  readonly status?: TaskStatus;
  readonly priority?: TaskPriority;
  readonly assigneeId?: string | null;
  readonly dueDate?: string | null;
  readonly labels?: string[];
  readonly createdBy?: string | null;
  readonly createdAt?: Date;
  readonly deletedAt?: Date | null;
}

/** A task with the project's next number, as the create route would allocate it. */
export async function insertTask(db: Db, projectId: string, options: TaskRowOptions = {}) {
  return db.transaction().execute(async (trx) => {
    const { last_task_number } = await trx
      .updateTable('projects')
      .set((eb) => ({ last_task_number: eb('last_task_number', '+', 1) }))
      .where('id', '=', projectId)
      .returning('last_task_number')
      .executeTakeFirstOrThrow();
    const at = options.createdAt ?? new Date();
    return trx
      .insertInto('tasks')
      .values({
        id: uuidv7(at.getTime()),
        project_id: projectId,
        number: last_task_number,
        title: options.title ?? 'A task',
        description: options.description ?? '',
        status: options.status ?? 'todo',
        priority: options.priority ?? 'none',
        assignee_id: options.assigneeId ?? null,
        due_date: options.dueDate ?? null,
        labels: options.labels ?? [],
        created_by: options.createdBy ?? null,
        created_at: at,
        updated_at: at,
        deleted_at: options.deletedAt ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}
