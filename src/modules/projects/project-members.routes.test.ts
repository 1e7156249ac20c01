import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  addMember,
  assertProblem,
  body,
  createTeamWithRoles,
  createUser,
  RFC3339_MS,
  type TestUser,
} from '../../../test/helpers/factories.ts';
import {
  addProjectMember,
  archiveProject,
  createPrivateProject,
  createProject,
} from '../../../test/helpers/project-factories.ts';
import { raceOnRow } from '../../../test/helpers/race.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

const membersUrl = (projectId: string) => `/v1/projects/${projectId}/members`;

const listMembers = (user: TestUser, projectId: string, query = '') =>
  t.app.inject({ method: 'GET', url: `${membersUrl(projectId)}${query}`, headers: user.auth });
const getMember = (user: TestUser, projectId: string, userId: string) =>
  t.app.inject({ method: 'GET', url: `${membersUrl(projectId)}/${userId}`, headers: user.auth });
const postMember = (user: TestUser, projectId: string, payload: unknown) =>
  t.app.inject({
    method: 'POST',
    url: membersUrl(projectId),
    headers: user.auth,
    payload: payload as Record<string, unknown>,
  });
const patchMember = (user: TestUser, projectId: string, userId: string, payload: unknown) =>
  t.app.inject({
    method: 'PATCH',
    url: `${membersUrl(projectId)}/${userId}`,
    headers: user.auth,
    payload: payload as Record<string, unknown>,
  });
const removeMember = (user: TestUser, projectId: string, userId: string) =>
  t.app.inject({ method: 'DELETE', url: `${membersUrl(projectId)}/${userId}`, headers: user.auth });
const getProject = (user: TestUser, projectId: string) =>
  t.app.inject({ method: 'GET', url: `/v1/projects/${projectId}`, headers: user.auth });

const storedMembers = (projectId: string) =>
  t.database.db
    .selectFrom('project_members')
    .select(['user_id', 'role'])
    .where('project_id', '=', projectId)
    .orderBy('user_id')
    .execute();

const memberEvents = (projectId: string) =>
  t.database.db
    .selectFrom('events')
    .select(['type', 'subject_id', 'actor_id', 'data'])
    .where('project_id', '=', projectId)
    .where('type', 'like', 'project\\_member.%')
    .orderBy('created_at')
    .execute();

const userIds = (response: LightMyRequestResponse) =>
  body(response).data.map((member: { user_id: string }) => member.user_id);

/** A team with one user per role and a private project whose creator, the team admin, is its admin member. */
async function privateScene() {
  const roles = await createTeamWithRoles(t.app);
  const project = await createPrivateProject(t.app, roles.admin, roles.team.id);
  return { ...roles, project };
}

describe('GET /v1/projects/:project_id/members', () => {
  test('lists the private project’s members in the order they were added, for any of them', async () => {
    const { admin, member, viewer, owner, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'viewer');
    await addProjectMember(t.app, project.id, admin, viewer, 'member');
    const response = await listMembers(member, project.id);
    assert.equal(response.statusCode, 200);
    const page = body(response);
    assert.equal(page.next_cursor, null);
    assert.deepEqual(
      page.data.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
      [
        [admin.id, 'admin'],
        [member.id, 'viewer'],
        [viewer.id, 'member'],
      ],
    );
    assert.deepEqual(Object.keys(page.data[0]).sort(), [
      'email',
      'joined_at',
      'name',
      'role',
      'user_id',
    ]);
    assert.equal(page.data[0].email, admin.email);
    assert.match(page.data[0].joined_at, RFC3339_MS);
    // Team owners administer every project without being on its list.
    assert.deepEqual(userIds(await listMembers(owner, project.id)), [
      admin.id,
      member.id,
      viewer.id,
    ]);
  });

  test('walking with limit=2 gives every member once', async () => {
    const { team, owner, admin, project } = await privateScene();
    const added: string[] = [admin.id];
    for (let i = 0; i < 4; i++) {
      const user = await createUser(t.app);
      await addMember(t.app, team, owner, user, 'member');
      await addProjectMember(t.app, project.id, admin, user, 'member');
      added.push(user.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const query: string = `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await listMembers(admin, project.id, query);
      assert.equal(response.statusCode, 200);
      seen.push(...userIds(response));
      sizes.push(body(response).data.length);
      cursor = body(response).next_cursor;
      assert.equal(response.headers.link === undefined, cursor === null);
    } while (cursor);
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(seen, added);
  });

  test("a cursor from another project's list answers 400", async () => {
    const { team, admin, member, viewer, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'member');
    const other = await createPrivateProject(t.app, admin, team.id);
    await addProjectMember(t.app, other.id, admin, viewer, 'member');
    const { next_cursor } = body(await listMembers(admin, project.id, '?limit=1'));
    const response = await listMembers(
      admin,
      other.id,
      `?cursor=${encodeURIComponent(next_cursor)}`,
    );
    assertProblem(response, 400, 'malformed_request');
  });

  test('a team member outside the private project, even a team admin, gets 404', async () => {
    const { team, owner, admin, member } = await createTeamWithRoles(t.app);
    const project = await createPrivateProject(t.app, owner, team.id);
    assertProblem(await listMembers(admin, project.id), 404, 'not_found');
    assertProblem(await listMembers(member, project.id), 404, 'not_found');
    assertProblem(await getMember(admin, project.id, owner.id), 404, 'not_found');
  });

  test('a team project answers 409: it has no member list of its own', async () => {
    const { team, admin, viewer } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, admin, team.id);
    const problem = assertProblem(await listMembers(viewer, project.id), 409, 'conflict');
    assert.match(problem.detail, /team projects have no member list/);
    assertProblem(await getMember(viewer, project.id, admin.id), 409, 'conflict');
  });
});

describe('GET /v1/projects/:project_id/members/:user_id', () => {
  test('any member reads one member: the URL a POST answers in Location', async () => {
    const { admin, member, project } = await privateScene();
    const created = await postMember(admin, project.id, { email: member.email, role: 'viewer' });
    assert.equal(created.headers.location, `${membersUrl(project.id)}/${member.id}`);
    const response = await getMember(member, project.id, admin.id);
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).role, 'admin');
    const self = await t.app.inject({
      method: 'GET',
      url: String(created.headers.location),
      headers: member.auth,
    });
    assert.deepEqual(body(self), body(created));
  });

  test('a user not on the list answers 404', async () => {
    const { admin, viewer, project } = await privateScene();
    assertProblem(await getMember(admin, project.id, viewer.id), 404, 'not_found');
    assertProblem(await getMember(admin, project.id, randomUUID()), 404, 'not_found');
  });
});

describe('POST /v1/projects/:project_id/members', () => {
  for (const role of ['admin', 'member', 'viewer'] as const) {
    test(`a project admin adds a team member as ${role}: 201, access, and an event`, async () => {
      const { admin, viewer, project } = await privateScene();
      assertProblem(await getProject(viewer, project.id), 404, 'not_found');
      const response = await postMember(admin, project.id, { email: viewer.email, role });
      assert.equal(response.statusCode, 201, response.body);
      const added = body(response);
      assert.equal(added.user_id, viewer.id);
      assert.equal(added.role, role);
      assert.equal(added.name, viewer.name);
      assert.equal((await getProject(viewer, project.id)).statusCode, 200);
      assert.deepEqual(
        (await storedMembers(project.id)).find((m) => m.user_id === viewer.id),
        { user_id: viewer.id, role },
      );
      const events = await memberEvents(project.id);
      assert.deepEqual(events.at(-1), {
        type: 'project_member.added',
        subject_id: viewer.id,
        actor_id: admin.id,
        data: { project_id: project.id, user_id: viewer.id, role },
      });
    });
  }

  test('without a role, the newcomer is a member; the email matches whatever its case', async () => {
    const { admin, member, project } = await privateScene();
    const response = await postMember(admin, project.id, { email: member.email.toUpperCase() });
    assert.equal(response.statusCode, 201);
    assert.equal(body(response).role, 'member');
  });

  test('someone outside the team, or no account at all, answers 422 on /email and adds nobody', async () => {
    const { admin, outsider, project } = await privateScene();
    for (const email of [outsider.email, 'nobody-at-all@example.com']) {
      const problem = assertProblem(
        await postMember(admin, project.id, { email, role: 'member' }),
        422,
        'validation_failed',
      );
      assert.deepEqual(
        problem.errors.map((e: { pointer: string }) => e.pointer),
        ['/email'],
      );
    }
    assert.deepEqual(await storedMembers(project.id), [{ user_id: admin.id, role: 'admin' }]);
  });

  test('adding someone already on the list answers 409 and keeps their role', async () => {
    const { admin, member, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'viewer');
    const response = await postMember(admin, project.id, { email: member.email, role: 'admin' });
    assertProblem(response, 409, 'conflict');
    assert.equal(
      (await storedMembers(project.id)).find((m) => m.user_id === member.id)?.role,
      'viewer',
    );
  });

  test('the same user added twice at once: one 201, one 409, one membership, one event', async () => {
    const { admin, member, project } = await privateScene();
    const responses = await raceOnRow(t.database.db, { table: 'projects', id: project.id }, [
      () => postMember(admin, project.id, { email: member.email, role: 'viewer' }),
      () => postMember(admin, project.id, { email: member.email, role: 'admin' }),
    ]);
    assert.deepEqual(responses.map((r) => r.statusCode).sort(), [201, 409]);
    assert.equal((await storedMembers(project.id)).length, 2);
    const added = (await memberEvents(project.id)).filter((e) => e.subject_id === member.id);
    assert.equal(added.length, 1);
  });

  const invalid: [string, unknown, string][] = [
    ['an unknown role', { email: 'a@example.com', role: 'owner' }, '/role'],
    ['no email', { role: 'member' }, '/email'],
    ['an email that is not one', { email: 'not-an-email' }, '/email'],
    ['an unknown field', { email: 'a@example.com', user_id: randomUUID() }, '/user_id'],
  ];
  for (const [what, payload, pointer] of invalid) {
    test(`a body with ${what} answers 422 on ${pointer}`, async () => {
      const { admin, project } = await privateScene();
      const problem = assertProblem(
        await postMember(admin, project.id, payload),
        422,
        'validation_failed',
      );
      assert.ok(problem.errors.some((e: { pointer: string }) => e.pointer === pointer));
    });
  }

  test('project members and viewers may not add anyone: 403', async () => {
    const { admin, member, viewer, owner, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'member');
    await addProjectMember(t.app, project.id, admin, viewer, 'viewer');
    const newcomer = { email: owner.email, role: 'member' };
    assertProblem(await postMember(member, project.id, newcomer), 403, 'forbidden');
    assertProblem(await postMember(viewer, project.id, newcomer), 403, 'forbidden');
    assert.equal((await storedMembers(project.id)).length, 3);
  });

  test('the team owner adds members without being on the list; a team admin outside it gets 404', async () => {
    const { team, owner, admin, member } = await createTeamWithRoles(t.app);
    const project = await createPrivateProject(t.app, owner, team.id);
    // Off the list: the owner's rights come from the team role alone.
    await t.database.db
      .deleteFrom('project_members')
      .where('project_id', '=', project.id)
      .execute();
    assertProblem(await postMember(admin, project.id, { email: member.email }), 404, 'not_found');
    assert.equal((await postMember(owner, project.id, { email: member.email })).statusCode, 201);
  });

  test('a team project answers 409 to every member write', async () => {
    const { team, admin, member } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, admin, team.id);
    assertProblem(await postMember(admin, project.id, { email: member.email }), 409, 'conflict');
    assertProblem(
      await patchMember(admin, project.id, member.id, { role: 'viewer' }),
      409,
      'conflict',
    );
    assertProblem(await removeMember(admin, project.id, member.id), 409, 'conflict');
    assert.deepEqual(await storedMembers(project.id), []);
  });

  test('an archived project answers 409 to every member write', async () => {
    const { admin, member, viewer, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'member');
    await archiveProject(t.app, project.id, admin);
    assertProblem(await postMember(admin, project.id, { email: viewer.email }), 409, 'conflict');
    assertProblem(
      await patchMember(admin, project.id, member.id, { role: 'viewer' }),
      409,
      'conflict',
    );
    assertProblem(await removeMember(member, project.id, member.id), 409, 'conflict');
    assert.equal((await storedMembers(project.id)).length, 2);
    // Reading still works.
    assert.equal((await listMembers(member, project.id)).statusCode, 200);
  });
});

describe('PATCH /v1/projects/:project_id/members/:user_id', () => {
  test('a project admin changes a role: 200 and a role_changed event with before and after', async () => {
    const { admin, member, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'viewer');
    const response = await patchMember(admin, project.id, member.id, { role: 'admin' });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).role, 'admin');
    assert.equal(
      (await storedMembers(project.id)).find((m) => m.user_id === member.id)?.role,
      'admin',
    );
    assert.deepEqual((await memberEvents(project.id)).at(-1), {
      type: 'project_member.role_changed',
      subject_id: member.id,
      actor_id: admin.id,
      data: {
        project_id: project.id,
        user_id: member.id,
        changes: { role: { before: 'viewer', after: 'admin' } },
      },
    });
    // The new admin may now manage the list.
    assert.equal(
      (await patchMember(member, project.id, admin.id, { role: 'member' })).statusCode,
      200,
    );
  });

  test('setting the same role changes nothing and writes no event', async () => {
    const { admin, member, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'viewer');
    const before = (await memberEvents(project.id)).length;
    const response = await patchMember(admin, project.id, member.id, { role: 'viewer' });
    assert.equal(response.statusCode, 200);
    assert.equal((await memberEvents(project.id)).length, before);
  });

  test('a member may not change roles, not even their own: 403', async () => {
    const { admin, member, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'member');
    assertProblem(
      await patchMember(member, project.id, member.id, { role: 'admin' }),
      403,
      'forbidden',
    );
    assertProblem(
      await patchMember(member, project.id, admin.id, { role: 'viewer' }),
      403,
      'forbidden',
    );
  });

  test('someone not on the list answers 404; a bad role or extra field 422', async () => {
    const { admin, viewer, project } = await privateScene();
    assertProblem(
      await patchMember(admin, project.id, viewer.id, { role: 'member' }),
      404,
      'not_found',
    );
    const bad = await patchMember(admin, project.id, admin.id, { role: 'owner' });
    assertProblem(bad, 422, 'validation_failed');
    const extra = await patchMember(admin, project.id, admin.id, { role: 'admin', x: 1 });
    assertProblem(extra, 422, 'validation_failed');
    assertProblem(await patchMember(admin, project.id, admin.id, {}), 422, 'validation_failed');
  });
});

describe('DELETE /v1/projects/:project_id/members/:user_id', () => {
  test('a project admin removes a member: 204, the member loses the project, and an event', async () => {
    const { admin, member, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'member');
    const response = await removeMember(admin, project.id, member.id);
    assert.equal(response.statusCode, 204);
    assert.equal(response.body, '');
    assertProblem(await getProject(member, project.id), 404, 'not_found');
    assert.deepEqual(await storedMembers(project.id), [{ user_id: admin.id, role: 'admin' }]);
    assert.deepEqual((await memberEvents(project.id)).at(-1), {
      type: 'project_member.removed',
      subject_id: member.id,
      actor_id: admin.id,
      data: { project_id: project.id, user_id: member.id, role: 'member' },
    });
  });

  for (const role of ['viewer', 'member', 'admin'] as const) {
    test(`a project ${role} may leave: 204, and loses the project`, async () => {
      const { admin, viewer, project } = await privateScene();
      await addProjectMember(t.app, project.id, admin, viewer, role);
      assert.equal((await removeMember(viewer, project.id, viewer.id)).statusCode, 204);
      assertProblem(await getProject(viewer, project.id), 404, 'not_found');
    });
  }

  test('the last project admin may leave: the team owners still administer the project', async () => {
    const { owner, admin, member, project } = await privateScene();
    assert.equal((await removeMember(admin, project.id, admin.id)).statusCode, 204);
    assert.deepEqual(await storedMembers(project.id), []);
    assert.equal((await postMember(owner, project.id, { email: member.email })).statusCode, 201);
  });

  test('a member or viewer cannot remove someone else: 403', async () => {
    const { admin, member, viewer, project } = await privateScene();
    await addProjectMember(t.app, project.id, admin, member, 'member');
    await addProjectMember(t.app, project.id, admin, viewer, 'viewer');
    assertProblem(await removeMember(member, project.id, viewer.id), 403, 'forbidden');
    assertProblem(await removeMember(viewer, project.id, admin.id), 403, 'forbidden');
    assert.equal((await storedMembers(project.id)).length, 3);
  });

  test('someone not on the list answers 404, and an outsider 404 for the project', async () => {
    const { admin, viewer, outsider, project } = await privateScene();
    assertProblem(await removeMember(admin, project.id, viewer.id), 404, 'not_found');
    assertProblem(await removeMember(outsider, project.id, admin.id), 404, 'not_found');
    assertProblem(await removeMember(outsider, project.id, outsider.id), 404, 'not_found');
    assert.equal((await storedMembers(project.id)).length, 1);
  });
});
