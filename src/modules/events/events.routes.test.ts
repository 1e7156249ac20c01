import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  createComment,
  createTaskWorld,
  type EventRow,
} from '../../../test/helpers/comment-factories.ts';
import {
  assertProblem,
  body,
  RFC3339_MS,
  type TestUser,
  UUID_V7,
} from '../../../test/helpers/factories.ts';
import { insertProject, insertProjectMember, insertTask } from '../../../test/helpers/rows.ts';
import { appendEvent, type EventType } from '../../events/event-log.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

interface EventJson {
  id: string;
  type: string;
  team_id: string;
  project_id: string | null;
  actor_id: string | null;
  subject_id: string;
  data: Record<string, unknown>;
  created_at: string;
}

const listEvents = (user: TestUser, teamId: string, query = '') =>
  t.app.inject({ method: 'GET', url: `/v1/teams/${teamId}/events${query}`, headers: user.auth });

const eventsOf = (response: LightMyRequestResponse) => body<{ data: EventJson[] }>(response).data;
const typesOf = (response: LightMyRequestResponse) => eventsOf(response).map((e) => e.type);

/** The team's event rows as stored, newest first: what a full walk must return. */
const storedEvents = (teamId: string) =>
  t.database.db
    .selectFrom('events')
    .selectAll()
    .where('team_id', '=', teamId)
    .orderBy('id', 'desc')
    .execute() as Promise<EventRow[]>;

/** An event written straight to the log, for types whose routes live elsewhere. */
async function logEvent(
  teamId: string,
  type: EventType | string,
  options: { projectId?: string | null; subjectId?: string } = {},
): Promise<void> {
  await t.database.db.transaction().execute((trx) =>
    appendEvent(trx, {
      teamId,
      projectId: options.projectId ?? null,
      type: type as EventType,
      actorId: null,
      subjectId: options.subjectId ?? randomUUID(),
      data: {},
    }),
  );
}

/** Walks every page with `limit`, following next_cursor; returns the ids in order. */
async function walk(user: TestUser, teamId: string, query: string): Promise<string[]> {
  const seen: string[] = [];
  let url = `/v1/teams/${teamId}/events?${query}`;
  for (let pages = 0; pages < 50; pages++) {
    const response = await t.app.inject({ method: 'GET', url, headers: user.auth });
    assert.equal(response.statusCode, 200, response.body);
    seen.push(...eventsOf(response).map((e) => e.id));
    const next = body(response).next_cursor as string | null;
    if (next === null) {
      assert.equal(response.headers.link, undefined);
      return seen;
    }
    const link = /^<([^>]+)>; rel="next"$/.exec(String(response.headers.link));
    assert.ok(link, 'a page with a next cursor has a Link header');
    url = link[1]!;
  }
  throw new Error('too many pages');
}

describe('GET /v1/teams/{team_id}/events', () => {
  test('lists the team’s events newest first, each with the documented fields', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const comment = await createComment(t.app, w.member, w.task.id, 'hello');

    const response = await listEvents(w.viewer, w.team.id);
    assert.equal(response.statusCode, 200);
    const events = eventsOf(response);
    assert.deepEqual(
      events.map((e) => e.type),
      ['comment.created', 'member.added', 'member.added', 'member.added', 'member.added'],
    );
    const [latest] = events;
    assert.deepEqual(Object.keys(latest!).sort(), [
      'actor_id',
      'created_at',
      'data',
      'id',
      'project_id',
      'subject_id',
      'team_id',
      'type',
    ]);
    assert.match(latest!.id, UUID_V7);
    assert.match(latest!.created_at, RFC3339_MS);
    assert.equal(latest!.team_id, w.team.id);
    assert.equal(latest!.project_id, w.project.id);
    assert.equal(latest!.actor_id, w.member.id);
    assert.equal(latest!.subject_id, comment.id);
    assert.deepEqual(latest!.data, comment);
    const stored = await storedEvents(w.team.id);
    assert.deepEqual(
      events.map((e) => e.id),
      stored.map((e) => e.id),
    );
  });

  test('outsiders and unknown teams get 404; every role of the team may read', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    assertProblem(await listEvents(w.outsider, w.team.id), 404, 'not_found');
    assertProblem(await listEvents(w.owner, randomUUID()), 404, 'not_found');
    for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
      assert.equal((await listEvents(w[role], w.team.id)).statusCode, 200);
    }
  });

  test('events of a private project are listed only for those who can see the project', async () => {
    const w = await createTaskWorld(t.app, t.database.db, { visibility: 'private' });
    await insertProjectMember(t.database.db, w.project.id, w.viewer.id, 'member');
    const secret = await createComment(t.app, w.viewer, w.task.id, 'secret plans');
    const open = await insertProject(t.database.db, { teamId: w.team.id });
    const openTask = await insertTask(t.database.db, open.id);
    const visible = await createComment(t.app, w.member, openTask.id, 'open');

    const subjects = async (user: TestUser, query = '') =>
      eventsOf(await listEvents(user, w.team.id, query)).map((e) => e.subject_id);
    for (const user of [w.member, w.admin]) {
      const seen = await subjects(user);
      assert.ok(seen.includes(visible.id));
      assert.ok(!seen.includes(secret.id), 'a private project’s event leaked');
      assert.deepEqual(await subjects(user, `?project_id=${w.project.id}`), []);
      assert.deepEqual(await subjects(user, `?subject_id=${secret.id}`), []);
    }
    for (const user of [w.owner, w.viewer]) {
      const seen = await subjects(user);
      assert.ok(seen.includes(secret.id) && seen.includes(visible.id));
    }
  });

  test('type filters by exact type, or by prefix when it ends with a dot', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const comment = await createComment(t.app, w.member, w.task.id);
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/comments/${comment.id}`,
      headers: w.member.auth,
      payload: { body: 'edited' },
    });
    await logEvent(w.team.id, 'project_member.added', { projectId: w.project.id });
    // `_` is a LIKE wildcard: a prefix match done with LIKE would let this one in.
    await logEvent(w.team.id, 'projectxmember.added', { projectId: w.project.id });

    assert.deepEqual(typesOf(await listEvents(w.member, w.team.id, '?type=comment.created')), [
      'comment.created',
    ]);
    assert.deepEqual(typesOf(await listEvents(w.member, w.team.id, '?type=comment.')), [
      'comment.updated',
      'comment.created',
    ]);
    assert.deepEqual(typesOf(await listEvents(w.member, w.team.id, '?type=project_member.')), [
      'project_member.added',
    ]);
    assert.deepEqual(typesOf(await listEvents(w.member, w.team.id, '?type=task.')), []);
  });

  test('project_id and subject_id narrow the list, and combine with type', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const other = await insertProject(t.database.db, { teamId: w.team.id });
    const otherTask = await insertTask(t.database.db, other.id);
    const a = await createComment(t.app, w.member, w.task.id);
    const b = await createComment(t.app, w.member, otherTask.id);
    await t.app.inject({ method: 'DELETE', url: `/v1/comments/${a.id}`, headers: w.member.auth });

    const byProject = eventsOf(await listEvents(w.member, w.team.id, `?project_id=${other.id}`));
    assert.deepEqual(
      byProject.map((e) => [e.type, e.subject_id]),
      [['comment.created', b.id]],
    );
    const bySubject = await listEvents(w.member, w.team.id, `?subject_id=${a.id}`);
    assert.deepEqual(typesOf(bySubject), ['comment.deleted', 'comment.created']);
    const combined = await listEvents(
      w.member,
      w.team.id,
      `?subject_id=${a.id}&type=comment.deleted&project_id=${w.project.id}`,
    );
    assert.deepEqual(typesOf(combined), ['comment.deleted']);
    const member = await listEvents(w.member, w.team.id, `?subject_id=${w.viewer.id}`);
    assert.deepEqual(typesOf(member), ['member.added']);
  });

  test('a walk with a small page size returns every event once, newest first', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    for (let i = 0; i < 6; i++) await createComment(t.app, w.member, w.task.id, `c${i}`);
    const expected = (await storedEvents(w.team.id)).map((e) => e.id);
    assert.equal(expected.length, 10);
    for (const limit of [1, 3, 4, 10, 11]) {
      assert.deepEqual(await walk(w.member, w.team.id, `limit=${limit}`), expected);
    }
    const comments = await walk(w.member, w.team.id, 'limit=4&type=comment.');
    assert.deepEqual(
      comments,
      (await storedEvents(w.team.id)).filter((e) => e.type === 'comment.created').map((e) => e.id),
    );
  });

  test('events added during a walk do not disturb it: no event twice, none skipped', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    for (let i = 0; i < 4; i++) await createComment(t.app, w.member, w.task.id);
    const before = (await storedEvents(w.team.id)).map((e) => e.id);
    const first = await listEvents(w.member, w.team.id, '?limit=3');
    await createComment(t.app, w.member, w.task.id, 'newer than the walk');
    const rest = await walk(
      w.member,
      w.team.id,
      `limit=3&cursor=${encodeURIComponent(body(first).next_cursor)}`,
    );
    assert.deepEqual([...eventsOf(first).map((e) => e.id), ...rest], before);
  });

  test('a cursor reused with other filters, on another team or edited answers 400', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const other = await createTaskWorld(t.app, t.database.db);
    await insertProjectMember(t.database.db, other.project.id, w.owner.id, 'admin');
    for (let i = 0; i < 3; i++) await createComment(t.app, w.member, w.task.id);
    const page = await listEvents(w.owner, w.team.id, '?limit=1&type=comment.');
    const cursor = encodeURIComponent(body(page).next_cursor);

    for (const query of [
      `?cursor=${cursor}`,
      `?type=comment.created&cursor=${cursor}`,
      `?type=comment.&project_id=${w.project.id}&cursor=${cursor}`,
      `?type=comment.&subject_id=${w.task.id}&cursor=${cursor}`,
      '?type=comment.&cursor=not.valid',
    ]) {
      const problem = assertProblem(
        await listEvents(w.owner, w.team.id, query),
        400,
        'malformed_request',
      );
      assert.deepEqual(
        problem.errors.map((e: { parameter: string }) => e.parameter),
        ['cursor'],
      );
    }
    assertProblem(
      await listEvents(other.owner, other.team.id, `?type=comment.&cursor=${cursor}`),
      400,
      'malformed_request',
    );
    const next = await listEvents(w.owner, w.team.id, `?type=comment.&limit=5&cursor=${cursor}`);
    assert.equal(next.statusCode, 200, 'the page size may change between pages');
    assert.deepEqual(typesOf(next), ['comment.created', 'comment.created']);
  });

  // A type without a dot is neither a type nor a prefix: refused rather than an empty page.
  const badQueries: [string, string][] = [
    ['type=Task.created', 'type'],
    ['type=task', 'type'],
    ['type=task.created.x', 'type'],
    ['type=.created', 'type'],
    ['project_id=not-a-uuid', 'project_id'],
    ['subject_id=42', 'subject_id'],
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['actor_id=me', 'actor_id'],
  ];
  for (const [query, parameter] of badQueries) {
    test(`?${query} answers 422 on ${parameter}`, async () => {
      const w = await createTaskWorld(t.app, t.database.db);
      const response = await listEvents(w.member, w.team.id, `?${query}`);
      const problem = assertProblem(response, 422, 'validation_failed');
      assert.ok(
        problem.errors.some((e: { parameter?: string }) => e.parameter === parameter),
        JSON.stringify(problem.errors),
      );
    });
  }
});
