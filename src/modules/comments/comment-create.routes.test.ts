import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  archiveProject,
  type CommentJson,
  commentRow,
  createTaskWorld,
  eventsAbout,
  trashTask,
} from '../../../test/helpers/comment-factories.ts';
import {
  assertProblem,
  body,
  createUser,
  RFC3339_MS,
  type TestUser,
  UUID_V7,
} from '../../../test/helpers/factories.ts';
import { insertProjectMember } from '../../../test/helpers/rows.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

const postComment = (user: TestUser, taskId: string, payload: unknown) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/tasks/${taskId}/comments`,
    headers: user.auth,
    payload: payload as Record<string, unknown>,
  });

const commentsOf = async (taskId: string) =>
  t.database.db.selectFrom('comments').selectAll().where('task_id', '=', taskId).execute();

/** Resolves once `n` sessions of this database are blocked on a lock (or after 2 s). */
async function waitForLockWaiters(n: number): Promise<void> {
  for (const deadline = Date.now() + 2_000; Date.now() < deadline; ) {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(t.database.db);
    if ((rows[0]?.n ?? 0) >= n) return;
    await sleep(5);
  }
}

describe('POST /v1/tasks/{task_id}/comments', () => {
  test('answers 201 with Location, ETag and the comment, stores it and logs comment.created with the whole comment', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const text = '## Heads up\n\n    indented code\nline with trailing break  \n';
    const response = await postComment(w.member, w.task.id, { body: text });

    assert.equal(response.statusCode, 201);
    const comment = body<CommentJson>(response);
    assert.deepEqual(Object.keys(comment).sort(), [
      'author_id',
      'body',
      'created_at',
      'deleted_at',
      'id',
      'task_id',
      'updated_at',
      'version',
    ]);
    assert.match(comment.id, UUID_V7);
    assert.equal(response.headers.location, `/v1/comments/${comment.id}`);
    assert.equal(response.headers.etag, '"v1"');
    assert.equal(comment.task_id, w.task.id);
    assert.equal(comment.author_id, w.member.id);
    assert.equal(comment.body, text, 'markdown whitespace is kept as sent');
    assert.equal(comment.deleted_at, null);
    assert.equal(comment.version, 1);
    assert.match(comment.created_at, RFC3339_MS);
    assert.equal(comment.updated_at, comment.created_at);

    const row = await commentRow(t.database.db, comment.id);
    assert.equal(row?.body, text);
    assert.equal(row?.author_id, w.member.id);

    const events = await eventsAbout(t.database.db, comment.id);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event?.type, 'comment.created');
    assert.equal(event?.team_id, w.team.id);
    assert.equal(event?.project_id, w.project.id);
    assert.equal(event?.actor_id, w.member.id);
    assert.deepEqual(event?.data, comment);
  });

  test('the event of a 10 000-character comment carries the whole body', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const text = 'é'.repeat(10_000);
    const response = await postComment(w.member, w.task.id, { body: text });
    assert.equal(response.statusCode, 201);
    const [event] = await eventsAbout(t.database.db, body(response).id);
    assert.equal(event?.data.body, text);
  });

  for (const role of ['owner', 'admin', 'member'] as const) {
    test(`a team ${role} may comment`, async () => {
      const w = await createTaskWorld(t.app, t.database.db);
      const response = await postComment(w[role], w.task.id, { body: 'hi' });
      assert.equal(response.statusCode, 201);
      assert.equal(body(response).author_id, w[role].id);
    });
  }

  test('when the caller is a viewer, answers 403 and stores nothing', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    assertProblem(await postComment(w.viewer, w.task.id, { body: 'hi' }), 403, 'forbidden');
    assert.deepEqual(await commentsOf(w.task.id), []);
  });

  test('when the caller is outside the team, answers 404 as if the task did not exist', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    assertProblem(await postComment(w.outsider, w.task.id, { body: 'hi' }), 404, 'not_found');
    assert.deepEqual(await commentsOf(w.task.id), []);
  });

  test('on a private project, a team member outside it gets 404 and a project member may comment', async () => {
    const w = await createTaskWorld(t.app, t.database.db, { visibility: 'private' });
    assertProblem(await postComment(w.member, w.task.id, { body: 'hi' }), 404, 'not_found');
    await insertProjectMember(t.database.db, w.project.id, w.member.id, 'member');
    assert.equal((await postComment(w.member, w.task.id, { body: 'hi' })).statusCode, 201);
  });

  test('on a private project, a project viewer gets 403', async () => {
    const w = await createTaskWorld(t.app, t.database.db, { visibility: 'private' });
    await insertProjectMember(t.database.db, w.project.id, w.admin.id, 'viewer');
    assertProblem(await postComment(w.admin, w.task.id, { body: 'hi' }), 403, 'forbidden');
  });

  test('when the task is in the trash, answers 404 and stores nothing', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    await trashTask(t.database.db, w.task.id);
    assertProblem(await postComment(w.member, w.task.id, { body: 'hi' }), 404, 'not_found');
    assert.deepEqual(await commentsOf(w.task.id), []);
  });

  test('a comment racing a task delete waits for it, then answers 404 and stores nothing', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    let pending: Promise<LightMyRequestResponse> | undefined;
    await t.database.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('tasks')
        .set({ deleted_at: new Date() })
        .where('id', '=', w.task.id)
        .execute();
      pending = postComment(w.member, w.task.id, { body: 'too late' });
      // Commit the delete only once the comment is waiting on the task's row lock.
      await waitForLockWaiters(1);
    });
    assertProblem(await pending!, 404, 'not_found');
    assert.deepEqual(await commentsOf(w.task.id), []);
  });

  test('when the task does not exist, answers 404', async () => {
    const user = await createUser(t.app);
    assertProblem(await postComment(user, randomUUID(), { body: 'hi' }), 404, 'not_found');
  });

  test('when the project is archived, answers 409 and stores nothing, logs nothing', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    await archiveProject(t.database.db, w.project.id);
    assertProblem(await postComment(w.member, w.task.id, { body: 'hi' }), 409, 'conflict');
    assert.deepEqual(await commentsOf(w.task.id), []);
    const events = await t.database.db
      .selectFrom('events')
      .select('id')
      .where('project_id', '=', w.project.id)
      .execute();
    assert.deepEqual(events, []);
  });

  test('when the task id is not a UUID, answers 422 on the parameter', async () => {
    const user = await createUser(t.app);
    const problem = assertProblem(
      await postComment(user, 'not-a-uuid', { body: 'hi' }),
      422,
      'validation_failed',
    );
    assert.ok(problem.errors.some((e: { parameter?: string }) => e.parameter === 'task_id'));
  });

  const invalidBodies: [string, unknown][] = [
    ['an empty body', { body: '' }],
    ['a body of only whitespace', { body: ' \n\t ' }],
    ['a body over 10 000 characters', { body: 'x'.repeat(10_001) }],
    ['no body', {}],
    ['a body that is not a string', { body: 42 }],
    ['a null body', { body: null }],
  ];
  for (const [what, payload] of invalidBodies) {
    test(`when the request has ${what}, answers 422 on /body and stores nothing`, async () => {
      const w = await createTaskWorld(t.app, t.database.db);
      const problem = assertProblem(
        await postComment(w.member, w.task.id, payload),
        422,
        'validation_failed',
      );
      assert.ok(
        problem.errors.some((e: { pointer?: string }) => e.pointer === '/body'),
        JSON.stringify(problem.errors),
      );
      assert.deepEqual(await commentsOf(w.task.id), []);
    });
  }

  test('when the request has an unknown field, answers 422 on it', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const problem = assertProblem(
      await postComment(w.member, w.task.id, { body: 'hi', author_id: w.owner.id }),
      422,
      'validation_failed',
    );
    assert.ok(problem.errors.some((e: { pointer?: string }) => e.pointer === '/author_id'));
    assert.deepEqual(await commentsOf(w.task.id), []);
  });

  test('without a token, every comment route answers 401', async () => {
    const id = randomUUID();
    const requests = [
      { method: 'POST', url: `/v1/tasks/${id}/comments`, payload: { body: 'x' } },
      { method: 'GET', url: `/v1/tasks/${id}/comments` },
      { method: 'GET', url: `/v1/comments/${id}` },
      { method: 'PATCH', url: `/v1/comments/${id}`, payload: { body: 'x' } },
      { method: 'DELETE', url: `/v1/comments/${id}` },
      { method: 'POST', url: `/v1/comments/${id}/restore` },
    ] as const;
    for (const request of requests) {
      assertProblem(await t.app.inject(request), 401, 'unauthenticated');
    }
  });
});
