// npm run bench:jobs:soak -- [--jobs 100000] [--sample-every 2] [--workload read-task] …
//
// Does our worker's memory stay flat over many jobs? 100 000 jobs through
// Tasklane's worker in a child process (bench/jobs/tasklane-worker.ts), queued
// from this process with enqueueJob, one per transaction, while the child
// reports its RSS and V8 heap every few seconds. Warm-up is the first 10 % of
// the jobs; the soak passes if no later sample's RSS exceeds the RSS at the end
// of warm-up by more than 10 %. `--variant bare` runs the same soak through
// bare graphile-worker and add_job, as a control. Writes
// bench/results/jobs-soak-<stamp>.md and the samples as .csv next to it. See
// bench/README.md, "Job queue soak".
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/db/database.ts';
import { exitOnHelp, parseCommandLine, runCommand, UsageError, wholeNumber } from '../lib/cli.ts';
import { onInterrupt, say } from '../lib/database.ts';
import { ensureFixtures } from '../lib/fixtures.ts';
import { progressBar } from '../lib/progress.ts';
import { createQueueDatabase, openBenchServer } from '../lib/queue.ts';
import { describeMachine } from '../lib/setup.ts';
import { insertTaskBatch } from '../lib/task-batch.ts';
import { startWorkerChild } from '../lib/worker-child.ts';
import { BENCH_JOB, bareEnqueue, enqueueMany, tasklaneEnqueue } from './enqueuers.ts';
import { BENCH_WORKLOADS, type BenchWorkload, WORKER_SCRIPTS } from './jobs.ts';
import { VARIANTS, type VariantName } from './report.ts';
import { analyse, renderSoakReport, samplesCsv } from './soak-report.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const USAGE = `usage: npm run bench:jobs:soak -- [options]

  --jobs <n>            jobs in all (default 100000)
  --warmup-percent <n>  the first n % of the jobs are warm-up (default 10)
  --limit-percent <n>   pass if RSS after warm-up stays within n % of its level then (default 10)
  --sample-every <s>    seconds between memory samples (default 2)
  --workload <w>        read-task (one task read by primary key; default) or noop
  --variant <v>         tasklane (default), or bare: the same soak through bare
                        graphile-worker and add_job, as a control
  --tasks <n>           tasks seeded for read-task to read (default 1000)
  --concurrency <n>     jobs the worker runs at once (JOB_CONCURRENCY; default 4)
  --pool-size <n>       pg pool of the worker and of the enqueuers (default 10)
  --enqueuers <n>       concurrent enqueue loops, one job per transaction (default 8)
  --backlog <n>         enqueuers wait while more than n jobs are queued but not done (default 2000)
  --log-level <l>       the worker's LOG_LEVEL (default info, the app's default)
  --node-flags=<flags>  Node flags for the worker child, e.g. --node-flags=--max-semi-space-size=4
  --keep                keep the bench database (default: dropped at the end)

Database: DATABASE_URL's server, else embedded PostgreSQL under DATA_DIR; the
soak creates tasklane_bench_jobs_soak there.
`;

function parseOptions() {
  const { values } = parseCommandLine({
    options: {
      jobs: { type: 'string', default: '100000' },
      'warmup-percent': { type: 'string', default: '10' },
      'limit-percent': { type: 'string', default: '10' },
      'sample-every': { type: 'string', default: '2' },
      workload: { type: 'string', default: 'read-task' },
      variant: { type: 'string', default: 'tasklane' },
      tasks: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '4' },
      'pool-size': { type: 'string', default: '10' },
      enqueuers: { type: 'string', default: '8' },
      backlog: { type: 'string', default: '2000' },
      'log-level': { type: 'string', default: 'info' },
      'node-flags': { type: 'string', default: '' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  exitOnHelp(values, USAGE);
  const workload = values.workload as BenchWorkload;
  if (!BENCH_WORKLOADS.includes(workload)) {
    throw new UsageError(`--workload must be one of ${BENCH_WORKLOADS.join(', ')}`);
  }
  const variant = values.variant as VariantName;
  if (!(VARIANTS as readonly string[]).includes(variant)) {
    throw new UsageError(`--variant must be one of ${VARIANTS.join(', ')}`);
  }
  return {
    variant,
    jobs: wholeNumber('jobs', values.jobs, 100, 100_000_000),
    warmupPercent: wholeNumber('warmup-percent', values['warmup-percent'], 1, 90),
    limitPercent: wholeNumber('limit-percent', values['limit-percent'], 1, 1000),
    sampleEvery: wholeNumber('sample-every', values['sample-every'], 1, 600),
    workload,
    tasks: wholeNumber('tasks', values.tasks, 1, 1_000_000),
    concurrency: wholeNumber('concurrency', values.concurrency, 1, 100),
    poolSize: wholeNumber('pool-size', values['pool-size'], 1, 100),
    enqueuers: wholeNumber('enqueuers', values.enqueuers, 1, 1000),
    backlog: wholeNumber('backlog', values.backlog, 1, 10_000_000),
    logLevel: values['log-level'],
    nodeFlags: values['node-flags'].split(/\s+/).filter(Boolean),
    keep: values.keep,
  };
}

const loads = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');

async function main(): Promise<number> {
  const options = parseOptions();
  const startedAt = new Date();
  const loadAtStart = loads();
  let stopping = false;
  onInterrupt(() => {
    stopping = true;
  });
  const server = await openBenchServer();
  const queue = await createQueueDatabase(server, 'tasklane_bench_jobs_soak');
  const enqueuerDb = openDatabase(queue.url, options.poolSize);
  const barePool = new pg.Pool({ connectionString: queue.url, max: options.poolSize });
  let child: Awaited<ReturnType<typeof startWorkerChild>> | undefined;
  try {
    const machine = await describeMachine(server);
    // Something for read-task to read: the bench cast and `--tasks` tasks in one project.
    const fixtures = await ensureFixtures(queue.admin.db, 1);
    const project = fixtures.projects[0]!;
    await insertTaskBatch(queue.admin.db, {
      projectId: project.id,
      projectOrdinal: 0,
      count: options.tasks,
      people: fixtures.people,
    });
    const ids = (await queue.admin.db.selectFrom('tasks').select('id').execute()).map((r) => r.id);

    child = await startWorkerChild({
      name: `${options.variant} worker`,
      script: WORKER_SCRIPTS[options.variant],
      args: [
        '--workload',
        options.workload,
        '--progress-ms',
        '200',
        '--sample-ms',
        String(options.sampleEvery * 1000),
      ],
      nodeFlags: options.nodeFlags,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        TOKEN_SIGNING_KEY: 'bench-jobs-throwaway-signing-key-0123456789abcdef',
        DATABASE_URL: queue.url,
        DATABASE_POOL_SIZE: String(options.poolSize),
        JOB_CONCURRENCY: String(options.concurrency),
        LOG_LEVEL: options.logLevel,
      },
    });
    say(`${options.variant} worker: pid ${child.pid}, database ${queue.name}`);
    const worker = child;
    const { done } = await worker.expect(options.jobs);
    const bar = progressBar('soak', options.jobs, 0);
    const ticker = setInterval(() => bar.update(worker.done()), 1000);
    const enqueue =
      options.variant === 'bare'
        ? bareEnqueue(barePool)
        : tasklaneEnqueue(enqueuerDb.db, BENCH_JOB);
    const enqueued = await enqueueMany(enqueue, {
      count: options.jobs,
      enqueuers: options.enqueuers,
      ids,
      backlog: { limit: options.backlog, done: () => worker.done() },
      stop: () => stopping,
    });
    if (stopping) {
      clearInterval(ticker);
      say('interrupted: no report written');
      return 130;
    }
    const timing = await done;
    clearInterval(ticker);
    bar.finish(options.jobs);
    // One more sample after the last job, so the table ends at rest.
    await new Promise((resolve) => setTimeout(resolve, options.sampleEvery * 1000 + 200));
    const left = await queue.drained();
    const analysis = analyse(worker.samples, {
      jobs: options.jobs,
      warmupShare: options.warmupPercent / 100,
      limit: options.limitPercent / 100,
    });

    const stamp = startedAt.toISOString().slice(0, 16).replace('T', '-').replace(':', '');
    const suffix = options.variant === 'bare' ? '-bare' : '';
    const base = path.join(ROOT, 'bench', 'results', `jobs-soak-${stamp}${suffix}`);
    const where = server.config.databaseUrl
      ? 'DATABASE_URL=…'
      : `DATA_DIR=${path.relative(process.cwd(), server.config.dataDir) || '.'}`;
    const args = process.argv.slice(2).join(' ');
    const seconds = (timing.lastEndAt - enqueued.startedAt) / 1000;
    const peak = worker.peakRss();
    const report = renderSoakReport({
      title: options.variant === 'bare' ? 'bare graphile-worker (control)' : 'Tasklane worker',
      details: [
        ['started (UTC)', startedAt.toISOString().replace(/\.\d+Z$/, 'Z')],
        ['command', `\`${where} npm run bench:jobs:soak${args ? ` -- ${args}` : ''}\``],
        ...machine.rows,
        [
          'load',
          `${options.jobs.toLocaleString('en-US')} jobs (${options.workload}) through ${options.variant === 'bare' ? 'bare graphile-worker (the control), queued with add_job' : 'the Tasklane worker, queued with enqueueJob'}, one per transaction, by ${options.enqueuers} enqueuers, at most ${options.backlog} queued ahead of the worker; worker concurrency ${options.concurrency}, pg pool ${options.poolSize}, LOG_LEVEL=${options.logLevel}, NODE_ENV=production${options.nodeFlags.length > 0 ? `, node ${options.nodeFlags.join(' ')}` : ''}`,
        ],
        [
          'throughput',
          `${Math.round(options.jobs / seconds).toLocaleString('en-US')} jobs/s over ${seconds.toFixed(0)} s (first BEGIN → last handler done)`,
        ],
        ['load average (1, 5, 15 min)', `${loadAtStart} at the start; ${loads()} at the end`],
        [
          'worker peak RSS (VmHWM)',
          peak === undefined ? 'unknown' : `${(peak / 2 ** 20).toFixed(1)} MB`,
        ],
        [
          'queue at the end',
          `${left.jobs} jobs left, ${left.errored} with an error, ${left.failed} failed`,
        ],
        ['samples (CSV)', `[${path.basename(base)}.csv](${path.basename(base)}.csv)`],
      ],
      freeMemory: machine.memory,
      analysis,
      samples: worker.samples,
      limitPercent: options.limitPercent,
      warmupPercent: options.warmupPercent,
    });
    writeFileSync(`${base}.md`, report);
    writeFileSync(`${base}.csv`, samplesCsv(worker.samples));
    process.stdout.write(`\n${report}`);
    say(`report written to ${path.relative(process.cwd(), base)}.md (and .csv)`);
    if (left.jobs > 0 || left.errored > 0) {
      say('⚠ jobs left in the queue or errored: see the report');
      return 1;
    }
    return analysis.passed === true ? 0 : 1;
  } finally {
    await child?.stop();
    await enqueuerDb.close();
    await barePool.end();
    if (options.keep) await queue.admin.close();
    else await queue.drop();
    await server.runtime.close();
  }
}

await runCommand(USAGE, main);
