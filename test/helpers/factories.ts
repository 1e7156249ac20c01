import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export const PASSWORD = 'plum-tractor-oven-42';

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}@example.com`;
}

export interface TestUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Headers that authenticate as this user. */
  readonly auth: { authorization: string };
}

/** The parsed JSON body of a response. */
export function body<T = Record<string, any>>(response: LightMyRequestResponse): T {
  return response.json() as T;
}

/** Signs up a new account through the API and returns it with its tokens. */
export async function createUser(
  app: FastifyInstance,
  overrides: { email?: string; name?: string; password?: string } = {},
): Promise<TestUser> {
  const email = overrides.email ?? uniqueEmail();
  const name = overrides.name ?? 'Test User';
  const response = await app.inject({
    method: 'POST',
    url: '/v1/auth/signup',
    payload: { email, name, password: overrides.password ?? PASSWORD },
  });
  if (response.statusCode !== 201) {
    throw new Error(`signup failed: ${response.statusCode} ${response.body}`);
  }
  const result = body(response);
  return {
    id: result.user.id,
    email,
    name,
    accessToken: result.access_token,
    refreshToken: result.refresh_token,
    auth: { authorization: `Bearer ${result.access_token}` },
  };
}

export interface TestTeam {
  readonly id: string;
  readonly name: string;
}

/** Creates a team owned by `owner`. */
export async function createTeam(
  app: FastifyInstance,
  owner: TestUser,
  name = 'Test Team',
): Promise<TestTeam> {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/teams',
    headers: owner.auth,
    payload: { name },
  });
  if (response.statusCode !== 201)
    throw new Error(`team failed: ${response.statusCode} ${response.body}`);
  return body<TestTeam>(response);
}

/** Adds `user` to the team with `role`, acting as `actor` (an owner or admin). */
export async function addMember(
  app: FastifyInstance,
  team: TestTeam,
  actor: TestUser,
  user: TestUser,
  role: 'owner' | 'admin' | 'member' | 'viewer',
): Promise<void> {
  const response = await app.inject({
    method: 'POST',
    url: `/v1/teams/${team.id}/members`,
    headers: actor.auth,
    payload: { email: user.email, role },
  });
  if (response.statusCode !== 201)
    throw new Error(`add member failed: ${response.statusCode} ${response.body}`);
}

/**
 * Asserts `response` is RFC 9457 problem details with this status and code, and
 * returns its body for further checks.
 */
export function assertProblem(
  response: LightMyRequestResponse,
  status: number,
  code: string,
): Record<string, any> {
  assert.equal(
    response.statusCode,
    status,
    `expected ${status}, got ${response.statusCode}: ${response.body}`,
  );
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const problem = body(response);
  assert.equal(problem.code, code);
  assert.equal(problem.status, status);
  assert.equal(typeof problem.title, 'string');
  assert.equal(typeof problem.detail, 'string');
  assert.equal(problem.request_id, response.headers['x-request-id']);
  return problem;
}

/** A team with one user in each role, and an outsider who belongs to none. */
export async function createTeamWithRoles(app: FastifyInstance) {
  const [owner, admin, member, viewer, outsider] = (await Promise.all(
    Array.from({ length: 5 }, () => createUser(app)),
  )) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  const team = await createTeam(app, owner);
  await addMember(app, team, owner, admin, 'admin');
  await addMember(app, team, owner, member, 'member');
  await addMember(app, team, owner, viewer, 'viewer');
  return { team, owner, admin, member, viewer, outsider };
}
