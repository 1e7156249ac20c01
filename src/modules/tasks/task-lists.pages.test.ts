import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  assertProblem,
  createTeamWithRoles,
  type TestUser,
} from '../../../test/helpers/factories.ts';
import { insertProject, insertTask, type ProjectRow } from '../../../test/helpers/rows.ts';
import { TASK_LIST_SORTS } from './task-lists.schemas.ts';
import { getList, nextLink, pageOf, walk } from './task-lists.test-support.ts';

let t: TestApp;
let roles: Awaited<ReturnType<typeof createTeamWithRoles>>;
let project: ProjectRow;
let url: string;

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));

// 23 tasks with many ties in every sort key (4 creation times, 3 due dates and
// none, 5 priorities), so that pages end in the middle of runs of equal keys.
before(async () => {
  t = await startTestApp();
  roles = await createTeamWithRoles(t.app);
  project = await insertProject(t.database.db, { teamId: roles.team.id });
  url = `/v1/projects/${project.id}/tasks`;
  const priorities = ['none', 'low', 'medium', 'high', 'urgent'] as const;
  const dueDates = [null, '2026-02-01', '2026-03-01', '2026-04-01'];
  for (let i = 0; i < 23; i += 1) {
    await insertTask(t.database.db, project.id, {
      title: `T${i}`,
      createdAt: at(i % 4),
      priority: priorities[i % 5],
      dueDate: dueDates[i % 4],
      status: i % 3 === 0 ? 'done' : 'todo',
      deletedAt: i % 7 === 0 ? at(100 + (i % 2)) : null,
    });
  }
});
after(() => t.close());

const ids = (tasks: { id: string }[]) => tasks.map((task) => task.id);

describe('walking the pages', () => {
  for (const sort of TASK_LIST_SORTS) {
    test(`sort=${sort}: pages of 1, 2 and 5 together are exactly the one page of 200`, async () => {
      const whole = pageOf(await getList(t.app, roles.member, `${url}?sort=${sort}&limit=200`));
      assert.equal(whole.data.length, 19);
      for (const limit of [1, 2, 5]) {
        const walked = await walk(t.app, roles.member, `${url}?sort=${sort}&limit=${limit}`);
        assert.deepEqual(ids(walked.tasks), ids(whole.data), `limit=${limit}`);
        assert.equal(walked.pages, Math.ceil(19 / limit));
      }
    });
  }

  test('the trash, whole or filtered, pages exactly too', async () => {
    for (const [trash, size] of [
      [`${url}?deleted=only`, 4],
      [`${url}?deleted=only&status=done`, 2],
    ] as const) {
      const whole = pageOf(await getList(t.app, roles.member, trash));
      assert.equal(whole.data.length, size);
      const walked = await walk(t.app, roles.member, `${trash}&limit=1`);
      assert.deepEqual(ids(walked.tasks), ids(whole.data));
    }
  });

  test('Link repeats the query with the new cursor; the last page has neither', async () => {
    const first = await getList(t.app, roles.member, `${url}?status=todo&sort=due_date&limit=10`);
    const page = pageOf(first);
    assert.equal(page.data.length, 10);
    assert.equal(typeof page.next_cursor, 'string');
    const link = new URL(nextLink(first)!, 'http://x');
    assert.equal(link.pathname, url);
    assert.deepEqual(Object.fromEntries(link.searchParams), {
      status: 'todo',
      sort: 'due_date',
      limit: '10',
      cursor: page.next_cursor,
    });
    const last = await getList(t.app, roles.member, `${link.pathname}${link.search}`);
    assert.equal(pageOf(last).next_cursor, null);
    assert.equal(last.headers.link, undefined);
  });

  test('the page size may change between pages', async () => {
    const first = pageOf(await getList(t.app, roles.member, `${url}?limit=3`));
    const rest = await walk(t.app, roles.member, `${url}?limit=7&cursor=${first.next_cursor}`);
    const whole = pageOf(await getList(t.app, roles.member, url));
    assert.deepEqual(ids([...first.data, ...rest.tasks]), ids(whole.data));
  });
});

describe('cursors are bound to their list', () => {
  let cursor: string;
  before(async () => {
    const page = pageOf(await getList(t.app, roles.member, `${url}?status=todo&limit=2`));
    cursor = page.next_cursor!;
  });

  test('reused with the same filters in another order of parameters, it continues', async () => {
    const response = await getList(t.app, roles.member, `${url}?cursor=${cursor}&status=todo`);
    assert.equal(response.statusCode, 200);
  });

  const others: [string, (user: TestUser) => string][] = [
    ['another status', () => `${url}?status=done`],
    ['no filter', () => `${url}?`],
    ['another sort', () => `${url}?status=todo&sort=created_at`],
    ['an added filter', () => `${url}?status=todo&priority=low`],
    ['the trash', () => `${url}?status=todo&deleted=only`],
    ['a search', () => `${url}?status=todo&q=task`],
    ['the cross-project list', () => '/v1/tasks?status=todo'],
  ];
  for (const [name, other] of others) {
    test(`reused with ${name}, answers 400 and names the cursor`, async () => {
      const response = await getList(
        t.app,
        roles.member,
        `${other(roles.member)}&cursor=${cursor}`,
      );
      const problem = assertProblem(response, 400, 'malformed_request');
      assert.deepEqual(
        problem.errors.map((e: { parameter: string }) => e.parameter),
        ['cursor'],
      );
    });
  }

  test('reused on another project, answers 400', async () => {
    const other = await insertProject(t.database.db, { teamId: roles.team.id });
    const response = await getList(
      t.app,
      roles.member,
      `/v1/projects/${other.id}/tasks?status=todo&cursor=${cursor}`,
    );
    assertProblem(response, 400, 'malformed_request');
  });

  test('assignee_id=me is bound to who "me" is', async () => {
    const mine = pageOf(await getList(t.app, roles.member, `${url}?assignee_id=none&limit=1`));
    const response = await getList(
      t.app,
      roles.admin,
      `${url}?assignee_id=none&limit=1&cursor=${mine.next_cursor}`,
    );
    assert.equal(response.statusCode, 200, 'a per-project list does not depend on the viewer');
    const across = pageOf(await getList(t.app, roles.member, '/v1/tasks?assignee_id=none&limit=1'));
    const stolen = await getList(
      t.app,
      roles.admin,
      `/v1/tasks?assignee_id=none&limit=1&cursor=${across.next_cursor}`,
    );
    assertProblem(stolen, 400, 'malformed_request');
  });

  test('a tampered or made-up cursor answers 400', async () => {
    const [payload, signature] = cursor.split('.') as [string, string];
    const flipped = (text: string) =>
      text.slice(0, 3) + (text[3] === 'A' ? 'B' : 'A') + text.slice(4);
    const forged = Buffer.from(
      JSON.stringify({ b: 'x', p: ['2026-01-01T00:00:00.000Z', 'x'] }),
    ).toString('base64url');
    for (const bad of [
      `${flipped(payload)}.${signature}`,
      `${payload}.${flipped(signature)}`,
      `${forged}.${signature}`,
      payload,
      `${cursor}.more`,
      'garbage',
    ]) {
      const response = await getList(t.app, roles.member, `${url}?status=todo&cursor=${bad}`);
      assertProblem(response, 400, 'malformed_request');
    }
  });
});

/** Counts the SQL statements sent through `pool` while `work` runs. */
async function statementsDuring(pool: pg.Pool, work: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const counting = new WeakSet<pg.PoolClient>();
  const onAcquire = (client: pg.PoolClient) => {
    if (counting.has(client)) return;
    counting.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((...args: unknown[]) => {
      if (active) count += 1;
      return query(...args);
    }) as typeof client.query;
  };
  let active = true;
  pool.on('acquire', onAcquire);
  try {
    await work();
  } finally {
    active = false;
    pool.off('acquire', onAcquire);
  }
  return count;
}

describe('a list request runs a constant number of statements (no N+1)', () => {
  let big: string;
  before(async () => {
    const many = await insertProject(t.database.db, { teamId: roles.team.id });
    big = `/v1/projects/${many.id}/tasks`;
    await t.database.db
      .insertInto('tasks')
      .values(
        Array.from({ length: 250 }, (_, i) => ({
          id: crypto.randomUUID(),
          project_id: many.id,
          number: i + 1,
          title: `Bulk ${i}`,
          assignee_id: roles.member.id,
          created_at: at(i),
          updated_at: at(i),
        })),
      )
      .execute();
  });

  // The page alone: visibility is a subquery of it, for one project and across
  // projects (an empty page of one project adds the access check, tested below).
  for (const [name, list, expected] of [
    ['one project', () => big, 1],
    ['across projects', () => '/v1/tasks', 1],
    ['my tasks across projects', () => '/v1/tasks?assignee_id=me', 1],
  ] as const) {
    test(`${name}: the same few statements for a page of 5 as for a page of 200`, async () => {
      const counts: number[] = [];
      for (const limit of [5, 200]) {
        counts.push(
          await statementsDuring(t.database.pool, async () => {
            const page = pageOf(
              await getList(
                t.app,
                roles.member,
                `${list()}${list().includes('?') ? '&' : '?'}limit=${limit}`,
              ),
            );
            assert.equal(page.data.length, limit);
          }),
        );
      }
      assert.deepEqual(counts, [expected, expected]);
    });
  }
});
