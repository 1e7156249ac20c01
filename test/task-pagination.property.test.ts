// Property: walking a task list page by page while other connections insert,
// soft-delete and restore tasks never serves a task twice, never skips a task that
// was in the list for the whole walk, serves only tasks that belong in the list,
// and serves them in the list's order. Random sorts, filters, scopes and page sizes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { type Database, openDatabase } from '../src/db/database.ts';
import type { TaskPriority, TaskStatus } from '../src/db/types.ts';
import { TASK_LIST_SORTS } from '../src/modules/tasks/task-lists.schemas.ts';
import { getList, nextLink, pageOf } from '../src/modules/tasks/task-lists.test-support.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createTeam, createUser, type TestUser } from './helpers/factories.ts';
import { projectKey } from './helpers/rows.ts';
import type { TestTask } from './helpers/task-factories.ts';

const STATUSES = ['todo', 'in_progress', 'done'] as const satisfies TaskStatus[];
const PRIORITIES = ['none', 'low', 'urgent'] as const satisfies TaskPriority[];
const RANK: Record<string, number> = { none: 0, low: 1, medium: 2, high: 3, urgent: 4 };
const DUE_DATES = [null, '2026-02-01', '2026-03-01', '2026-04-01'];
const WORDS = ['alpha', 'bravo', 'charlie'];
/** Few distinct times, so that sort keys tie and pages end inside runs of equal keys. */
const minute = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, n));

let t: TestApp;
let writers: Database;
let viewer: TestUser;
let other: TestUser;
let foreignTeamId: string;
before(async () => {
  t = await startTestApp();
  // The writers' own pool: their changes come from other connections than the reads.
  writers = openDatabase(t.config.databaseUrl!, 4);
  viewer = await createUser(t.app);
  other = await createUser(t.app);
  foreignTeamId = (await createTeam(t.app, other)).id;
});
after(async () => {
  await writers?.close();
  await t?.close();
});

const taskArb = fc.record({
  /** 0, 1: the viewer's team's projects; 2: a private one; 3: another team's. */
  project: fc.constantFrom(0, 0, 0, 0, 1, 1, 2, 3),
  created: fc.integer({ min: 0, max: 8 }),
  due: fc.constantFrom(...DUE_DATES),
  priority: fc.constantFrom(...PRIORITIES),
  status: fc.constantFrom(...STATUSES),
  assignee: fc.constantFrom('viewer', 'other', null),
  labels: fc.subarray(['red', 'blue']),
  word: fc.constantFrom(...WORDS),
  /** When it went to the trash, for one task in four. */
  deleted: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 8 }) },
  ),
});
type TaskSpec = typeof taskArb extends fc.Arbitrary<infer T> ? T : never;

const filterArb = fc.oneof(
  fc.constant({}),
  fc.record({ status: fc.subarray([...STATUSES], { minLength: 1 }) }),
  fc.record({ assignee_id: fc.constantFrom('me', 'none') }),
  fc.record({ priority: fc.subarray([...PRIORITIES], { minLength: 1 }) }),
  fc.record({ label: fc.constantFrom('red', 'blue') }),
  fc.record({ q: fc.constantFrom('alpha', 'bravo') }),
  fc.record({ due_before: fc.constantFrom('2026-02-15', '2026-03-15') }),
);
type Filter = typeof filterArb extends fc.Arbitrary<infer T> ? T : never;

const opArb = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), task: taskArb }),
  fc.record({
    kind: fc.constantFrom('delete' as const, 'restore' as const),
    pick: fc.nat(),
    at: fc.integer({ min: 0, max: 8 }),
  }),
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

interface ModelTask {
  readonly id: string;
  readonly projectIndex: number;
  readonly spec: TaskSpec;
  deleted: boolean;
}

/** A fresh team for the run: the viewer sees projects 0 and 1 only. */
async function world(): Promise<{ teamId: string; projects: string[] }> {
  const teamId = randomUUID();
  const now = new Date();
  await writers.db
    .insertInto('teams')
    .values({ id: teamId, name: 'Walk', created_at: now, updated_at: now })
    .execute();
  await writers.db
    .insertInto('team_members')
    .values({ team_id: teamId, user_id: viewer.id, role: 'member', joined_at: now })
    .execute();
  const projects = [teamId, teamId, teamId, foreignTeamId].map((team, index) => ({
    id: randomUUID(),
    team_id: team,
    name: 'Walk',
    key: projectKey(),
    visibility: index === 2 ? ('private' as const) : ('team' as const),
    created_at: now,
    updated_at: now,
  }));
  await writers.db.insertInto('projects').values(projects).execute();
  return { teamId, projects: projects.map((project) => project.id) };
}

function rowOf(spec: TaskSpec, projectId: string, number: number) {
  const created = minute(spec.created);
  return {
    id: randomUUID(),
    project_id: projectId,
    number,
    title: `${spec.word} task`,
    status: spec.status,
    priority: spec.priority,
    assignee_id:
      spec.assignee === 'viewer' ? viewer.id : spec.assignee === 'other' ? other.id : null,
    due_date: spec.due,
    labels: spec.labels,
    created_at: created,
    updated_at: created,
    deleted_at: spec.deleted === null ? null : minute(spec.deleted),
  };
}

function matches(spec: TaskSpec, filter: Filter): boolean {
  if ('status' in filter) return (filter.status as string[]).includes(spec.status);
  if ('assignee_id' in filter)
    return spec.assignee === (filter.assignee_id === 'me' ? 'viewer' : null);
  if ('priority' in filter) return (filter.priority as string[]).includes(spec.priority);
  if ('label' in filter) return spec.labels.includes(filter.label);
  if ('q' in filter) return spec.word === filter.q;
  if ('due_before' in filter) return spec.due !== null && spec.due < filter.due_before;
  return true;
}

/** The task's position in `sort`, as a tuple compared element by element. */
function positionIn(sort: string, task: TestTask): [number | string, string] {
  switch (sort) {
    case 'created_at':
    case '-created_at':
      return [task.created_at, task.id];
    case 'updated_at':
    case '-updated_at':
      return [task.updated_at, task.id];
    case 'due_date':
      return [task.due_date ?? '\uffff', task.id];
    case 'priority':
      return [RANK[task.priority]!, task.id];
    default:
      return [task.deleted_at!, task.id];
  }
}
const descending = (sort: string) =>
  sort.startsWith('-') || sort === 'priority' || sort === 'trash';

function queryOf(sort: string, filter: Filter, limit: number): string {
  const params = new URLSearchParams({ limit: String(limit) });
  if (sort === 'trash') params.set('deleted', 'only');
  else params.set('sort', sort);
  for (const [name, value] of Object.entries(filter)) {
    for (const item of [value].flat()) params.append(name, String(item));
  }
  return params.toString();
}

test('pages never repeat a task nor skip one that stayed, under concurrent writes', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(taskArb, { minLength: 10, maxLength: 40, size: 'max' }),
      fc.constantFrom('project', 'all'),
      fc.constantFrom(...TASK_LIST_SORTS, 'trash'),
      filterArb,
      fc.integer({ min: 1, max: 6 }),
      fc.array(opArb, { minLength: 5, maxLength: 20, size: 'max' }),
      async (specs, scope, sort, filter, limit, ops) => {
        const { teamId, projects } = await world();
        try {
          const numbers = [0, 0, 0, 0];
          const model: ModelTask[] = [];
          const rows = specs.map((spec) => {
            const row = rowOf(spec, projects[spec.project]!, ++numbers[spec.project]!);
            model.push({
              id: row.id,
              projectIndex: spec.project,
              spec,
              deleted: spec.deleted !== null,
            });
            return row;
          });
          if (rows.length > 0) await writers.db.insertInto('tasks').values(rows).execute();

          const inScope = (task: ModelTask) =>
            scope === 'project' ? task.projectIndex === 0 : task.projectIndex <= 1;
          const listed = (task: ModelTask) =>
            inScope(task) && task.deleted === (sort === 'trash') && matches(task.spec, filter);
          const required = new Set(model.filter(listed).map((task) => task.id));
          // Tasks whose row a write changed during the walk (delete and restore set
          // updated_at and deleted_at).
          const touched = new Set<string>();

          /** One write from another connection; what it touches need not be listed. */
          const write = async (op: Op) => {
            if (op.kind === 'insert') {
              const row = rowOf(op.task, projects[op.task.project]!, ++numbers[op.task.project]!);
              model.push({
                id: row.id,
                projectIndex: op.task.project,
                spec: op.task,
                deleted: row.deleted_at !== null,
              });
              await writers.db.insertInto('tasks').values(row).execute();
              return;
            }
            const candidates = model.filter((task) => task.deleted === (op.kind === 'restore'));
            const task = candidates[op.pick % Math.max(candidates.length, 1)];
            if (!task) return;
            task.deleted = op.kind === 'delete';
            required.delete(task.id);
            touched.add(task.id);
            await writers.db
              .updateTable('tasks')
              .set((eb) => ({
                deleted_at: op.kind === 'delete' ? minute(op.at) : null,
                updated_at: minute(op.at),
                version: eb('version', '+', 1),
              }))
              .where('id', '=', task.id)
              .execute();
          };

          const base = scope === 'project' ? `/v1/projects/${projects[0]}/tasks` : '/v1/tasks';
          const served: TestTask[] = [];
          let next: string | undefined = `${base}?${queryOf(sort, filter, limit)}`;
          for (let page = 0; next !== undefined; page += 1) {
            assert.ok(page < 200, 'the walk ends');
            // Each page is read while one write runs on another connection.
            const op = ops[page];
            const [response] = await Promise.all([
              getList(t.app, viewer, next),
              op ? write(op) : Promise.resolve(),
            ]);
            served.push(...pageOf(response).data);
            next = nextLink(response);
          }

          const ids = served.map((task) => task.id);
          // The promise: no task twice, except one whose sort key itself changed
          // during the walk (updated_at, or deleted_at in the trash). Keyset pages
          // follow the row to its new place; without a snapshot, no ordering on a
          // mutable key can promise both "no repeats" and "no skips" (docs/api.md).
          const mutableKey = sort === 'updated_at' || sort === '-updated_at' || sort === 'trash';
          ids.forEach((id, i) => {
            if (ids.indexOf(id) === i) return;
            assert.ok(mutableKey && touched.has(id), 'a task was served twice');
          });
          for (const id of required) assert.ok(ids.includes(id), `task ${id} was skipped`);
          const allowed = scope === 'project' ? [projects[0]] : [projects[0], projects[1]];
          const byId = new Map(model.map((task) => [task.id, task]));
          for (const task of served) {
            assert.ok(allowed.includes(task.project_id), 'a task of another list was served');
            assert.equal(task.deleted_at !== null, sort === 'trash', 'live and trash mixed');
            assert.ok(matches(byId.get(task.id)!.spec, filter), 'a task outside the filter');
          }
          for (let i = 1; i < served.length; i += 1) {
            const [a, b] = [positionIn(sort, served[i - 1]!), positionIn(sort, served[i]!)];
            const before = a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
            assert.equal(before, !descending(sort), `out of ${sort} order at ${i}`);
          }
        } finally {
          // The viewer leaves the run's team, so later runs' cross-project lists hold only theirs.
          await writers.db.deleteFrom('team_members').where('team_id', '=', teamId).execute();
        }
      },
    ),
    { numRuns: 150, interruptAfterTimeLimit: 20_000 },
  );
});
