import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { assertProblem, body, createTeam, RFC3339_MS } from '../../../test/helpers/factories.ts';
import { insertProject, insertTask } from '../../../test/helpers/rows.ts';
import { createTask } from '../../../test/helpers/task-factories.ts';
import { purgeDeletedTasks } from './tasks.repository.ts';
import {
  archiveProject,
  createWorld,
  eventsOf,
  taskRequests,
  taskRow,
  type World,
} from './tasks.test-support.ts';

let t: TestApp;
let w: World;
let api: ReturnType<typeof taskRequests>;
before(async () => {
  t = await startTestApp();
  w = await createWorld(t);
  api = taskRequests(t);
});
after(() => t.close());

describe('DELETE /v1/tasks/{task_id}', () => {
  test('answers 204, moves the task to the trash (version on), and GET then answers 404', async () => {
    const task = await createTask(t.app, w.member, w.project.id);
    const response = await api.delete(w.member, task.id);
    assert.equal(response.statusCode, 204);
    assert.equal(response.body, '');
    const row = await taskRow(t, task.id);
    assert.ok(row?.deleted_at instanceof Date);
    assert.equal(row?.version, 2);
    assert.equal(row?.updated_at.getTime(), row?.deleted_at.getTime());
    assertProblem(await api.get(w.member, task.id), 404, 'not_found');

    const events = await eventsOf(t, task.id, 'task.deleted');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.team_id, w.team.id);
    assert.equal(events[0]?.project_id, w.project.id);
    assert.equal(events[0]?.actor_id, w.member.id);
    assert.deepEqual(events[0]?.data, {
      key: task.key,
      deleted_at: row?.deleted_at.toISOString(),
    });
  });

  test('deleting a task already in the trash answers 404 and writes nothing', async () => {
    const task = await createTask(t.app, w.member, w.project.id);
    assert.equal((await api.delete(w.member, task.id)).statusCode, 204);
    assertProblem(await api.delete(w.member, task.id), 404, 'not_found');
    assert.equal((await taskRow(t, task.id))?.version, 2);
    assert.equal((await eventsOf(t, task.id, 'task.deleted')).length, 1);
  });

  test('honours If-Match: stale answers 412 with the current ETag, current deletes', async () => {
    const task = await createTask(t.app, w.member, w.project.id);
    await api.patch(w.member, task.id, { title: 'v2' });
    const stale = await api.delete(w.member, task.id, { 'if-match': '"v1"' });
    assertProblem(stale, 412, 'precondition_failed');
    assert.equal(stale.headers.etag, '"v2"');
    assert.equal((await taskRow(t, task.id))?.deleted_at, null);
    assert.equal((await api.delete(w.member, task.id, { 'if-match': '"v2"' })).statusCode, 204);
  });

  test('a viewer answers 403, an outsider and another team’s member 404; nothing changes', async () => {
    const task = await createTask(t.app, w.member, w.project.id);
    assertProblem(await api.delete(w.viewer, task.id), 403, 'forbidden');
    assertProblem(await api.delete(w.outsider, task.id), 404, 'not_found');
    const other = await createTeam(t.app, w.outsider);
    const foreign = await insertProject(t.database.db, { teamId: other.id });
    const foreignTask = await createTask(t.app, w.outsider, foreign.id);
    assertProblem(await api.delete(w.owner, foreignTask.id), 404, 'not_found');
    assert.equal((await taskRow(t, task.id))?.deleted_at, null);
    assert.equal((await taskRow(t, foreignTask.id))?.deleted_at, null);
  });

  test('in an archived project answers 409', async () => {
    const project = await insertProject(t.database.db, { teamId: w.team.id });
    const task = await createTask(t.app, w.member, project.id);
    await archiveProject(t, project.id);
    assertProblem(await api.delete(w.owner, task.id), 409, 'conflict');
    assert.equal((await taskRow(t, task.id))?.deleted_at, null);
  });

  test('a non-uuid id answers 422', async () => {
    assertProblem(await api.delete(w.member, 'nope'), 422, 'validation_failed');
  });
});

describe('POST /v1/tasks/{task_id}/restore', () => {
  test('brings the task back: 200 with the task, deleted_at null, version on, same key', async () => {
    const task = await createTask(t.app, w.member, w.project.id, { labels: ['keep'] });
    await api.delete(w.member, task.id);
    const response = await api.restore(w.member, task.id);
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v3"');
    const restored = body(response);
    assert.deepEqual(restored, { ...task, version: 3, updated_at: restored.updated_at });
    assert.match(restored.updated_at, RFC3339_MS);
    assert.equal((await taskRow(t, task.id))?.deleted_at, null);
    assert.deepEqual(body(await api.get(w.member, task.id)), restored);

    const events = await eventsOf(t, task.id, 'task.restored');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.team_id, w.team.id);
    assert.equal(events[0]?.project_id, w.project.id);
    assert.deepEqual(events[0]?.data, restored);
  });

  test('restoring a live task answers it unchanged, with no new version and no event', async () => {
    const task = await createTask(t.app, w.member, w.project.id);
    const response = await api.restore(w.member, task.id);
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v1"');
    assert.deepEqual(body(response), task);
    assert.deepEqual(await eventsOf(t, task.id, 'task.restored'), []);
  });

  test('honours If-Match against the task in the trash', async () => {
    const task = await createTask(t.app, w.member, w.project.id);
    await api.delete(w.member, task.id);
    const stale = await api.restore(w.member, task.id, { 'if-match': '"v1"' });
    assertProblem(stale, 412, 'precondition_failed');
    assert.equal(stale.headers.etag, '"v2"');
    assert.notEqual((await taskRow(t, task.id))?.deleted_at, null);
    assert.equal((await api.restore(w.member, task.id, { 'if-match': '"v2"' })).statusCode, 200);
  });

  test('a viewer answers 403, an outsider 404, and the task stays in the trash', async () => {
    const row = await insertTask(t.database.db, w.project.id, { deletedAt: new Date() });
    assertProblem(await api.restore(w.viewer, row.id), 403, 'forbidden');
    assertProblem(await api.restore(w.outsider, row.id), 404, 'not_found');
    assert.notEqual((await taskRow(t, row.id))?.deleted_at, null);
  });

  test('in an archived project answers 409', async () => {
    const project = await insertProject(t.database.db, { teamId: w.team.id });
    const row = await insertTask(t.database.db, project.id, { deletedAt: new Date() });
    await archiveProject(t, project.id);
    assertProblem(await api.restore(w.owner, row.id), 409, 'conflict');
    assert.notEqual((await taskRow(t, row.id))?.deleted_at, null);
  });
});

describe('purgeDeletedTasks (the seam for the purge job)', () => {
  test('deletes for good only tasks trashed before the cutoff, a batch at a time', async () => {
    const project = await insertProject(t.database.db, { teamId: w.team.id });
    const day = 24 * 60 * 60 * 1000;
    const now = Date.now();
    const old = await Promise.all(
      [40, 35, 31].map((days) =>
        insertTask(t.database.db, project.id, { deletedAt: new Date(now - days * day) }),
      ),
    );
    const recent = await insertTask(t.database.db, project.id, {
      deletedAt: new Date(now - 2 * day),
    });
    const live = await insertTask(t.database.db, project.id);
    await t.database.db
      .insertInto('comments')
      .values({
        id: randomUUID(),
        task_id: old[0]!.id,
        author_id: w.member.id,
        body: 'goes with its task',
      })
      .execute();

    const cutoff = new Date(now - 30 * day);
    assert.equal(await purgeDeletedTasks(t.database.db, cutoff, 2), 2);
    assert.equal(await purgeDeletedTasks(t.database.db, cutoff, 2), 1);
    assert.equal(await purgeDeletedTasks(t.database.db, cutoff, 2), 0);

    const left = await t.database.db
      .selectFrom('tasks')
      .select('id')
      .where('project_id', '=', project.id)
      .execute();
    assert.deepEqual(left.map((row) => row.id).sort(), [recent.id, live.id].sort());
    const comments = await t.database.db
      .selectFrom('comments')
      .select('id')
      .where('task_id', '=', old[0]!.id)
      .execute();
    assert.deepEqual(comments, []);
  });
});
