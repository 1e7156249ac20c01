// Task keys under concurrency: real parallel requests against one project.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { assertProblem, body } from '../../../test/helpers/factories.ts';
import { insertProject } from '../../../test/helpers/rows.ts';
import { createWorld, eventsOf, taskRequests, type World } from './tasks.test-support.ts';

let t: TestApp;
let w: World;
let api: ReturnType<typeof taskRequests>;
before(async () => {
  t = await startTestApp();
  w = await createWorld(t);
  api = taskRequests(t);
});
after(() => t.close());

/** Sessions of the test database waiting on a lock right now. */
async function sessionsWaitingOnLocks(): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(t.database.db);
  return rows[0]?.n ?? 0;
}

describe('task keys', () => {
  test('100 parallel creates get numbers 1..100, each exactly once, with no gap', async () => {
    const project = await insertProject(t.database.db, { teamId: w.team.id, key: 'PROJ' });
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => api.post(w.member, project.id, { title: `T${i}` })),
    );
    assert.deepEqual(
      responses.filter((r) => r.statusCode !== 201).map((r) => r.body),
      [],
    );
    const keys = responses.map((r) => body(r).key as string);
    const expected = Array.from({ length: 100 }, (_, i) => `PROJ-${i + 1}`);
    assert.deepEqual([...keys].sort(), [...expected].sort());

    const rows = await t.database.db
      .selectFrom('tasks')
      .select('number')
      .where('project_id', '=', project.id)
      .orderBy('number')
      .execute();
    assert.deepEqual(
      rows.map((row) => row.number),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    const { last_task_number } = await t.database.db
      .selectFrom('projects')
      .select('last_task_number')
      .where('id', '=', project.id)
      .executeTakeFirstOrThrow();
    assert.equal(last_task_number, 100);
    // Each create wrote its own event, with its own key.
    const created = await Promise.all(
      responses.map(async (r) => (await eventsOf(t, body(r).id, 'task.created')).length),
    );
    assert.deepEqual(new Set(created), new Set([1]));
  });

  test('parallel creates in two projects number each project on its own', async () => {
    const [a, b] = await Promise.all([
      insertProject(t.database.db, { teamId: w.team.id, key: 'AAA' }),
      insertProject(t.database.db, { teamId: w.team.id, key: 'BBB' }),
    ]);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api.post(w.member, i % 2 ? a.id : b.id, { title: 'x' })),
    );
    const keys = responses.map((r) => body(r).key as string).sort();
    const expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].flatMap((n) => [`AAA-${n}`, `BBB-${n}`]);
    assert.deepEqual(keys, expected.sort());
  });

  test('a create that waited on the project row while it was archived answers 409 and gives its number back', async () => {
    const project = await insertProject(t.database.db, { teamId: w.team.id, key: 'ARC' });
    let pending: ReturnType<typeof api.post> | undefined;
    await t.database.db.transaction().execute(async (trx) => {
      // Hold the project row, as an archive in progress would.
      await sql`SELECT 1 FROM projects WHERE id = ${project.id} FOR UPDATE`.execute(trx);
      pending = api.post(w.member, project.id, { title: 'Too late' });
      const deadline = Date.now() + 5_000;
      while ((await sessionsWaitingOnLocks()) < 1) {
        assert.ok(Date.now() < deadline, 'the create never waited on the project row');
        await sleep(5);
      }
      await trx
        .updateTable('projects')
        .set({ archived_at: new Date() })
        .where('id', '=', project.id)
        .execute();
    });
    assertProblem(await pending!, 409, 'conflict');

    await t.database.db
      .updateTable('projects')
      .set({ archived_at: null })
      .where('id', '=', project.id)
      .execute();
    const next = await api.post(w.member, project.id, { title: 'After unarchive' });
    assert.equal(next.statusCode, 201);
    assert.equal(body(next).key, 'ARC-1');
  });
});
