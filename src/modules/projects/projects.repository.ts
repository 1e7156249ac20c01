import { visibleProjectIds } from '../../auth/project-permissions.ts';
import type { Db, Trx } from '../../db/database.ts';
import type { Project, Visibility } from '../../db/types.ts';

export interface NewProjectRow {
  id: string;
  team_id: string;
  name: string;
  key: string;
  description: string;
  visibility: Visibility;
  created_at: Date;
  updated_at: Date;
}

export type ProjectChanges = {
  name?: string;
  key?: string;
  description?: string;
  visibility?: Visibility;
  archived_at?: Date | null;
};

/** Fails with 23505 on `projects_team_key_key` when the key is taken in the team. */
export function insertProject(trx: Trx, project: NewProjectRow): Promise<Project> {
  return trx.insertInto('projects').values(project).returningAll().executeTakeFirstOrThrow();
}

export function findProject(db: Db | Trx, id: string): Promise<Project | undefined> {
  return db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * The project row, locked until the transaction ends: updates, archiving, member
 * changes and task creation (which bumps last_task_number) queue behind it.
 */
export function lockProject(trx: Trx, id: string): Promise<Project | undefined> {
  return trx.selectFrom('projects').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Applies `changes`, bumps version and updated_at. Fails with 23505 on a taken key. */
export function updateProject(
  trx: Trx,
  id: string,
  changes: ProjectChanges,
  at: Date,
): Promise<Project> {
  return trx
    .updateTable('projects')
    .set((eb) => ({ ...changes, updated_at: at, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * A page of the team's projects that `userId` can see, oldest first. Ids are
 * UUIDv7, so id order is creation order and the keyset is the id alone. The
 * query is the permission module's own visibility rule (`visibleProjectIds`)
 * narrowed to one team: the index on (team_id, id) walks the team's projects in
 * order and the rule is checked per row, so a page reads about `limit` rows.
 */
export function listVisibleProjects(
  db: Db,
  userId: string,
  teamId: string,
  filter: { archived: boolean },
  page: { after: string | undefined; limit: number },
): Promise<Project[]> {
  let query = visibleProjectIds(db, userId)
    .selectAll('projects')
    .where('projects.team_id', '=', teamId)
    .where('projects.archived_at', filter.archived ? 'is not' : 'is', null);
  if (page.after !== undefined) query = query.where('projects.id', '>', page.after);
  return query.orderBy('projects.id').limit(page.limit).execute();
}
