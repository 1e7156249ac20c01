import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { flakyJob } from '../../test/helpers/jobs.ts';
import { freePort, ProcessGroup, within } from '../../test/helpers/processes.ts';
import { createMetrics } from '../observability/metrics.ts';
import { defineJob } from './catalogue.ts';
import { enqueueJob } from './enqueue.ts';
import { startWorker } from './worker.ts';

/** The samples of a Prometheus text exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return map;
}

describe('job metrics in /metrics', () => {
  const metrics = createMetrics();
  let t: TestApp;
  const processes = new ProcessGroup();
  before(async () => {
    t = await startTestApp({ metrics });
  });
  after(async () => {
    await processes.stopAll();
    await t.close();
  });

  const ok = defineJob({
    name: 'test-ok',
    payload: Type.Object({ id: Type.String() }),
    priority: 'interactive',
    maxAttempts: 3,
    async run() {
      await sleep(20);
    },
  });
  const broken = flakyJob({ maxAttempts: 1, fails: () => true });

  test('after some jobs ran on the in-process worker, the API serves their depth, durations, latency and outcomes', async () => {
    await enqueueJob(t.database.db, ok, { id: '1' });
    await enqueueJob(t.database.db, ok, { id: '2' });
    await enqueueJob(t.database.db, broken, { id: 'x' });
    await enqueueJob(
      t.database.db,
      ok,
      { id: 'later' },
      { runAt: new Date(Date.now() + 3_600_000) },
    );
    // A task no catalogue knows: counted, under `other`.
    await sql`SELECT graphile_worker.add_job('mystery-task', '{}'::json, run_at => now() + interval '1 hour')`.execute(
      t.database.db,
    );
    const worker = await startWorker({
      pool: t.database.pool,
      db: t.database.db,
      config: t.config,
      log: t.app.log,
      jobs: [ok, broken],
      crontab: '',
      metrics,
    });
    try {
      for (let i = 0; i < 200; i++) {
        const { rows } = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM graphile_worker.jobs
          WHERE run_at <= now() AND (attempts < max_attempts OR locked_at IS NOT NULL)`.execute(
          t.database.db,
        );
        if (rows[0]!.n === 0) break;
        await sleep(25);
      }
      const response = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(response.statusCode, 200);
      const values = samples(response.body);
      const value = (series: string) => values.get(series);

      assert.equal(value('job_completions_total{job="test-ok"}'), 2);
      assert.equal(value('job_failures_total{job="test-flaky"}'), 1);
      assert.equal(value('job_duration_seconds_count{job="test-ok",outcome="success"}'), 2);
      // Two runs of a 20 ms sleep; a timer may fire a fraction of a millisecond early
      // by performance.now(), so the bound leaves 2.5 ms of slack per run.
      assert.ok(value('job_duration_seconds_sum{job="test-ok",outcome="success"}')! >= 0.035);
      assert.equal(value('job_duration_seconds_count{job="test-flaky",outcome="failure"}'), 1);
      assert.equal(value('job_queue_latency_seconds_count{job="test-ok"}'), 2);
      assert.equal(value('job_queue_latency_seconds_count{job="test-flaky"}'), 1);

      assert.equal(value('jobs_queue_depth{job="test-ok",state="scheduled"}'), 1);
      assert.equal(value('jobs_queue_depth{job="test-ok",state="ready"}'), 0);
      assert.equal(value('jobs_queue_depth{job="test-ok",state="running"}'), 0);
      assert.equal(value('jobs_queue_depth{job="test-flaky",state="failed"}'), 1);
      assert.equal(value('jobs_queue_depth{job="other",state="scheduled"}'), 1);
      const jobLabels = new Set(
        [...values.keys()].flatMap((series) => /job="([^"]*)"/.exec(series)?.[1] ?? []),
      );
      assert.deepEqual([...jobLabels].sort(), ['other', 'test-flaky', 'test-ok']);
    } finally {
      await worker.stop();
    }
    const stopped = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.doesNotMatch(stopped.body, /jobs_queue_depth/, 'no depth once no worker runs here');
  });

  test('tasklane serve, with its in-process worker, carries the job series in the API /metrics', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-metrics-'));
    try {
      const server = await processes.startServer({
        DATABASE_URL: t.config.databaseUrl!,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      });
      // The worker starts just after the server listens.
      let body = '';
      for (let i = 0; i < 100 && !body.includes('jobs_queue_depth'); i++) {
        if (i > 0) await sleep(100);
        body = await (await fetch(`${server.url}/metrics`)).text();
      }
      assert.match(body, /^jobs_queue_depth\{job="purge-trash",state="ready"\} \d+$/m);
      assert.match(body, /# TYPE job_queue_latency_seconds histogram/);
      await server.kill('SIGTERM');
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  test('a standalone tasklane worker serves its metrics on WORKER_METRICS_PORT, and nothing else', async () => {
    const port = await freePort();
    const worker = processes.spawnNode(['src/main.ts', 'worker'], {
      DATABASE_URL: t.config.databaseUrl!,
      WORKER_METRICS_PORT: String(port),
      LOG_LEVEL: 'warn',
    });
    const url = `http://127.0.0.1:${port}`;
    let body = '';
    for (let i = 0; i < 300 && body === ''; i++) {
      if (worker.child.exitCode !== null) assert.fail(`worker exited: ${worker.stderr.join('\n')}`);
      body = await fetch(`${url}/metrics`)
        .then((response) => (response.ok ? response.text() : ''))
        .catch(() => '');
      if (body === '') await sleep(100);
    }
    const values = samples(body);
    // The real catalogue's names, including the scheduled housekeeping.
    assert.equal(values.get('jobs_queue_depth{job="purge-trash",state="failed"}'), 0);
    assert.equal(values.get('jobs_queue_depth{job="other",state="scheduled"}'), 2);
    assert.match(body, /# TYPE job_duration_seconds histogram/);
    assert.equal((await fetch(`${url}/healthz`)).status, 404);
    assert.equal((await fetch(`${url}/metrics`, { method: 'POST' })).status, 405);

    worker.child.kill('SIGTERM');
    const exit = await within(15_000, worker.exited, 'the worker stops');
    assert.equal(exit.code, 0, worker.stderr.join('\n'));
  });
});
