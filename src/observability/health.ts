import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { Type } from 'typebox';
import type { Db } from '../db/database.ts';
import type { Migration } from '../db/migrator.ts';
import { problems } from '../http/openapi-responses.ts';
import { AppError } from '../http/problems.ts';
import { JOB_QUEUE_SCHEMA_REVISION, jobQueueSchemaRevision } from '../jobs/queue-schema.ts';
import { type ReadinessCheck, ReadinessFailure, ReadinessProbe } from './readiness.ts';

/**
 * Whether this node still wants traffic. main.ts withdraws it on SIGTERM, some
 * seconds before the listener closes, so load balancers stop sending first.
 */
export class ServingState {
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  beginDraining(): void {
    this.#draining = true;
  }
}

export interface HealthOptions {
  readonly db: Db;
  readonly migrations: readonly Migration[];
  /** PING through the rate limiter's Redis client; absent when there is none. */
  readonly pingRedis: ((timeoutMs: number) => Promise<void>) | undefined;
  readonly timeoutMs: number;
  readonly serving: ServingState;
}

const Status = Type.Object(
  { status: Type.Literal('ok', { description: 'The process answers' }) },
  { additionalProperties: false },
);

const CheckSchema = Type.Object(
  {
    name: Type.String({
      description: 'What was checked: `database`, `migrations`, `queue`, `redis`',
    }),
    status: Type.Union([Type.Literal('ok'), Type.Literal('failed'), Type.Literal('timeout')], {
      description: '`timeout`: no answer within READINESS_TIMEOUT_MS',
    }),
    duration_ms: Type.Integer({ description: 'How long the check took, in milliseconds' }),
    reason: Type.Optional(Type.String({ description: 'Why it failed; absent when ok' })),
  },
  { additionalProperties: false },
);

const Ready = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('degraded')], {
      description:
        '`degraded`: a dependency the node serves without is failing (Redis: rate limits are per node until it is back)',
    }),
    checks: Type.Array(CheckSchema, { description: 'Every check, in a fixed order' }),
  },
  { additionalProperties: false },
);

/** /healthz: the process answers, nothing else is asked. /readyz: it can serve (ADR 0022). */
export function registerHealth(app: FastifyInstance, options: HealthOptions): void {
  const probe = new ReadinessProbe(readinessChecks(options), options.timeoutMs, app.log);

  app.get(
    '/healthz',
    {
      schema: { tags: ['meta'], summary: 'Liveness: the process is up', response: { 200: Status } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['meta'],
        summary: 'Readiness: the database answers, every migration and the job queue are current',
        description:
          'Checks run concurrently, each within READINESS_TIMEOUT_MS: `database`, `migrations`, `queue` and, with REDIS_URL, `redis`. 200 when the node can serve (`degraded` when only Redis fails); otherwise 503 problem details with `readiness` (`not_ready`, or `draining` after SIGTERM) and the same `checks`.',
        response: { 200: Ready, ...problems(503) },
      },
    },
    async () => {
      // Draining asks nothing of the dependencies: the answer is no either way.
      if (options.serving.draining) {
        throw new AppError('service_unavailable', 'the node is shutting down', {
          headers: { 'retry-after': '1' },
          extensions: { readiness: 'draining', checks: [] },
        });
      }
      const report = await probe.report();
      if (report.status === 'not_ready') {
        const failing = report.checks.filter((check) => check.status !== 'ok');
        throw new AppError(
          'service_unavailable',
          `not ready: ${failing.map((check) => `${check.name}: ${check.reason}`).join('; ')}`,
          { extensions: { readiness: 'not_ready', checks: report.checks } },
        );
      }
      return { status: report.status, checks: report.checks };
    },
  );
}

/** The checks in their reporting order; `redis` only where there is a Redis client. */
function readinessChecks(options: HealthOptions): ReadinessCheck[] {
  const { db, migrations, pingRedis, timeoutMs } = options;
  const checks: ReadinessCheck[] = [
    {
      name: 'database',
      critical: true,
      run: async () => {
        await sql`SELECT 1`.execute(db);
      },
      describe: describeDatabaseError,
    },
    {
      name: 'migrations',
      critical: true,
      run: async () => {
        const { rows } = await sql<{ version: string }>`SELECT version FROM schema_migrations`
          .execute(db)
          .catch(missingTable('schema_migrations is missing: no migration is applied'));
        const applied = new Set(rows.map((row) => row.version));
        const pending = migrations.filter((m) => !applied.has(m.version));
        if (pending.length > 0) {
          throw new ReadinessFailure(`not applied: ${namesOf(pending)}`);
        }
      },
      describe: describeDatabaseError,
    },
    {
      name: 'queue',
      critical: true,
      run: async () => {
        const revision = await jobQueueSchemaRevision(db).catch(
          missingTable('the graphile_worker schema is not installed'),
        );
        if (revision === undefined || revision < JOB_QUEUE_SCHEMA_REVISION) {
          throw new ReadinessFailure(
            `the graphile_worker schema is at revision ${revision ?? 0}, this build needs ${JOB_QUEUE_SCHEMA_REVISION}`,
          );
        }
      },
      describe: describeDatabaseError,
    },
  ];
  if (pingRedis !== undefined) {
    checks.push({
      name: 'redis',
      critical: false,
      // Its own deadline a little past the probe's, so the probe's decides.
      run: () => pingRedis(timeoutMs + 100),
      describe: describeRedisError,
    });
  }
  return checks;
}

/** At most five file names, then how many more. */
function namesOf(pending: readonly Migration[]): string {
  const shown = pending.slice(0, 5).map((m) => m.name);
  const more = pending.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function missingTable(reason: string): (error: unknown) => never {
  return (error) => {
    if (sqlState(error) === '42P01') throw new ReadinessFailure(reason);
    throw error;
  };
}

/** The SQLSTATE of an error PostgreSQL sent; undefined for a socket's (ECONNREFUSED, EPIPE). */
function sqlState(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined;
}

/** By SQLSTATE class, never by message: a pg message can name the host or the user. */
export function describeDatabaseError(error: unknown): string {
  const state = sqlState(error);
  if (state === undefined) return 'the database is not reachable';
  if (state.startsWith('08')) return 'the database is not reachable';
  if (state.startsWith('28')) return 'the database refused the credentials';
  if (state === '3D000') return 'the database does not exist';
  if (state.startsWith('57P')) return 'the database is shutting down or starting';
  if (state === '53300') return 'the database has no connection left';
  return `the query failed (SQLSTATE ${state})`;
}

function describeRedisError(error: unknown): string {
  const reason = (error as { reason?: unknown } | undefined)?.reason;
  if (reason === 'timeout') return 'Redis did not answer in time';
  if (reason === 'error') return 'Redis answered with an error';
  return 'Redis is not reachable';
}
