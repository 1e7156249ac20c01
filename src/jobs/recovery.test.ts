import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { holdJob } from '../../test/helpers/jobs.ts';
import { ProcessGroup, type RunningProcess, within } from '../../test/helpers/processes.ts';
import { listFailedJobs } from './dead-letters.ts';
import { enqueueJob } from './enqueue.ts';
import { releaseJobsOfDeadWorkers } from './heartbeat.ts';
import { type JobWorker, startWorker } from './worker.ts';

// Short, so a dead worker's jobs come back within the test's patience.
const LOCK_TIMEOUT_SECONDS = 2;

describe('recovery from killed workers', () => {
  let t: TestApp;
  const processes = new ProcessGroup();
  const workers: JobWorker[] = [];

  before(async () => {
    t = await startTestApp({ env: { JOB_LOCK_TIMEOUT_SECONDS: String(LOCK_TIMEOUT_SECONDS) } });
  });
  after(async () => {
    await processes.stopAll();
    for (const worker of workers) await worker.stop();
    await t.close();
  });

  /** A worker process running `test-hold` jobs; resolves with its pool id once its heartbeat is written. */
  const spawnWorker = async (): Promise<{ process: RunningProcess; poolId: string }> => {
    const child = processes.spawnNode(['test/helpers/job-worker-process.ts'], {
      DATABASE_URL: t.config.databaseUrl!,
      JOB_LOCK_TIMEOUT_SECONDS: String(LOCK_TIMEOUT_SECONDS),
      LOG_LEVEL: 'warn',
    });
    const poolId = await until(20_000, 'the worker process is ready', async () => {
      const line = child.stderr.find((text) => text.startsWith('worker ready '));
      if (child.child.exitCode !== null)
        throw new Error(`worker exited: ${child.stderr.join('\n')}`);
      return line?.slice('worker ready '.length);
    });
    return { process: child, poolId };
  };

  /** An in-process worker whose `test-hold` records each run and returns at once. */
  const startRecordingWorker = async (ran: string[]) => {
    const worker = await startWorker({
      pool: t.database.pool,
      db: t.database.db,
      config: t.config,
      log: t.app.log,
      jobs: [holdJob({ onRun: (id) => ran.push(id) })],
      crontab: '',
    });
    workers.push(worker);
    return worker;
  };

  const lockOf = async (jobId: string) =>
    (
      await sql<{ locked_by: string | null; attempts: number }>`
        SELECT locked_by, attempts FROM graphile_worker.jobs WHERE id = ${jobId}::bigint`.execute(
        t.database.db,
      )
    ).rows[0];

  const heartbeatOf = (poolId: string) =>
    t.database.db
      .selectFrom('job_worker_heartbeats')
      .selectAll()
      .where('pool_id', '=', poolId)
      .executeTakeFirst();

  test('when a worker is killed with SIGKILL mid-job, another worker runs the job again within seconds', async () => {
    const { process: child, poolId } = await spawnWorker();
    const jobId = await enqueueJob(t.database.db, holdJob(), { id: 'killed' });
    await until(10_000, 'the worker process takes the job', async () =>
      (await lockOf(jobId))?.locked_by === poolId ? true : undefined,
    );
    assert.ok(await heartbeatOf(poolId), 'the live worker has a heartbeat');

    assert.equal((await child.kill('SIGKILL')).signal, 'SIGKILL');
    const killedAt = Date.now();
    const ran: string[] = [];
    await startRecordingWorker(ran);
    await until(15_000, 'the job runs again', async () =>
      ran.includes('killed') ? true : undefined,
    );
    const recoveredInMs = Date.now() - killedAt;

    // The lock timeout (2 s), a beat (0.5 s), and a margin for a loaded machine.
    assert.ok(recoveredInMs < 8_000, `recovered after ${recoveredInMs} ms`);
    assert.deepEqual(ran, ['killed'], 'the job ran once more, on the live worker');
    await until(5_000, 'the job completes', async () => ((await lockOf(jobId)) ? undefined : true));
    assert.equal(await heartbeatOf(poolId), undefined, "the dead pool's heartbeat is deleted");
    for (const worker of workers.splice(0)) await worker.stop();
  });

  test('a job a live worker holds for longer than the lock timeout is not taken from it', async () => {
    const { process: child, poolId } = await spawnWorker();
    const holdMs = LOCK_TIMEOUT_SECONDS * 3 * 1000;
    const jobId = await enqueueJob(t.database.db, holdJob(), { id: 'long', hold_ms: holdMs });
    await until(10_000, 'the worker process takes the job', async () =>
      (await lockOf(jobId))?.locked_by === poolId ? true : undefined,
    );
    const ran: string[] = [];
    await startRecordingWorker(ran);

    const holders = new Set<string | null>();
    await until(holdMs + 10_000, 'the live worker finishes the job', async () => {
      const lock = await lockOf(jobId);
      if (lock === undefined) return true;
      holders.add(lock.locked_by);
      await sleep(200);
      return undefined;
    });
    assert.deepEqual([...holders], [poolId], 'the job stayed locked by the worker that took it');
    assert.deepEqual(ran, [], 'the other worker never ran it');
    await child.kill('SIGTERM');
    for (const worker of workers.splice(0)) await worker.stop();
  });

  test('a lock younger than the timeout is left alone even without a heartbeat; once older, it is released', async () => {
    const { process: child, poolId } = await spawnWorker();
    const jobId = await enqueueJob(t.database.db, holdJob(), { id: 'young' }, { jobKey: 'young' });
    await until(10_000, 'the worker process takes the job', async () =>
      (await lockOf(jobId))?.locked_by === poolId ? true : undefined,
    );
    await child.kill('SIGKILL');
    // As if the pool had died before its first beat.
    await t.database.db.deleteFrom('job_worker_heartbeats').where('pool_id', '=', poolId).execute();

    const early = await releaseJobsOfDeadWorkers(t.database.db, 60);
    assert.deepEqual(early.jobIds, []);
    assert.equal((await lockOf(jobId))?.locked_by, poolId);

    await sleep(LOCK_TIMEOUT_SECONDS * 1000 + 200);
    const late = await releaseJobsOfDeadWorkers(t.database.db, LOCK_TIMEOUT_SECONDS);
    assert.deepEqual(late, { poolIds: [poolId], jobIds: [jobId], failedJobIds: [] });
    assert.deepEqual(await lockOf(jobId), { locked_by: null, attempts: 1 });
    // Runnable again; no worker of the later tests should find it.
    await sql`SELECT graphile_worker.remove_job('young')`.execute(t.database.db);
  });

  test('a job killed on its last attempt is failed for good, with the reason in the dead letters', async () => {
    const { process: child, poolId } = await spawnWorker();
    const jobId = await enqueueJob(t.database.db, holdJob({ maxAttempts: 1 }), { id: 'last' });
    await until(10_000, 'the worker process takes the job', async () =>
      (await lockOf(jobId))?.locked_by === poolId ? true : undefined,
    );
    await child.kill('SIGKILL');
    await sleep(LOCK_TIMEOUT_SECONDS * 1000 + 200);

    const released = await releaseJobsOfDeadWorkers(t.database.db, LOCK_TIMEOUT_SECONDS);
    assert.deepEqual(released.failedJobIds, [jobId]);
    const [failed] = (await listFailedJobs(t.database.db)).filter((job) => job.id === jobId);
    assert.equal(failed?.lastError, 'the worker running the last attempt stopped responding');
    assert.deepEqual(failed?.payload, { id: 'last' });
  });

  test('a worker that stops gracefully deletes its heartbeat', async () => {
    const { process: child, poolId } = await spawnWorker();
    child.child.kill('SIGTERM');
    const exit = await within(15_000, child.exited, 'the worker process stops');
    assert.equal(exit.code, 0, child.stderr.join('\n'));
    assert.equal(await heartbeatOf(poolId), undefined);
  });
});

/** Polls `check` every 100 ms until it returns a value, failing after `ms`. */
async function until<T>(ms: number, what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}
