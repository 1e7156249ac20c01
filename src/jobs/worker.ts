import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import {
  Logger,
  run,
  runMigrations,
  type TaskList,
  type WorkerEvents,
  type WorkerPool,
} from 'graphile-worker';
import type pg from 'pg';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { NOTIFICATION_CRONTAB } from '../notifications/due-soon-job.ts';
import { createNotificationProviders } from '../notifications/providers.ts';
import type { Metrics } from '../observability/metrics.ts';
import { webhookSender as webhookSenderFor } from '../webhooks/http-client.ts';
import { type JobDefinition, payloadValidator } from './catalogue.ts';
import { type Heartbeat, startHeartbeat } from './heartbeat.ts';
import { registerQueueDepth } from './job-metrics.ts';
import { runInJobContext, splitTraceparent } from './job-trace.ts';
import { MAINTENANCE_CRONTAB } from './maintenance.ts';
import { JOBS } from './registry.ts';
import { createRunObserver } from './run-observer.ts';

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
  /** Scheduled jobs (the maintenance and notification crontabs by default; '' for none). */
  readonly crontab?: string;
  /** The app's metrics (runtime.ts): job series, and the queue depth while this worker runs. */
  readonly metrics?: Metrics;
  /** The retry jitter's randomness (Math.random); tests pass a fixed one. */
  readonly random?: () => number;
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
  const notificationProviders = createNotificationProviders(config, log);
  const webhookSender = webhookSenderFor(config.webhooks);
  const jobs = options.jobs ?? JOBS;
  const observer = createRunObserver({
    db,
    log,
    metrics: options.metrics?.jobs,
    random: options.random,
  });
  for (const job of jobs) {
    const validator = payloadValidator(job);
    taskList[job.name] = (queued, helpers) => {
      const { payload, traceparent } = splitTraceparent(queued);
      // Made on first use: most runs log nothing, and a child logger per run
      // was garbage the soak benchmark saw.
      let jobLog: FastifyBaseLogger | undefined;
      const jobLogger = () =>
        (jobLog ??= log.child({
          job: job.name,
          job_id: helpers.job.id,
          attempt: helpers.job.attempts,
          ...(traceparent && { trace_id: traceparent.split('-')[1] }),
        }));
      const run = {
        name: job.name,
        id: helpers.job.id,
        attempt: helpers.job.attempts,
        traceparent,
        log: jobLogger,
      };
      return runInJobContext(run, () =>
        observer.observe(job, helpers.job, async () => {
          // Payloads were checked when queued; this catches a job queued by hand or by older code.
          if (!validator.Check(payload)) {
            throw new Error(`job ${job.name}: the payload does not match its schema`);
          }
          await job.run(payload, {
            db,
            config,
            get log() {
              return jobLogger();
            },
            signal: helpers.abortSignal,
            attempt: helpers.job.attempts,
            maxAttempts: helpers.job.max_attempts,
            notificationProviders,
            webhookSender,
            metrics: options.metrics,
          });
        }),
      );
    };
  }
  // The pool's id is what graphile-worker locks jobs with: the heartbeat vouches for it.
  const events: WorkerEvents = new EventEmitter();
  let workerPool: WorkerPool | undefined;
  events.once('pool:create', (event) => {
    workerPool = event.workerPool;
  });
  const runner = await run({
    pgPool: pool,
    taskList,
    crontab: options.crontab ?? [MAINTENANCE_CRONTAB, NOTIFICATION_CRONTAB].join('\n'),
    concurrency: config.jobConcurrency,
    // main.ts owns the signals: it stops HTTP and the worker in order.
    noHandleSignals: true,
    logger: graphileLogger(log),
    events,
  });
  let heartbeat: Heartbeat;
  try {
    if (workerPool === undefined) throw new Error('graphile-worker started no worker pool');
    const started = workerPool;
    heartbeat = await startHeartbeat({
      db,
      poolId: started.id,
      lockTimeoutSeconds: config.jobLockTimeoutSeconds,
      log,
      onReleased: (released) => started.nudge(released.jobIds.length),
    });
  } catch (error) {
    await runner.stop();
    throw error;
  }
  // A pool that ends on its own (a fatal error) must stop vouching for its locks.
  const stopped = runner.promise.then(
    () => {},
    () => {},
  );
  void stopped
    .then(() => heartbeat.stop())
    .catch((error: unknown) =>
      log.error({ err: error }, 'could not remove the job worker heartbeat'),
    );
  const unregisterDepth = options.metrics
    ? registerQueueDepth(
        options.metrics.registry,
        db,
        jobs.map((job) => job.name),
        log,
      )
    : undefined;
  return {
    async stop() {
      unregisterDepth?.();
      await runner.stop();
      // Only now: while running jobs finish, their locks must stay vouched for.
      await observer.settled();
      await heartbeat.stop();
      notificationProviders.close();
      await webhookSender.close();
    },
  };
}

/** graphile-worker's log lines through our pino logger, at the same levels. */
function graphileLogger(log: FastifyBaseLogger | undefined): Logger {
  return new Logger((scope) => (level, message, meta) => {
    if (log === undefined) return;
    const fields = { ...scope, ...meta };
    if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    // "Completed task …" comes once per job with the whole job row: at info it
    // would be the loudest line of a busy worker, and our jobs log what matters.
    else if (level === 'info' && meta?.job === undefined) log.info(fields, message);
    else log.debug(fields, message);
  });
}
