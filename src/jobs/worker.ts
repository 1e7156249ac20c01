import type { FastifyBaseLogger } from 'fastify';
import { Logger, run, runMigrations, type TaskList } from 'graphile-worker';
import type pg from 'pg';
import { Value } from 'typebox/value';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { JobDefinition } from './catalogue.ts';
import { MAINTENANCE_CRONTAB } from './maintenance.ts';
import { JOBS } from './registry.ts';

/**
 * Creates or updates graphile-worker's own schema (`graphile_worker`), which it
 * versions itself; our migrator leaves that schema alone. Safe on every start.
 */
export async function migrateJobQueue(pool: pg.Pool, log?: FastifyBaseLogger): Promise<void> {
  await runMigrations({ pgPool: pool, logger: graphileLogger(log) });
}

export interface WorkerOptions {
  readonly pool: pg.Pool;
  readonly db: Db;
  readonly config: Config;
  readonly log: FastifyBaseLogger;
  /** The catalogue (all jobs by default; tests pass their own). */
  readonly jobs?: readonly JobDefinition[];
  /** Scheduled jobs (the maintenance crontab by default; '' for none). */
  readonly crontab?: string;
}

export interface JobWorker {
  /** Takes no new jobs, lets running ones finish (or hands them back), then resolves. */
  stop(): Promise<void>;
}

/**
 * Runs jobs from the queue until stopped: in the API process by default
 * (`npm start`), or alone (`tasklane worker`). Several workers on one database
 * share the queue; each job runs on one of them.
 */
export async function startWorker(options: WorkerOptions): Promise<JobWorker> {
  const { pool, db, config, log } = options;
  const taskList: TaskList = {};
  for (const job of options.jobs ?? JOBS) {
    taskList[job.name] = async (payload, helpers) => {
      // Payloads were checked when queued; this catches a job queued by hand or by older code.
      if (!Value.Check(job.payload, payload)) {
        throw new Error(`job ${job.name}: the payload does not match its schema`);
      }
      await job.run(payload, {
        db,
        config,
        log: log.child({ job: job.name, job_id: helpers.job.id, attempt: helpers.job.attempts }),
        signal: helpers.abortSignal,
      });
    };
  }
  const runner = await run({
    pgPool: pool,
    taskList,
    crontab: options.crontab ?? MAINTENANCE_CRONTAB,
    concurrency: config.jobConcurrency,
    // main.ts owns the signals: it stops HTTP and the worker in order.
    noHandleSignals: true,
    logger: graphileLogger(log),
  });
  return { stop: () => runner.stop() };
}

/** graphile-worker's log lines through our pino logger, at the same levels. */
function graphileLogger(log: FastifyBaseLogger | undefined): Logger {
  return new Logger((scope) => (level, message, meta) => {
    if (log === undefined) return;
    const fields = { ...scope, ...meta };
    if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    else if (level === 'info') log.info(fields, message);
    else log.debug(fields, message);
  });
}
