import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createTeam,
  createTeamWithRoles,
  createUser,
  RFC3339_MS,
  type TestUser,
  UUID_V7,
} from '../../../test/helpers/factories.ts';
import {
  archiveProject,
  createPrivateProject,
  createProject,
} from '../../../test/helpers/project-factories.ts';
import { raceOnRow } from '../../../test/helpers/race.ts';
import { insertProject, insertProjectMember } from '../../../test/helpers/rows.ts';

let t: TestApp;
before(async () => {
  // 20 racing creates each hold a connection while the race helper holds two more.
  t = await startTestApp({ env: { DATABASE_POOL_SIZE: '30' } });
});
after(() => t.close());

const postProject = (user: TestUser, teamId: string, payload: unknown) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/projects`,
    headers: user.auth,
    payload: payload as Record<string, unknown>,
  });

const listProjects = (user: TestUser, teamId: string, query = '') =>
  t.app.inject({
    method: 'GET',
    url: `/v1/teams/${teamId}/projects${query}`,
    headers: user.auth,
  });

const getProject = (user: TestUser, projectId: string, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'GET',
    url: `/v1/projects/${projectId}`,
    headers: { ...user.auth, ...headers },
  });

const projectRows = (teamId: string) =>
  t.database.db
    .selectFrom('projects')
    .selectAll()
    .where('team_id', '=', teamId)
    .orderBy('id')
    .execute();

const eventsOf = (projectId: string) =>
  t.database.db
    .selectFrom('events')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('type')
    .execute();

const membersOf = (projectId: string) =>
  t.database.db
    .selectFrom('project_members')
    .select(['user_id', 'role'])
    .where('project_id', '=', projectId)
    .execute();

const ids = (response: LightMyRequestResponse) =>
  body(response).data.map((project: { id: string }) => project.id);

describe('POST /v1/teams/:team_id/projects', () => {
  test('an admin creates a team project: 201 with Location, ETag, the project and a project.created event', async () => {
    const { team, admin } = await createTeamWithRoles(t.app);
    const response = await postProject(admin, team.id, {
      name: '  Engineering  ',
      key: 'ENG',
      description: 'Build *things*',
    });
    assert.equal(response.statusCode, 201, response.body);
    const project = body(response);
    assert.deepEqual(Object.keys(project).sort(), [
      'archived_at',
      'created_at',
      'description',
      'id',
      'key',
      'name',
      'team_id',
      'updated_at',
      'version',
      'visibility',
    ]);
    assert.match(project.id, UUID_V7);
    assert.equal(response.headers.location, `/v1/projects/${project.id}`);
    assert.equal(response.headers.etag, '"v1"');
    assert.equal(project.team_id, team.id);
    assert.equal(project.name, 'Engineering');
    assert.equal(project.key, 'ENG');
    assert.equal(project.description, 'Build *things*');
    assert.equal(project.visibility, 'team');
    assert.equal(project.archived_at, null);
    assert.equal(project.version, 1);
    assert.match(project.created_at, RFC3339_MS);
    assert.equal(project.updated_at, project.created_at);

    const [row] = await projectRows(team.id);
    assert.equal(row?.name, 'Engineering');
    assert.equal(row?.last_task_number, 0);
    assert.deepEqual(await membersOf(project.id), [], 'a team project has no member list');
    const events = await eventsOf(project.id);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'project.created');
    assert.equal(events[0]?.team_id, team.id);
    assert.equal(events[0]?.subject_id, project.id);
    assert.equal(events[0]?.actor_id, admin.id);
    assert.deepEqual(events[0]?.data, project);
  });

  test('the owner creates a private project: its creator becomes its admin member, with an event', async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    const response = await postProject(owner, team.id, {
      name: 'Secret',
      key: 'SEC',
      visibility: 'private',
    });
    assert.equal(response.statusCode, 201, response.body);
    const project = body(response);
    assert.equal(project.visibility, 'private');
    assert.equal(project.description, '');
    assert.deepEqual(await membersOf(project.id), [{ user_id: owner.id, role: 'admin' }]);
    const events = await eventsOf(project.id);
    assert.deepEqual(
      events.map((event) => [event.type, event.subject_id]),
      [
        ['project.created', project.id],
        ['project_member.added', owner.id],
      ],
    );
    assert.deepEqual(events[1]?.data, { project_id: project.id, user_id: owner.id, role: 'admin' });
  });

  test('the same key in another team is fine: keys are unique per team', async () => {
    const owner = await createUser(t.app);
    const [first, second] = [await createTeam(t.app, owner), await createTeam(t.app, owner)];
    assert.equal((await postProject(owner, first.id, { name: 'A', key: 'OPS' })).statusCode, 201);
    assert.equal((await postProject(owner, second.id, { name: 'B', key: 'OPS' })).statusCode, 201);
  });

  test('a key already used in the team answers 409 conflict, even by an archived project', async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    const existing = await createProject(t.app, owner, team.id, { key: 'WEB' });
    await archiveProject(t.app, existing.id, owner);
    const response = await postProject(owner, team.id, { name: 'Web again', key: 'WEB' });
    assertProblem(response, 409, 'conflict');
    assert.equal((await projectRows(team.id)).length, 1);
  });

  test('20 parallel creates with the same key: one 201, nineteen 409, one project, one event', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    // The insert's foreign-key check waits on the team row the race helper holds,
    // so all twenty reach the unique index together.
    const responses = await raceOnRow(
      t.database.db,
      { table: 'teams', id: team.id },
      Array.from(
        { length: 20 },
        (_, i) => () => postProject(owner, team.id, { name: `Racer ${i}`, key: 'RACE' }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [201, ...Array(19).fill(409)]);
    for (const loser of responses.filter((r) => r.statusCode === 409)) {
      assertProblem(loser, 409, 'conflict');
    }
    const rows = await projectRows(team.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.name, body(responses.find((r) => r.statusCode === 201)!).name);
    const events = await t.database.db
      .selectFrom('events')
      .select('type')
      .where('team_id', '=', team.id)
      .where('type', 'like', 'project%')
      .execute();
    assert.deepEqual(events, [{ type: 'project.created' }]);
  });

  const badKeys = ['E', 'ABCDEFGHIJK', 'eng', 'Eng', 'EN1', 'EN-G', 'ÉNG', ' ENG', '', 42, null];
  for (const key of badKeys) {
    test(`a key of ${JSON.stringify(key)} answers 422 on /key and creates nothing`, async () => {
      const owner = await createUser(t.app);
      const team = await createTeam(t.app, owner);
      const problem = assertProblem(
        await postProject(owner, team.id, { name: 'Bad key', key }),
        422,
        'validation_failed',
      );
      assert.ok(problem.errors.some((e: { pointer: string }) => e.pointer === '/key'));
      assert.deepEqual(await projectRows(team.id), []);
    });
  }

  test('keys of 2 and 10 letters are accepted', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    assert.equal((await postProject(owner, team.id, { name: 'Two', key: 'AB' })).statusCode, 201);
    const ten = await postProject(owner, team.id, { name: 'Ten', key: 'ABCDEFGHIJ' });
    assert.equal(ten.statusCode, 201);
  });

  const invalidBodies: [string, unknown, string][] = [
    ['no name', { key: 'ABC' }, '/name'],
    ['a blank name', { name: '   ', key: 'ABC' }, '/name'],
    ['a name over 200 characters', { name: 'x'.repeat(201), key: 'ABC' }, '/name'],
    ['a name that is a number', { name: 7, key: 'ABC' }, '/name'],
    ['no key', { name: 'Keyless' }, '/key'],
    [
      'a description that is not a string',
      { name: 'D', key: 'ABC', description: 5 },
      '/description',
    ],
    ['a null description', { name: 'D', key: 'ABC', description: null }, '/description'],
    [
      'a description over 100 000 characters',
      { name: 'D', key: 'ABC', description: 'x'.repeat(100_001) },
      '/description',
    ],
    ['an unknown visibility', { name: 'V', key: 'ABC', visibility: 'public' }, '/visibility'],
    ['an unknown field', { name: 'U', key: 'ABC', archived_at: null }, '/archived_at'],
    ['a read-only field', { name: 'U', key: 'ABC', version: 3 }, '/version'],
  ];
  for (const [what, payload, pointer] of invalidBodies) {
    test(`a body with ${what} answers 422 on ${pointer} and creates nothing`, async () => {
      const owner = await createUser(t.app);
      const team = await createTeam(t.app, owner);
      const problem = assertProblem(
        await postProject(owner, team.id, payload),
        422,
        'validation_failed',
      );
      assert.ok(
        problem.errors.some((e: { pointer: string }) => e.pointer === pointer),
        JSON.stringify(problem.errors),
      );
      assert.deepEqual(await projectRows(team.id), []);
    });
  }

  test('a JSON array body answers 422 and a non-JSON body 415', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    assertProblem(
      await postProject(owner, team.id, [{ name: 'A', key: 'AB' }]),
      422,
      'validation_failed',
    );
    const text = await t.app.inject({
      method: 'POST',
      url: `/v1/teams/${team.id}/projects`,
      headers: { ...owner.auth, 'content-type': 'text/plain' },
      payload: 'name=A',
    });
    assertProblem(text, 415, 'unsupported_media_type');
    assert.deepEqual(await projectRows(team.id), []);
  });

  for (const role of ['member', 'viewer'] as const) {
    test(`a team ${role} may not create a project: 403 and nothing is created`, async () => {
      const roles = await createTeamWithRoles(t.app);
      const response = await postProject(roles[role], roles.team.id, { name: 'No', key: 'NOPE' });
      assertProblem(response, 403, 'forbidden');
      assert.deepEqual(await projectRows(roles.team.id), []);
    });
  }

  test('a non-member, and a team that does not exist, both answer 404', async () => {
    const { team, outsider } = await createTeamWithRoles(t.app);
    assertProblem(await postProject(outsider, team.id, { name: 'X', key: 'XX' }), 404, 'not_found');
    assertProblem(
      await postProject(outsider, randomUUID(), { name: 'X', key: 'XX' }),
      404,
      'not_found',
    );
    assert.deepEqual(await projectRows(team.id), []);
  });

  test('without a token answers 401', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/teams/${randomUUID()}/projects`,
      payload: { name: 'X', key: 'XX' },
    });
    assertProblem(response, 401, 'unauthenticated');
  });
});

describe('GET /v1/teams/:team_id/projects', () => {
  /** A team project, a private one with a project member, one archived, and a foreign one. */
  async function scene() {
    const roles = await createTeamWithRoles(t.app);
    const { team, owner, admin, member } = roles;
    const open = await createProject(t.app, admin, team.id, { key: 'OPEN' });
    const secret = await createPrivateProject(t.app, owner, team.id, { key: 'SECRET' });
    await insertProjectMember(t.database.db, secret.id, member.id, 'viewer');
    const old = await createProject(t.app, admin, team.id, { key: 'OLD' });
    await archiveProject(t.app, old.id, admin);
    const elsewhere = await createTeam(t.app, owner);
    await createProject(t.app, owner, elsewhere.id, { key: 'ELSE' });
    return { ...roles, open, secret, old };
  }

  test('each role sees the team projects, and private ones only as their member or a team owner', async () => {
    const { team, owner, admin, member, viewer, open, secret } = await scene();
    assert.deepEqual(ids(await listProjects(owner, team.id)), [open.id, secret.id]);
    // A team admin who is not a member of the private project does not see it.
    assert.deepEqual(ids(await listProjects(admin, team.id)), [open.id]);
    assert.deepEqual(ids(await listProjects(member, team.id)), [open.id, secret.id]);
    assert.deepEqual(ids(await listProjects(viewer, team.id)), [open.id]);
    const page = body(await listProjects(owner, team.id));
    assert.equal(page.next_cursor, null);
    assert.equal(page.data[0].key, 'OPEN');
  });

  test('archived=true lists only the archived projects; archived=false is the default', async () => {
    const { team, admin, open, old } = await scene();
    assert.deepEqual(ids(await listProjects(admin, team.id, '?archived=true')), [old.id]);
    assert.deepEqual(ids(await listProjects(admin, team.id, '?archived=false')), [open.id]);
    const [archived] = body(await listProjects(admin, team.id, '?archived=true')).data;
    assert.match(archived.archived_at, RFC3339_MS);
  });

  test('a private archived project stays hidden from team members outside it', async () => {
    const { team, owner, viewer } = await createTeamWithRoles(t.app);
    const hidden = await createPrivateProject(t.app, owner, team.id);
    await archiveProject(t.app, hidden.id, owner);
    assert.deepEqual(ids(await listProjects(viewer, team.id, '?archived=true')), []);
    assert.deepEqual(ids(await listProjects(owner, team.id, '?archived=true')), [hidden.id]);
  });

  test('walking with limit=2 gives every project once, oldest first, with Link while there is more', async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createProject(t.app, owner, team.id)).id);
    const seen: string[] = [];
    const sizes: number[] = [];
    let url: string | undefined = `/v1/teams/${team.id}/projects?limit=2`;
    while (url) {
      const response: LightMyRequestResponse = await t.app.inject({
        method: 'GET',
        url,
        headers: owner.auth,
      });
      assert.equal(response.statusCode, 200, response.body);
      const page = body(response);
      seen.push(...page.data.map((p: { id: string }) => p.id));
      sizes.push(page.data.length);
      const link = response.headers.link as string | undefined;
      if (page.next_cursor === null) {
        assert.equal(link, undefined);
        url = undefined;
      } else {
        const match = /^<([^>]+)>; rel="next"$/.exec(String(link));
        assert.ok(match, `bad Link: ${link}`);
        url = match[1];
        assert.ok(url?.includes(`cursor=${encodeURIComponent(page.next_cursor)}`));
      }
    }
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(seen, created);
  });

  test('while projects are created and archived during a walk, those present throughout appear once', async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    const [a, b, c, d] = [
      await createProject(t.app, owner, team.id),
      await createProject(t.app, owner, team.id),
      await createProject(t.app, owner, team.id),
      await createProject(t.app, owner, team.id),
    ];
    const page1 = body(await listProjects(owner, team.id, '?limit=2'));
    assert.deepEqual(
      page1.data.map((p: { id: string }) => p.id),
      [a!.id, b!.id],
    );
    await archiveProject(t.app, a!.id, owner); // behind the cursor
    await archiveProject(t.app, c!.id, owner); // ahead of it: leaves the list
    const e = await createProject(t.app, owner, team.id); // ahead of it: joins the list
    const page2 = body(
      await listProjects(
        owner,
        team.id,
        `?limit=2&cursor=${encodeURIComponent(page1.next_cursor)}`,
      ),
    );
    assert.deepEqual(
      page2.data.map((p: { id: string }) => p.id),
      [d!.id, e.id],
    );
  });

  test('a cursor made for archived=false answers 400 when used with archived=true', async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    for (let i = 0; i < 3; i++) await createProject(t.app, owner, team.id);
    const { next_cursor } = body(await listProjects(owner, team.id, '?limit=1'));
    assert.ok(next_cursor);
    const cursor = encodeURIComponent(next_cursor);
    assert.equal((await listProjects(owner, team.id, `?limit=1&cursor=${cursor}`)).statusCode, 200);
    const problem = assertProblem(
      await listProjects(owner, team.id, `?archived=true&cursor=${cursor}`),
      400,
      'malformed_request',
    );
    assert.equal(problem.errors[0].parameter, 'cursor');
  });

  test("a cursor from another team's list answers 400, and a tampered one too", async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    const other = await createTeam(t.app, owner);
    for (let i = 0; i < 2; i++) await createProject(t.app, owner, team.id);
    const { next_cursor } = body(await listProjects(owner, team.id, '?limit=1'));
    const cursor = encodeURIComponent(next_cursor);
    assertProblem(
      await listProjects(owner, other.id, `?cursor=${cursor}`),
      400,
      'malformed_request',
    );
    const tampered = encodeURIComponent(`x${next_cursor}`);
    assertProblem(
      await listProjects(owner, team.id, `?cursor=${tampered}`),
      400,
      'malformed_request',
    );
  });

  const badQueries: [string, string][] = [
    ['?archived=yes', 'archived'],
    ['?limit=0', 'limit'],
    ['?limit=201', 'limit'],
    ['?visibility=team', 'visibility'],
  ];
  for (const [query, parameter] of badQueries) {
    test(`${query} answers 422 naming ${parameter}`, async () => {
      const { team, owner } = await createTeamWithRoles(t.app);
      const problem = assertProblem(
        await listProjects(owner, team.id, query),
        422,
        'validation_failed',
      );
      assert.ok(JSON.stringify(problem.errors).includes(parameter), JSON.stringify(problem.errors));
    });
  }

  test('a non-member gets 404, as for a team that does not exist', async () => {
    const { team, owner, outsider } = await createTeamWithRoles(t.app);
    await createProject(t.app, owner, team.id);
    assertProblem(await listProjects(outsider, team.id), 404, 'not_found');
    assertProblem(await listProjects(outsider, randomUUID()), 404, 'not_found');
  });
});

describe('GET /v1/projects/:project_id', () => {
  test('any team member reads a team project with a strong ETag', async () => {
    const { team, admin, viewer } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, admin, team.id, { key: 'READ' });
    const response = await getProject(viewer, project.id);
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v1"');
    assert.deepEqual(body(response), project);
  });

  test('If-None-Match of the current ETag answers 304 with no body; an old one 200', async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, owner, team.id);
    const fresh = await getProject(owner, project.id, { 'if-none-match': '"v1"' });
    assert.equal(fresh.statusCode, 304);
    assert.equal(fresh.body, '');
    assert.equal(fresh.headers.etag, '"v1"');
    await archiveProject(t.app, project.id, owner);
    const stale = await getProject(owner, project.id, { 'if-none-match': '"v1"' });
    assert.equal(stale.statusCode, 200);
    assert.equal(stale.headers.etag, '"v2"');
    assert.match(body(stale).archived_at, RFC3339_MS);
  });

  test('a private project: 404 for a team admin outside it, 200 for its members and team owners', async () => {
    const { team, owner, admin, member, viewer } = await createTeamWithRoles(t.app);
    const project = await insertProject(t.database.db, { teamId: team.id, visibility: 'private' });
    await insertProjectMember(t.database.db, project.id, viewer.id, 'viewer');
    assertProblem(await getProject(admin, project.id), 404, 'not_found');
    assertProblem(await getProject(member, project.id), 404, 'not_found');
    assert.equal((await getProject(viewer, project.id)).statusCode, 200);
    assert.equal((await getProject(owner, project.id)).statusCode, 200);
  });

  test("another team's project, and a project that does not exist, answer 404", async () => {
    const { team, owner, outsider } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, owner, team.id);
    assertProblem(await getProject(outsider, project.id), 404, 'not_found');
    assertProblem(await getProject(owner, randomUUID()), 404, 'not_found');
  });

  test('an id that is not a uuid answers 422 on the project_id parameter', async () => {
    const owner = await createUser(t.app);
    const problem = assertProblem(await getProject(owner, 'not-a-uuid'), 422, 'validation_failed');
    assert.ok(JSON.stringify(problem.errors).includes('project_id'));
  });
});
