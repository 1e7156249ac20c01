// node bench/webhooks/tasklane-worker.ts
//
// Our webhook delivery worker under test, forked by bench/lib/worker-child.ts and
// built as `tasklane worker` builds it (as bench/jobs/tasklane-worker.ts does):
// loadConfig from the environment (DATABASE_URL, DATABASE_POOL_SIZE,
// JOB_CONCURRENCY, LOG_LEVEL, WEBHOOK_*), openRuntime, the pino logger on
// stdout, and startWorker with the real `deliver-webhook` job and no crontab,
// so it builds its own undici sender from config.webhooks.
//
// The only addition is the tally around the job's run (two clock reads and a
// histogram record, as the bare ceilings' handlers do): it says when the
// round's last delivery was recorded and how much CPU the round took. Its
// latency is not used (the job does not know its event's time; the receiver
// measures event → received instead).
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import type { JobDefinition } from '../../src/jobs/catalogue.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { loggerOptions } from '../../src/observability/logger.ts';
import { openRuntime } from '../../src/runtime.ts';
import { deliverWebhook } from '../../src/webhooks/delivery-job.ts';
import { childSetup, stopOnSigterm } from '../jobs/child-setup.ts';
import { type Tally, wallClock } from '../lib/completions.ts';

/** `job`, counted: finished even when it throws, so a failed round ends and is reported. */
function counted<J extends JobDefinition>(job: J, tally: Tally): J {
  return {
    ...job,
    async run(payload, context) {
      tally.started(wallClock());
      try {
        await job.run(payload, context);
      } finally {
        tally.finished();
      }
    },
  };
}

const { tally } = childSetup();
const config = loadConfig();
// The bench already migrated the database (bench/lib/queue.ts), so no migrateRuntime here.
const runtime = await openRuntime(config, (message) => process.stderr.write(`${message}\n`));
const log = pino(loggerOptions(config));
const worker = await startWorker({
  pool: runtime.database.pool,
  db: runtime.database.db,
  config,
  log,
  metrics: runtime.metrics,
  jobs: [counted(deliverWebhook, tally)],
  crontab: '',
});
stopOnSigterm(async () => {
  await worker.stop();
  await runtime.close();
});
tally.ready();
