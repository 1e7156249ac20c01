import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { createTeam, createUser } from '../../test/helpers/factories.ts';
import { createProject } from '../../test/helpers/project-factories.ts';
import { createTask } from '../../test/helpers/task-factories.ts';
import { defineJob, type JobDefinition } from './catalogue.ts';
import { enqueueJob } from './enqueue.ts';
import { purgeTrash } from './maintenance.ts';
import { type JobWorker, startWorker } from './worker.ts';

const ran: { name: string; id: string }[] = [];
const Payload = Type.Object({ id: Type.String() }, { additionalProperties: false });
const record = (name: string) => async (payload: { id: string }) => {
  ran.push({ name, id: payload.id });
};
const notify = defineJob({
  name: 'test-notify',
  payload: Payload,
  priority: 'interactive',
  maxAttempts: 1,
  run: record('test-notify'),
});
const exportAll = defineJob({
  name: 'test-export',
  payload: Payload,
  priority: 'bulk',
  maxAttempts: 1,
  run: record('test-export'),
});
const JOBS: JobDefinition[] = [notify, exportAll, purgeTrash];

describe('the job queue', () => {
  let t: TestApp;
  let worker: JobWorker | undefined;
  const start = async () => {
    worker = await startWorker({
      pool: t.database.pool,
      db: t.database.db,
      config: { ...t.config, jobConcurrency: 1 },
      log: t.app.log,
      jobs: JOBS,
      crontab: '',
    });
  };
  const stop = async () => {
    await worker?.stop();
    worker = undefined;
  };
  const queued = async () =>
    (
      await sql<{ n: number }>`SELECT count(*)::int AS n FROM graphile_worker.jobs`.execute(
        t.database.db,
      )
    ).rows[0]!.n;
  const drained = async () => {
    for (let i = 0; i < 300 && (await queued()) > 0; i++) await sleep(20);
    assert.equal(await queued(), 0, 'the queue drained');
  };

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await stop();
    await t.close();
  });

  test('a job exists only if the transaction that queued it commits', async () => {
    ran.length = 0;
    await t.database.db.transaction().execute(async (trx) => {
      await enqueueJob(trx, notify, { id: 'committed' });
    });
    await assert.rejects(
      t.database.db.transaction().execute(async (trx) => {
        await enqueueJob(trx, notify, { id: 'rolled-back' });
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    await start();
    try {
      await drained();
      assert.deepEqual(ran, [{ name: 'test-notify', id: 'committed' }]);
    } finally {
      await stop();
    }
  });

  test('interactive work runs before bulk work queued earlier', async () => {
    ran.length = 0;
    await enqueueJob(t.database.db, exportAll, { id: 'export-1' });
    await enqueueJob(t.database.db, exportAll, { id: 'export-2' });
    await enqueueJob(t.database.db, notify, { id: 'notify' });
    await start();
    try {
      await drained();
      assert.deepEqual(
        ran.map((job) => job.id),
        ['notify', 'export-1', 'export-2'],
      );
    } finally {
      await stop();
    }
  });

  test('a payload that does not match its schema is refused when queued', async () => {
    await assert.rejects(
      enqueueJob(t.database.db, notify, { id: 42 } as unknown as { id: string }),
      /job test-notify: invalid payload at \/id/,
    );
    assert.equal(await queued(), 0);
  });

  test('the trash purge deletes what has been in the trash longer than the retention, and nothing else', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const project = await createProject(t.app, owner, team.id);
    const tasks = [];
    for (let i = 0; i < 3; i++) tasks.push(await createTask(t.app, owner, project.id));
    const [old, recent, live] = tasks;
    await sql`UPDATE tasks SET deleted_at = now() - interval '31 days' WHERE id = ${old!.id}`.execute(
      t.database.db,
    );
    await sql`UPDATE tasks SET deleted_at = now() - interval '29 days' WHERE id = ${recent!.id}`.execute(
      t.database.db,
    );
    await enqueueJob(t.database.db, purgeTrash, {});
    await start();
    try {
      await drained();
    } finally {
      await stop();
    }
    const left = await t.database.db
      .selectFrom('tasks')
      .select('id')
      .where('project_id', '=', project.id)
      .execute();
    assert.deepEqual(left.map((row) => row.id).sort(), [recent!.id, live!.id].sort());
  });
});
