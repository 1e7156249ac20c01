// The events that team and membership changes append to the log (see
// docs/decisions/0011-event-log.md); the behaviour of the routes themselves is
// tested in teams.routes.test.ts and members.routes.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import type { EventRow } from '../../../test/helpers/comment-factories.ts';
import {
  addMember,
  body,
  createTeam,
  createTeamWithRoles,
  createUser,
  type TestUser,
} from '../../../test/helpers/factories.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

/** The team's events as stored, oldest first, without the fields that vary. */
async function eventsOf(teamId: string) {
  const rows = (await t.database.db
    .selectFrom('events')
    .selectAll()
    .where('team_id', '=', teamId)
    .orderBy('id')
    .execute()) as EventRow[];
  return rows.map(({ type, project_id, actor_id, subject_id, data }) => ({
    type,
    project_id,
    actor_id,
    subject_id,
    data,
  }));
}

const patchTeam = (user: TestUser, teamId: string, payload: Record<string, unknown>) =>
  t.app.inject({ method: 'PATCH', url: `/v1/teams/${teamId}`, headers: user.auth, payload });

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

describe('team events', () => {
  test('creating a team logs its founding owner as member.added', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    assert.deepEqual(await eventsOf(team.id), [
      {
        type: 'member.added',
        project_id: null,
        actor_id: owner.id,
        subject_id: owner.id,
        data: { user_id: owner.id, role: 'owner' },
      },
    ]);
  });

  test('a rename and a plan change log team.updated with only the changed fields', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner, 'Before');
    assert.equal(
      (await patchTeam(owner, team.id, { name: 'After', plan: 'free' })).statusCode,
      200,
    );
    assert.equal((await patchTeam(owner, team.id, { plan: 'pro' })).statusCode, 200);

    const updates = (await eventsOf(team.id)).filter((e) => e.type === 'team.updated');
    assert.deepEqual(updates, [
      {
        type: 'team.updated',
        project_id: null,
        actor_id: owner.id,
        subject_id: team.id,
        data: { changes: { name: { before: 'Before', after: 'After' } } },
      },
      {
        type: 'team.updated',
        project_id: null,
        actor_id: owner.id,
        subject_id: team.id,
        data: { changes: { plan: { before: 'free', after: 'pro' } } },
      },
    ]);
  });

  test('a patch that changes nothing, and refused ones (403, 412), log nothing', async () => {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    const before = await eventsOf(team.id);
    assert.equal((await patchTeam(owner, team.id, { name: 'Test Team' })).statusCode, 200);
    assert.equal((await patchTeam(member, team.id, { name: 'Mine now' })).statusCode, 403);
    const stale = await t.app.inject({
      method: 'PATCH',
      url: `/v1/teams/${team.id}`,
      headers: { ...owner.auth, 'if-match': '"v0"' },
      payload: { name: 'stale' },
    });
    assert.equal(stale.statusCode, 412);
    assert.deepEqual(await eventsOf(team.id), before);
  });

  test('adding a member logs member.added with their id and role', async () => {
    const { team, admin } = await createTeamWithRoles(t.app);
    const newcomer = await createUser(t.app);
    await addMember(t.app, team, admin, newcomer, 'viewer');
    const last = (await eventsOf(team.id)).at(-1);
    assert.deepEqual(last, {
      type: 'member.added',
      project_id: null,
      actor_id: admin.id,
      subject_id: newcomer.id,
      data: { user_id: newcomer.id, role: 'viewer' },
    });
  });

  test('adding someone who is already a member logs nothing', async () => {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    const before = await eventsOf(team.id);
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/teams/${team.id}/members`,
      headers: owner.auth,
      payload: { email: member.email, role: 'admin' },
    });
    assert.equal(response.statusCode, 409);
    assert.deepEqual(await eventsOf(team.id), before);
  });

  test('a role change logs member.role_changed with before and after; the same role logs nothing', async () => {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    assert.equal((await patchRole(owner, team.id, member.id, 'admin')).statusCode, 200);
    const before = await eventsOf(team.id);
    assert.deepEqual(before.at(-1), {
      type: 'member.role_changed',
      project_id: null,
      actor_id: owner.id,
      subject_id: member.id,
      data: { user_id: member.id, changes: { role: { before: 'member', after: 'admin' } } },
    });
    assert.equal((await patchRole(owner, team.id, member.id, 'admin')).statusCode, 200);
    assert.deepEqual(await eventsOf(team.id), before);
  });

  test('a refused role change (the last owner) logs nothing', async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    const before = await eventsOf(team.id);
    assert.equal((await patchRole(owner, team.id, owner.id, 'admin')).statusCode, 409);
    assert.deepEqual(await eventsOf(team.id), before);
  });

  test('removing a member logs member.removed with the role they had; leaving names them as actor', async () => {
    const { team, admin, member, viewer } = await createTeamWithRoles(t.app);
    assert.equal((await removeMember(admin, team.id, member.id)).statusCode, 204);
    assert.equal((await removeMember(viewer, team.id, viewer.id)).statusCode, 204);
    const [removed, left] = (await eventsOf(team.id)).slice(-2);
    assert.deepEqual(removed, {
      type: 'member.removed',
      project_id: null,
      actor_id: admin.id,
      subject_id: member.id,
      data: { user_id: member.id, role: 'member' },
    });
    assert.deepEqual(left, {
      type: 'member.removed',
      project_id: null,
      actor_id: viewer.id,
      subject_id: viewer.id,
      data: { user_id: viewer.id, role: 'viewer' },
    });
  });

  test('membership events are listed by GET /v1/teams/{id}/events, newest first', async () => {
    const { team, owner, admin, member, viewer } = await createTeamWithRoles(t.app);
    await patchRole(owner, team.id, viewer.id, 'member');
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/teams/${team.id}/events?type=member.`,
      headers: viewer.auth,
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(
      body(response).data.map((e: { type: string; subject_id: string }) => [e.type, e.subject_id]),
      [
        ['member.role_changed', viewer.id],
        ['member.added', viewer.id],
        ['member.added', member.id],
        ['member.added', admin.id],
        ['member.added', owner.id],
      ],
    );
  });

  test('deleting a team deletes its events with it', async () => {
    const { team, owner } = await createTeamWithRoles(t.app);
    assert.ok((await eventsOf(team.id)).length > 0);
    const response = await t.app.inject({
      method: 'DELETE',
      url: `/v1/teams/${team.id}`,
      headers: owner.auth,
    });
    assert.equal(response.statusCode, 204);
    assert.deepEqual(await eventsOf(team.id), []);
  });
});
