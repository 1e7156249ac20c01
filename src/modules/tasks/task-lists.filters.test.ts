import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  assertProblem,
  createTeamWithRoles,
  type TestUser,
} from '../../../test/helpers/factories.ts';
import { insertProject, insertTask } from '../../../test/helpers/rows.ts';
import { getList, pageOf, titles } from './task-lists.test-support.ts';

let t: TestApp;
let roles: Awaited<ReturnType<typeof createTeamWithRoles>>;
let url: string;
let me: TestUser;

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));

// One project whose tasks, oldest first, are T1…T8; each filter below keeps a
// different subset, so a filter that is ignored or inverted shows.
before(async () => {
  t = await startTestApp();
  roles = await createTeamWithRoles(t.app);
  me = roles.member;
  const project = await insertProject(t.database.db, { teamId: roles.team.id });
  url = `/v1/projects/${project.id}/tasks`;
  const rows = [
    ['T1', { status: 'todo', priority: 'low', assigneeId: me.id, dueDate: '2026-03-01' }],
    ['T2', { status: 'done', priority: 'urgent', labels: ['bug', 'ui'], dueDate: '2026-03-02' }],
    ['T3', { status: 'in_progress', assigneeId: roles.admin.id, labels: ['bug'] }],
    ['T4', { status: 'todo', priority: 'high', assigneeId: me.id, labels: ['ui'] }],
    ['T5', { status: 'canceled', dueDate: '2026-02-28', description: 'Exporting invoices fails' }],
    ['T6', { status: 'in_review', priority: 'low', title: 'Invoice export is slow' }],
    ['T7', { status: 'todo', dueDate: '2026-03-03', title: 'Login page typo' }],
    ['T8', { status: 'done', deletedAt: at(60), title: 'Invoice export, deleted' }],
  ] as const;
  for (const [index, [name, options]] of rows.entries()) {
    const title = 'title' in options ? `${name} ${options.title}` : name;
    await insertTask(t.database.db, project.id, {
      ...options,
      labels: 'labels' in options ? [...options.labels] : [],
      title,
      createdAt: at(index),
    });
  }
  // T6 changed last, T2 just before.
  for (const [name, minute] of [
    ['T2', 30],
    ['T6', 31],
  ] as const) {
    await t.database.db
      .updateTable('tasks')
      .set({ updated_at: at(minute) })
      .where('title', 'like', `${name}%`)
      .execute();
  }
});
after(() => t.close());

/** The names (T1…T8) of the tasks a query lists, oldest first. */
async function names(query: string, user: TestUser = me): Promise<string[]> {
  const listed = await titles(t.app, user, `${url}?sort=created_at&${query}`);
  return listed.map((title) => title.split(' ')[0]!);
}

describe('filters', () => {
  test('status: one value, or several by repeating the parameter', async () => {
    assert.deepEqual(await names('status=todo'), ['T1', 'T4', 'T7']);
    assert.deepEqual(await names('status=done&status=canceled'), ['T2', 'T5']);
  });

  test('priority: one value or several', async () => {
    assert.deepEqual(await names('priority=low'), ['T1', 'T6']);
    assert.deepEqual(await names('priority=urgent&priority=high'), ['T2', 'T4']);
  });

  test('assignee_id: a user id, me (the caller), or none', async () => {
    assert.deepEqual(await names(`assignee_id=${roles.admin.id}`), ['T3']);
    assert.deepEqual(await names('assignee_id=me'), ['T1', 'T4']);
    assert.deepEqual(await names('assignee_id=me', roles.admin), ['T3']);
    assert.deepEqual(await names('assignee_id=none'), ['T2', 'T5', 'T6', 'T7']);
  });

  test('label: tasks carrying it; repeated, tasks carrying every one', async () => {
    assert.deepEqual(await names('label=bug'), ['T2', 'T3']);
    assert.deepEqual(await names('label=bug&label=ui'), ['T2']);
    assert.deepEqual(await names('label=nothing'), []);
  });

  test('due_before and due_after: strict, and undated tasks match neither', async () => {
    assert.deepEqual(await names('due_before=2026-03-02'), ['T1', 'T5']);
    assert.deepEqual(await names('due_after=2026-03-01'), ['T2', 'T7']);
    assert.deepEqual(await names('due_after=2026-02-28&due_before=2026-03-03'), ['T1', 'T2']);
  });

  test('updated_since: tasks changed at or after the instant, in any offset', async () => {
    assert.deepEqual(await names(`updated_since=${at(30).toISOString()}`), ['T2', 'T6']);
    assert.deepEqual(await names('updated_since=2026-01-01T02:31:00%2B02:00'), ['T6']);
  });

  test('filters combine with AND', async () => {
    assert.deepEqual(await names('status=todo&assignee_id=me&label=ui'), ['T4']);
    assert.deepEqual(await names('status=todo&priority=urgent'), []);
  });

  test('sorting by due date with a due filter keeps both', async () => {
    const listed = await titles(t.app, me, `${url}?sort=due_date&due_before=2026-03-03`);
    assert.deepEqual(
      listed.map((title) => title.split(' ')[0]),
      ['T5', 'T1', 'T2'],
    );
  });
});

describe('q: full-text search over title and description', () => {
  test('matches stemmed words in the title or the description, every word required', async () => {
    assert.deepEqual(await names('q=invoice'), ['T5', 'T6']);
    assert.deepEqual(await names('q=exported%20invoices'), ['T5', 'T6']);
    assert.deepEqual(await names('q=invoice%20slow'), ['T6']);
    assert.deepEqual(await names('q=LOGIN'), ['T7']);
  });

  test('takes web search syntax: quoted phrases, -exclusions and or', async () => {
    assert.deepEqual(await names('q=%22export%20is%20slow%22'), ['T6']);
    assert.deepEqual(await names('q=invoice%20-slow'), ['T5']);
    assert.deepEqual(await names('q=typo%20or%20slow'), ['T6', 'T7']);
  });

  test('never finds tasks in the trash, except in the trash', async () => {
    assert.deepEqual(await names('q=deleted'), []);
    assert.deepEqual(await titles(t.app, me, `${url}?deleted=only&q=invoice`), [
      'T8 Invoice export, deleted',
    ]);
  });

  test('a query of stop words only finds nothing, and symbols are not syntax errors', async () => {
    assert.deepEqual(await names('q=the'), []);
    assert.deepEqual(await names(`q=${encodeURIComponent('(( & | ! :* "')}`), []);
  });

  test('combines with filters and sorts', async () => {
    assert.deepEqual(await names('q=invoice&status=canceled'), ['T5']);
    const listed = await titles(t.app, me, `${url}?q=invoice&sort=-updated_at`);
    assert.deepEqual(
      listed.map((title) => title.split(' ')[0]),
      ['T6', 'T5'],
    );
  });
});

describe('deleted=only: the trash', () => {
  test('lists only soft-deleted tasks, most recently deleted first, with their deleted_at', async () => {
    const project = await insertProject(t.database.db, { teamId: roles.team.id });
    const trashUrl = `/v1/projects/${project.id}/tasks?deleted=only`;
    await insertTask(t.database.db, project.id, { title: 'live' });
    await insertTask(t.database.db, project.id, { title: 'early', deletedAt: at(10) });
    await insertTask(t.database.db, project.id, { title: 'late', deletedAt: at(20) });
    await insertTask(t.database.db, project.id, { title: 'middle', deletedAt: at(15) });
    const page = pageOf(await getList(t.app, roles.viewer, trashUrl));
    assert.deepEqual(
      page.data.map((task) => [task.title, task.deleted_at]),
      [
        ['late', at(20).toISOString()],
        ['middle', at(15).toISOString()],
        ['early', at(10).toISOString()],
      ],
    );
    assert.deepEqual(await titles(t.app, roles.viewer, `${trashUrl}&status=todo&limit=1`), [
      'late',
    ]);
    assert.deepEqual(await titles(t.app, roles.viewer, `/v1/projects/${project.id}/tasks`), [
      'live',
    ]);
  });

  test('across projects, too', async () => {
    const trashed = await titles(t.app, me, '/v1/tasks?deleted=only&q=invoice');
    assert.deepEqual(trashed, ['T8 Invoice export, deleted']);
  });
});

describe('bad query parameters answer 422 naming the parameter', () => {
  const cases: [string, string][] = [
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=ten', 'limit'],
    ['limit=1.5', 'limit'],
    ['sort=title', 'sort'],
    ['sort=-due_date', 'sort'],
    ['status=open', 'status'],
    ['status=todo,done', 'status'],
    ['status=todo&status=todo', 'status'],
    ['priority=critical', 'priority'],
    ['assignee_id=someone', 'assignee_id'],
    ['label=', 'label'],
    [`label=${'x'.repeat(51)}`, 'label'],
    ['due_before=2026-13-01', 'due_before'],
    ['due_before=2026-02-30', 'due_before'],
    ['due_before=0000-01-01', 'due_before'],
    ['due_after=yesterday', 'due_after'],
    ['updated_since=2026-01-01', 'updated_since'],
    ['updated_since=2026-01-01T00:00:00', 'updated_since'],
    ['updated_since=2016-12-31T23:59:60Z', 'updated_since'],
    ['q=', 'q'],
    ['q=%20%20', 'q'],
    [`q=${'a'.repeat(501)}`, 'q'],
    ['deleted=all', 'deleted'],
    ['deleted=only&sort=-created_at', 'sort'],
    ['limt=10', 'limt'],
    ['project_id=x', 'project_id'],
  ];
  for (const [query, parameter] of cases) {
    test(`?${query.slice(0, 40)}`, async () => {
      for (const base of [url, '/v1/tasks']) {
        const response = await getList(t.app, me, `${base}?${query}`);
        const problem = assertProblem(response, 422, 'validation_failed');
        assert.equal(problem.errors[0].parameter, parameter, response.body);
      }
    });
  }
});
