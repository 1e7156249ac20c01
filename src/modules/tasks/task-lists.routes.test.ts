import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  addMember,
  assertProblem,
  createTeam,
  createTeamWithRoles,
  createUser,
  RFC3339_MS,
  type TestUser,
} from '../../../test/helpers/factories.ts';
import { insertProject, insertProjectMember, insertTask } from '../../../test/helpers/rows.ts';
import { getList, pageOf, titles } from './task-lists.test-support.ts';

let t: TestApp;
let roles: Awaited<ReturnType<typeof createTeamWithRoles>>;
before(async () => {
  t = await startTestApp();
  roles = await createTeamWithRoles(t.app);
});
after(() => t.close());

const newProject = (options: { visibility?: 'team' | 'private'; teamId?: string } = {}) =>
  insertProject(t.database.db, { teamId: options.teamId ?? roles.team.id, ...options });

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));

describe('GET /v1/projects/:project_id/tasks', () => {
  test('answers the live tasks newest first, each as the Task resource, on one page', async () => {
    const project = await newProject();
    const first = await insertTask(t.database.db, project.id, {
      title: 'First',
      assigneeId: roles.member.id,
      dueDate: '2026-03-01',
      labels: ['bug'],
      createdBy: roles.owner.id,
      createdAt: at(1),
    });
    await insertTask(t.database.db, project.id, { title: 'Second', createdAt: at(2) });
    await insertTask(t.database.db, project.id, { title: 'Gone', deletedAt: at(3) });
    const response = await getList(t.app, roles.viewer, `/v1/projects/${project.id}/tasks`);
    const page = pageOf(response);
    assert.deepEqual(
      page.data.map((task) => task.title),
      ['Second', 'First'],
    );
    assert.equal(page.next_cursor, null);
    assert.equal(response.headers.link, undefined);
    assert.deepEqual(page.data[1], {
      id: first.id,
      project_id: project.id,
      key: `${project.key}-1`,
      title: 'First',
      description: '',
      status: 'todo',
      priority: 'none',
      assignee_id: roles.member.id,
      due_date: '2026-03-01',
      labels: ['bug'],
      created_by: roles.owner.id,
      created_at: at(1).toISOString(),
      updated_at: at(1).toISOString(),
      deleted_at: null,
      version: 1,
    });
    assert.match(page.data[0]!.created_at, RFC3339_MS);
  });

  test('when the project has no tasks, answers an empty page', async () => {
    const project = await newProject();
    const page = pageOf(await getList(t.app, roles.member, `/v1/projects/${project.id}/tasks`));
    assert.deepEqual(page, { data: [], next_cursor: null });
  });

  test('when the caller cannot see the project, answers 404 as for a project that does not exist', async () => {
    const project = await newProject();
    const secret = await newProject({ visibility: 'private' });
    await insertTask(t.database.db, secret.id);
    for (const [user, id] of [
      [roles.outsider, project.id],
      [roles.member, secret.id],
      [roles.admin, secret.id],
      [roles.member, randomUUID()],
    ] as const) {
      const response = await getList(t.app, user, `/v1/projects/${id}/tasks`);
      assertProblem(response, 404, 'not_found');
    }
  });

  test('a private project lists for its members and for team owners', async () => {
    const secret = await newProject({ visibility: 'private' });
    await insertProjectMember(t.database.db, secret.id, roles.viewer.id, 'viewer');
    await insertTask(t.database.db, secret.id, { title: 'Hidden plan' });
    for (const user of [roles.viewer, roles.owner]) {
      assert.deepEqual(await titles(t.app, user, `/v1/projects/${secret.id}/tasks`), [
        'Hidden plan',
      ]);
    }
  });

  test('an archived project still lists its tasks, here and across projects', async () => {
    const project = await newProject();
    await insertTask(t.database.db, project.id, { title: 'Archived work', createdAt: at(999) });
    await t.database.db
      .updateTable('projects')
      .set({ archived_at: new Date() })
      .where('id', '=', project.id)
      .execute();
    assert.deepEqual(await titles(t.app, roles.viewer, `/v1/projects/${project.id}/tasks`), [
      'Archived work',
    ]);
    const across = await titles(t.app, roles.viewer, '/v1/tasks?limit=200');
    assert.ok(across.includes('Archived work'));
  });

  test('without credentials, answers 401', async () => {
    const project = await newProject();
    const response = await t.app.inject({ method: 'GET', url: `/v1/projects/${project.id}/tasks` });
    assertProblem(response, 401, 'unauthenticated');
  });

  test('when the project id is not a uuid, answers 422 naming it', async () => {
    const response = await getList(t.app, roles.member, '/v1/projects/nope/tasks');
    const problem = assertProblem(response, 422, 'validation_failed');
    assert.equal(problem.errors[0].parameter, 'project_id');
  });
});

describe('sorts', () => {
  // Six tasks whose every sort key differs in order from their creation order; two
  // share a creation time (the id breaks the tie) and two have no due date.
  let url: string;
  let ids: Record<string, string>;
  before(async () => {
    const project = await newProject();
    url = `/v1/projects/${project.id}/tasks`;
    const specs = [
      ['A', { createdAt: at(1), dueDate: '2026-05-01', priority: 'low' }],
      ['B', { createdAt: at(2), dueDate: null, priority: 'urgent' }],
      ['C', { createdAt: at(3), dueDate: '2026-02-01', priority: 'none' }],
      ['D', { createdAt: at(3), dueDate: '2026-05-01', priority: 'urgent' }],
      ['E', { createdAt: at(4), dueDate: null, priority: 'high' }],
      ['F', { createdAt: at(5), dueDate: '2026-01-15', priority: 'medium' }],
    ] as const;
    ids = {};
    for (const [title, options] of specs) {
      ids[title] = (await insertTask(t.database.db, project.id, { title, ...options })).id;
    }
    // Updated in an order of its own: F, A, C, E, B, D (oldest change first).
    const updates = ['F', 'A', 'C', 'E', 'B', 'D'];
    for (const [index, title] of updates.entries()) {
      await t.database.db
        .updateTable('tasks')
        .set({ updated_at: at(100 + index) })
        .where('id', '=', ids[title]!)
        .execute();
    }
  });

  /** C and D were created in the same millisecond: their ids decide. */
  const tied = () => (ids.C! < ids.D! ? ['C', 'D'] : ['D', 'C']);

  test('created_at: oldest first, ties broken by id', async () => {
    assert.deepEqual(await titles(t.app, roles.member, `${url}?sort=created_at`), [
      'A',
      'B',
      ...tied(),
      'E',
      'F',
    ]);
  });

  test('-created_at (the default): newest first, ties broken by id, descending', async () => {
    const expected = ['F', 'E', ...tied().reverse(), 'B', 'A'];
    assert.deepEqual(await titles(t.app, roles.member, `${url}?sort=-created_at`), expected);
    assert.deepEqual(await titles(t.app, roles.member, url), expected);
  });

  test('updated_at and -updated_at: by the last change', async () => {
    const order = ['F', 'A', 'C', 'E', 'B', 'D'];
    assert.deepEqual(await titles(t.app, roles.member, `${url}?sort=updated_at`), order);
    assert.deepEqual(
      await titles(t.app, roles.member, `${url}?sort=-updated_at`),
      [...order].reverse(),
    );
  });

  test('due_date: soonest first, undated last, ties broken by id', async () => {
    const byId = (a: string, b: string) => (ids[a]! < ids[b]! ? [a, b] : [b, a]);
    assert.deepEqual(await titles(t.app, roles.member, `${url}?sort=due_date`), [
      'F',
      'C',
      ...byId('A', 'D'),
      ...byId('B', 'E'),
    ]);
  });

  test('priority: most urgent first, newest first among equals', async () => {
    const newestFirst = (a: string, b: string) => (ids[a]! > ids[b]! ? [a, b] : [b, a]);
    assert.deepEqual(await titles(t.app, roles.member, `${url}?sort=priority`), [
      ...newestFirst('B', 'D'),
      'E',
      'F',
      'A',
      'C',
    ]);
  });
});

describe('GET /v1/tasks (every project the caller can see)', () => {
  let me: TestUser;
  let seen: { mine: string[]; all: string[] };
  before(async () => {
    // `me` belongs to two teams as a member, and to one private project of the first.
    me = await createUser(t.app);
    await addMember(t.app, roles.team, roles.owner, me, 'member');
    const otherOwner = await createUser(t.app);
    const otherTeam = await createTeam(t.app, otherOwner);
    await addMember(t.app, otherTeam, otherOwner, me, 'member');
    const foreignTeam = await createTeam(t.app, otherOwner);

    const open = await newProject();
    const invited = await newProject({ visibility: 'private' });
    await insertProjectMember(t.database.db, invited.id, me.id, 'member');
    const closed = await newProject({ visibility: 'private' });
    const elsewhere = await newProject({ teamId: otherTeam.id });
    const foreign = await newProject({ teamId: foreignTeam.id });

    const add = (projectId: string, title: string, minute: number, assigneeId?: string) =>
      insertTask(t.database.db, projectId, { title, createdAt: at(minute), assigneeId });
    await add(open.id, 'open, mine', 1, me.id);
    await add(open.id, 'open, theirs', 2, roles.member.id);
    await add(invited.id, 'invited, mine', 3, me.id);
    await add(closed.id, 'closed, mine', 4, me.id); // assigned, then the project closed
    await add(elsewhere.id, 'elsewhere, unassigned', 5);
    await add(foreign.id, 'foreign, mine', 6, me.id);
    seen = {
      mine: ['invited, mine', 'open, mine'],
      all: ['elsewhere, unassigned', 'invited, mine', 'open, theirs', 'open, mine'],
    };
  });

  test('lists the tasks of every visible project, newest first, never the others', async () => {
    // The team's other projects have tasks of other tests: keep only this test's.
    const listed = await titles(t.app, me, '/v1/tasks?limit=200');
    const ours = listed.filter((title) => /^(open|invited|closed|elsewhere|foreign),/.test(title));
    assert.deepEqual(ours, seen.all);
  });

  test('assignee_id=me lists the caller’s tasks in projects they can see', async () => {
    assert.deepEqual(await titles(t.app, me, '/v1/tasks?assignee_id=me'), seen.mine);
    assert.deepEqual(await titles(t.app, me, `/v1/tasks?assignee_id=${me.id}`), seen.mine);
  });

  test('a user in no team gets an empty list', async () => {
    const loner = await createUser(t.app);
    assert.deepEqual(pageOf(await getList(t.app, loner, '/v1/tasks')), {
      data: [],
      next_cursor: null,
    });
  });

  test('an outsider asking for someone else’s tasks sees none of them', async () => {
    assert.deepEqual(await titles(t.app, roles.outsider, `/v1/tasks?assignee_id=${me.id}`), []);
  });

  test('without credentials, answers 401', async () => {
    assertProblem(await t.app.inject({ method: 'GET', url: '/v1/tasks' }), 401, 'unauthenticated');
  });
});
