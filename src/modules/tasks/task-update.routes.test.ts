import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { assertProblem, body, createTeam } from '../../../test/helpers/factories.ts';
import { raceOnRow } from '../../../test/helpers/race.ts';
import { insertProject, insertTask } from '../../../test/helpers/rows.ts';
import { createTask } from '../../../test/helpers/task-factories.ts';
import {
  archiveProject,
  assertErrorAt,
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

const newTask = () =>
  createTask(t.app, w.member, w.project.id, {
    title: 'Original',
    description: 'before',
    priority: 'low',
    assignee_id: w.member.id,
    due_date: '2026-12-01',
    labels: ['a', 'b'],
  });

const fullBody = {
  title: 'Replaced',
  description: 'after',
  status: 'done',
  priority: 'urgent',
  assignee_id: null,
  due_date: null,
  labels: ['c'],
};

describe('PATCH /v1/tasks/{task_id}', () => {
  test('changes only the fields sent, moves version and ETag on, and records the changes', async () => {
    const task = await newTask();
    await sleep(5); // so that updated_at visibly moves
    const response = await api.patch(w.member, task.id, { title: '  Renamed ', status: 'done' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v2"');
    const patched = body(response);
    assert.deepEqual(patched, {
      ...task,
      title: 'Renamed',
      status: 'done',
      version: 2,
      updated_at: patched.updated_at,
    });
    assert.ok(patched.updated_at > task.updated_at);

    const row = await taskRow(t, task.id);
    assert.equal(row?.title, 'Renamed');
    assert.equal(row?.version, 2);
    const events = await eventsOf(t, task.id, 'task.updated');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.actor_id, w.member.id);
    assert.equal(events[0]?.team_id, w.team.id);
    assert.equal(events[0]?.project_id, w.project.id);
    assert.deepEqual(events[0]?.data, {
      changes: {
        title: { before: 'Original', after: 'Renamed' },
        status: { before: 'todo', after: 'done' },
      },
    });
  });

  test('null clears assignee_id and due_date', async () => {
    const task = await newTask();
    const response = await api.patch(w.member, task.id, { assignee_id: null, due_date: null });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).assignee_id, null);
    assert.equal(body(response).due_date, null);
    const row = await taskRow(t, task.id);
    assert.equal(row?.assignee_id, null);
    assert.equal(row?.due_date, null);
    const [event] = await eventsOf(t, task.id, 'task.updated');
    assert.deepEqual(event?.data, {
      changes: {
        assignee_id: { before: w.member.id, after: null },
        due_date: { before: '2026-12-01', after: null },
      },
    });
  });

  test('labels are replaced as a whole list, and [] clears them', async () => {
    const task = await newTask();
    assert.deepEqual(body(await api.patch(w.member, task.id, { labels: ['z', 'a'] })).labels, [
      'z',
      'a',
    ]);
    assert.deepEqual(body(await api.patch(w.member, task.id, { labels: [] })).labels, []);
    assert.deepEqual((await taskRow(t, task.id))?.labels, []);
  });

  test('a patch that changes nothing keeps version and updated_at, and records no event', async () => {
    const task = await newTask();
    const response = await api.patch(w.member, task.id, {
      title: 'Original',
      labels: ['a', 'b'],
      assignee_id: w.member.id,
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v1"');
    assert.deepEqual(body(response), task);
    assert.equal((await taskRow(t, task.id))?.version, 1);
    assert.deepEqual(await eventsOf(t, task.id, 'task.updated'), []);
  });

  test('the current assignee id in capitals is the same id: no change, no event', async () => {
    const task = await newTask();
    const response = await api.patch(w.member, task.id, {
      assignee_id: w.member.id.toUpperCase(),
    });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).assignee_id, w.member.id);
    assert.equal(body(response).version, 1);
    assert.deepEqual(await eventsOf(t, task.id, 'task.updated'), []);
  });

  test('assigning a team viewer is fine; assigning an outsider answers 422 and changes nothing', async () => {
    const task = await newTask();
    assert.equal(
      body(await api.patch(w.member, task.id, { assignee_id: w.viewer.id })).assignee_id,
      w.viewer.id,
    );
    const problem = assertProblem(
      await api.patch(w.member, task.id, { assignee_id: w.outsider.id, title: 'Nope' }),
      422,
      'validation_failed',
    );
    assertErrorAt(problem, '/assignee_id');
    const row = await taskRow(t, task.id);
    assert.equal(row?.assignee_id, w.viewer.id);
    assert.equal(row?.title, 'Original');
    assert.equal(row?.version, 2);
  });

  test('keeps an assignee who has since lost access when the patch does not touch it', async () => {
    const stranger = w.outsider.id; // written straight to the row: no route would allow it
    const row = await insertTask(t.database.db, w.project.id, { assigneeId: stranger });
    const response = await api.patch(w.member, row.id, { priority: 'high' });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).assignee_id, stranger);
  });

  const invalid: [string, unknown, string][] = [
    ['a null title', { title: null }, '/title'],
    ['a null status', { status: null }, '/status'],
    ['a null priority', { priority: null }, '/priority'],
    ['null labels', { labels: null }, '/labels'],
    ['a null description', { description: null }, '/description'],
    ['a blank title', { title: '   ' }, '/title'],
    ['a title of 501 characters', { title: 'x'.repeat(501) }, '/title'],
    ['a description of 100 001 characters', { description: 'd'.repeat(100_001) }, '/description'],
    ['21 labels', { labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }, '/labels'],
    ['a bad date', { due_date: '2026-02-29' }, '/due_date'],
    ['a title that is a number', { title: 7 }, '/title'],
    ['a project_id (tasks cannot move)', { project_id: randomUUID() }, '/project_id'],
    ['a version', { version: 9 }, '/version'],
    ['an unknown field', { colour: 'red' }, '/colour'],
  ];
  for (const [what, payload, pointer] of invalid) {
    test(`${what} answers 422 on ${pointer} and changes nothing`, async () => {
      const task = await newTask();
      const problem = assertProblem(
        await api.patch(w.member, task.id, payload),
        422,
        'validation_failed',
      );
      assertErrorAt(problem, pointer);
      assert.equal((await taskRow(t, task.id))?.version, 1);
      assert.deepEqual(await eventsOf(t, task.id, 'task.updated'), []);
    });
  }

  test('an empty patch answers 422', async () => {
    const task = await newTask();
    assertProblem(await api.patch(w.member, task.id, {}), 422, 'validation_failed');
  });

  test('accepts Content-Type application/merge-patch+json', async () => {
    const task = await newTask();
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/v1/tasks/${task.id}`,
      headers: { ...w.member.auth, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ due_date: null }),
    });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).due_date, null);
  });
});

describe('PUT /v1/tasks/{task_id}', () => {
  test('replaces every mutable field and records only the ones that changed', async () => {
    const task = await newTask();
    const response = await api.put(w.member, task.id, { ...fullBody, priority: 'low' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v2"');
    const replaced = body(response);
    assert.deepEqual(replaced, {
      ...task,
      ...fullBody,
      priority: 'low',
      version: 2,
      updated_at: replaced.updated_at,
    });
    const [event] = await eventsOf(t, task.id, 'task.updated');
    assert.ok(event);
    const { changes } = event.data as { changes: Record<string, unknown> };
    assert.deepEqual(Object.keys(changes).sort(), [
      'assignee_id',
      'description',
      'due_date',
      'labels',
      'status',
      'title',
    ]);
    assert.deepEqual(changes.labels, { before: ['a', 'b'], after: ['c'] });
  });

  test('replacing with identical values keeps the version and records no event', async () => {
    const task = await newTask();
    const { title, description, status, priority, assignee_id, due_date, labels } = task;
    const same = { title, description, status, priority, assignee_id, due_date, labels };
    const response = await api.put(w.member, task.id, same);
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.etag, '"v1"');
    assert.deepEqual(await eventsOf(t, task.id, 'task.updated'), []);
  });

  for (const field of Object.keys(fullBody)) {
    test(`without ${field} answers 422 on /${field}: PUT takes every mutable field`, async () => {
      const task = await newTask();
      const { [field]: _, ...partial } = fullBody as Record<string, unknown>;
      const problem = assertProblem(
        await api.put(w.member, task.id, partial),
        422,
        'validation_failed',
      );
      assertErrorAt(problem, `/${field}`);
      assert.equal((await taskRow(t, task.id))?.title, 'Original');
    });
  }

  test('read-only fields from a GET (id, key, version…) are refused, not ignored', async () => {
    const task = await newTask();
    const problem = assertProblem(
      await api.put(w.member, task.id, { ...task, title: 'x' }),
      422,
      'validation_failed',
    );
    for (const field of ['id', 'key', 'project_id', 'version', 'created_at']) {
      assertErrorAt(problem, `/${field}`);
    }
  });

  test('an assignee who cannot see the project answers 422', async () => {
    const task = await newTask();
    const response = await api.put(w.member, task.id, { ...fullBody, assignee_id: w.outsider.id });
    assertErrorAt(assertProblem(response, 422, 'validation_failed'), '/assignee_id');
  });
});

describe('PUT and PATCH: preconditions and permissions', () => {
  for (const method of ['put', 'patch'] as const) {
    const M = method.toUpperCase();

    test(`${M} with a stale If-Match answers 412 with the current ETag and changes nothing`, async () => {
      const task = await newTask();
      await api.patch(w.member, task.id, { title: 'Moved on' });
      const response = await api[method](w.member, task.id, fullBody, { 'if-match': '"v1"' });
      assertProblem(response, 412, 'precondition_failed');
      assert.equal(response.headers.etag, '"v2"');
      const row = await taskRow(t, task.id);
      assert.equal(row?.title, 'Moved on');
      assert.equal(row?.version, 2);
    });

    test(`${M} with the current If-Match, a list holding it, or * succeeds`, async () => {
      const task = await newTask();
      for (const [i, tag] of ['"v1"', '"v0", "v2"', '*'].entries()) {
        const response = await api[method](
          w.member,
          task.id,
          { ...fullBody, title: `Take ${i}` },
          { 'if-match': tag },
        );
        assert.equal(response.statusCode, 200, `If-Match: ${tag}: ${response.body}`);
      }
      assert.equal((await taskRow(t, task.id))?.version, 4);
    });

    test(`${M} with a weak If-Match answers 412 (strong comparison)`, async () => {
      const task = await newTask();
      const response = await api[method](w.member, task.id, fullBody, { 'if-match': 'W/"v1"' });
      assertProblem(response, 412, 'precondition_failed');
    });

    test(`${M} by a viewer answers 403; by an outsider or on another team's task, 404`, async () => {
      const task = await newTask();
      assertProblem(await api[method](w.viewer, task.id, fullBody), 403, 'forbidden');
      assertProblem(await api[method](w.outsider, task.id, fullBody), 404, 'not_found');
      const other = await createTeam(t.app, w.outsider);
      const foreign = await insertProject(t.database.db, { teamId: other.id });
      const foreignTask = await createTask(t.app, w.outsider, foreign.id);
      assertProblem(await api[method](w.owner, foreignTask.id, fullBody), 404, 'not_found');
      assert.equal((await taskRow(t, task.id))?.version, 1);
      assert.equal((await taskRow(t, foreignTask.id))?.version, 1);
    });

    test(`${M} on a task in the trash answers 404`, async () => {
      const row = await insertTask(t.database.db, w.project.id, { deletedAt: new Date() });
      assertProblem(await api[method](w.owner, row.id, fullBody), 404, 'not_found');
    });

    test(`${M} in an archived project answers 409 and changes nothing`, async () => {
      const project = await insertProject(t.database.db, { teamId: w.team.id });
      const task = await createTask(t.app, w.member, project.id);
      await archiveProject(t, project.id);
      assertProblem(await api[method](w.owner, task.id, fullBody), 409, 'conflict');
      assert.equal((await taskRow(t, task.id))?.version, 1);
    });

    test(`${M} with a non-uuid id answers 422`, async () => {
      assertProblem(await api[method](w.member, 'abc', fullBody), 422, 'validation_failed');
    });
  }

  test('two clients racing a PATCH with the same If-Match: exactly one wins, the other gets 412', async () => {
    const task = await newTask();
    const titles = ['Mine', 'Yours'];
    const responses = await raceOnRow(
      t.database.db,
      // race.ts types its row as a team's; the lock it takes works on any table.
      { table: 'tasks', id: task.id } as unknown as Parameters<typeof raceOnRow>[1],
      titles.map((title) => () => api.patch(w.member, task.id, { title }, { 'if-match': '"v1"' })),
    );
    assert.deepEqual(responses.map((r) => r.statusCode).sort(), [200, 412]);
    const loser = responses.find((r) => r.statusCode === 412)!;
    assertProblem(loser, 412, 'precondition_failed');
    assert.equal(loser.headers.etag, '"v2"');
    const winner = responses.find((r) => r.statusCode === 200)!;
    const row = await taskRow(t, task.id);
    assert.equal(row?.version, 2);
    assert.equal(row?.title, body(winner).title);
    assert.equal((await eventsOf(t, task.id, 'task.updated')).length, 1);
  });
});
