import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createTeam,
  createUser,
  RFC3339_MS,
  UUID_V7,
} from '../../../test/helpers/factories.ts';
import { insertProject, insertProjectMember } from '../../../test/helpers/rows.ts';
import { createTask } from '../../../test/helpers/task-factories.ts';
import {
  archiveProject,
  assertErrorAt,
  countTasks,
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

const lastTaskNumber = async (projectId: string) =>
  (
    await t.database.db
      .selectFrom('projects')
      .select('last_task_number')
      .where('id', '=', projectId)
      .executeTakeFirstOrThrow()
  ).last_task_number;

describe('POST /v1/projects/{project_id}/tasks', () => {
  test('answers 201 with Location, ETag and the task, keyed by the project key and next number', async () => {
    const project = await insertProject(t.database.db, { teamId: w.team.id, key: 'ENG' });
    const response = await api.post(w.member, project.id, {
      title: '  Ship the importer  ',
      description: '## Steps\n\n1. parse',
      status: 'in_progress',
      priority: 'high',
      assignee_id: w.viewer.id,
      due_date: '2026-11-30',
      labels: ['backend', 'Q4'],
    });
    assert.equal(response.statusCode, 201, response.body);
    const task = body(response);
    assert.deepEqual(Object.keys(task).sort(), [
      'assignee_id',
      'created_at',
      'created_by',
      'deleted_at',
      'description',
      'due_date',
      'id',
      'key',
      'labels',
      'priority',
      'project_id',
      'status',
      'title',
      'updated_at',
      'version',
    ]);
    assert.match(task.id, UUID_V7);
    assert.equal(response.headers.location, `/v1/tasks/${task.id}`);
    assert.equal(response.headers.etag, '"v1"');
    assert.equal(task.key, 'ENG-1');
    assert.equal(task.project_id, project.id);
    assert.equal(task.title, 'Ship the importer');
    assert.equal(task.description, '## Steps\n\n1. parse');
    assert.equal(task.status, 'in_progress');
    assert.equal(task.priority, 'high');
    assert.equal(task.assignee_id, w.viewer.id);
    assert.equal(task.due_date, '2026-11-30');
    assert.deepEqual(task.labels, ['backend', 'Q4']);
    assert.equal(task.created_by, w.member.id);
    assert.match(task.created_at, RFC3339_MS);
    assert.equal(task.updated_at, task.created_at);
    assert.equal(task.deleted_at, null);
    assert.equal(task.version, 1);

    const row = await taskRow(t, task.id);
    assert.equal(row?.number, 1);
    assert.equal(row?.title, 'Ship the importer');
    assert.equal(row?.due_date, '2026-11-30');
    assert.deepEqual(row?.labels, ['backend', 'Q4']);
    assert.equal(await lastTaskNumber(project.id), 1);

    const second = body(await api.post(w.member, project.id, { title: 'Next' }));
    assert.equal(second.key, 'ENG-2');
  });

  test('fills the defaults: empty description, todo, no priority, nobody, no date, no labels', async () => {
    const response = await api.post(w.member, w.project.id, { title: 'Bare' });
    assert.equal(response.statusCode, 201);
    const task = body(response);
    assert.equal(task.description, '');
    assert.equal(task.status, 'todo');
    assert.equal(task.priority, 'none');
    assert.equal(task.assignee_id, null);
    assert.equal(task.due_date, null);
    assert.deepEqual(task.labels, []);
  });

  test('explicit nulls for assignee_id and due_date mean none', async () => {
    const response = await api.post(w.member, w.project.id, {
      title: 'Nulls',
      assignee_id: null,
      due_date: null,
    });
    assert.equal(response.statusCode, 201);
    assert.equal(body(response).assignee_id, null);
    assert.equal(body(response).due_date, null);
  });

  test('appends task.created with the presented task, in the team and project', async () => {
    const response = await api.post(w.admin, w.project.id, { title: 'Audited', labels: ['a'] });
    const task = body(response);
    const events = await eventsOf(t, task.id);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event?.type, 'task.created');
    assert.equal(event?.team_id, w.team.id);
    assert.equal(event?.project_id, w.project.id);
    assert.equal(event?.actor_id, w.admin.id);
    assert.deepEqual(event?.data, task);
  });

  test('a title of exactly 500 characters and a description of 100 000 are accepted', async () => {
    const title = 't'.repeat(500);
    const description = 'd'.repeat(100_000);
    const response = await api.post(w.member, w.project.id, { title, description });
    assert.equal(response.statusCode, 201);
    assert.equal(body(response).title, title);
    assert.equal((await taskRow(t, body(response).id))?.description.length, 100_000);
  });

  test('20 labels of 50 characters are accepted, in the order sent', async () => {
    const labels = Array.from(
      { length: 20 },
      (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(48)}`,
    );
    const response = await api.post(w.member, w.project.id, { title: 'Labelled', labels });
    assert.equal(response.statusCode, 201);
    assert.deepEqual(body(response).labels, labels);
  });

  test('every role from member up may create; owners and admins too', async () => {
    for (const user of [w.owner, w.admin, w.member]) {
      assert.equal((await api.post(user, w.project.id, { title: 'Mine' })).statusCode, 201);
    }
  });

  const invalidBodies: [string, unknown, string][] = [
    ['no title', { description: 'x' }, '/title'],
    ['a title that is not a string', { title: 42 }, '/title'],
    ['an empty title', { title: '' }, '/title'],
    ['a blank title', { title: ' \t ' }, '/title'],
    ['a title of 501 characters', { title: 'x'.repeat(501) }, '/title'],
    ['a null title', { title: null }, '/title'],
    [
      'a description of 100 001 characters',
      { title: 'ok', description: 'd'.repeat(100_001) },
      '/description',
    ],
    ['a null description', { title: 'ok', description: null }, '/description'],
    ['an unknown status', { title: 'ok', status: 'open' }, '/status'],
    ['an unknown priority', { title: 'ok', priority: 'p1' }, '/priority'],
    ['a status that is not a string', { title: 'ok', status: 1 }, '/status'],
    [
      '21 labels',
      { title: 'ok', labels: Array.from({ length: 21 }, (_, i) => `l${i}`) },
      '/labels',
    ],
    ['duplicate labels', { title: 'ok', labels: ['bug', 'bug'] }, '/labels'],
    ['labels that are not an array', { title: 'ok', labels: 'bug' }, '/labels'],
    ['an empty label', { title: 'ok', labels: [''] }, '/labels/0'],
    ['a label of 51 characters', { title: 'ok', labels: ['ok', 'l'.repeat(51)] }, '/labels/1'],
    ['a label with surrounding spaces', { title: 'ok', labels: [' bug'] }, '/labels/0'],
    ['a label with a line break', { title: 'ok', labels: ['a\nb'] }, '/labels/0'],
    ['a label that is not a string', { title: 'ok', labels: [7] }, '/labels/0'],
    ['an impossible date', { title: 'ok', due_date: '2026-02-30' }, '/due_date'],
    ['a month 13', { title: 'ok', due_date: '2026-13-01' }, '/due_date'],
    ['a date with a time', { title: 'ok', due_date: '2026-01-01T00:00:00Z' }, '/due_date'],
    ['a date in words', { title: 'ok', due_date: 'tomorrow' }, '/due_date'],
    ['the year 0000', { title: 'ok', due_date: '0000-01-01' }, '/due_date'],
    ['a date that is a number', { title: 'ok', due_date: 20260101 }, '/due_date'],
    ['an assignee that is not a uuid', { title: 'ok', assignee_id: 'bob' }, '/assignee_id'],
    ['an unknown field', { title: 'ok', colour: 'red' }, '/colour'],
    ['a project_id', { title: 'ok', project_id: randomUUID() }, '/project_id'],
    ['a key', { title: 'ok', key: 'ENG-9' }, '/key'],
  ];
  for (const [what, payload, pointer] of invalidBodies) {
    test(`when the body has ${what}, answers 422 on ${pointer} and creates nothing`, async () => {
      const before = await countTasks(t, w.project.id);
      const number = await lastTaskNumber(w.project.id);
      const problem = assertProblem(
        await api.post(w.member, w.project.id, payload),
        422,
        'validation_failed',
      );
      assertErrorAt(problem, pointer);
      assert.equal(await countTasks(t, w.project.id), before);
      assert.equal(await lastTaskNumber(w.project.id), number);
    });
  }

  test('a body that is a JSON array, not an object, answers 422 and creates nothing', async () => {
    const before = await countTasks(t, w.project.id);
    const response = await api.post(w.member, w.project.id, [{ title: 'x' }]);
    assertProblem(response, 422, 'validation_failed');
    assert.equal(await countTasks(t, w.project.id), before);
  });
});

describe('POST /v1/projects/{project_id}/tasks: the assignee', () => {
  test('a user outside the team answers 422 on /assignee_id', async () => {
    const problem = assertProblem(
      await api.post(w.member, w.project.id, { title: 'x', assignee_id: w.outsider.id }),
      422,
      'validation_failed',
    );
    assert.deepEqual(problem.errors, [
      { pointer: '/assignee_id', detail: 'must be a user who can see the project' },
    ]);
  });

  test('an id that belongs to no user answers 422 on /assignee_id', async () => {
    const problem = assertProblem(
      await api.post(w.member, w.project.id, { title: 'x', assignee_id: randomUUID() }),
      422,
      'validation_failed',
    );
    assertErrorAt(problem, '/assignee_id');
  });

  test('in a private project, a team member who is not a project member cannot be assigned', async () => {
    const secret = await insertProject(t.database.db, { teamId: w.team.id, visibility: 'private' });
    await insertProjectMember(t.database.db, secret.id, w.member.id, 'member');
    const refused = await api.post(w.member, secret.id, { title: 'x', assignee_id: w.admin.id });
    assertErrorAt(assertProblem(refused, 422, 'validation_failed'), '/assignee_id');
    assert.equal(await countTasks(t, secret.id), 0);

    await insertProjectMember(t.database.db, secret.id, w.admin.id, 'viewer');
    const accepted = await api.post(w.member, secret.id, { title: 'x', assignee_id: w.admin.id });
    assert.equal(accepted.statusCode, 201);
    // The team owner sees every project of the team, private ones included.
    const owner = await api.post(w.member, secret.id, { title: 'y', assignee_id: w.owner.id });
    assert.equal(owner.statusCode, 201);
  });
});

describe('POST /v1/projects/{project_id}/tasks: who may create where', () => {
  test('a viewer answers 403 and creates nothing', async () => {
    const before = await countTasks(t, w.project.id);
    assertProblem(await api.post(w.viewer, w.project.id, { title: 'x' }), 403, 'forbidden');
    assert.equal(await countTasks(t, w.project.id), before);
  });

  test('a project member with the viewer role in a private project answers 403', async () => {
    const secret = await insertProject(t.database.db, { teamId: w.team.id, visibility: 'private' });
    await insertProjectMember(t.database.db, secret.id, w.member.id, 'viewer');
    assertProblem(await api.post(w.member, secret.id, { title: 'x' }), 403, 'forbidden');
  });

  test('an outsider, a private project the caller is not in, and an unknown id all answer the same 404', async () => {
    const secret = await insertProject(t.database.db, { teamId: w.team.id, visibility: 'private' });
    const other = await createTeam(t.app, w.outsider);
    const foreign = await insertProject(t.database.db, { teamId: other.id });
    const answers = [
      await api.post(w.outsider, w.project.id, { title: 'x' }),
      await api.post(w.member, secret.id, { title: 'x' }),
      await api.post(w.member, foreign.id, { title: 'x' }),
      await api.post(w.member, randomUUID(), { title: 'x' }),
    ];
    const details = answers.map((response) => assertProblem(response, 404, 'not_found').detail);
    assert.equal(new Set(details).size, 1, `details differ: ${details}`);
    assert.equal(await countTasks(t, foreign.id), 0);
    assert.equal(await countTasks(t, secret.id), 0);
  });

  test('a project id that is not a uuid answers 422 on the parameter', async () => {
    const problem = assertProblem(
      await api.post(w.member, 'not-a-uuid', { title: 'x' }),
      422,
      'validation_failed',
    );
    assert.deepEqual(
      problem.errors.map((e: { parameter?: string }) => e.parameter),
      ['project_id'],
    );
  });

  test('an archived project answers 409 conflict and hands out no number', async () => {
    const project = await insertProject(t.database.db, { teamId: w.team.id });
    await archiveProject(t, project.id);
    assertProblem(await api.post(w.owner, project.id, { title: 'x' }), 409, 'conflict');
    assert.equal(await countTasks(t, project.id), 0);
    assert.equal(await lastTaskNumber(project.id), 0);
  });

  test('without a token, answers 401', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/projects/${w.project.id}/tasks`,
      payload: { title: 'x' },
    });
    assertProblem(response, 401, 'unauthenticated');
  });
});

describe('test/helpers/task-factories.ts createTask', () => {
  test('creates through the API and returns the presented task', async () => {
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    const project = await insertProject(t.database.db, { teamId: team.id, key: 'FAC' });
    const task = await createTask(t.app, user, project.id, { priority: 'low' });
    assert.equal(task.key, 'FAC-1');
    assert.equal(task.priority, 'low');
    assert.equal((await taskRow(t, task.id))?.created_by, user.id);
    await assert.rejects(createTask(t.app, user, project.id, { title: '' }), /422/);
  });
});
