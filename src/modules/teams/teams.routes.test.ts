import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  addMember,
  assertProblem,
  body,
  createTeam,
  createTeamWithRoles,
  createUser,
  RFC3339_MS,
  type TestTeam,
  type TestUser,
  UUID_V7,
} from '../../../test/helpers/factories.ts';
import { raceOnRow } from '../../../test/helpers/race.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

const getTeam = (user: TestUser, teamId: string, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'GET',
    url: `/v1/teams/${teamId}`,
    headers: { ...user.auth, ...headers },
  });

const patchTeam = (
  user: TestUser,
  teamId: string,
  payload: Record<string, unknown>,
  headers: Record<string, string> = {},
) =>
  t.app.inject({
    method: 'PATCH',
    url: `/v1/teams/${teamId}`,
    headers: { ...user.auth, ...headers },
    payload,
  });

const deleteTeam = (user: TestUser, teamId: string, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}`,
    headers: { ...user.auth, ...headers },
  });

const teamRow = (teamId: string) =>
  t.database.db.selectFrom('teams').selectAll().where('id', '=', teamId).executeTakeFirst();

const countTeams = async () => {
  const row = await t.database.db
    .selectFrom('teams')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
};

const membershipsOf = (teamId: string) =>
  t.database.db.selectFrom('team_members').selectAll().where('team_id', '=', teamId).execute();

/** The URL inside `Link: <…>; rel="next"`, or undefined when there is no such header. */
function nextLink(response: LightMyRequestResponse): string | undefined {
  const header = response.headers.link;
  if (header === undefined) return undefined;
  const match = /^<([^>]+)>; rel="next"$/.exec(String(header));
  assert.ok(match, `unexpected Link header: ${header}`);
  return match[1];
}

/** A team with `owner` and one more user in each other role. */
describe('POST /v1/teams', () => {
  test('answers 201 with Location and the new team, and makes the creator its owner', async () => {
    const user = await createUser(t.app);
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/teams',
      headers: user.auth,
      payload: { name: 'Platform' },
    });
    assert.equal(response.statusCode, 201);
    const team = body(response);
    assert.deepEqual(Object.keys(team).sort(), [
      'created_at',
      'id',
      'name',
      'plan',
      'updated_at',
      'version',
    ]);
    assert.match(team.id, UUID_V7);
    assert.equal(response.headers.location, `/v1/teams/${team.id}`);
    assert.equal(team.name, 'Platform');
    assert.equal(team.plan, 'free');
    assert.equal(team.version, 1);
    assert.match(team.created_at, RFC3339_MS);
    assert.match(team.updated_at, RFC3339_MS);

    const members = await t.app.inject({
      method: 'GET',
      url: `/v1/teams/${team.id}/members`,
      headers: user.auth,
    });
    assert.equal(members.statusCode, 200);
    assert.deepEqual(
      body(members).data.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
      [[user.id, 'owner']],
    );
  });

  test('trims the name it stores', async () => {
    const user = await createUser(t.app);
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/teams',
      headers: user.auth,
      payload: { name: '  Design  ' },
    });
    assert.equal(response.statusCode, 201);
    assert.equal(body(response).name, 'Design');
    assert.equal((await teamRow(body(response).id))?.name, 'Design');
  });

  const invalidBodies: [string, Record<string, unknown>, string][] = [
    ['a blank name', { name: '   ' }, '/name'],
    ['an empty name', { name: '' }, '/name'],
    ['a name over 200 characters', { name: 'x'.repeat(201) }, '/name'],
    ['no name', {}, '/name'],
    ['a name that is not a string', { name: 42 }, '/name'],
    ['an unknown field', { name: 'Ok', plan: 'pro' }, '/plan'],
  ];
  for (const [what, payload, pointer] of invalidBodies) {
    test(`when the body has ${what}, answers 422 on ${pointer} and creates nothing`, async () => {
      const user = await createUser(t.app);
      const before = await countTeams();
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/teams',
        headers: user.auth,
        payload,
      });
      const problem = assertProblem(response, 422, 'validation_failed');
      assert.ok(
        problem.errors.some((e: { pointer?: string }) => e.pointer === pointer),
        `expected an error on ${pointer}: ${response.body}`,
      );
      assert.equal(await countTeams(), before);
      const memberships = await t.database.db
        .selectFrom('team_members')
        .select('team_id')
        .where('user_id', '=', user.id)
        .execute();
      assert.deepEqual(memberships, []);
    });
  }

  test('a name of exactly 200 characters is accepted', async () => {
    const user = await createUser(t.app);
    const name = 'n'.repeat(200);
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/teams',
      headers: user.auth,
      payload: { name },
    });
    assert.equal(response.statusCode, 201);
    assert.equal(body(response).name, name);
  });

  test('without a token, every team route answers 401', async () => {
    const id = randomUUID();
    const requests = [
      { method: 'POST', url: '/v1/teams', payload: { name: 'x' } },
      { method: 'GET', url: '/v1/teams' },
      { method: 'GET', url: `/v1/teams/${id}` },
      { method: 'PATCH', url: `/v1/teams/${id}`, payload: { name: 'x' } },
      { method: 'DELETE', url: `/v1/teams/${id}` },
    ] as const;
    for (const request of requests) {
      assertProblem(await t.app.inject(request), 401, 'unauthenticated');
    }
  });
});

describe('GET /v1/teams', () => {
  test('lists only the teams the caller belongs to', async () => {
    const ada = await createUser(t.app);
    const bob = await createUser(t.app);
    const mine = await createTeam(t.app, ada, 'Mine');
    const theirs = await createTeam(t.app, bob, 'Theirs');
    const shared = await createTeam(t.app, bob, 'Shared');
    await addMember(t.app, shared, bob, ada, 'viewer');

    const response = await t.app.inject({ method: 'GET', url: '/v1/teams', headers: ada.auth });
    assert.equal(response.statusCode, 200);
    const page = body(response);
    const ids = page.data.map((team: TestTeam) => team.id);
    assert.deepEqual(ids.sort(), [mine.id, shared.id].sort());
    assert.ok(!ids.includes(theirs.id));
    assert.equal(page.next_cursor, null);
    assert.equal(response.headers.link, undefined);
  });

  test('a user in no team gets an empty page', async () => {
    const loner = await createUser(t.app);
    const response = await t.app.inject({ method: 'GET', url: '/v1/teams', headers: loner.auth });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(body(response), { data: [], next_cursor: null });
  });

  test('walking with limit=2 gives pages of 2, 2, 1: no repeats, no gaps, Link only while there is more', async () => {
    const user = await createUser(t.app);
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createTeam(t.app, user, `Team ${i}`)).id);

    const sizes: number[] = [];
    const seen: string[] = [];
    let url: string | undefined = '/v1/teams?limit=2';
    while (url !== undefined) {
      const response: LightMyRequestResponse = await t.app.inject({
        method: 'GET',
        url,
        headers: user.auth,
      });
      assert.equal(response.statusCode, 200);
      const page = body(response);
      sizes.push(page.data.length);
      seen.push(...page.data.map((team: TestTeam) => team.id));
      const link = nextLink(response);
      if (page.next_cursor === null) {
        assert.equal(link, undefined, 'the last page has no Link: rel="next"');
      } else {
        assert.ok(link, 'a page with a next_cursor carries Link: rel="next"');
        const query = new URLSearchParams(link.split('?')[1]);
        assert.equal(query.get('cursor'), page.next_cursor);
        assert.equal(query.get('limit'), '2');
      }
      url = link;
      assert.ok(sizes.length <= 3, 'the walk should end after three pages');
    }
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.equal(new Set(seen).size, 5, 'no team repeats');
    // Ids are UUIDv7, so the list's id order is creation order.
    assert.deepEqual(seen, [...created].sort());
  });

  test('a page walked by next_cursor is the same as the one Link points at', async () => {
    const user = await createUser(t.app);
    for (let i = 0; i < 3; i++) await createTeam(t.app, user, `Team ${i}`);
    const first = await t.app.inject({
      method: 'GET',
      url: '/v1/teams?limit=1',
      headers: user.auth,
    });
    const byCursor = await t.app.inject({
      method: 'GET',
      url: `/v1/teams?limit=1&cursor=${encodeURIComponent(body(first).next_cursor)}`,
      headers: user.auth,
    });
    const byLink = await t.app.inject({
      method: 'GET',
      url: nextLink(first)!,
      headers: user.auth,
    });
    assert.equal(byCursor.statusCode, 200);
    assert.deepEqual(body(byLink), body(byCursor));
    assert.notDeepEqual(body(byCursor).data, body(first).data);
  });

  test('when the cursor has been tampered with, answers 400 malformed_request', async () => {
    const user = await createUser(t.app);
    for (let i = 0; i < 3; i++) await createTeam(t.app, user, `Team ${i}`);
    const first = body(
      await t.app.inject({ method: 'GET', url: '/v1/teams?limit=1', headers: user.auth }),
    );
    const [payload, signature] = String(first.next_cursor).split('.');
    const position = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    position.p = ['00000000-0000-7000-8000-000000000000'];
    const forged = `${Buffer.from(JSON.stringify(position)).toString('base64url')}.${signature}`;
    for (const cursor of [forged, 'garbage', `${first.next_cursor}x`, `${payload}.`]) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/teams?limit=1&cursor=${encodeURIComponent(cursor)}`,
        headers: user.auth,
      });
      const problem = assertProblem(response, 400, 'malformed_request');
      assert.equal(problem.errors[0].parameter, 'cursor');
    }
  });

  test('when the cursor comes from another list (members), answers 400', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    for (let i = 0; i < 2; i++)
      await addMember(t.app, team, owner, await createUser(t.app), 'member');
    const members = body(
      await t.app.inject({
        method: 'GET',
        url: `/v1/teams/${team.id}/members?limit=1`,
        headers: owner.auth,
      }),
    );
    assert.equal(typeof members.next_cursor, 'string');
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/teams?cursor=${encodeURIComponent(members.next_cursor)}`,
      headers: owner.auth,
    });
    assertProblem(response, 400, 'malformed_request');
  });

  for (const limit of ['0', '201', '-1', 'ten']) {
    test(`when limit is ${limit}, answers 422 naming the limit parameter`, async () => {
      const user = await createUser(t.app);
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/teams?limit=${limit}`,
        headers: user.auth,
      });
      const problem = assertProblem(response, 422, 'validation_failed');
      assert.equal(problem.errors[0].parameter, 'limit');
    });
  }

  test('limits 1 and 200 are accepted', async () => {
    const user = await createUser(t.app);
    for (const limit of [1, 200]) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/teams?limit=${limit}`,
        headers: user.auth,
      });
      assert.equal(response.statusCode, 200);
    }
  });
});

describe('GET /v1/teams/:id', () => {
  for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
    test(`as ${role}, a user gets 200 with the team and a strong ETag "v<version>"`, async () => {
      const roles = await createTeamWithRoles(t.app);
      const response = await getTeam(roles[role], roles.team.id);
      assert.equal(response.statusCode, 200);
      const team = body(response);
      assert.equal(team.id, roles.team.id);
      assert.equal(team.name, roles.team.name);
      assert.equal(response.headers.etag, `"v${team.version}"`);
    });
  }

  test('with If-None-Match of the current ETag answers 304 with an empty body', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const etag = String((await getTeam(owner, team.id)).headers.etag);
    const response = await getTeam(owner, team.id, { 'if-none-match': etag });
    assert.equal(response.statusCode, 304);
    assert.equal(response.body, '');
    assert.equal(response.headers.etag, etag);
  });

  test('with If-None-Match of an old ETag answers 200 with the new version', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const old = String((await getTeam(owner, team.id)).headers.etag);
    assert.equal((await patchTeam(owner, team.id, { name: 'Renamed' })).statusCode, 200);
    const response = await getTeam(owner, team.id, { 'if-none-match': old });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).name, 'Renamed');
    assert.notEqual(response.headers.etag, old);
  });

  test('a non-member gets the same 404 as for a team that does not exist', async () => {
    const owner = await createUser(t.app);
    const outsider = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const hidden = assertProblem(await getTeam(outsider, team.id), 404, 'not_found');
    const missing = assertProblem(await getTeam(outsider, randomUUID()), 404, 'not_found');
    assert.equal(hidden.detail, missing.detail);
    assert.equal(hidden.title, missing.title);
  });

  test('an id that is not a uuid answers 422 on the team_id parameter', async () => {
    const user = await createUser(t.app);
    const problem = assertProblem(await getTeam(user, 'not-a-uuid'), 422, 'validation_failed');
    assert.equal(problem.errors[0].parameter, 'team_id');
  });
});

describe('PATCH /v1/teams/:id', () => {
  test('an admin may rename: version increments, updated_at moves and the ETag changes', async () => {
    const { team, admin } = await createTeamWithRoles(t.app);
    const before = body(await getTeam(admin, team.id));
    const response = await patchTeam(admin, team.id, { name: 'Renamed' });
    assert.equal(response.statusCode, 200);
    const patched = body(response);
    assert.equal(patched.name, 'Renamed');
    assert.equal(patched.version, before.version + 1);
    assert.equal(response.headers.etag, `"v${before.version + 1}"`);
    assert.ok(patched.updated_at >= before.updated_at);
    assert.equal(patched.created_at, before.created_at);
    const row = await teamRow(team.id);
    assert.equal(row?.name, 'Renamed');
    assert.equal(row?.version, before.version + 1);
    assert.equal((await getTeam(admin, team.id)).headers.etag, response.headers.etag);
  });

  test('a patch that changes nothing keeps version, updated_at and ETag', async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    const before = body(await getTeam(owner, team.id));
    const response = await patchTeam(owner, team.id, { name: before.name, plan: before.plan });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).version, before.version);
    assert.equal(body(response).updated_at, before.updated_at);
    assert.equal(response.headers.etag, `"v${before.version}"`);
  });

  for (const role of ['member', 'viewer'] as const) {
    test(`a ${role} may not rename: 403 forbidden and nothing changes`, async () => {
      const roles = await createTeamWithRoles(t.app);
      const response = await patchTeam(roles[role], roles.team.id, { name: 'Nope' });
      assertProblem(response, 403, 'forbidden');
      const row = await teamRow(roles.team.id);
      assert.equal(row?.name, roles.team.name);
      assert.equal(row?.version, 1);
    });
  }

  test('a non-member gets 404, the same as for a team that does not exist', async () => {
    const { team, outsider } = await createTeamWithRoles(t.app);
    assertProblem(await patchTeam(outsider, team.id, { name: 'Nope' }), 404, 'not_found');
    assertProblem(await patchTeam(outsider, randomUUID(), { name: 'Nope' }), 404, 'not_found');
    assert.equal((await teamRow(team.id))?.name, team.name);
  });

  test('changing the plan takes an owner: an admin gets 403, the owner 200', async () => {
    const { team, owner, admin } = await createTeamWithRoles(t.app);
    assertProblem(await patchTeam(admin, team.id, { plan: 'pro' }), 403, 'forbidden');
    assert.equal((await teamRow(team.id))?.plan, 'free');

    const response = await patchTeam(owner, team.id, { plan: 'pro' });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).plan, 'pro');
    assert.equal((await teamRow(team.id))?.plan, 'pro');
  });

  test('an admin renaming while also changing the plan gets 403 and the name stays', async () => {
    const { team, admin } = await createTeamWithRoles(t.app);
    const response = await patchTeam(admin, team.id, { name: 'Sneaky', plan: 'pro' });
    assertProblem(response, 403, 'forbidden');
    const row = await teamRow(team.id);
    assert.equal(row?.name, team.name);
    assert.equal(row?.plan, 'free');
  });

  test('with If-Match of the current ETag answers 200', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const etag = String((await getTeam(owner, team.id)).headers.etag);
    const response = await patchTeam(owner, team.id, { name: 'Checked' }, { 'if-match': etag });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).name, 'Checked');
  });

  test('when the If-Match is stale, answers 412 with the current ETag and changes nothing', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const stale = String((await getTeam(owner, team.id)).headers.etag);
    assert.equal((await patchTeam(owner, team.id, { name: 'First' })).statusCode, 200);

    const response = await patchTeam(owner, team.id, { name: 'Second' }, { 'if-match': stale });
    assertProblem(response, 412, 'precondition_failed');
    assert.equal(response.headers.etag, '"v2"');
    const row = await teamRow(team.id);
    assert.equal(row?.name, 'First');
    assert.equal(row?.version, 2);
  });

  test('a weak ETag never matches If-Match (strong comparison): 412', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const response = await patchTeam(owner, team.id, { name: 'Weak' }, { 'if-match': 'W/"v1"' });
    assertProblem(response, 412, 'precondition_failed');
    assert.equal((await teamRow(team.id))?.name, team.name);
  });

  test('If-Match: * and a list holding the current ETag both match', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const star = await patchTeam(owner, team.id, { name: 'Star' }, { 'if-match': '*' });
    assert.equal(star.statusCode, 200);
    const list = await patchTeam(owner, team.id, { name: 'List' }, { 'if-match': '"v9", "v2"' });
    assert.equal(list.statusCode, 200);
    assert.equal(body(list).version, 3);
  });

  for (const header of ['v1', '"v1', 'W/v1', ',']) {
    test(`a malformed If-Match (${header}) answers 400 and changes nothing`, async () => {
      const owner = await createUser(t.app);
      const team = await createTeam(t.app, owner);
      const response = await patchTeam(owner, team.id, { name: 'Bad' }, { 'if-match': header });
      const problem = assertProblem(response, 400, 'malformed_request');
      assert.equal(problem.errors[0].header, 'if-match');
      assert.equal((await teamRow(team.id))?.version, 1);
    });
  }

  test('concurrent PATCHes with the same If-Match: exactly one 200, the others 412', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const names = ['Alpha', 'Beta', 'Gamma', 'Delta'];
    const responses = await raceOnRow(
      t.database.db,
      { table: 'teams', id: team.id },
      names.map((name) => () => patchTeam(owner, team.id, { name }, { 'if-match': '"v1"' })),
    );
    assert.deepEqual(responses.map((r) => r.statusCode).sort(), [200, 412, 412, 412]);
    for (const loser of responses.filter((r) => r.statusCode === 412)) {
      assertProblem(loser, 412, 'precondition_failed');
      assert.equal(loser.headers.etag, '"v2"');
    }
    const winner = responses.find((r) => r.statusCode === 200)!;
    const row = await teamRow(team.id);
    assert.equal(row?.version, 2);
    assert.equal(row?.name, body(winner).name);
  });

  test('accepts Content-Type application/merge-patch+json', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/v1/teams/${team.id}`,
      headers: { ...owner.auth, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ name: 'Merged' }),
    });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).name, 'Merged');
  });

  test('a body that is not JSON answers 415 and changes nothing', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/v1/teams/${team.id}`,
      headers: { ...owner.auth, 'content-type': 'text/plain' },
      payload: 'name=Plain',
    });
    assertProblem(response, 415, 'unsupported_media_type');
    assert.equal((await teamRow(team.id))?.version, 1);
  });

  const invalidPatches: [string, Record<string, unknown>][] = [
    ['is empty', {}],
    ['has a blank name', { name: '  ' }],
    ['has a name over 200 characters', { name: 'x'.repeat(201) }],
    ['has an unknown plan', { plan: 'enterprise' }],
    ['has an unknown field', { name: 'Ok', version: 7 }],
    ['sets the name to null', { name: null }],
  ];
  for (const [what, payload] of invalidPatches) {
    test(`when the body ${what}, answers 422 and changes nothing`, async () => {
      const owner = await createUser(t.app);
      const team = await createTeam(t.app, owner);
      assertProblem(await patchTeam(owner, team.id, payload), 422, 'validation_failed');
      const row = await teamRow(team.id);
      assert.equal(row?.name, team.name);
      assert.equal(row?.version, 1);
    });
  }
});

describe('DELETE /v1/teams/:id', () => {
  test('the owner deletes: 204, then the team answers 404 and its memberships are gone', async () => {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    const response = await deleteTeam(owner, team.id);
    assert.equal(response.statusCode, 204);
    assert.equal(response.body, '');
    assertProblem(await getTeam(owner, team.id), 404, 'not_found');
    assertProblem(await getTeam(member, team.id), 404, 'not_found');
    assert.equal(await teamRow(team.id), undefined);
    assert.deepEqual(await membershipsOf(team.id), []);
    const list = await t.app.inject({ method: 'GET', url: '/v1/teams', headers: owner.auth });
    assert.ok(!body(list).data.some((listed: TestTeam) => listed.id === team.id));
  });

  for (const role of ['admin', 'member', 'viewer'] as const) {
    test(`as ${role}, a user may not delete: 403 and the team stays`, async () => {
      const roles = await createTeamWithRoles(t.app);
      assertProblem(await deleteTeam(roles[role], roles.team.id), 403, 'forbidden');
      assert.ok(await teamRow(roles.team.id));
      assert.equal((await membershipsOf(roles.team.id)).length, 4);
    });
  }

  test('a non-member gets 404 and the team stays', async () => {
    const { team, outsider } = await createTeamWithRoles(t.app);
    assertProblem(await deleteTeam(outsider, team.id), 404, 'not_found');
    assert.ok(await teamRow(team.id));
  });

  test('when the If-Match is stale, answers 412 and deletes nothing; the current one deletes', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    assert.equal((await patchTeam(owner, team.id, { name: 'Moved on' })).statusCode, 200);
    const stale = await deleteTeam(owner, team.id, { 'if-match': '"v1"' });
    assertProblem(stale, 412, 'precondition_failed');
    assert.equal(stale.headers.etag, '"v2"');
    assert.ok(await teamRow(team.id));

    const current = await deleteTeam(owner, team.id, { 'if-match': '"v2"' });
    assert.equal(current.statusCode, 204);
    assert.equal(await teamRow(team.id), undefined);
  });
});
