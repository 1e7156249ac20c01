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
} from '../../../test/helpers/factories.ts';
import { raceOnRow } from '../../../test/helpers/race.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

type Role = 'owner' | 'admin' | 'member' | 'viewer';
interface Member {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  joined_at: string;
}

const listMembers = (user: TestUser, teamId: string, query = '') =>
  t.app.inject({
    method: 'GET',
    url: `/v1/teams/${teamId}/members${query}`,
    headers: user.auth,
  });

const postMember = (actor: TestUser, teamId: string, payload: Record<string, unknown>) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/members`,
    headers: actor.auth,
    payload,
  });

const patchRole = (actor: TestUser, teamId: string, userId: string, role: string) =>
  t.app.inject({
    method: 'PATCH',
    url: `/v1/teams/${teamId}/members/${userId}`,
    headers: actor.auth,
    payload: { role },
  });

const removeMember = (actor: TestUser, teamId: string, userId: string) =>
  t.app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/members/${userId}`,
    headers: actor.auth,
  });

const getTeam = (user: TestUser, teamId: string) =>
  t.app.inject({ method: 'GET', url: `/v1/teams/${teamId}`, headers: user.auth });

/** The member's role as stored, or undefined when they are not in the team. */
async function storedRole(teamId: string, userId: string): Promise<Role | undefined> {
  const row = await t.database.db
    .selectFrom('team_members')
    .select('role')
    .where('team_id', '=', teamId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.role;
}

async function storedOwners(teamId: string): Promise<string[]> {
  const rows = await t.database.db
    .selectFrom('team_members')
    .select('user_id')
    .where('team_id', '=', teamId)
    .where('role', '=', 'owner')
    .execute();
  return rows.map((row) => row.user_id).sort();
}

async function memberCount(teamId: string): Promise<number> {
  const row = await t.database.db
    .selectFrom('team_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('team_id', '=', teamId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The URL inside `Link: <…>; rel="next"`, or undefined when there is none. */
function nextLink(response: LightMyRequestResponse): string | undefined {
  const header = response.headers.link;
  if (header === undefined) return undefined;
  const match = /^<([^>]+)>; rel="next"$/.exec(String(header));
  assert.ok(match, `unexpected Link header: ${header}`);
  return match[1];
}

/** Follows `Link: rel="next"` from `url` to the end; calls `between` after each page. */
async function walkMembers(
  user: TestUser,
  url: string,
  between: (pageIndex: number) => Promise<void> = async () => {},
): Promise<{ sizes: number[]; members: Member[] }> {
  const sizes: number[] = [];
  const members: Member[] = [];
  let next: string | undefined = url;
  while (next !== undefined) {
    const response: LightMyRequestResponse = await t.app.inject({
      method: 'GET',
      url: next,
      headers: user.auth,
    });
    assert.equal(response.statusCode, 200, response.body);
    const page = body<{ data: Member[]; next_cursor: string | null }>(response);
    sizes.push(page.data.length);
    members.push(...page.data);
    next = nextLink(response);
    assert.equal(next === undefined, page.next_cursor === null, 'Link exactly when more');
    assert.ok(sizes.length <= 50, 'the walk should end');
    await between(sizes.length - 1);
  }
  return { sizes, members };
}

/** A team with an owner and one more user in each other role, plus an outsider. */
/** A team with exactly two owners. */
async function teamWithTwoOwners() {
  const first = await createUser(t.app);
  const second = await createUser(t.app);
  const team = await createTeam(t.app, first);
  await addMember(t.app, team, first, second, 'owner');
  assert.deepEqual(await storedOwners(team.id), [first.id, second.id].sort());
  return { team, first, second };
}

describe('GET /v1/teams/:id/members', () => {
  for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
    test(`as ${role}, a user sees every member with their role, in join order`, async () => {
      const roles = await createTeamWithRoles(t.app);
      const response = await listMembers(roles[role], roles.team.id);
      assert.equal(response.statusCode, 200);
      const page = body<{ data: Member[]; next_cursor: string | null }>(response);
      assert.deepEqual(
        page.data.map((m) => [m.user_id, m.role]),
        [
          [roles.owner.id, 'owner'],
          [roles.admin.id, 'admin'],
          [roles.member.id, 'member'],
          [roles.viewer.id, 'viewer'],
        ],
      );
      assert.equal(page.next_cursor, null);
      const first = page.data[0]!;
      assert.deepEqual(Object.keys(first).sort(), [
        'email',
        'joined_at',
        'name',
        'role',
        'user_id',
      ]);
      assert.equal(first.email, roles.owner.email);
      assert.equal(first.name, roles.owner.name);
      assert.match(first.joined_at, RFC3339_MS);
    });
  }

  test('a non-member gets the same 404 as for a team that does not exist', async () => {
    const { team, outsider } = await createTeamWithRoles(t.app);
    const hidden = assertProblem(await listMembers(outsider, team.id), 404, 'not_found');
    const missing = assertProblem(await listMembers(outsider, randomUUID()), 404, 'not_found');
    assert.equal(hidden.detail, missing.detail);
  });

  test('walking with limit=2 gives every member once, in join order, pages of 2, 2, 2', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    for (let i = 0; i < 5; i++)
      await addMember(t.app, team, owner, await createUser(t.app), 'member');
    const whole = body<{ data: Member[] }>(await listMembers(owner, team.id, '?limit=200')).data;
    assert.equal(whole.length, 6);

    const { sizes, members } = await walkMembers(owner, `/v1/teams/${team.id}/members?limit=2`);
    assert.deepEqual(sizes, [2, 2, 2]);
    assert.deepEqual(
      members.map((m) => m.user_id),
      whole.map((m) => m.user_id),
    );
    assert.equal(new Set(members.map((m) => m.user_id)).size, 6);
    const keys = members.map((m) => `${m.joined_at}|${m.user_id}`);
    assert.deepEqual(keys, [...keys].sort(), 'ordered by (joined_at, user_id)');
  });

  test('members who joined in the same millisecond are told apart by user id: none repeats or is skipped', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const users = await Promise.all(Array.from({ length: 6 }, () => createUser(t.app)));
    const sameInstant = new Date();
    await t.database.db
      .insertInto('team_members')
      .values(
        users.map((user) => ({
          team_id: team.id,
          user_id: user.id,
          role: 'member' as const,
          joined_at: sameInstant,
        })),
      )
      .execute();
    const { members } = await walkMembers(owner, `/v1/teams/${team.id}/members?limit=2`);
    assert.deepEqual(
      members.map((m) => m.user_id).sort(),
      [owner.id, ...users.map((u) => u.id)].sort(),
    );
  });

  test('while members join and leave during a walk, everyone present throughout appears exactly once', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    // The leaver is on the first page: an offset-based list would then skip a stayer.
    const leaver = await createUser(t.app);
    await addMember(t.app, team, owner, leaver, 'member');
    const stayers: TestUser[] = [];
    for (let i = 0; i < 5; i++) {
      const user = await createUser(t.app);
      await addMember(t.app, team, owner, user, 'member');
      stayers.push(user);
    }

    const { members } = await walkMembers(
      owner,
      `/v1/teams/${team.id}/members?limit=2`,
      async (pageIndex) => {
        if (pageIndex === 0) {
          await addMember(t.app, team, owner, await createUser(t.app), 'viewer');
          assert.equal((await removeMember(owner, team.id, leaver.id)).statusCode, 204);
        }
      },
    );
    const ids = members.map((m) => m.user_id);
    assert.equal(new Set(ids).size, ids.length, 'no member repeats');
    for (const present of [owner, ...stayers]) {
      assert.equal(ids.filter((id) => id === present.id).length, 1, `${present.id} once`);
    }
  });

  test("a cursor from another team's member list answers 400", async () => {
    const owner = await createUser(t.app);
    const [a, b] = [await createTeam(t.app, owner, 'A'), await createTeam(t.app, owner, 'B')];
    for (const team of [a, b]) {
      for (let i = 0; i < 2; i++)
        await addMember(t.app, team, owner, await createUser(t.app), 'member');
    }
    const cursor = body(await listMembers(owner, a.id, '?limit=1')).next_cursor;
    assert.equal(typeof cursor, 'string');
    const response = await listMembers(owner, b.id, `?cursor=${encodeURIComponent(cursor)}`);
    assertProblem(response, 400, 'malformed_request');
  });

  test('a cursor from the team list answers 400', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    await createTeam(t.app, owner, 'Second');
    const teams = await t.app.inject({
      method: 'GET',
      url: '/v1/teams?limit=1',
      headers: owner.auth,
    });
    const cursor = body(teams).next_cursor;
    assert.equal(typeof cursor, 'string');
    const response = await listMembers(owner, team.id, `?cursor=${encodeURIComponent(cursor)}`);
    assertProblem(response, 400, 'malformed_request');
  });
});

describe('GET /v1/teams/:id/members/:user_id', () => {
  const getMember = (actor: TestUser, teamId: string, userId: string) =>
    t.app.inject({
      method: 'GET',
      url: `/v1/teams/${teamId}/members/${userId}`,
      headers: actor.auth,
    });

  test('any member, a viewer included, reads one member: the URL a POST answers in Location', async () => {
    const { team, owner, viewer, member } = await createTeamWithRoles(t.app);
    const response = await getMember(viewer, team.id, member.id);
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).user_id, member.id);
    assert.equal(body(response).role, 'member');
    const added = await createUser(t.app);
    const post = await postMember(owner, team.id, { email: added.email });
    const followed = await t.app.inject({
      method: 'GET',
      url: String(post.headers.location),
      headers: owner.auth,
    });
    assert.equal(body(followed).user_id, added.id);
  });

  test('a non-member gets 404, and so does a user who is not in the team', async () => {
    const { team, owner, outsider } = await createTeamWithRoles(t.app);
    assertProblem(await getMember(outsider, team.id, owner.id), 404, 'not_found');
    assertProblem(await getMember(owner, team.id, outsider.id), 404, 'not_found');
  });
});

describe('POST /v1/teams/:id/members', () => {
  for (const role of ['admin', 'member', 'viewer'] as const) {
    test(`an admin adds someone as ${role}: 201 with Location and the member`, async () => {
      const { team, admin } = await createTeamWithRoles(t.app);
      const newcomer = await createUser(t.app, { name: 'Newcomer' });
      const response = await postMember(admin, team.id, { email: newcomer.email, role });
      assert.equal(response.statusCode, 201);
      assert.equal(response.headers.location, `/v1/teams/${team.id}/members/${newcomer.id}`);
      const member = body<Member>(response);
      assert.equal(member.user_id, newcomer.id);
      assert.equal(member.email, newcomer.email);
      assert.equal(member.name, 'Newcomer');
      assert.equal(member.role, role);
      assert.match(member.joined_at, RFC3339_MS);
      assert.equal(await storedRole(team.id, newcomer.id), role);
      assert.equal((await getTeam(newcomer, team.id)).statusCode, 200);
    });
  }

  test('without a role, the newcomer is a member', async () => {
    const owner = await createUser(t.app);
    const newcomer = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const response = await postMember(owner, team.id, { email: newcomer.email });
    assert.equal(response.statusCode, 201);
    assert.equal(body(response).role, 'member');
    assert.equal(await storedRole(team.id, newcomer.id), 'member');
  });

  test('adding an owner takes an owner: an admin gets 403, the owner 201', async () => {
    const { team, owner, admin } = await createTeamWithRoles(t.app);
    const newcomer = await createUser(t.app);
    assertProblem(
      await postMember(admin, team.id, { email: newcomer.email, role: 'owner' }),
      403,
      'forbidden',
    );
    assert.equal(await storedRole(team.id, newcomer.id), undefined);

    const response = await postMember(owner, team.id, { email: newcomer.email, role: 'owner' });
    assert.equal(response.statusCode, 201);
    assert.deepEqual(await storedOwners(team.id), [owner.id, newcomer.id].sort());
  });

  test('the email matches whatever its case', async () => {
    const owner = await createUser(t.app);
    const newcomer = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const response = await postMember(owner, team.id, { email: newcomer.email.toUpperCase() });
    assert.equal(response.statusCode, 201);
    assert.equal(body(response).user_id, newcomer.id);
    assert.equal(body(response).email, newcomer.email);
  });

  test('an email of no account answers 422 with pointer /email and adds nobody', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const response = await postMember(owner, team.id, { email: 'nobody-here@example.com' });
    const problem = assertProblem(response, 422, 'validation_failed');
    assert.deepEqual(
      problem.errors.map((e: { pointer: string }) => e.pointer),
      ['/email'],
    );
    assert.equal(await memberCount(team.id), 1);
  });

  const invalidBodies: [string, Record<string, unknown>, string][] = [
    ['no email', { role: 'member' }, '/email'],
    ['an email that is not an email', { email: 'not-an-email' }, '/email'],
    ['an unknown role', { email: 'x@example.com', role: 'superuser' }, '/role'],
    ['an unknown field', { email: 'x@example.com', note: 'hi' }, '/note'],
  ];
  for (const [what, payload, pointer] of invalidBodies) {
    test(`a body with ${what} answers 422 on ${pointer}`, async () => {
      const owner = await createUser(t.app);
      const team = await createTeam(t.app, owner);
      const problem = assertProblem(
        await postMember(owner, team.id, payload),
        422,
        'validation_failed',
      );
      assert.ok(
        problem.errors.some((e: { pointer?: string }) => e.pointer === pointer),
        JSON.stringify(problem.errors),
      );
      assert.equal(await memberCount(team.id), 1);
    });
  }

  test('adding someone already in the team answers 409 conflict and keeps their role', async () => {
    const { team, owner, viewer } = await createTeamWithRoles(t.app);
    const response = await postMember(owner, team.id, { email: viewer.email, role: 'admin' });
    assertProblem(response, 409, 'conflict');
    assert.equal(await storedRole(team.id, viewer.id), 'viewer');
    assertProblem(await postMember(owner, team.id, { email: owner.email }), 409, 'conflict');
    assert.equal(await storedRole(team.id, owner.id), 'owner');
  });

  for (const role of ['member', 'viewer'] as const) {
    test(`a ${role} may not add anyone: 403`, async () => {
      const roles = await createTeamWithRoles(t.app);
      const newcomer = await createUser(t.app);
      const response = await postMember(roles[role], roles.team.id, { email: newcomer.email });
      assertProblem(response, 403, 'forbidden');
      assert.equal(await storedRole(roles.team.id, newcomer.id), undefined);
    });
  }

  test('a non-member gets 404 and adds nobody', async () => {
    const { team, outsider } = await createTeamWithRoles(t.app);
    const newcomer = await createUser(t.app);
    assertProblem(await postMember(outsider, team.id, { email: newcomer.email }), 404, 'not_found');
    assertProblem(await postMember(outsider, team.id, { email: outsider.email }), 404, 'not_found');
    assert.equal(await storedRole(team.id, newcomer.id), undefined);
    assert.equal(await storedRole(team.id, outsider.id), undefined);
  });
});

describe('PATCH /v1/teams/:id/members/:user_id', () => {
  test('an admin moves a member between member, viewer and admin', async () => {
    const { team, admin, member } = await createTeamWithRoles(t.app);
    for (const role of ['viewer', 'admin', 'member'] as const) {
      const response = await patchRole(admin, team.id, member.id, role);
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(body<Member>(response).role, role);
      assert.equal(body<Member>(response).user_id, member.id);
      assert.equal(await storedRole(team.id, member.id), role);
    }
  });

  test('promoting to owner takes an owner: an admin gets 403, the owner 200', async () => {
    const { team, owner, admin, member } = await createTeamWithRoles(t.app);
    assertProblem(await patchRole(admin, team.id, member.id, 'owner'), 403, 'forbidden');
    assertProblem(await patchRole(admin, team.id, admin.id, 'owner'), 403, 'forbidden');
    assert.deepEqual(await storedOwners(team.id), [owner.id]);

    assert.equal((await patchRole(owner, team.id, member.id, 'owner')).statusCode, 200);
    assert.deepEqual(await storedOwners(team.id), [owner.id, member.id].sort());
  });

  test('demoting an owner takes an owner: an admin gets 403, another owner 200', async () => {
    const { team, first, second } = await teamWithTwoOwners();
    const admin = await createUser(t.app);
    await addMember(t.app, team, first, admin, 'admin');
    assertProblem(await patchRole(admin, team.id, second.id, 'member'), 403, 'forbidden');
    assert.equal(await storedRole(team.id, second.id), 'owner');

    assert.equal((await patchRole(first, team.id, second.id, 'member')).statusCode, 200);
    assert.deepEqual(await storedOwners(team.id), [first.id]);
  });

  test('the last owner cannot step down (409), but can once another owner exists', async () => {
    const { team, owner, admin } = await createTeamWithRoles(t.app);
    const refused = await patchRole(owner, team.id, owner.id, 'admin');
    assertProblem(refused, 409, 'conflict');
    assert.deepEqual(await storedOwners(team.id), [owner.id]);

    assert.equal((await patchRole(owner, team.id, admin.id, 'owner')).statusCode, 200);
    const stepDown = await patchRole(owner, team.id, owner.id, 'admin');
    assert.equal(stepDown.statusCode, 200);
    assert.deepEqual(await storedOwners(team.id), [admin.id]);
  });

  test('an owner setting an owner to owner again changes nothing and is allowed', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    assert.equal((await patchRole(owner, team.id, owner.id, 'owner')).statusCode, 200);
    assert.deepEqual(await storedOwners(team.id), [owner.id]);
  });

  test('a user who is not in the team answers 404 as a member, whoever asks', async () => {
    const { team, owner, outsider } = await createTeamWithRoles(t.app);
    assertProblem(await patchRole(owner, team.id, outsider.id, 'viewer'), 404, 'not_found');
    assertProblem(await patchRole(owner, team.id, randomUUID(), 'viewer'), 404, 'not_found');
    assert.equal(await storedRole(team.id, outsider.id), undefined);
  });

  test('a member cannot raise their own role: 403', async () => {
    const { team, member, viewer } = await createTeamWithRoles(t.app);
    assertProblem(await patchRole(member, team.id, member.id, 'admin'), 403, 'forbidden');
    assertProblem(await patchRole(viewer, team.id, viewer.id, 'member'), 403, 'forbidden');
    assert.equal(await storedRole(team.id, member.id), 'member');
    assert.equal(await storedRole(team.id, viewer.id), 'viewer');
  });

  test('an unknown role answers 422 on /role', async () => {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    const problem = assertProblem(
      await patchRole(owner, team.id, member.id, 'boss'),
      422,
      'validation_failed',
    );
    assert.equal(problem.errors[0].pointer, '/role');
    assert.equal(await storedRole(team.id, member.id), 'member');
  });
});

describe('DELETE /v1/teams/:id/members/:user_id', () => {
  test('an admin removes a member: 204, and the member loses access to the team', async () => {
    const { team, admin, member } = await createTeamWithRoles(t.app);
    assert.equal((await getTeam(member, team.id)).statusCode, 200);
    const response = await removeMember(admin, team.id, member.id);
    assert.equal(response.statusCode, 204);
    assert.equal(response.body, '');
    assert.equal(await storedRole(team.id, member.id), undefined);
    assertProblem(await getTeam(member, team.id), 404, 'not_found');
    assertProblem(await listMembers(member, team.id), 404, 'not_found');
  });

  for (const role of ['admin', 'member', 'viewer'] as const) {
    test(`as ${role}, a user may leave: 204, and loses access`, async () => {
      const roles = await createTeamWithRoles(t.app);
      const user = roles[role];
      assert.equal((await removeMember(user, roles.team.id, user.id)).statusCode, 204);
      assert.equal(await storedRole(roles.team.id, user.id), undefined);
      assertProblem(await getTeam(user, roles.team.id), 404, 'not_found');
    });
  }

  test('a viewer or member cannot remove someone else: 403', async () => {
    const { team, member, viewer, admin } = await createTeamWithRoles(t.app);
    assertProblem(await removeMember(viewer, team.id, member.id), 403, 'forbidden');
    assertProblem(await removeMember(member, team.id, viewer.id), 403, 'forbidden');
    assertProblem(await removeMember(member, team.id, admin.id), 403, 'forbidden');
    assert.equal(await memberCount(team.id), 4);
  });

  test('an admin cannot remove an owner: 403', async () => {
    const { team, first } = await teamWithTwoOwners();
    const admin = await createUser(t.app);
    await addMember(t.app, team, first, admin, 'admin');
    assertProblem(await removeMember(admin, team.id, first.id), 403, 'forbidden');
    assert.equal(await storedRole(team.id, first.id), 'owner');
  });

  test('an owner removes another owner when one stays: 204', async () => {
    const { team, first, second } = await teamWithTwoOwners();
    assert.equal((await removeMember(first, team.id, second.id)).statusCode, 204);
    assert.deepEqual(await storedOwners(team.id), [first.id]);
  });

  test('the last owner cannot leave (409), and can after making someone else owner', async () => {
    const { team, owner, admin } = await createTeamWithRoles(t.app);
    assertProblem(await removeMember(owner, team.id, owner.id), 409, 'conflict');
    assert.equal(await storedRole(team.id, owner.id), 'owner');

    assert.equal((await patchRole(owner, team.id, admin.id, 'owner')).statusCode, 200);
    assert.equal((await removeMember(owner, team.id, owner.id)).statusCode, 204);
    assert.deepEqual(await storedOwners(team.id), [admin.id]);
    assertProblem(await getTeam(owner, team.id), 404, 'not_found');
  });

  test('someone not in the team answers 404', async () => {
    const { team, owner, outsider } = await createTeamWithRoles(t.app);
    assertProblem(await removeMember(owner, team.id, outsider.id), 404, 'not_found');
    assertProblem(await removeMember(outsider, team.id, owner.id), 404, 'not_found');
    assert.equal(await memberCount(team.id), 4);
  });
});

describe('a team always keeps an owner, even under concurrent changes', () => {
  /** The two requests, held back behind a lock on the team row and then let go together. */
  const race = <T>(teamId: string, first: () => Promise<T>, second: () => Promise<T>) =>
    raceOnRow(t.database.db, { table: 'teams', id: teamId }, [first, second]);

  test('two owners demoting each other at once: one 200, the other 403 as it is no longer an owner; one owner stays', async () => {
    const { team, first, second } = await teamWithTwoOwners();
    const [a, b] = await race(
      team.id,
      () => patchRole(first, team.id, second.id, 'admin'),
      () => patchRole(second, team.id, first.id, 'admin'),
    );
    assert.deepEqual([a!.statusCode, b!.statusCode].sort(), [200, 403]);
    assertProblem(a!.statusCode === 403 ? a! : b!, 403, 'forbidden');
    const winner = a!.statusCode === 200 ? first : second;
    assert.deepEqual(await storedOwners(team.id), [winner.id]);
  });

  test('two owners stepping down at once: one 200, one 409; one owner stays', async () => {
    const { team, first, second } = await teamWithTwoOwners();
    const [a, b] = await race(
      team.id,
      () => patchRole(first, team.id, first.id, 'admin'),
      () => patchRole(second, team.id, second.id, 'admin'),
    );
    assert.deepEqual([a!.statusCode, b!.statusCode].sort(), [200, 409]);
    assertProblem(a!.statusCode === 409 ? a! : b!, 409, 'conflict');
    const stayer = a!.statusCode === 409 ? first : second;
    assert.deepEqual(await storedOwners(team.id), [stayer.id]);
  });

  test('two owners leaving at once: one 204, one 409; one owner stays', async () => {
    const { team, first, second } = await teamWithTwoOwners();
    const [a, b] = await race(
      team.id,
      () => removeMember(first, team.id, first.id),
      () => removeMember(second, team.id, second.id),
    );
    assert.deepEqual([a!.statusCode, b!.statusCode].sort(), [204, 409]);
    assertProblem(a!.statusCode === 409 ? a! : b!, 409, 'conflict');
    const stayer = a!.statusCode === 409 ? first : second;
    assert.deepEqual(await storedOwners(team.id), [stayer.id]);
    assert.equal(await memberCount(team.id), 1);
  });

  test('two owners removing each other at once: one 204, the other 404 as it is gone; one owner stays', async () => {
    const { team, first, second } = await teamWithTwoOwners();
    const [a, b] = await race(
      team.id,
      () => removeMember(first, team.id, second.id),
      () => removeMember(second, team.id, first.id),
    );
    assert.deepEqual([a!.statusCode, b!.statusCode].sort(), [204, 404]);
    const stayer = a!.statusCode === 204 ? first : second;
    assert.deepEqual(await storedOwners(team.id), [stayer.id]);
  });

  test('the same user added twice at once: one 201, one 409, one membership', async () => {
    const owner = await createUser(t.app);
    const newcomer = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const responses = await race(
      team.id,
      () => postMember(owner, team.id, { email: newcomer.email, role: 'viewer' }),
      () => postMember(owner, team.id, { email: newcomer.email.toUpperCase(), role: 'admin' }),
    );
    assert.deepEqual(responses.map((r) => r.statusCode).sort(), [201, 409]);
    assertProblem(responses.find((r) => r.statusCode === 409)!, 409, 'conflict');
    assert.equal(await memberCount(team.id), 2);
  });
});

/**
 * Who may do what in a team. A user who is not a member gets 404 for everything,
 * so a team's existence does not leak; a member without the right gets 403.
 */
describe('permission matrix', () => {
  /** The columns of the table below. */
  const actors = ['owner', 'admin', 'member', 'viewer', 'non-member'] as const;

  interface Scene {
    team: TestTeam;
    actor: TestUser;
    /** Another member (role member) to act on. */
    target: TestUser;
  }

  // biome-ignore format: the table is the spec, one row per action
  const expected = {
    //                                owner admin member viewer non-member
    'read the team':                 [200,  200,  200,   200,   404],
    'rename the team':               [200,  200,  403,   403,   404],
    'change the plan':               [200,  403,  403,   403,   404],
    'delete the team':               [204,  403,  403,   403,   404],
    'list members':                  [200,  200,  200,   200,   404],
    'add a member':                  [201,  201,  403,   403,   404],
    "change another member's role":  [200,  200,  403,   403,   404],
    'remove another member':         [204,  204,  403,   403,   404],
  } satisfies Record<string, [number, number, number, number, number]>;

  const actions: Record<keyof typeof expected, (scene: Scene) => Promise<LightMyRequestResponse>> =
    {
      'read the team': ({ team, actor }) => getTeam(actor, team.id),
      'rename the team': ({ team, actor }) =>
        t.app.inject({
          method: 'PATCH',
          url: `/v1/teams/${team.id}`,
          headers: actor.auth,
          payload: { name: 'Renamed' },
        }),
      'change the plan': ({ team, actor }) =>
        t.app.inject({
          method: 'PATCH',
          url: `/v1/teams/${team.id}`,
          headers: actor.auth,
          payload: { plan: 'pro' },
        }),
      'delete the team': ({ team, actor }) =>
        t.app.inject({ method: 'DELETE', url: `/v1/teams/${team.id}`, headers: actor.auth }),
      'list members': ({ team, actor }) => listMembers(actor, team.id),
      'add a member': async ({ team, actor }) =>
        postMember(actor, team.id, { email: (await createUser(t.app)).email, role: 'member' }),
      "change another member's role": ({ team, actor, target }) =>
        patchRole(actor, team.id, target.id, 'viewer'),
      'remove another member': ({ team, actor, target }) => removeMember(actor, team.id, target.id),
    };

  async function scene(actorRole: (typeof actors)[number]): Promise<Scene> {
    const owner = await createUser(t.app);
    const target = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    await addMember(t.app, team, owner, target, 'member');
    if (actorRole === 'owner') return { team, actor: owner, target };
    const actor = await createUser(t.app);
    if (actorRole !== 'non-member') await addMember(t.app, team, owner, actor, actorRole);
    return { team, actor, target };
  }

  const codes: Record<number, string> = { 403: 'forbidden', 404: 'not_found' };

  for (const action of Object.keys(expected) as (keyof typeof expected)[]) {
    for (const [column, actor] of actors.entries()) {
      const status = expected[action][column]!;
      test(`${actor} → ${action}: ${status}`, async () => {
        const response = await actions[action](await scene(actor));
        const code = codes[status];
        if (code) assertProblem(response, status, code);
        else assert.equal(response.statusCode, status, response.body);
      });
    }
  }
});
