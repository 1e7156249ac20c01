// node bench/jobs/bare-worker.ts [--workload noop|read-task] [--progress-ms n] [--sample-ms n]
//
// The ceiling, forked by bench/lib/worker-child.ts: graphile-worker's run() with
// the same handler as bench/jobs/tasklane-worker.ts and nothing around it. Same
// environment variables, read directly (loadConfig would load the app): a pg
// pool of DATABASE_POOL_SIZE, JOB_CONCURRENCY, no crontab, and a silent logger,
// since a ceiling does no work it does not have to (graphile-worker's default
// would print a line per job).
import { Logger, run } from 'graphile-worker';
import pg from 'pg';
import { childSetup, READ_TASK_SQL, stopOnSigterm } from './child-setup.ts';
import { BENCH_JOB_NAME, type BenchPayload } from './jobs.ts';

const { workload, tally } = childSetup();
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
  taskList: {
    [BENCH_JOB_NAME]: async (payload) => {
      const { id, at } = payload as BenchPayload;
      tally.started(at);
      if (workload === 'read-task') {
        await pool.query({ name: 'read-task', text: READ_TASK_SQL, values: [id] });
      }
      tally.finished();
    },
  },
});
stopOnSigterm(async () => {
  await runner.stop();
  await pool.end();
});
tally.ready();
