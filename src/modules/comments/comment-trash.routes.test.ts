import assert from 'node:assert/strict';
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
import { purgeDeletedComments } from './comments.repository.ts';

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

const deleteComment = (user: TestUser, id: string, headers: Headers = {}) =>
  t.app.inject({
    method: 'DELETE',
    url: `/v1/comments/${id}`,
    headers: { ...user.auth, ...headers },
  });

const restoreComment = (user: TestUser, id: string, headers: Headers = {}) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/comments/${id}/restore`,
    headers: { ...user.auth, ...headers },
  });

const eventTypes = async (id: string) =>
  (await eventsAbout(t.database.db, id)).map((event) => event.type);

const commented = (options: { visibility?: 'team' | 'private' } = {}) =>
  createCommentedTask(t.app, t.database.db, options);

describe('DELETE /v1/comments/{comment_id}', () => {
  test('the author moves it to the trash: 204, deleted_at set, version bumped, comment.deleted logged', async () => {
    const w = await commented();
    const response = await deleteComment(w.member, w.comment.id, { 'if-match': '"v1"' });
    assert.equal(response.statusCode, 204);
    assert.equal(response.body, '');

    const row = await commentRow(t.database.db, w.comment.id);
    assert.ok(row?.deleted_at instanceof Date);
    assert.equal(row?.version, 2);
    const [, event] = await eventsAbout(t.database.db, w.comment.id);
    assert.equal(event?.type, 'comment.deleted');
    assert.equal(event?.actor_id, w.member.id);
    assert.deepEqual(event?.data, {
      task_id: w.task.id,
      deleted_at: row?.deleted_at?.toISOString(),
    });

    const live = await t.app.inject({
      method: 'GET',
      url: `/v1/tasks/${w.task.id}/comments`,
      headers: w.member.auth,
    });
    assert.deepEqual(body(live).data, []);
    const trash = await t.app.inject({
      method: 'GET',
      url: `/v1/tasks/${w.task.id}/comments?deleted=only`,
      headers: w.member.auth,
    });
    assert.deepEqual(
      body(trash).data.map((c: CommentJson) => [c.id, c.deleted_at]),
      [[w.comment.id, row?.deleted_at?.toISOString()]],
    );
  });

  test("an admin may delete someone else's comment; a member or viewer may not (403)", async () => {
    const w = await commented();
    const theirs = await createComment(t.app, w.owner, w.task.id);
    assertProblem(await deleteComment(w.member, theirs.id), 403, 'forbidden');
    assertProblem(await deleteComment(w.viewer, w.comment.id), 403, 'forbidden');
    assert.equal((await commentRow(t.database.db, theirs.id))?.deleted_at, null);
    assert.equal((await deleteComment(w.admin, theirs.id)).statusCode, 204);
    assert.ok((await commentRow(t.database.db, theirs.id))?.deleted_at);
  });

  test('a stale If-Match answers 412 and the comment stays', async () => {
    const w = await commented();
    const response = await deleteComment(w.member, w.comment.id, { 'if-match': '"v7"' });
    assertProblem(response, 412, 'precondition_failed');
    assert.equal(response.headers.etag, '"v1"');
    assert.equal((await commentRow(t.database.db, w.comment.id))?.deleted_at, null);
  });

  test('a malformed If-Match answers 400', async () => {
    const w = await commented();
    assertProblem(
      await deleteComment(w.member, w.comment.id, { 'if-match': 'v1' }),
      400,
      'malformed_request',
    );
    assert.equal((await commentRow(t.database.db, w.comment.id))?.deleted_at, null);
  });

  test('deleting it again answers 404; outsiders get 404; archived projects 409', async () => {
    const w = await commented();
    const other = await createComment(t.app, w.member, w.task.id);
    assertProblem(await deleteComment(w.outsider, w.comment.id), 404, 'not_found');
    assert.equal((await deleteComment(w.member, w.comment.id)).statusCode, 204);
    assertProblem(await deleteComment(w.member, w.comment.id), 404, 'not_found');
    assert.deepEqual(await eventTypes(w.comment.id), ['comment.created', 'comment.deleted']);
    await archiveProject(t.database.db, w.project.id);
    assertProblem(await deleteComment(w.member, other.id), 409, 'conflict');
  });
});

describe('POST /v1/comments/{comment_id}/restore', () => {
  test('the author brings it back: 200 with the comment and ETag, comment.restored logged', async () => {
    const w = await commented();
    await deleteComment(w.member, w.comment.id);
    const response = await restoreComment(w.member, w.comment.id);
    assert.equal(response.statusCode, 200);
    const restored = body<CommentJson>(response);
    assert.equal(restored.deleted_at, null);
    assert.equal(restored.version, 3);
    assert.equal(response.headers.etag, '"v3"');
    assert.equal((await commentRow(t.database.db, w.comment.id))?.deleted_at, null);
    assert.equal((await getComment(w.viewer, w.comment.id)).statusCode, 200);

    const events = await eventsAbout(t.database.db, w.comment.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['comment.created', 'comment.deleted', 'comment.restored'],
    );
    assert.deepEqual(events[2]?.data, restored);
    assert.equal(events[2]?.actor_id, w.member.id);
  });

  test("an admin may restore someone else's comment; a member or viewer may not (403)", async () => {
    const w = await commented();
    await deleteComment(w.member, w.comment.id);
    const theirs = await createComment(t.app, w.admin, w.task.id);
    await deleteComment(w.admin, theirs.id);
    assertProblem(await restoreComment(w.member, theirs.id), 403, 'forbidden');
    assertProblem(await restoreComment(w.viewer, w.comment.id), 403, 'forbidden');
    assert.ok((await commentRow(t.database.db, theirs.id))?.deleted_at);
    assert.equal((await restoreComment(w.admin, w.comment.id)).statusCode, 200);
  });

  test('restoring a live comment changes nothing and logs nothing', async () => {
    const w = await commented();
    const response = await restoreComment(w.member, w.comment.id);
    assert.equal(response.statusCode, 200);
    assert.deepEqual(body(response), w.comment);
    assert.deepEqual(await eventTypes(w.comment.id), ['comment.created']);
  });

  test('a stale If-Match answers 412; outsiders and trashed tasks 404; archived 409', async () => {
    const w = await commented();
    await deleteComment(w.member, w.comment.id);
    assertProblem(
      await restoreComment(w.member, w.comment.id, { 'if-match': '"v1"' }),
      412,
      'precondition_failed',
    );
    assertProblem(await restoreComment(w.outsider, w.comment.id), 404, 'not_found');
    await archiveProject(t.database.db, w.project.id);
    assertProblem(await restoreComment(w.member, w.comment.id), 409, 'conflict');
    await t.database.db
      .updateTable('projects')
      .set({ archived_at: null })
      .where('id', '=', w.project.id)
      .execute();
    await trashTask(t.database.db, w.task.id);
    assertProblem(await restoreComment(w.member, w.comment.id), 404, 'not_found');
    assert.ok((await commentRow(t.database.db, w.comment.id))?.deleted_at);
  });
});

describe('purgeDeletedComments (the seam for the purge job)', () => {
  test('deletes, a batch at a time, only comments trashed before the cutoff', async () => {
    const w = await commented();
    const cutoff = new Date('2001-01-01T00:00:00.000Z');
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await createComment(t.app, w.member, w.task.id));
    const [old1, old2, recent] = made as [CommentJson, CommentJson, CommentJson];
    const trash = (id: string, at: string) =>
      t.database.db
        .updateTable('comments')
        .set({ deleted_at: new Date(at) })
        .where('id', '=', id)
        .execute();
    await trash(old1.id, '2000-01-01T00:00:00.000Z');
    await trash(old2.id, '2000-06-01T00:00:00.000Z');
    await trash(recent.id, '2001-06-01T00:00:00.000Z');

    assert.equal(await purgeDeletedComments(t.database.db, cutoff, 1), 1);
    assert.equal(await purgeDeletedComments(t.database.db, cutoff, 10), 1);
    assert.equal(await purgeDeletedComments(t.database.db, cutoff, 10), 0);
    assert.equal(await commentRow(t.database.db, old1.id), undefined);
    assert.equal(await commentRow(t.database.db, old2.id), undefined);
    assert.ok(await commentRow(t.database.db, recent.id), 'trashed after the cutoff: kept');
    assert.ok(await commentRow(t.database.db, w.comment.id), 'live: kept');
    assert.deepEqual(await eventTypes(old1.id), ['comment.created'], 'events outlive the row');
  });
});
