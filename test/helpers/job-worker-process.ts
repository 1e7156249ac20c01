// A job worker in a process of its own, for tests that kill one: run it with
// `ProcessGroup.spawnNode(['test/helpers/job-worker-process.ts'], { DATABASE_URL, … })`.
// It runs `test-hold` jobs (test/helpers/jobs.ts), which hold their lock for
// `hold_ms` or until the worker stops, and prints `worker ready <pool id>` once
// its heartbeat is written. SIGTERM stops it gracefully.
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { holdJob } from './jobs.ts';

const config = loadConfig();
if (config.databaseUrl === undefined)
  throw new Error('job-worker-process: DATABASE_URL is required');
const database = openDatabase(config.databaseUrl, 4);
const worker = await startWorker({
  pool: database.pool,
  db: database.db,
  config,
  log: pino({ level: config.logLevel }),
  jobs: [holdJob()],
  crontab: '',
});
const heartbeat = await database.db
  .selectFrom('job_worker_heartbeats')
  .select('pool_id')
  .where('pid', '=', process.pid)
  .executeTakeFirstOrThrow();
process.stderr.write(`worker ready ${heartbeat.pool_id}\n`);
process.once('SIGTERM', () => {
  void worker
    .stop()
    .then(() => database.close())
    .then(() => process.stderr.write('worker stopped\n'));
});
