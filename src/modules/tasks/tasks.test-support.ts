// Shared by the task route tests: a team with every role and a project, requests
// to the single-task routes, and reads of the rows and events they leave behind.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from '../../../test/helpers/app.ts';
import { createTeamWithRoles, type TestUser } from '../../../test/helpers/factories.ts';
import { insertProject, type ProjectRow } from '../../../test/helpers/rows.ts';

export type World = Awaited<ReturnType<typeof createTeamWithRoles>> & { project: ProjectRow };

/** A team with a user in each role (and an outsider), and a team-visible project. */
export async function createWorld(t: TestApp): Promise<World> {
  const roles = await createTeamWithRoles(t.app);
  const project = await insertProject(t.database.db, { teamId: roles.team.id });
  return { ...roles, project };
}

type Headers = Record<string, string>;

export function taskRequests(t: TestApp) {
  const send = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    user: TestUser,
    payload?: unknown,
    headers: Headers = {},
  ): Promise<LightMyRequestResponse> =>
    t.app.inject({
      method,
      url,
      headers: { ...user.auth, ...headers },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
  return {
    post: (user: TestUser, projectId: string, payload: unknown, headers?: Headers) =>
      send('POST', `/v1/projects/${projectId}/tasks`, user, payload, headers),
    get: (user: TestUser, taskId: string, headers?: Headers) =>
      send('GET', `/v1/tasks/${taskId}`, user, undefined, headers),
    put: (user: TestUser, taskId: string, payload: unknown, headers?: Headers) =>
      send('PUT', `/v1/tasks/${taskId}`, user, payload, headers),
    patch: (user: TestUser, taskId: string, payload: unknown, headers?: Headers) =>
      send('PATCH', `/v1/tasks/${taskId}`, user, payload, headers),
    delete: (user: TestUser, taskId: string, headers?: Headers) =>
      send('DELETE', `/v1/tasks/${taskId}`, user, undefined, headers),
    restore: (user: TestUser, taskId: string, headers?: Headers) =>
      send('POST', `/v1/tasks/${taskId}/restore`, user, undefined, headers),
  };
}

export function taskRow(t: TestApp, taskId: string) {
  return t.database.db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
}

export async function countTasks(t: TestApp, projectId: string): Promise<number> {
  const row = await t.database.db
    .selectFrom('tasks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The events about one task, of one type when given, oldest first. */
export function eventsOf(t: TestApp, taskId: string, type?: string) {
  let query = t.database.db.selectFrom('events').selectAll().where('subject_id', '=', taskId);
  if (type !== undefined) query = query.where('type', '=', type);
  return query.orderBy('created_at').orderBy('id').execute();
}

export async function archiveProject(t: TestApp, projectId: string): Promise<void> {
  await t.database.db
    .updateTable('projects')
    .set({ archived_at: new Date() })
    .where('id', '=', projectId)
    .execute();
}

/** Asserts a 422 names `pointer` among its errors. */
export function assertErrorAt(problem: { errors?: { pointer?: string }[] }, pointer: string): void {
  assert.ok(
    problem.errors?.some((e) => e.pointer === pointer),
    `expected an error on ${pointer}: ${JSON.stringify(problem)}`,
  );
}
