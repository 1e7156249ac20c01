import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  archiveProject,
  type CommentJson,
  commentRow,
  createComment,
  createCommentedTask,
  eventsAbout,
  trashTask,
} from '../../../test/helpers/comment-factories.ts';
import { assertProblem, body, type TestUser } from '../../../test/helpers/factories.ts';
import { raceOnRow } from '../../../test/helpers/race.ts';
import { insertProjectMember } from '../../../test/helpers/rows.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

type Headers = Record<string, string>;

const getComment = (user: TestUser, id: string, headers: Headers = {}) =>
  t.app.inject({
    method: 'GET',
    url: `/v1/comments/${id}`,
    headers: { ...user.auth, ...headers },
  });

const patchComment = (user: TestUser, id: string, payload: unknown, headers: Headers = {}) =>
  t.app.inject({
    method: 'PATCH',
    url: `/v1/comments/${id}`,
    headers: { ...user.auth, ...headers },
    payload: payload as Record<string, unknown>,
  });

const deleteComment = (user: TestUser, id: string, headers: Headers = {}) =>
  t.app.inject({
    method: 'DELETE',
    url: `/v1/comments/${id}`,
    headers: { ...user.auth, ...headers },
  });

const eventTypes = async (id: string) =>
  (await eventsAbout(t.database.db, id)).map((event) => event.type);

const commented = (options: { visibility?: 'team' | 'private' } = {}) =>
  createCommentedTask(t.app, t.database.db, options);

describe('GET /v1/comments/{comment_id}', () => {
  test('answers the comment with a strong ETag, and 304 for a current If-None-Match', async () => {
    const w = await commented();
    const response = await getComment(w.viewer, w.comment.id);
    assert.equal(response.statusCode, 200);
    assert.deepEqual(body(response), w.comment);
    assert.equal(response.headers.etag, '"v1"');

    const cached = await getComment(w.viewer, w.comment.id, { 'if-none-match': '"v1"' });
    assert.equal(cached.statusCode, 304);
    assert.equal(cached.body, '');
    assert.equal(cached.headers.etag, '"v1"');
    const stale = await getComment(w.viewer, w.comment.id, { 'if-none-match': '"v0"' });
    assert.equal(stale.statusCode, 200);
  });

  test('answers 404 to whoever cannot see it, and for an unknown id', async () => {
    const w = await commented({ visibility: 'private' });
    assertProblem(await getComment(w.outsider, w.comment.id), 404, 'not_found');
    assertProblem(await getComment(w.admin, w.comment.id), 404, 'not_found');
    assert.equal((await getComment(w.owner, w.comment.id)).statusCode, 200);
    assertProblem(await getComment(w.owner, randomUUID()), 404, 'not_found');
  });

  test('answers 404 once the comment, or its task, is in the trash', async () => {
    const w = await commented();
    assert.equal((await deleteComment(w.member, w.comment.id)).statusCode, 204);
    assertProblem(await getComment(w.member, w.comment.id), 404, 'not_found');

    const other = await createComment(t.app, w.member, w.task.id);
    await trashTask(t.database.db, w.task.id);
    assertProblem(await getComment(w.member, other.id), 404, 'not_found');
  });
});

describe('PATCH /v1/comments/{comment_id}', () => {
  test('the author edits the body: 200 with the new version and ETag, stored, comment.updated with the change', async () => {
    const w = await commented();
    const response = await patchComment(w.member, w.comment.id, { body: 'edited' });
    assert.equal(response.statusCode, 200);
    const edited = body<CommentJson>(response);
    assert.equal(edited.body, 'edited');
    assert.equal(edited.version, 2);
    assert.equal(response.headers.etag, '"v2"');
    assert.ok(edited.updated_at >= w.comment.updated_at);
    assert.equal(edited.created_at, w.comment.created_at);

    const row = await commentRow(t.database.db, w.comment.id);
    assert.equal(row?.body, 'edited');
    assert.equal(row?.version, 2);

    const [, event] = await eventsAbout(t.database.db, w.comment.id);
    assert.equal(event?.type, 'comment.updated');
    assert.equal(event?.actor_id, w.member.id);
    assert.equal(event?.project_id, w.project.id);
    assert.deepEqual(event?.data, {
      task_id: w.task.id,
      changes: { body: { before: 'original', after: 'edited' } },
    });
  });

  test('accepts application/merge-patch+json', async () => {
    const w = await commented();
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/v1/comments/${w.comment.id}`,
      headers: { ...w.member.auth, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ body: 'merged' }),
    });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).body, 'merged');
  });

  for (const moderator of ['admin', 'owner'] as const) {
    test(`a team ${moderator} may edit someone else's comment, and is the event's actor`, async () => {
      const w = await commented();
      const response = await patchComment(w[moderator], w.comment.id, { body: 'moderated' });
      assert.equal(response.statusCode, 200);
      assert.equal(body(response).author_id, w.member.id, 'the author stays the author');
      const [, event] = await eventsAbout(t.database.db, w.comment.id);
      assert.equal(event?.actor_id, w[moderator].id);
    });
  }

  test("a member may not edit someone else's comment: 403, nothing changes", async () => {
    const w = await commented();
    const theirs = await createComment(t.app, w.admin, w.task.id, 'admin wrote this');
    assertProblem(await patchComment(w.member, theirs.id, { body: 'x' }), 403, 'forbidden');
    assert.equal((await commentRow(t.database.db, theirs.id))?.body, 'admin wrote this');
    assert.deepEqual(await eventTypes(theirs.id), ['comment.created']);
  });

  test('a viewer gets 403; an author demoted to viewer may no longer edit their own', async () => {
    const w = await commented();
    assertProblem(await patchComment(w.viewer, w.comment.id, { body: 'x' }), 403, 'forbidden');
    const demote = await t.app.inject({
      method: 'PATCH',
      url: `/v1/teams/${w.team.id}/members/${w.member.id}`,
      headers: w.owner.auth,
      payload: { role: 'viewer' },
    });
    assert.equal(demote.statusCode, 200);
    assertProblem(await patchComment(w.member, w.comment.id, { body: 'x' }), 403, 'forbidden');
    assert.equal((await commentRow(t.database.db, w.comment.id))?.body, 'original');
  });

  test('a private project admin who is only a team member may moderate there', async () => {
    const w = await commented({ visibility: 'private' });
    await insertProjectMember(t.database.db, w.project.id, w.viewer.id, 'admin');
    const response = await patchComment(w.viewer, w.comment.id, { body: 'moderated' });
    assert.equal(response.statusCode, 200);
  });

  test('whoever cannot see the comment gets 404', async () => {
    const w = await commented();
    assertProblem(await patchComment(w.outsider, w.comment.id, { body: 'x' }), 404, 'not_found');
    assertProblem(await patchComment(w.member, randomUUID(), { body: 'x' }), 404, 'not_found');
  });

  test('when the If-Match is stale, answers 412 with the current ETag and changes nothing', async () => {
    const w = await commented();
    assert.equal((await patchComment(w.member, w.comment.id, { body: 'two' })).statusCode, 200);
    const response = await patchComment(
      w.member,
      w.comment.id,
      { body: 'x' },
      { 'if-match': '"v1"' },
    );
    assertProblem(response, 412, 'precondition_failed');
    assert.equal(response.headers.etag, '"v2"');
    assert.equal((await commentRow(t.database.db, w.comment.id))?.body, 'two');
    assert.deepEqual(await eventTypes(w.comment.id), ['comment.created', 'comment.updated']);

    const ok = await patchComment(
      w.member,
      w.comment.id,
      { body: 'three' },
      { 'if-match': '"v2"' },
    );
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers.etag, '"v3"');
  });

  test('two edits racing with the same If-Match: exactly one wins, one event', async () => {
    const w = await commented();
    // raceOnRow is typed for teams; the lock it takes works on any table's row.
    const row = { table: 'comments', id: w.comment.id } as unknown as {
      table: 'teams';
      id: string;
    };
    const results = await raceOnRow(t.database.db, row, [
      () => patchComment(w.member, w.comment.id, { body: 'mine' }, { 'if-match': '"v1"' }),
      () => patchComment(w.admin, w.comment.id, { body: 'theirs' }, { 'if-match': '"v1"' }),
    ]);
    const statuses = results.map((response) => response.statusCode).sort();
    assert.deepEqual(statuses, [200, 412]);
    const winner = results.find((response) => response.statusCode === 200)!;
    const stored = await commentRow(t.database.db, w.comment.id);
    assert.equal(stored?.body, body(winner).body);
    assert.equal(stored?.version, 2);
    assert.deepEqual(await eventTypes(w.comment.id), ['comment.created', 'comment.updated']);
  });

  test('a patch that changes nothing keeps the version and logs nothing', async () => {
    const w = await commented();
    const response = await patchComment(w.member, w.comment.id, { body: 'original' });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).version, 1);
    assert.equal(response.headers.etag, '"v1"');
    assert.deepEqual(await eventTypes(w.comment.id), ['comment.created']);
  });

  const invalid: [string, unknown, string][] = [
    ['an empty patch', {}, ''],
    ['a null body (it cannot be cleared)', { body: null }, '/body'],
    ['an empty body', { body: '' }, '/body'],
    ['a blank body', { body: '   ' }, '/body'],
    ['a body over 10 000 characters', { body: 'y'.repeat(10_001) }, '/body'],
    ['an unknown field', { body: 'ok', task_id: randomUUID() }, '/task_id'],
  ];
  for (const [what, payload, pointer] of invalid) {
    test(`${what} answers 422 and changes nothing`, async () => {
      const w = await commented();
      const problem = assertProblem(
        await patchComment(w.member, w.comment.id, payload),
        422,
        'validation_failed',
      );
      assert.ok(
        problem.errors.some((e: { pointer?: string }) => e.pointer === pointer),
        JSON.stringify(problem.errors),
      );
      assert.equal((await commentRow(t.database.db, w.comment.id))?.version, 1);
    });
  }

  test('on an archived project, answers 409 and changes nothing', async () => {
    const w = await commented();
    await archiveProject(t.database.db, w.project.id);
    assertProblem(await patchComment(w.member, w.comment.id, { body: 'x' }), 409, 'conflict');
    assert.equal((await commentRow(t.database.db, w.comment.id))?.body, 'original');
  });

  test('a comment in the trash, or on a task in the trash, answers 404', async () => {
    const w = await commented();
    const other = await createComment(t.app, w.member, w.task.id);
    await deleteComment(w.member, w.comment.id);
    assertProblem(await patchComment(w.member, w.comment.id, { body: 'x' }), 404, 'not_found');
    await trashTask(t.database.db, w.task.id);
    assertProblem(await patchComment(w.member, other.id, { body: 'x' }), 404, 'not_found');
  });
});
