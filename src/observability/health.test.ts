import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { assertProblem, body, createUser } from '../../test/helpers/factories.ts';
import { JOB_QUEUE_SCHEMA_REVISION } from '../jobs/queue-schema.ts';
import { ServingState } from './health.ts';

const redisUrl = process.env.REDIS_URL;

interface Check {
  name: string;
  status: string;
  duration_ms: number;
  reason?: string;
}

/** name → status, or `status: reason` for a check that did not pass. */
function verdicts(checks: readonly Check[]): Record<string, string> {
  return Object.fromEntries(
    checks.map((check) => [
      check.name,
      check.reason === undefined ? check.status : `${check.status}: ${check.reason}`,
    ]),
  );
}

/** A sample of the Prometheus text, 0 when the series is absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('/healthz and /readyz on a migrated database', () => {
  const serving = new ServingState();
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ serving });
  });
  after(() => t.close());

  test('/healthz answers 200 {"status":"ok"}', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(body(response), { status: 'ok' });
  });

  test('/readyz answers 200 "ready" with each check: database, migrations, queue, all ok, timed', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(response.statusCode, 200, response.body);
    const report = body(response);
    assert.equal(report.status, 'ready');
    assert.deepEqual(verdicts(report.checks), { database: 'ok', migrations: 'ok', queue: 'ok' });
    for (const check of report.checks as Check[]) {
      assert.ok(Number.isInteger(check.duration_ms) && check.duration_ms >= 0, `${check.name}`);
    }
  });

  test('the OpenAPI document describes the checks of /readyz', async () => {
    const document = body(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const ready = document.paths['/readyz'].get.responses;
    assert.ok(ready['200'].content['application/json'].schema.properties.checks);
    assert.ok(ready['503']);
  });

  test('the graphile-worker installed is the one JOB_QUEUE_SCHEMA_REVISION was written for', async () => {
    // The template database was migrated by graphile-worker's own runMigrations.
    const { rows } = await sql<{
      revision: number;
    }>`SELECT max(id) AS revision FROM graphile_worker.migrations`.execute(t.database.db);
    assert.equal(rows[0]!.revision, JOB_QUEUE_SCHEMA_REVISION);
  });

  // Last in this block: draining does not end.
  test('once draining, /readyz answers 503 "draining" while /healthz and the API serve on', async () => {
    const user = await createUser(t.app);
    serving.beginDraining();
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    const problem = assertProblem(ready, 503, 'service_unavailable');
    assert.equal(problem.readiness, 'draining');
    assert.deepEqual(problem.checks, []);
    assert.equal(ready.headers['retry-after'], '1');
    assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });
    assert.equal(me.statusCode, 200, me.body);
    assert.notEqual(me.headers.connection, 'close', 'connections are kept as usual');
  });
});

describe('/readyz when a dependency fails', () => {
  const databases: TestDatabase[] = [];
  after(async () => {
    for (const database of databases) await database.drop();
  });

  async function appOn(database: TestDatabase, env: Record<string, string> = {}) {
    databases.push(database);
    return await startTestApp({ database, env });
  }

  test('an unreachable database: 503 not_ready, each check failed with a reason naming no host; /healthz still 200', async () => {
    const nowhere = 'postgres://tasklane:hunter2@127.0.0.1:1/nowhere';
    const t = await startTestApp({ database: { url: nowhere, drop: async () => {} } });
    try {
      const response = await t.app.inject({ method: 'GET', url: '/readyz' });
      const problem = assertProblem(response, 503, 'service_unavailable');
      assert.equal(problem.readiness, 'not_ready');
      assert.deepEqual(verdicts(problem.checks), {
        database: 'failed: the database is not reachable',
        migrations: 'failed: the database is not reachable',
        queue: 'failed: the database is not reachable',
      });
      for (const secret of ['hunter2', 'nowhere', '127.0.0.1', 'ECONNREFUSED']) {
        assert.ok(!response.body.includes(secret), `the body names ${secret}: ${response.body}`);
      }
      assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      // The operator learns the cause from the log, once.
      const warnings = t.logs.records.filter((r) => r.msg === 'readiness check failing');
      assert.deepEqual(warnings.map((r) => r.check).sort(), ['database', 'migrations', 'queue']);
      await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(
        t.logs.records.filter((r) => r.msg === 'readiness check failing').length,
        3,
        'a check that keeps failing is not logged again',
      );
    } finally {
      await t.close();
    }
  });

  test('a database without any migration: migrations and queue fail, the database check passes', async () => {
    const t = await appOn(await createTestDatabase({ migrated: false }));
    try {
      const empty = assertProblem(
        await t.app.inject({ url: '/readyz' }),
        503,
        'service_unavailable',
      );
      assert.deepEqual(verdicts(empty.checks), {
        database: 'ok',
        migrations: 'failed: schema_migrations is missing: no migration is applied',
        queue: 'failed: the graphile_worker schema is not installed',
      });

      await sql`CREATE TABLE schema_migrations (version text PRIMARY KEY)`.execute(t.database.db);
      const pending = assertProblem(
        await t.app.inject({ url: '/readyz' }),
        503,
        'service_unavailable',
      );
      const migrations = (pending.checks as Check[]).find((c) => c.name === 'migrations')!;
      assert.match(migrations.reason!, /^not applied: 0001_init\.sql, .* and \d+ more$/);
      assert.match(
        pending.detail,
        /^not ready: migrations: not applied: 0001_init\.sql, .*; queue: the graphile_worker schema is not installed$/,
      );
    } finally {
      await t.close();
    }
  });

  test('the job queue schema missing, or behind this build: only the queue check fails, and that is 503', async () => {
    const t = await appOn(await createTestDatabase());
    try {
      await sql`DELETE FROM graphile_worker.migrations WHERE id = ${JOB_QUEUE_SCHEMA_REVISION}`.execute(
        t.database.db,
      );
      const behind = assertProblem(
        await t.app.inject({ url: '/readyz' }),
        503,
        'service_unavailable',
      );
      assert.deepEqual(verdicts(behind.checks), {
        database: 'ok',
        migrations: 'ok',
        queue: `failed: the graphile_worker schema is at revision ${JOB_QUEUE_SCHEMA_REVISION - 1}, this build needs ${JOB_QUEUE_SCHEMA_REVISION}`,
      });

      await sql`DROP SCHEMA graphile_worker CASCADE`.execute(t.database.db);
      const gone = assertProblem(
        await t.app.inject({ url: '/readyz' }),
        503,
        'service_unavailable',
      );
      assert.deepEqual(verdicts(gone.checks), {
        database: 'ok',
        migrations: 'ok',
        queue: 'failed: the graphile_worker schema is not installed',
      });
    } finally {
      await t.close();
    }
  });

  test('a check stuck on a lock times out within READINESS_TIMEOUT_MS, keeps one query waiting, and passes once freed', async () => {
    const database = await createTestDatabase();
    const t = await appOn(database, { READINESS_TIMEOUT_MS: '300' });
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      // Opens the pool's connections first, so the probes below only wait on the lock.
      await t.app.inject({ url: '/readyz' });
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE');
      for (let probe = 0; probe < 2; probe++) {
        const stuck = assertProblem(
          await t.app.inject({ url: '/readyz' }),
          503,
          'service_unavailable',
        );
        const migrations = (stuck.checks as Check[]).find((c) => c.name === 'migrations')!;
        assert.equal(migrations.status, 'timeout');
        assert.equal(migrations.reason, 'no answer within 300 ms');
      }
      const { rows } = await locker.query<{ waiting: number }>(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      assert.equal(rows[0]!.waiting, 1, 'the second probe rode on the first one’s query');
      await locker.query('ROLLBACK');
      const freed = await t.app.inject({ url: '/readyz' });
      assert.equal(freed.statusCode, 200, freed.body);
    } finally {
      await locker.end();
      await t.close();
    }
  });

  test('Redis unreachable: /readyz stays 200 "degraded" with redis failed; each failed command is counted', async () => {
    const t = await appOn(await createTestDatabase(), { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      // Sign-up fails closed without Redis: the user signs up on a node without one.
      const user = await createUser(await t.another({ REDIS_URL: '' }));
      const scrape = async () => (await t.app.inject({ url: '/metrics' })).body;
      const commandErrors = 'redis_command_errors_total{reason="unavailable"}';
      const storeErrors = 'ratelimit_store_errors_total{reason="unavailable"}';
      const before = await scrape();

      const response = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(body(response).status, 'degraded');
      assert.deepEqual(verdicts(body(response).checks), {
        database: 'ok',
        migrations: 'ok',
        queue: 'ok',
        redis: 'failed: Redis is not reachable',
      });
      const afterPing = await scrape();
      // The PING is a Redis command, not a rate limit decision.
      assert.equal(sample(afterPing, commandErrors), sample(before, commandErrors) + 1);
      assert.equal(sample(afterPing, storeErrors), sample(before, storeErrors));

      // A read falls back to this node's limiter: served, and one failed command more.
      const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });
      assert.equal(me.statusCode, 200);
      const afterRead = await scrape();
      assert.equal(sample(afterRead, commandErrors), sample(afterPing, commandErrors) + 1);
      assert.equal(sample(afterRead, storeErrors), sample(afterPing, storeErrors) + 1);
    } finally {
      await t.close();
    }
  });

  test('Redis up: the redis check passes and the node is "ready"', {
    skip: redisUrl ? false : 'REDIS_URL is not set',
  }, async () => {
    const t = await appOn(await createTestDatabase(), { REDIS_URL: redisUrl! });
    try {
      const response = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(body(response).status, 'ready');
      assert.equal(verdicts(body(response).checks).redis, 'ok');
    } finally {
      await t.close();
    }
  });
});
