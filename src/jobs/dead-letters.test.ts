import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { flakyJob } from '../../test/helpers/jobs.ts';
import { ProcessGroup, within } from '../../test/helpers/processes.ts';
import { type FailedJob, listFailedJobs, retryFailedJobs } from './dead-letters.ts';
import { enqueueJob } from './enqueue.ts';
import { failedTable, parseJobsArgs, UsageError } from './jobs-command.ts';
import { startWorker } from './worker.ts';

describe('tasklane jobs: arguments', () => {
  test('failed and retry parse into requests', () => {
    assert.deepEqual(parseJobsArgs(['failed']), { command: 'failed', json: false, limit: 100 });
    assert.deepEqual(parseJobsArgs(['failed', '--json', '--limit', '5']), {
      command: 'failed',
      json: true,
      limit: 5,
    });
    assert.deepEqual(parseJobsArgs(['retry', '12', '007']), { command: 'retry', ids: ['12', '7'] });
    assert.deepEqual(parseJobsArgs(['retry', '--all']), { command: 'retry', ids: 'all' });
    assert.deepEqual(parseJobsArgs(['--help']), { command: 'help' });
  });

  const bad: [string[], RegExp][] = [
    [[], /say which: failed or retry/],
    [['list'], /unknown command "list"/],
    [['failed', '--csv'], /unknown argument "--csv"/],
    [['failed', '--limit'], /--limit takes a whole number/],
    [['failed', '--limit', '0'], /--limit takes a whole number/],
    [['retry'], /give job ids, or --all/],
    [['retry', 'abc'], /"abc" is not a job id/],
    [['retry', '-1'], /"-1" is not a job id/],
    [['retry', '9223372036854775808'], /is not a job id/],
    [['retry', '--all', '3'], /--all takes no ids/],
  ];
  for (const [args, message] of bad) {
    test(`"jobs ${args.join(' ')}" is a usage error: ${message.source}`, () => {
      assert.throws(
        () => parseJobsArgs(args),
        (error) => error instanceof UsageError && message.test(error.message),
      );
    });
  }

  test("the table shows each job's error on one line and its payload's ids", () => {
    const job: FailedJob = {
      id: '42',
      job: 'deliver-webhook',
      attempts: 10,
      maxAttempts: 10,
      lastError: 'connect ECONNREFUSED 10.0.0.1:443\n    at TCPConnectWrap.afterConnect',
      failedAt: new Date('2026-11-22T06:16:40.465Z'),
      createdAt: new Date('2026-11-22T05:00:00.000Z'),
      jobKey: 'webhook-delivery:d1',
      payload: { delivery_id: 'd1', manual: false },
    };
    assert.equal(
      failedTable([job]),
      [
        'ID  JOB              ATTEMPTS  FAILED AT             PAYLOAD                      LAST ERROR',
        '42  deliver-webhook  10/10     2026-11-22T06:16:40Z  delivery_id=d1 manual=false  connect ECONNREFUSED 10.0.0.1:443',
        '',
      ].join('\n'),
    );
    assert.equal(failedTable([]), 'no failed jobs\n');
  });
});

describe('the dead letters', () => {
  let t: TestApp;
  const processes = new ProcessGroup();
  // Jobs whose id is in here fail; take an id out and its next run succeeds.
  const failing = new Set<string>();
  const ran: string[] = [];
  const job = flakyJob({
    maxAttempts: 2,
    backoff: { baseMs: 1, maxMs: 1 },
    fails: (id) => {
      ran.push(id);
      return failing.has(id);
    },
    message: 'the mail server said 554\nand more lines',
  });

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await processes.stopAll();
    await t.close();
  });

  const queue = async () =>
    (
      await sql<{ id: string; attempts: number; locked: boolean; due: boolean }>`
        SELECT id::text, attempts, locked_at IS NOT NULL AS locked, run_at <= now() AS due
        FROM graphile_worker.jobs ORDER BY id`.execute(t.database.db)
    ).rows;

  /** Runs the queue until it holds only failed jobs (or nothing). */
  const runUntilOnlyFailedLeft = async () => {
    const worker = await startWorker({
      pool: t.database.pool,
      db: t.database.db,
      config: { ...t.config, jobConcurrency: 1 },
      log: t.app.log,
      jobs: [job],
      crontab: '',
    });
    try {
      for (let i = 0; i < 300; i++) {
        const rows = await queue();
        if (rows.every((row) => row.attempts >= 2 && !row.locked)) break;
        await sleep(25);
      }
    } finally {
      await worker.stop();
    }
  };

  test('a job that failed on every attempt is listed with its error, attempts and payload; others are not', async () => {
    failing.add('broken');
    const broken = await enqueueJob(
      t.database.db,
      job,
      { id: 'broken' },
      { jobKey: 'mail:broken' },
    );
    await enqueueJob(t.database.db, job, { id: 'fine' });
    const before = Date.now();
    await runUntilOnlyFailedLeft();
    // Still waiting for its first run: not a dead letter.
    const later = await enqueueJob(
      t.database.db,
      job,
      { id: 'later' },
      { runAt: new Date(Date.now() + 3_600_000) },
    );

    const failed = await listFailedJobs(t.database.db);
    assert.equal(failed.length, 1, JSON.stringify(failed));
    const [dead] = failed;
    assert.equal(dead?.id, broken);
    assert.equal(dead.job, 'test-flaky');
    assert.equal(dead.attempts, 2);
    assert.equal(dead.maxAttempts, 2);
    assert.equal(dead.lastError, 'the mail server said 554\nand more lines');
    assert.deepEqual(dead.payload, { id: 'broken' });
    assert.equal(dead.jobKey, 'mail:broken');
    assert.ok(
      Math.abs(dead.failedAt.getTime() - Date.now()) < 10_000 &&
        dead.failedAt.getTime() > before - 2_000,
      `failed at ${dead.failedAt.toISOString()}`,
    );
    await sql`SELECT graphile_worker.complete_jobs(ARRAY[${later}::bigint])`.execute(t.database.db);
  });

  test('retrying a failed job resets its attempts and runs it now; unknown ids are reported', async () => {
    const [dead] = await listFailedJobs(t.database.db);
    assert.ok(dead);
    const waiting = await enqueueJob(
      t.database.db,
      job,
      { id: 'waiting' },
      { runAt: new Date(Date.now() + 3_600_000) },
    );
    const result = await retryFailedJobs(t.database.db, [dead.id, waiting, '999999']);
    assert.deepEqual(result, { retried: [dead.id], notFailed: [waiting, '999999'] });
    const retried = (await queue()).find((row) => row.id === dead.id);
    assert.deepEqual(retried, { id: dead.id, attempts: 0, locked: false, due: true });

    failing.delete('broken');
    ran.length = 0;
    await sql`SELECT graphile_worker.complete_jobs(ARRAY[${waiting}::bigint])`.execute(
      t.database.db,
    );
    await runUntilOnlyFailedLeft();
    assert.deepEqual(ran, ['broken'], 'it ran again, and succeeded');
    assert.deepEqual(await queue(), []);
  });

  test('retry --all queues every failed job again', async () => {
    failing.add('a').add('b');
    await enqueueJob(t.database.db, job, { id: 'a' });
    await enqueueJob(t.database.db, job, { id: 'b' });
    await runUntilOnlyFailedLeft();
    assert.equal((await listFailedJobs(t.database.db)).length, 2);
    const { retried } = await retryFailedJobs(t.database.db, 'all');
    assert.equal(retried.length, 2);
    assert.deepEqual(await listFailedJobs(t.database.db), []);
    assert.deepEqual(await retryFailedJobs(t.database.db, 'all'), { retried: [], notFailed: [] });
  });

  test('through the real CLI: list as JSON, a bad id exits 2 with one line, retry, then nothing is left', async () => {
    await sql`SELECT graphile_worker.complete_jobs(ARRAY(SELECT id FROM graphile_worker.jobs))`.execute(
      t.database.db,
    );
    failing.add('cli');
    const id = await enqueueJob(t.database.db, job, { id: 'cli' });
    await runUntilOnlyFailedLeft();

    const cli = async (...args: string[]) => {
      const child = processes.spawnNode(['src/main.ts', 'jobs', ...args], {
        DATABASE_URL: t.config.databaseUrl!,
      });
      const exit = await within(20_000, child.exited, `tasklane jobs ${args.join(' ')}`);
      return { code: exit.code, stdout: child.stdout.join('\n'), stderr: child.stderr };
    };

    const listed = await cli('failed', '--json');
    assert.equal(listed.code, 0, listed.stderr.join('\n'));
    const jobs = JSON.parse(listed.stdout) as {
      id: string;
      job: string;
      last_error: string;
      payload: unknown;
    }[];
    assert.deepEqual(
      jobs.map(({ id, job, payload }) => ({ id, job, payload })),
      [{ id, job: 'test-flaky', payload: { id: 'cli' } }],
    );

    const bad = await cli('retry', 'twelve');
    assert.equal(bad.code, 2);
    assert.deepEqual(bad.stderr, [
      'tasklane: jobs retry: "twelve" is not a job id (ids are whole numbers)',
    ]);

    const retried = await cli('retry', id);
    assert.equal(retried.code, 0, retried.stderr.join('\n'));
    assert.deepEqual(retried.stderr, [`tasklane: queued again: ${id}`]);

    const empty = await cli('failed');
    assert.equal(empty.code, 0);
    assert.equal(empty.stdout, 'no failed jobs');
  });
});
