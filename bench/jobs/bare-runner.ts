// The bare graphile-worker every ceiling child runs (bench/jobs/bare-worker.ts,
// bench/webhooks/http-worker.ts): a pg pool of DATABASE_POOL_SIZE, JOB_CONCURRENCY,
// no crontab, and a silent logger, since a ceiling does no work it does not have
// to (graphile-worker's default would print a line per job). The environment is
// read directly: loadConfig would load the app, which a ceiling must not carry.
import { Logger, run, type Task } from 'graphile-worker';
import pg from 'pg';
import { stopOnSigterm } from './child-setup.ts';
import { BENCH_JOB_NAME } from './jobs.ts';

/**
 * Runs `task` as the bench job until SIGTERM, then stops the runner, `onStop`
 * (the child's own resources) and the pool. `task` gets the pool for its queries.
 */
export async function runBareWorker(
  task: (pool: pg.Pool) => Task,
  onStop: () => Promise<void> = async () => {},
): Promise<void> {
  const pool = new pg.Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
  });
  const runner = await run({
    pgPool: pool,
    concurrency: Number(process.env.JOB_CONCURRENCY ?? 4),
    noHandleSignals: true,
    crontab: '',
    logger: new Logger(() => () => {}),
    taskList: { [BENCH_JOB_NAME]: task(pool) },
  });
  stopOnSigterm(async () => {
    await runner.stop();
    await onStop();
    await pool.end();
  });
}
