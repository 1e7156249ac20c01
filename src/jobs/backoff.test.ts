import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { flakyJob } from '../../test/helpers/jobs.ts';
import { type Backoff, backoffDelayMs, DEFAULT_BACKOFF } from './backoff.ts';
import type { JobDefinition } from './catalogue.ts';
import { enqueueJob } from './enqueue.ts';
import { startWorker } from './worker.ts';

describe('backoffDelayMs', () => {
  const backoff: Backoff = { baseMs: 1_000, maxMs: 60_000 };

  test('stays within [0, min(max, base · 2^(attempt − 1))]', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const cap = Math.min(60_000, 1_000 * 2 ** (attempt - 1));
      assert.equal(
        backoffDelayMs(backoff, attempt, () => 0),
        0,
      );
      assert.equal(
        backoffDelayMs(backoff, attempt, () => 0.999_999_9),
        cap - 1,
      );
      const delay = backoffDelayMs(backoff, attempt);
      assert.ok(delay >= 0 && delay < cap, `attempt ${attempt}: ${delay} in [0, ${cap})`);
    }
  });

  test('the window doubles with each attempt until the cap, then stays there', () => {
    const half = (attempt: number) => backoffDelayMs(backoff, attempt, () => 0.5);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 20].map(half),
      [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000],
    );
  });

  test('a huge attempt number stays finite and capped', () => {
    assert.equal(
      backoffDelayMs(backoff, 32_767, () => 0.5),
      30_000,
    );
    assert.equal(
      backoffDelayMs(DEFAULT_BACKOFF, 1_000, () => 0.5),
      1_800_000,
    );
  });

  test('retries of jobs that failed together spread over the whole window', () => {
    const delays = Array.from({ length: 1_000 }, () => backoffDelayMs(backoff, 4));
    const buckets = new Array(8).fill(0);
    for (const delay of delays) buckets[Math.floor(delay / 1_000)] += 1;
    // Uniform over [0, 8 s): about 125 a second; lockstep would put all 1 000 in one.
    for (const count of buckets) assert.ok(count > 70 && count < 180, `buckets: ${buckets}`);
    assert.ok(new Set(delays).size > 900, 'nearly every delay differs');
  });
});

describe('retries after a failure', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  const jobRows = async () =>
    (
      await sql<{ id: string; attempts: number; locked_by: string | null; due_in_ms: number }>`
        SELECT id::text, attempts, locked_by,
          (extract(epoch FROM run_at - now()) * 1000)::int AS due_in_ms
        FROM graphile_worker.jobs ORDER BY id`.execute(t.database.db)
    ).rows;

  const clear = () =>
    sql`SELECT graphile_worker.complete_jobs(ARRAY(SELECT id FROM graphile_worker.jobs))`.execute(
      t.database.db,
    );

  /** Runs `jobs` on a worker until every queued job has failed `attempts` times, then stops it. */
  const failOnce = async (job: JobDefinition, random: () => number) => {
    const worker = await startWorker({
      pool: t.database.pool,
      db: t.database.db,
      config: { ...t.config, jobConcurrency: 1 },
      log: t.app.log,
      jobs: [job],
      crontab: '',
      random,
    });
    try {
      for (let i = 0; i < 200; i++) {
        const rows = await jobRows();
        if (rows.every((row) => row.attempts >= 1 && row.locked_by === null)) break;
        await sleep(25);
      }
    } finally {
      // Waits for the retries being scheduled, too.
      await worker.stop();
    }
    return jobRows();
  };

  test("a failed job's next run follows its jittered backoff, not graphile-worker's exp(attempts)", async () => {
    const job = flakyJob({
      maxAttempts: 3,
      backoff: { baseMs: 40_000, maxMs: 40_000 },
      fails: () => true,
    });
    await enqueueJob(t.database.db, job, { id: 'flaky' });
    const [row] = await failOnce(job, () => 0.5);
    assert.equal(row?.attempts, 1, 'it failed once and waits');
    // 0.5 of the 40 s window; graphile-worker alone would say e¹ ≈ 2.7 s.
    assert.ok(
      row.due_in_ms > 17_000 && row.due_in_ms <= 20_000,
      `due in ${row.due_in_ms} ms, expected ~20 000`,
    );
    await clear();
  });

  test('jobs that fail together get retry times spread over their window', async () => {
    const job = flakyJob({
      maxAttempts: 3,
      backoff: { baseMs: 100_000, maxMs: 100_000 },
      fails: () => true,
    });
    for (let i = 0; i < 20; i++) await enqueueJob(t.database.db, job, { id: `burst-${i}` });
    // A fixed sequence stands in for Math.random: 0.05, 0.10, … 1.00 of the window.
    let draw = 0;
    const rows = await failOnce(job, () => (++draw % 20) / 20 || 1 - 1e-9);
    assert.equal(rows.length, 20);
    assert.ok(rows.every((row) => row.attempts === 1));
    const due = rows.map((row) => row.due_in_ms).sort((a, b) => a - b);
    const expected = Array.from({ length: 20 }, (_, i) => (i + 1) * 5_000);
    due.forEach((ms, i) => {
      // Each retry is where its own draw put it, less the time the test took since.
      assert.ok(
        ms > expected[i]! - 4_000 && ms <= expected[i]!,
        `retry ${i}: ${ms} ms vs ${expected[i]}`,
      );
    });
    await clear();
  });

  test('the last attempt is not rescheduled: the job stays failed', async () => {
    const job = flakyJob({
      maxAttempts: 1,
      backoff: { baseMs: 100_000, maxMs: 100_000 },
      fails: () => true,
    });
    await enqueueJob(t.database.db, job, { id: 'once' });
    const [row] = await failOnce(job, () => 0.5);
    assert.equal(row?.attempts, 1);
    // graphile-worker's own e¹ s stands (the job will not run again anyway).
    assert.ok(row.due_in_ms < 3_000, `due in ${row.due_in_ms} ms`);
  });
});
