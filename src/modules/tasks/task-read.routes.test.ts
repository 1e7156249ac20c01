import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { assertProblem, body, createTeam } from '../../../test/helpers/factories.ts';
import { insertProject, insertProjectMember, insertTask } from '../../../test/helpers/rows.ts';
import { createTask } from '../../../test/helpers/task-factories.ts';
import { archiveProject, createWorld, taskRequests, type World } from './tasks.test-support.ts';

let t: TestApp;
let w: World;
let api: ReturnType<typeof taskRequests>;
before(async () => {
  t = await startTestApp();
  w = await createWorld(t);
  api = taskRequests(t);
});
after(() => t.close());

describe('GET /v1/tasks/{task_id}', () => {
  test('answers the task as it was created, with a strong ETag', async () => {
    const created = await createTask(t.app, w.member, w.project.id, {
      title: 'Read me',
      labels: ['x'],
      due_date: '2027-01-31',
    });
    const response = await api.get(w.member, created.id);
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v1"');
    assert.deepEqual(body(response), created);
  });

  test('every role sees it, viewers included, and in an archived project too', async () => {
    const project = await insertProject(t.database.db, { teamId: w.team.id });
    const task = await createTask(t.app, w.member, project.id);
    await archiveProject(t, project.id);
    for (const user of [w.owner, w.admin, w.member, w.viewer]) {
      assert.equal((await api.get(user, task.id)).statusCode, 200);
    }
  });

  test('If-None-Match with the current ETag answers 304 with no body', async () => {
    const task = await createTask(t.app, w.member, w.project.id);
    for (const tag of ['"v1"', 'W/"v1"', '"v0", "v1"', '*']) {
      const response = await api.get(w.member, task.id, { 'if-none-match': tag });
      assert.equal(response.statusCode, 304, `If-None-Match: ${tag}`);
      assert.equal(response.body, '');
      assert.equal(response.headers.etag, '"v1"');
    }
  });

  test('If-None-Match with a stale ETag answers 200 with the new version', async () => {
    const task = await createTask(t.app, w.member, w.project.id);
    assert.equal((await api.patch(w.member, task.id, { title: 'New' })).statusCode, 200);
    const response = await api.get(w.member, task.id, { 'if-none-match': '"v1"' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v2"');
    assert.equal(body(response).title, 'New');
  });

  test('the key follows the project’s current key', async () => {
    const project = await insertProject(t.database.db, { teamId: w.team.id, key: 'OLD' });
    const task = await createTask(t.app, w.member, project.id);
    assert.equal(task.key, 'OLD-1');
    await t.database.db
      .updateTable('projects')
      .set({ key: 'NEW' })
      .where('id', '=', project.id)
      .execute();
    assert.equal(body(await api.get(w.member, task.id)).key, 'NEW-1');
  });

  test('a task in the trash answers 404', async () => {
    const row = await insertTask(t.database.db, w.project.id, { deletedAt: new Date() });
    assertProblem(await api.get(w.owner, row.id), 404, 'not_found');
  });

  test('a task the caller cannot see answers exactly like one that does not exist', async () => {
    const other = await createTeam(t.app, w.outsider);
    const foreign = await insertProject(t.database.db, { teamId: other.id });
    const foreignTask = await createTask(t.app, w.outsider, foreign.id);
    const secret = await insertProject(t.database.db, { teamId: w.team.id, visibility: 'private' });
    await insertProjectMember(t.database.db, secret.id, w.admin.id, 'member');
    const secretTask = await createTask(t.app, w.admin, secret.id);
    const answers = [
      await api.get(w.member, foreignTask.id),
      await api.get(w.member, secretTask.id),
      await api.get(w.outsider, (await createTask(t.app, w.member, w.project.id)).id),
      await api.get(w.member, randomUUID()),
    ];
    const details = answers.map((response) => assertProblem(response, 404, 'not_found').detail);
    assert.deepEqual(new Set(details), new Set(['task not found']));
    // The team owner sees the private project; its members see it too.
    assert.equal((await api.get(w.owner, secretTask.id)).statusCode, 200);
  });

  test('an id that is not a uuid answers 422 on the parameter', async () => {
    const problem = assertProblem(await api.get(w.member, '42'), 422, 'validation_failed');
    assert.deepEqual(
      problem.errors.map((e: { parameter?: string }) => e.parameter),
      ['task_id'],
    );
  });

  test('without a token, every single-task route answers 401', async () => {
    const id = randomUUID();
    const requests = [
      { method: 'GET', url: `/v1/tasks/${id}` },
      { method: 'PUT', url: `/v1/tasks/${id}`, payload: { title: 'x' } },
      { method: 'PATCH', url: `/v1/tasks/${id}`, payload: { title: 'x' } },
      { method: 'DELETE', url: `/v1/tasks/${id}` },
      { method: 'POST', url: `/v1/tasks/${id}/restore` },
    ] as const;
    for (const request of requests) {
      assertProblem(await t.app.inject(request), 401, 'unauthenticated');
    }
  });
});

describe('/openapi.json', () => {
  test('documents every single-task route', async () => {
    const spec = body(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    assert.ok(spec.paths['/v1/projects/{project_id}/tasks']?.post);
    for (const method of ['get', 'put', 'patch', 'delete']) {
      assert.ok(spec.paths['/v1/tasks/{task_id}']?.[method], method);
    }
    assert.ok(spec.paths['/v1/tasks/{task_id}/restore']?.post);
  });
});
