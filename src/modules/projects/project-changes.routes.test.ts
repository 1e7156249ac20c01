import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createTeamWithRoles,
  RFC3339_MS,
  type TestUser,
} from '../../../test/helpers/factories.ts';
import {
  archiveProject,
  createPrivateProject,
  createProject,
  type TestProject,
} from '../../../test/helpers/project-factories.ts';
import { raceOnRow } from '../../../test/helpers/race.ts';
import { insertProjectMember } from '../../../test/helpers/rows.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

type Headers = Record<string, string>;

const send = (
  method: 'PUT' | 'PATCH' | 'DELETE' | 'GET',
  user: TestUser,
  url: string,
  payload?: unknown,
  headers: Headers = {},
) =>
  t.app.inject({
    method,
    url,
    headers: { ...user.auth, ...headers },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

const putProject = (user: TestUser, id: string, payload: unknown, headers: Headers = {}) =>
  send('PUT', user, `/v1/projects/${id}`, payload, headers);
const patchProject = (user: TestUser, id: string, payload: unknown, headers: Headers = {}) =>
  send('PATCH', user, `/v1/projects/${id}`, payload, headers);
const deleteProject = (user: TestUser, id: string, headers: Headers = {}) =>
  send('DELETE', user, `/v1/projects/${id}`, undefined, headers);
const getProject = (user: TestUser, id: string) => send('GET', user, `/v1/projects/${id}`);
const unarchive = (user: TestUser, id: string, headers: Headers = {}) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/projects/${id}/unarchive`,
    headers: { ...user.auth, ...headers },
  });

const projectRow = async (id: string) =>
  (await t.database.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst())!;

/** The project's events after its creation, oldest first. */
const laterEvents = async (projectId: string) =>
  (
    await t.database.db
      .selectFrom('events')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at')
      .orderBy('type')
      .execute()
  ).filter((event) => event.type !== 'project.created');

const membersOf = (projectId: string) =>
  t.database.db
    .selectFrom('project_members')
    .select(['user_id', 'role'])
    .where('project_id', '=', projectId)
    .orderBy('user_id')
    .execute();

/** A team with a user in each role and a team project created by its admin. */
async function teamProject(overrides: { key?: string; description?: string } = {}) {
  const roles = await createTeamWithRoles(t.app);
  const project = await createProject(t.app, roles.admin, roles.team.id, {
    name: 'Web',
    key: 'WEB',
    description: 'The website',
    ...overrides,
  });
  return { ...roles, project };
}

/**
 * Races `requests` behind a lock on the project row. (race.ts types its row as a
 * team's; the helper locks whatever table it is given.)
 */
const raceOnProject = <T>(projectId: string, requests: (() => Promise<T>)[]) =>
  raceOnRow(t.database.db, { table: 'projects', id: projectId }, requests);

describe('PUT /v1/projects/:project_id', () => {
  test('an admin replaces every field: 200, new ETag, and an event with only what changed', async () => {
    const { admin, project } = await teamProject();
    const response = await putProject(admin, project.id, {
      name: 'Website',
      key: 'SITE',
      description: 'The website',
      visibility: 'team',
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers.etag, '"v2"');
    const updated = body(response);
    assert.equal(updated.name, 'Website');
    assert.equal(updated.key, 'SITE');
    assert.equal(updated.version, 2);
    assert.ok(updated.updated_at > project.updated_at);
    const row = await projectRow(project.id);
    assert.equal(row.key, 'SITE');
    assert.equal(row.version, 2);
    const events = await laterEvents(project.id);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'project.updated');
    assert.equal(events[0]?.actor_id, admin.id);
    assert.deepEqual(events[0]?.data, {
      changes: {
        name: { before: 'Web', after: 'Website' },
        key: { before: 'WEB', after: 'SITE' },
      },
    });
  });

  test('an absent description is replaced by the empty one', async () => {
    const { admin, project } = await teamProject();
    const response = await putProject(admin, project.id, {
      name: 'Web',
      key: 'WEB',
      visibility: 'team',
    });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).description, '');
    assert.equal((await projectRow(project.id)).description, '');
  });

  test('replacing with the same values keeps version, updated_at and ETag, and writes no event', async () => {
    const { admin, project } = await teamProject();
    const response = await putProject(admin, project.id, {
      name: 'Web',
      key: 'WEB',
      description: 'The website',
      visibility: 'team',
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v1"');
    assert.deepEqual(body(response), project);
    assert.deepEqual(await laterEvents(project.id), []);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['no name', { key: 'WEB', visibility: 'team' }, '/name'],
    ['no key', { name: 'Web', visibility: 'team' }, '/key'],
    ['no visibility', { name: 'Web', key: 'WEB' }, '/visibility'],
    ['a lowercase key', { name: 'Web', key: 'web', visibility: 'team' }, '/key'],
    ['a blank name', { name: ' ', key: 'WEB', visibility: 'team' }, '/name'],
    ['an unknown field', { name: 'Web', key: 'WEB', visibility: 'team', id: 'x' }, '/id'],
    [
      'a null description',
      { name: 'W', key: 'WEB', visibility: 'team', description: null },
      '/description',
    ],
  ];
  for (const [what, payload, pointer] of invalid) {
    test(`a body with ${what} answers 422 on ${pointer} and changes nothing`, async () => {
      const { admin, project } = await teamProject();
      const problem = assertProblem(
        await putProject(admin, project.id, payload),
        422,
        'validation_failed',
      );
      assert.ok(problem.errors.some((e: { pointer: string }) => e.pointer === pointer));
      assert.equal((await projectRow(project.id)).version, 1);
    });
  }

  test('a key another project of the team has answers 409 and changes nothing', async () => {
    const { team, admin, project } = await teamProject();
    await createProject(t.app, admin, team.id, { key: 'API' });
    const response = await putProject(admin, project.id, {
      name: 'Renamed too',
      key: 'API',
      visibility: 'team',
    });
    assertProblem(response, 409, 'conflict');
    const row = await projectRow(project.id);
    assert.equal(row.key, 'WEB');
    assert.equal(row.name, 'Web');
    assert.deepEqual(await laterEvents(project.id), []);
  });
});

describe('PATCH /v1/projects/:project_id', () => {
  test('changes only the fields sent; the event names them with before and after', async () => {
    const { admin, project } = await teamProject();
    const response = await patchProject(admin, project.id, { description: 'New words' });
    assert.equal(response.statusCode, 200);
    const updated = body(response);
    assert.equal(updated.description, 'New words');
    assert.equal(updated.name, 'Web');
    assert.equal(updated.version, 2);
    const [event] = await laterEvents(project.id);
    assert.deepEqual(event?.data, {
      changes: { description: { before: 'The website', after: 'New words' } },
    });
  });

  test('description null clears it', async () => {
    const { admin, project } = await teamProject();
    const response = await patchProject(admin, project.id, { description: null });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).description, '');
    assert.equal((await projectRow(project.id)).description, '');
  });

  test('a new key is a new prefix for every task key; a taken one answers 409', async () => {
    const { team, admin, project } = await teamProject();
    await createProject(t.app, admin, team.id, { key: 'OPS' });
    assertProblem(await patchProject(admin, project.id, { key: 'OPS' }), 409, 'conflict');
    const response = await patchProject(admin, project.id, { key: 'WWW' });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).key, 'WWW');
    assert.equal((await projectRow(project.id)).key, 'WWW');
  });

  test('a patch that changes nothing keeps version, updated_at and ETag, and writes no event', async () => {
    const { admin, project } = await teamProject();
    const response = await patchProject(admin, project.id, { name: ' Web ', key: 'WEB' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v1"');
    assert.deepEqual(body(response), project);
    assert.deepEqual(await laterEvents(project.id), []);
  });

  test('accepts Content-Type application/merge-patch+json', async () => {
    const { admin, project } = await teamProject();
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/v1/projects/${project.id}`,
      headers: { ...admin.auth, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ name: 'Merged' }),
    });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).name, 'Merged');
  });

  const invalid: [string, unknown][] = [
    ['is empty', {}],
    ['sets the name to null', { name: null }],
    ['sets the key to null', { key: null }],
    ['sets the visibility to null', { visibility: null }],
    ['has a blank name', { name: '\t' }],
    ['has a key of one letter', { key: 'W' }],
    ['has a number for a name', { name: 12 }],
    ['has an unknown field', { name: 'Ok', team_id: randomUUID() }],
    ['sets archived_at', { archived_at: null }],
  ];
  for (const [what, payload] of invalid) {
    test(`when the body ${what}, answers 422 and changes nothing`, async () => {
      const { admin, project } = await teamProject();
      assertProblem(await patchProject(admin, project.id, payload), 422, 'validation_failed');
      assert.equal((await projectRow(project.id)).version, 1);
    });
  }

  test('an archived project answers 409 to PATCH and PUT, and does not change', async () => {
    const { admin, project } = await teamProject();
    await archiveProject(t.app, project.id, admin);
    assertProblem(await patchProject(admin, project.id, { name: 'Nope' }), 409, 'conflict');
    const put = { name: 'Nope', key: 'WEB', visibility: 'team' };
    assertProblem(await putProject(admin, project.id, put), 409, 'conflict');
    const row = await projectRow(project.id);
    assert.equal(row.name, 'Web');
    assert.equal(row.version, 2);
  });
});

describe('If-Match on PUT, PATCH and DELETE', () => {
  test('the current ETag and * pass; a stale one answers 412 with the current ETag', async () => {
    const { admin, project } = await teamProject();
    const first = await patchProject(admin, project.id, { name: 'One' }, { 'if-match': '"v1"' });
    assert.equal(first.statusCode, 200);
    const stale = await patchProject(admin, project.id, { name: 'Two' }, { 'if-match': '"v1"' });
    assertProblem(stale, 412, 'precondition_failed');
    assert.equal(stale.headers.etag, '"v2"');
    const stalePut = await putProject(
      admin,
      project.id,
      { name: 'Two', key: 'WEB', visibility: 'team' },
      { 'if-match': '"v1"' },
    );
    assertProblem(stalePut, 412, 'precondition_failed');
    const staleDelete = await deleteProject(admin, project.id, { 'if-match': '"v1"' });
    assertProblem(staleDelete, 412, 'precondition_failed');
    const row = await projectRow(project.id);
    assert.equal(row.name, 'One');
    assert.equal(row.archived_at, null);

    const any = await patchProject(admin, project.id, { name: 'Any' }, { 'if-match': '*' });
    assert.equal(any.statusCode, 200);
    const archived = await deleteProject(admin, project.id, { 'if-match': '"v9", "v3"' });
    assert.equal(archived.statusCode, 204);
  });

  test('a weak ETag never matches (strong comparison) and a malformed one answers 400', async () => {
    const { admin, project } = await teamProject();
    const weak = await patchProject(admin, project.id, { name: 'W' }, { 'if-match': 'W/"v1"' });
    assertProblem(weak, 412, 'precondition_failed');
    const bad = await patchProject(admin, project.id, { name: 'W' }, { 'if-match': 'v1' });
    assert.equal(assertProblem(bad, 400, 'malformed_request').errors[0].header, 'if-match');
    assert.equal((await projectRow(project.id)).version, 1);
  });

  test('four PATCHes racing with the same If-Match: exactly one 200, three 412, one event', async () => {
    const { admin, project } = await teamProject();
    const names = ['Alpha', 'Beta', 'Gamma', 'Delta'];
    const responses = await raceOnProject(
      project.id,
      names.map((name) => () => patchProject(admin, project.id, { name }, { 'if-match': '"v1"' })),
    );
    assert.deepEqual(responses.map((r) => r.statusCode).sort(), [200, 412, 412, 412]);
    for (const loser of responses.filter((r) => r.statusCode === 412)) {
      assert.equal(loser.headers.etag, '"v2"');
    }
    const winner = body(responses.find((r) => r.statusCode === 200)!);
    const row = await projectRow(project.id);
    assert.equal(row.version, 2);
    assert.equal(row.name, winner.name);
    assert.equal((await laterEvents(project.id)).length, 1);
  });
});

describe('who may change a project', () => {
  for (const role of ['member', 'viewer'] as const) {
    test(`a team ${role} on a team project gets 403 for PUT, PATCH, DELETE and unarchive`, async () => {
      const scene = await teamProject();
      const user = scene[role];
      const id = scene.project.id;
      assertProblem(await patchProject(user, id, { name: 'X' }), 403, 'forbidden');
      const put = { name: 'X', key: 'WEB', visibility: 'team' };
      assertProblem(await putProject(user, id, put), 403, 'forbidden');
      assertProblem(await deleteProject(user, id), 403, 'forbidden');
      assertProblem(await unarchive(user, id), 403, 'forbidden');
      assert.equal((await projectRow(id)).version, 1);
    });
  }

  test('in a private project: members and viewers get 403, a team admin outside it 404, the team owner and project admins 200', async () => {
    const { team, owner, admin, member, viewer } = await createTeamWithRoles(t.app);
    const project = await createPrivateProject(t.app, owner, team.id);
    await insertProjectMember(t.database.db, project.id, member.id, 'member');
    await insertProjectMember(t.database.db, project.id, viewer.id, 'viewer');
    assertProblem(await patchProject(member, project.id, { name: 'M' }), 403, 'forbidden');
    assertProblem(await patchProject(viewer, project.id, { name: 'V' }), 403, 'forbidden');
    assertProblem(await patchProject(admin, project.id, { name: 'A' }), 404, 'not_found');
    assertProblem(await deleteProject(admin, project.id), 404, 'not_found');
    assert.equal((await patchProject(owner, project.id, { name: 'O' })).statusCode, 200);
    // A team viewer made admin of the project administers it.
    await t.database.db
      .updateTable('project_members')
      .set({ role: 'admin' })
      .where('user_id', '=', viewer.id)
      .execute();
    assert.equal((await patchProject(viewer, project.id, { name: 'V' })).statusCode, 200);
  });

  test("another team's project and an unknown id answer 404", async () => {
    const { project } = await teamProject();
    const { owner: stranger } = await createTeamWithRoles(t.app);
    assertProblem(await patchProject(stranger, project.id, { name: 'X' }), 404, 'not_found');
    assertProblem(await deleteProject(stranger, project.id), 404, 'not_found');
    assertProblem(await unarchive(stranger, project.id), 404, 'not_found');
    assertProblem(await patchProject(stranger, randomUUID(), { name: 'X' }), 404, 'not_found');
    assert.equal((await projectRow(project.id)).version, 1);
  });
});

describe('changing visibility', () => {
  test('team → private: the admin who did it becomes its admin member; other team members lose it', async () => {
    const { admin, member, owner, project } = await teamProject();
    const response = await patchProject(admin, project.id, { visibility: 'private' });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).visibility, 'private');
    assert.deepEqual(await membersOf(project.id), [{ user_id: admin.id, role: 'admin' }]);
    assertProblem(await getProject(member, project.id), 404, 'not_found');
    assert.equal((await getProject(admin, project.id)).statusCode, 200);
    assert.equal((await getProject(owner, project.id)).statusCode, 200);
    assert.deepEqual(
      (await laterEvents(project.id)).map((event) => [event.type, event.subject_id, event.data]),
      [
        [
          'project.updated',
          project.id,
          { changes: { visibility: { before: 'team', after: 'private' } } },
        ],
        [
          'project_member.added',
          admin.id,
          { project_id: project.id, user_id: admin.id, role: 'admin' },
        ],
      ],
    );
  });

  test('private → team: the member list is dropped, with an event each; every team member sees it', async () => {
    const { team, owner, member, viewer } = await createTeamWithRoles(t.app);
    const project: TestProject = await createPrivateProject(t.app, owner, team.id);
    await insertProjectMember(t.database.db, project.id, member.id, 'viewer');
    assertProblem(await getProject(viewer, project.id), 404, 'not_found');
    const response = await patchProject(owner, project.id, { visibility: 'team' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(await membersOf(project.id), []);
    assert.equal((await getProject(viewer, project.id)).statusCode, 200);
    const removed = (await laterEvents(project.id))
      .filter((event) => event.type === 'project_member.removed')
      .map((event) => event.subject_id)
      .sort();
    assert.deepEqual(removed, [owner.id, member.id].sort());
    // Back to private: only the one who did it is on the new list.
    assert.equal(
      (await patchProject(owner, project.id, { visibility: 'private' })).statusCode,
      200,
    );
    assert.deepEqual(await membersOf(project.id), [{ user_id: owner.id, role: 'admin' }]);
    assertProblem(await getProject(member, project.id), 404, 'not_found');
  });
});

describe('DELETE /v1/projects/:project_id (archive) and POST …/unarchive', () => {
  test('archiving: 204, archived_at set, version up, one event; still readable, gone from the list', async () => {
    const { team, admin, viewer, project } = await teamProject();
    const response = await deleteProject(admin, project.id);
    assert.equal(response.statusCode, 204);
    assert.equal(response.body, '');
    const row = await projectRow(project.id);
    assert.ok(row.archived_at);
    assert.equal(row.version, 2);
    const read = await getProject(viewer, project.id);
    assert.equal(read.statusCode, 200);
    assert.equal(body(read).archived_at, row.archived_at.toISOString());
    assert.match(body(read).archived_at, RFC3339_MS);
    const list = await send('GET', viewer, `/v1/teams/${team.id}/projects`);
    assert.deepEqual(body(list).data, []);
    const events = await laterEvents(project.id);
    assert.deepEqual(
      events.map((event) => [event.type, event.data]),
      [['project.archived', { archived_at: row.archived_at.toISOString() }]],
    );
  });

  test('archiving an archived project answers 204 again and changes nothing', async () => {
    const { admin, project } = await teamProject();
    assert.equal((await deleteProject(admin, project.id)).statusCode, 204);
    const before = await projectRow(project.id);
    assert.equal((await deleteProject(admin, project.id)).statusCode, 204);
    assert.deepEqual(await projectRow(project.id), before);
    assert.equal((await laterEvents(project.id)).length, 1);
  });

  test('unarchiving: 200 with the project active again, a new ETag and an event; it can change again', async () => {
    const { admin, project } = await teamProject();
    await archiveProject(t.app, project.id, admin);
    const archivedAt = (await projectRow(project.id)).archived_at!;
    const response = await unarchive(admin, project.id, { 'if-match': '"v2"' });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers.etag, '"v3"');
    assert.equal(body(response).archived_at, null);
    assert.equal(body(response).version, 3);
    assert.equal((await projectRow(project.id)).archived_at, null);
    const events = await laterEvents(project.id);
    assert.deepEqual(
      events.map((event) => [event.type, event.data]),
      [
        ['project.archived', { archived_at: archivedAt.toISOString() }],
        ['project.unarchived', { archived_at: archivedAt.toISOString() }],
      ],
    );
    assert.equal((await patchProject(admin, project.id, { name: 'Alive' })).statusCode, 200);
  });

  test('unarchiving an active project answers 200 and changes nothing; a stale If-Match 412', async () => {
    const { admin, project } = await teamProject();
    const response = await unarchive(admin, project.id);
    assert.equal(response.statusCode, 200);
    assert.deepEqual(body(response), project);
    assert.deepEqual(await laterEvents(project.id), []);
    const stale = await unarchive(admin, project.id, { 'if-match': '"v7"' });
    assertProblem(stale, 412, 'precondition_failed');
    assert.equal(stale.headers.etag, '"v1"');
  });

  test('unarchive takes no body fields and no query parameters', async () => {
    const { admin, project } = await teamProject();
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/projects/${project.id}/unarchive?force=true`,
      headers: admin.auth,
    });
    assertProblem(response, 422, 'validation_failed');
  });
});
