// node bench/jobs/tasklane-worker.ts [--workload noop|read-task] [--progress-ms n] [--sample-ms n]
//
// Our worker under test, forked by bench/lib/worker-child.ts and built as
// `tasklane worker` builds it (src/main.ts): loadConfig from the environment
// (DATABASE_URL, DATABASE_POOL_SIZE, JOB_CONCURRENCY, LOG_LEVEL), openRuntime
// (the pool and the process's metrics), the pino logger on stdout, and
// startWorker with those, the bench job as its catalogue and no crontab. It
// imports src/ as it is now, so a rerun after a change to the worker measures
// the change. (No metrics HTTP server: nothing scrapes it during the bench.)
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { defineJob } from '../../src/jobs/catalogue.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { loggerOptions } from '../../src/observability/logger.ts';
import { openRuntime } from '../../src/runtime.ts';
import { childSetup, stopOnSigterm } from './child-setup.ts';
import {
  BENCH_JOB_MAX_ATTEMPTS,
  BENCH_JOB_NAME,
  BENCH_JOB_PRIORITY,
  BenchPayload,
} from './jobs.ts';

const { workload, tally } = childSetup();
const config = loadConfig();
// The bench already migrated the database (bench/lib/queue.ts), so no migrateRuntime here.
const runtime = await openRuntime(config, (message) => process.stderr.write(`${message}\n`));
const log = pino(loggerOptions(config));
const job = defineJob({
  name: BENCH_JOB_NAME,
  payload: BenchPayload,
  priority: BENCH_JOB_PRIORITY,
  maxAttempts: BENCH_JOB_MAX_ATTEMPTS,
  async run(payload, { db }) {
    tally.started(payload.at);
    if (workload === 'read-task') {
      await db
        .selectFrom('tasks')
        .select(['id', 'title', 'status', 'assignee_id'])
        .where('id', '=', payload.id)
        .executeTakeFirst();
    }
    tally.finished();
  },
});
const worker = await startWorker({
  pool: runtime.database.pool,
  db: runtime.database.db,
  config,
  log,
  metrics: runtime.metrics,
  jobs: [job],
  crontab: '',
});
stopOnSigterm(async () => {
  await worker.stop();
  await runtime.close();
});
tally.ready();
