// Every task list shape is served by an index, not a sequential scan of tasks, on a
// table big enough (200 000 tasks, ANALYZEd) that the planner's choice is the one
// production would get. The SQL is the repository's own (taskPageQuery), explained.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import { type Database, openDatabase } from '../src/db/database.ts';
import {
  TASK_LIST_ORDERS,
  type TaskListOrder,
  type TaskListPosition,
  type TaskListSpec,
  taskPageQuery,
} from '../src/modules/tasks/task-lists.repository.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

const TASKS = 200_000;
const PROJECTS = 200;
const TEAMS = 4;
const USERS = 50;
const PAGE = 51;

let testDb: TestDatabase;
let database: Database;
/** A member of teams 0 and 1, who sees about half of the projects. */
let viewerId: string;
/** A project of team 0 with about 1 000 tasks. */
let projectId: string;

before(async () => {
  testDb = await createTestDatabase();
  database = openDatabase(testDb.url, 2);
  ({ viewerId, projectId } = await seed(database));
});
after(async () => {
  await database?.close();
  await testDb?.drop();
});

/**
 * One organization: four teams (user n belongs to team n % 4; n < 4 owns it), fifty
 * projects each (ten private in all), a thousand tasks per project, assigned among
 * the project's team. Task i is number k of project j; attributes vary with k and j
 * so that every project gets a mix: a year of creation times, a third undated, a
 * few unassigned, a few labels, a rare word for search, 2 % in the trash.
 */
async function seed({ db }: Database): Promise<{ viewerId: string; projectId: string }> {
  await sql`
    INSERT INTO users (id, email, name, password_hash, created_at, updated_at)
    SELECT gen_random_uuid(), 'user' || n || '@example.com', 'User ' || n, 'x', now(), now()
    FROM generate_series(0, ${USERS - 1}) n`.execute(db);
  await sql`
    INSERT INTO teams (id, name, created_at, updated_at)
    SELECT gen_random_uuid(), 'Team ' || n, now(), now()
    FROM generate_series(0, ${TEAMS - 1}) n`.execute(db);
  // The viewer, User 4, is a plain member of team 0 and of team 1.
  await sql`
    WITH t AS (SELECT id, split_part(name, ' ', 2)::int AS n FROM teams),
         u AS (SELECT id, split_part(name, ' ', 2)::int AS n FROM users)
    INSERT INTO team_members (team_id, user_id, role, joined_at)
    SELECT t.id, u.id, CASE WHEN u.n < ${TEAMS} THEN 'owner' ELSE 'member' END, now()
    FROM u JOIN t ON t.n = u.n % ${TEAMS} OR (u.n = 4 AND t.n = 1)`.execute(db);
  await sql`
    WITH t AS (SELECT id, split_part(name, ' ', 2)::int AS n FROM teams)
    INSERT INTO projects (id, team_id, name, key, visibility, created_at, updated_at)
    SELECT gen_random_uuid(), t.id, 'Project ' || j, 'P' || chr(65 + j / 26) || chr(65 + j % 26),
           CASE WHEN j >= ${PROJECTS - 10} THEN 'private' ELSE 'team' END, now(), now()
    FROM generate_series(0, ${PROJECTS - 1}) j JOIN t ON t.n = j % ${TEAMS}`.execute(db);
  await sql`
    WITH p AS (SELECT id, split_part(name, ' ', 2)::int AS n FROM projects),
         u AS (SELECT id, split_part(name, ' ', 2)::int AS n FROM users)
    INSERT INTO tasks (id, project_id, number, title, description, status, priority,
                       assignee_id, due_date, labels, created_at, updated_at, deleted_at)
    SELECT gen_random_uuid(), p.id, k + 1,
           (ARRAY['Fix', 'Ship', 'Review', 'Plan', 'Write'])[1 + (k + j) % 5] || ' the ' ||
             (ARRAY['login page', 'invoice export', 'search box', 'release notes',
                    'billing report', 'onboarding flow', 'mobile menu'])[1 + (k + j) % 7] ||
             CASE WHEN (k + j) % 997 = 0 THEN ' kumquat' ELSE '' END,
           'Steps to reproduce, expected and actual behaviour, item ' || i,
           (ARRAY['todo', 'in_progress', 'in_review', 'done', 'canceled'])[1 + (k + j) % 5],
           (ARRAY['none', 'low', 'medium', 'high', 'urgent'])[1 + (k / 3 + j) % 5],
           u.id,
           CASE WHEN (k + j) % 3 = 0 THEN NULL ELSE date '2026-01-01' + (k * 13) % 365 END,
           CASE WHEN (k + j) % 4 = 0 THEN ARRAY['bug'] WHEN (k + j) % 4 = 1 THEN ARRAY['bug', 'ui']
                ELSE '{}'::text[] END,
           created, created + (k % 1000) * interval '1 minute',
           CASE WHEN (k * 7 + j) % 50 = 0 THEN created + interval '1 day' END
    FROM generate_series(0, ${TASKS - 1}) i
    CROSS JOIN LATERAL (SELECT i / ${PROJECTS} AS k, i % ${PROJECTS} AS j,
                               timestamptz '2025-01-01' + i * interval '157 seconds' AS created) c
    JOIN p ON p.n = c.j
    LEFT JOIN u ON u.n = j % ${TEAMS} + ${TEAMS} * ((k * 3 + j) % 14)`.execute(db);
  // VACUUM also flushes the GIN indexes' pending lists, as autovacuum would have.
  await sql`VACUUM ANALYZE`.execute(db);
  // The viewer cannot see the private projects of their teams.
  const { rows } = await sql<{ viewer: string; project: string }>`
    SELECT (SELECT id FROM users WHERE name = 'User 4') AS viewer,
           (SELECT id FROM projects WHERE name = 'Project 0') AS project
  `.execute(db);
  return { viewerId: rows[0]!.viewer, projectId: rows[0]!.project };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** The executed plan of the repository's own query for `spec`. */
async function planOf(spec: TaskListSpec): Promise<PlanNode[]> {
  const query = taskPageQuery(database.db, spec).compile();
  const result = await database.db.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
    CompiledQuery.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${query.sql}`, [...query.parameters]),
  );
  return nodesOf(result.rows[0]!['QUERY PLAN'][0].Plan);
}

/** The plan in one line, for assertion messages. */
const outline = (nodes: PlanNode[]) =>
  nodes.map((node) => `${node['Node Type']}(${node['Index Name'] ?? ''})`).join(' > ');

/** The scans of tasks in the plan, asserting that none of them is sequential. */
function assertIndexServed(nodes: PlanNode[]): PlanNode[] {
  const scans = nodes.filter((node) => node['Relation Name'] === 'tasks');
  assert.ok(scans.length > 0, 'the plan reads tasks');
  for (const scan of scans) {
    assert.notEqual(scan['Node Type'], 'Seq Scan', `sequential scan of tasks: ${outline(nodes)}`);
  }
  return scans;
}

/**
 * The plan reads exactly one index of tasks, `index`, from the cursor on (the
 * keyset is an index condition, not a filter), in order (no sort), and reads about
 * one page of it.
 */
function assertRangeOf(nodes: PlanNode[], index: string, maxRows: number): void {
  const [scan, ...others] = assertIndexServed(nodes);
  assert.equal(others.length, 0, outline(nodes));
  assert.equal(scan!['Index Name'], index, outline(nodes));
  assert.match(scan!['Index Cond'] ?? '', /ROW\(/, `the cursor is not an index condition`);
  assert.ok(!nodes.some((node) => node['Node Type'] === 'Sort'), `sorted: ${outline(nodes)}`);
  assert.ok(scan!['Actual Rows']! <= maxRows, `read ${scan!['Actual Rows']} index rows`);
}

const specOf = (overrides: Partial<TaskListSpec>): TaskListSpec => ({
  scope: { projectId, viewer: viewerId },
  order: '-created_at',
  filters: {},
  after: undefined,
  limit: PAGE,
  ...overrides,
});

/** The position of the 500th row of a list, as the cursor of a deep page holds it. */
async function deepPosition(spec: TaskListSpec): Promise<TaskListPosition> {
  const rows = await taskPageQuery(database.db, { ...spec, limit: 500 }).execute();
  assert.equal(rows.length, 500, 'the list is long enough to go deep');
  const row = rows.at(-1)!;
  const key = row.sort_key instanceof Date ? row.sort_key.toISOString() : row.sort_key;
  return { key, id: row.id };
}

const ORDERS = Object.keys(TASK_LIST_ORDERS) as TaskListOrder[];

describe('one project, by each order', () => {
  const indexes: Record<TaskListOrder, string> = {
    created_at: 'tasks_project_created_idx',
    '-created_at': 'tasks_project_created_idx',
    updated_at: 'tasks_project_updated_idx',
    '-updated_at': 'tasks_project_updated_idx',
    due_date: 'tasks_project_due_order_idx',
    priority: 'tasks_project_priority_idx',
    trash: 'tasks_project_deleted_idx',
  };
  for (const order of ORDERS) {
    test(`sorted by ${order}, a deep page reads one page of ${indexes[order]}`, async () => {
      // The trash of one project holds ~20 tasks: its first page is the whole of it.
      const after = order === 'trash' ? undefined : await deepPosition(specOf({ order }));
      const nodes = await planOf(specOf({ order, after }));
      if (after) assertRangeOf(nodes, indexes[order], PAGE);
      else {
        assertIndexServed(nodes);
        assert.ok(
          nodes.some((node) => node['Index Name'] === indexes[order]),
          outline(nodes),
        );
      }
    });
  }
});

describe('my tasks across projects (assignee_id=me), by each order', () => {
  const indexes: Partial<Record<TaskListOrder, string>> = {
    created_at: 'tasks_assignee_created_idx',
    '-created_at': 'tasks_assignee_created_idx',
    updated_at: 'tasks_assignee_updated_idx',
    '-updated_at': 'tasks_assignee_updated_idx',
    due_date: 'tasks_assignee_due_order_idx',
    priority: 'tasks_assignee_priority_idx',
  };
  for (const order of ORDERS.filter((order) => order !== 'trash')) {
    test(`sorted by ${order}, a deep page reads about one page of ${indexes[order]}`, async () => {
      const spec = specOf({
        scope: { visibleTo: viewerId },
        order,
        filters: { assigneeId: viewerId },
      });
      const nodes = await planOf({ ...spec, after: await deepPosition(spec) });
      // A few of the user's tasks sit in the private project they cannot see.
      assertRangeOf(nodes, indexes[order]!, PAGE * 2);
    });
  }
});

describe('other shapes: no sequential scan of tasks', () => {
  const shapes: [string, () => Partial<TaskListSpec>][] = [
    ['one project by status', () => ({ filters: { statuses: ['todo'] } })],
    ['one project by two statuses', () => ({ filters: { statuses: ['todo', 'in_review'] } })],
    ['one project by assignee', () => ({ filters: { assigneeId: viewerId } })],
    ['one project, unassigned', () => ({ filters: { assigneeId: null } })],
    ['one project by label', () => ({ filters: { labels: ['ui'] } })],
    ['one project by priority', () => ({ filters: { priorities: ['urgent', 'high'] } })],
    [
      'one project, overdue, by due date',
      () => ({ order: 'due_date', filters: { dueBefore: '2026-02-01' } }),
    ],
    ['one project, due after', () => ({ filters: { dueAfter: '2026-12-01' } })],
    ['one project, full-text', () => ({ filters: { q: 'invoice export' } })],
    ['one project, full-text, rare word', () => ({ filters: { q: 'kumquat' } })],
    ['one project, full-text in the trash', () => ({ order: 'trash', filters: { q: 'login' } })],
    [
      'one project, changed since',
      () => ({ order: 'updated_at', filters: { updatedSince: new Date('2025-06-01') } }),
    ],
    ['across projects, unfiltered', () => ({ scope: { visibleTo: viewerId } })],
    [
      'across projects by status',
      () => ({ scope: { visibleTo: viewerId }, filters: { statuses: ['in_progress'] } }),
    ],
    [
      'across projects by assignee and status',
      () => ({
        scope: { visibleTo: viewerId },
        filters: { assigneeId: viewerId, statuses: ['todo'] },
      }),
    ],
    [
      'across projects, unassigned',
      () => ({ scope: { visibleTo: viewerId }, filters: { assigneeId: null } }),
    ],
    ['across projects by priority', () => ({ scope: { visibleTo: viewerId }, order: 'priority' })],
    ['across projects, trash', () => ({ scope: { visibleTo: viewerId }, order: 'trash' })],
    [
      'across projects, my trash',
      () => ({ scope: { visibleTo: viewerId }, order: 'trash', filters: { assigneeId: viewerId } }),
    ],
    [
      'across projects, full-text',
      () => ({ scope: { visibleTo: viewerId }, filters: { q: 'kumquat' } }),
    ],
    [
      'across projects, full-text, common words',
      () => ({ scope: { visibleTo: viewerId }, filters: { q: 'invoice' } }),
    ],
    [
      'across projects by label',
      () => ({ scope: { visibleTo: viewerId }, filters: { labels: ['ui'] } }),
    ],
  ];
  for (const [name, overrides] of shapes) {
    test(name, async () => {
      assertIndexServed(await planOf(specOf(overrides())));
    });
  }
});
