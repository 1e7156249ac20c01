import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  type CommentJson,
  createComment,
  createTask,
  createTaskWorld,
  trashTask,
} from '../../../test/helpers/comment-factories.ts';
import {
  addMember,
  assertProblem,
  body,
  createUser,
  type TestUser,
} from '../../../test/helpers/factories.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

const listComments = (user: TestUser, taskId: string, query = '') =>
  t.app.inject({ method: 'GET', url: `/v1/tasks/${taskId}/comments${query}`, headers: user.auth });

const ids = (response: LightMyRequestResponse) =>
  body<{ data: CommentJson[] }>(response).data.map((comment) => comment.id);

describe('GET /v1/tasks/{task_id}/comments', () => {
  test("lists the task's live comments oldest first, and no other task's", async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const other = await createTask(t.database.db, w.project);
    const first = await createComment(t.app, w.member, w.task.id, 'first');
    await createComment(t.app, w.member, other.id, 'elsewhere');
    const second = await createComment(t.app, w.admin, w.task.id, 'second');
    const gone = await createComment(t.app, w.member, w.task.id, 'gone');
    await t.database.db
      .updateTable('comments')
      .set({ deleted_at: new Date() })
      .where('id', '=', gone.id)
      .execute();

    const response = await listComments(w.viewer, w.task.id);
    assert.equal(response.statusCode, 200);
    assert.deepEqual(body(response), { data: [first, second], next_cursor: null });
    assert.equal(response.headers.link, undefined);
  });

  test('pages through every comment once, in order, following next_cursor and Link', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const made: string[] = [];
    // Same created_at for some: the id must break the tie.
    const at = new Date();
    for (let i = 0; i < 5; i++) {
      const comment = await createComment(t.app, w.member, w.task.id, `c${i}`);
      made.push(comment.id);
    }
    await t.database.db
      .updateTable('comments')
      .set({ created_at: at })
      .where('id', 'in', made.slice(1, 4))
      .execute();
    const expected = (
      await t.database.db
        .selectFrom('comments')
        .select('id')
        .where('task_id', '=', w.task.id)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
    ).map((row) => row.id);

    const seen: string[] = [];
    let url = `/v1/tasks/${w.task.id}/comments?limit=2`;
    for (let pages = 0; pages < 10; pages++) {
      const response = await t.app.inject({ method: 'GET', url, headers: w.member.auth });
      assert.equal(response.statusCode, 200, response.body);
      const page = body(response);
      seen.push(...ids(response));
      if (page.next_cursor === null) break;
      const link = /^<([^>]+)>; rel="next"$/.exec(String(response.headers.link));
      assert.ok(link, 'a page with a next cursor has a Link header');
      assert.ok(link[1]?.includes(`cursor=${encodeURIComponent(page.next_cursor)}`));
      url = link[1]!;
    }
    assert.deepEqual(seen, expected);
    assert.equal(seen.length, 5);
  });

  test('deleted=only lists the trash in the order of deletion, and pages it', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const a = await createComment(t.app, w.member, w.task.id, 'a');
    const b = await createComment(t.app, w.member, w.task.id, 'b');
    const live = await createComment(t.app, w.member, w.task.id, 'live');
    const c = await createComment(t.app, w.member, w.task.id, 'c');
    const trash = async (id: string, at: string) =>
      t.database.db
        .updateTable('comments')
        .set({ deleted_at: new Date(at) })
        .where('id', '=', id)
        .execute();
    await trash(c.id, '2030-01-01T00:00:00.000Z');
    await trash(a.id, '2030-01-02T00:00:00.000Z');
    await trash(b.id, '2030-01-03T00:00:00.000Z');

    const first = await listComments(w.viewer, w.task.id, '?deleted=only&limit=2');
    assert.equal(first.statusCode, 200);
    assert.deepEqual(ids(first), [c.id, a.id]);
    assert.equal(body(first).data[0].deleted_at, '2030-01-01T00:00:00.000Z');
    const cursor = encodeURIComponent(body(first).next_cursor);
    const second = await listComments(
      w.viewer,
      w.task.id,
      `?deleted=only&limit=2&cursor=${cursor}`,
    );
    assert.deepEqual(ids(second), [b.id]);
    assert.equal(body(second).next_cursor, null);
    assert.ok(!ids(first).includes(live.id));
  });

  test('a cursor used with other filters, on another task or edited answers 400', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const other = await createTask(t.database.db, w.project);
    for (let i = 0; i < 3; i++) await createComment(t.app, w.member, w.task.id);
    const cursor = body(await listComments(w.member, w.task.id, '?limit=1')).next_cursor as string;
    assert.ok(cursor);

    const c = encodeURIComponent(cursor);
    for (const [taskId, query] of [
      [w.task.id, `?deleted=only&cursor=${c}`],
      [other.id, `?cursor=${c}`],
      [w.task.id, `?cursor=${encodeURIComponent(`${cursor.split('.')[0]}.${'A'.repeat(22)}`)}`],
      [w.task.id, '?cursor=garbage'],
    ] as const) {
      const problem = assertProblem(
        await listComments(w.member, taskId, query),
        400,
        'malformed_request',
      );
      assert.deepEqual(
        problem.errors.map((e: { parameter: string }) => e.parameter),
        ['cursor'],
      );
    }
    // The page size is not part of the binding.
    assert.equal((await listComments(w.member, w.task.id, `?limit=5&cursor=${c}`)).statusCode, 200);
  });

  test('when the caller cannot see the task, answers 404', async () => {
    const w = await createTaskWorld(t.app, t.database.db, { visibility: 'private' });
    assertProblem(await listComments(w.outsider, w.task.id), 404, 'not_found');
    assertProblem(await listComments(w.member, w.task.id), 404, 'not_found');
    assert.equal((await listComments(w.owner, w.task.id)).statusCode, 200);
    assertProblem(await listComments(w.owner, randomUUID()), 404, 'not_found');
  });

  test('when the task is in the trash, its comments answer 404, the trash too', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    await createComment(t.app, w.member, w.task.id);
    await trashTask(t.database.db, w.task.id);
    assertProblem(await listComments(w.owner, w.task.id), 404, 'not_found');
    assertProblem(await listComments(w.owner, w.task.id, '?deleted=only'), 404, 'not_found');
  });

  const badQueries: [string, string][] = [
    ['deleted=all', 'deleted'],
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['sort=created_at', 'sort'],
  ];
  for (const [query, parameter] of badQueries) {
    test(`?${query} answers 422`, async () => {
      const w = await createTaskWorld(t.app, t.database.db);
      const problem = assertProblem(
        await listComments(w.member, w.task.id, `?${query}`),
        422,
        'validation_failed',
      );
      assert.ok(
        problem.errors.some((e: { parameter?: string }) => e.parameter === parameter),
        JSON.stringify(problem.errors),
      );
    });
  }

  test('a member added after the comments were written sees them all', async () => {
    const w = await createTaskWorld(t.app, t.database.db);
    const comment = await createComment(t.app, w.member, w.task.id);
    const newcomer = await createUser(t.app);
    await addMember(t.app, w.team, w.owner, newcomer, 'viewer');
    assert.deepEqual(ids(await listComments(newcomer, w.task.id)), [comment.id]);
  });
});
