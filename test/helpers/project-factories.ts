// Projects made through the API, for tests that want the real routes (events,
// member lists, permissions) rather than rows written straight to the database
// (rows.ts).
import type { FastifyInstance } from 'fastify';
import { body, type TestUser } from './factories.ts';
import { projectKey } from './rows.ts';

/** The API representation of a project. */
export interface TestProject {
  readonly id: string;
  readonly team_id: string;
  readonly name: string;
  readonly key: string;
  readonly description: string;
  readonly visibility: 'team' | 'private';
  readonly archived_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly version: number;
}

export interface ProjectOverrides {
  readonly name?: string;
  /** A random 6-letter key when absent. */
  readonly key?: string;
  readonly description?: string;
  readonly visibility?: 'team' | 'private';
}

/** Creates a project in `teamId` as `user` (a team admin or owner). */
export async function createProject(
  app: FastifyInstance,
  user: TestUser,
  teamId: string,
  overrides: ProjectOverrides = {},
): Promise<TestProject> {
  const response = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/projects`,
    headers: user.auth,
    payload: { name: 'Test Project', key: projectKey(), ...overrides },
  });
  if (response.statusCode !== 201) {
    throw new Error(`create project failed: ${response.statusCode} ${response.body}`);
  }
  return body<TestProject>(response);
}

/** Creates a private project as `user`, who becomes its admin member. */
export function createPrivateProject(
  app: FastifyInstance,
  user: TestUser,
  teamId: string,
  overrides: Omit<ProjectOverrides, 'visibility'> = {},
): Promise<TestProject> {
  return createProject(app, user, teamId, { ...overrides, visibility: 'private' });
}

/** Adds `user` (already in the team) to a private project, acting as a project admin. */
export async function addProjectMember(
  app: FastifyInstance,
  projectId: string,
  actor: TestUser,
  user: TestUser,
  role: 'admin' | 'member' | 'viewer',
): Promise<void> {
  const response = await app.inject({
    method: 'POST',
    url: `/v1/projects/${projectId}/members`,
    headers: actor.auth,
    payload: { email: user.email, role },
  });
  if (response.statusCode !== 201) {
    throw new Error(`add project member failed: ${response.statusCode} ${response.body}`);
  }
}

/** Archives a project, acting as a project admin. */
export async function archiveProject(
  app: FastifyInstance,
  projectId: string,
  actor: TestUser,
): Promise<void> {
  const response = await app.inject({
    method: 'DELETE',
    url: `/v1/projects/${projectId}`,
    headers: actor.auth,
  });
  if (response.statusCode !== 204) {
    throw new Error(`archive project failed: ${response.statusCode} ${response.body}`);
  }
}
