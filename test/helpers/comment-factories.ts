// Tasks to comment on, comments made through the API, and the event rows they
// leave, for the comment and event-log tests.
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../src/db/database.ts';
import type { Visibility } from '../../src/db/types.ts';
import { body, createTeamWithRoles, type TestUser } from './factories.ts';
import { insertProject, insertProjectMember, insertTask, type ProjectRow } from './rows.ts';

export interface CommentJson {
  id: string;
  task_id: string;
  author_id: string | null;
  body: string;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  version: number;
}

export interface EventRow {
  id: string;
  type: string;
  team_id: string;
  project_id: string | null;
  actor_id: string | null;
  subject_id: string;
  data: Record<string, any>;
  created_at: Date;
}

/** A team with one user in each role, a project of theirs and a live task in it. */
export async function createTaskWorld(
  app: FastifyInstance,
  db: Db,
  options: { visibility?: Visibility } = {},
) {
  const roles = await createTeamWithRoles(app);
  const project = await insertProject(db, {
    teamId: roles.team.id,
    visibility: options.visibility ?? 'team',
  });
  const task = await insertTask(db, project.id, { createdBy: roles.owner.id });
  return { ...roles, project, task };
}

/** A task world with one comment written by its member (made a project member if private). */
export async function createCommentedTask(
  app: FastifyInstance,
  db: Db,
  options: { visibility?: Visibility } = {},
) {
  const world = await createTaskWorld(app, db, options);
  if (options.visibility === 'private') {
    await insertProjectMember(db, world.project.id, world.member.id, 'member');
  }
  const comment = await createComment(app, world.member, world.task.id, 'original');
  return { ...world, comment };
}

/** Another live task in `project`. */
export function createTask(db: Db, project: ProjectRow) {
  return insertTask(db, project.id);
}

/** Posts a comment through the API; throws unless it answers 201. */
export async function createComment(
  app: FastifyInstance,
  author: TestUser,
  taskId: string,
  text = 'A comment',
): Promise<CommentJson> {
  const response = await app.inject({
    method: 'POST',
    url: `/v1/tasks/${taskId}/comments`,
    headers: author.auth,
    payload: { body: text },
  });
  if (response.statusCode !== 201) {
    throw new Error(`comment failed: ${response.statusCode} ${response.body}`);
  }
  return body<CommentJson>(response);
}

/** The event rows about `subjectId`, oldest first. */
export function eventsAbout(db: Db, subjectId: string): Promise<EventRow[]> {
  return db
    .selectFrom('events')
    .selectAll()
    .where('subject_id', '=', subjectId)
    .orderBy('id')
    .execute() as Promise<EventRow[]>;
}

/** The stored comment row, or undefined. */
export function commentRow(db: Db, id: string) {
  return db.selectFrom('comments').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Marks the project archived, as the archive route would. */
export async function archiveProject(db: Db, projectId: string): Promise<void> {
  await db
    .updateTable('projects')
    .set({ archived_at: new Date() })
    .where('id', '=', projectId)
    .execute();
}

/** Moves the task to the trash, as its delete route would. */
export async function trashTask(db: Db, taskId: string): Promise<void> {
  await db.updateTable('tasks').set({ deleted_at: new Date() }).where('id', '=', taskId).execute();
}
