// npm run bench:jobs -- [--jobs 5000] [--rounds 5] [--concurrency 4] [--enqueuers 8] …
//
// Jobs per second through the queue, enqueue in a transaction → handler done,
// for Tasklane (enqueueJob in db.transaction(), a defineJob no-op run by
// startWorker) and for the ceiling (add_job sent bare, graphile-worker run()
// with a no-op task), in one run and in alternating rounds. Each variant has a
// worker child process and a database of its own, so neither sees the other's
// jobs or notifications. Prints the report and writes
// bench/results/jobs-<UTC YYYY-MM-DD-HHMM>.md. See bench/README.md, "Job queue".
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { exitOnHelp, parseCommandLine, runCommand, UsageError, wholeNumber } from '../lib/cli.ts';
import { onInterrupt, say } from '../lib/database.ts';
import { createQueueDatabase, openBenchServer, type QueueDatabase } from '../lib/queue.ts';
import { describeMachine } from '../lib/setup.ts';
import { startWorkerChild, type WorkerChild } from '../lib/worker-child.ts';
import {
  BENCH_JOB,
  bareEnqueue,
  type Enqueue,
  enqueuePhase,
  tasklaneEnqueue,
} from './enqueuers.ts';
import { WORKER_SCRIPTS } from './jobs.ts';
import {
  type Measurement,
  MODES,
  type Mode,
  renderReport,
  VARIANTS,
  type VariantName,
} from './report.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const USAGE = `usage: npm run bench:jobs -- [options]

  --jobs <n>          jobs per variant per round, end to end and drain (default 5000)
  --rounds <n>        alternating rounds (default 5)
  --warmup <n>        unrecorded jobs per variant before round 1 (default 2000)
  --concurrency <n>   jobs each worker runs at once (JOB_CONCURRENCY; default 4, the app's)
  --pool-size <n>     pg pool of each worker and of each side's enqueuers (default 10)
  --enqueuers <n>     concurrent enqueue loops, one job per transaction (default 8)
  --modes <a,b,…>     end-to-end, drain, paced (default all)
  --paced-rate <n>    jobs/s of the paced (latency) mode (default 200)
  --paced-jobs <n>    jobs per variant per round in the paced mode (default 600)
  --log-level <l>     Tasklane worker's LOG_LEVEL (default info, the app's default)
  --cpu-prof          CPU profile of both worker children, in bench/results/profiles/
  --keep              keep the bench databases (default: dropped at the end)

Database: DATABASE_URL's server, else embedded PostgreSQL under DATA_DIR; the
bench creates tasklane_bench_jobs_tasklane and tasklane_bench_jobs_bare there.
`;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseOptions() {
  const { values } = parseCommandLine({
    options: {
      jobs: { type: 'string', default: '5000' },
      rounds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '4' },
      'pool-size': { type: 'string', default: '10' },
      enqueuers: { type: 'string', default: '8' },
      modes: { type: 'string', default: MODES.join(',') },
      'paced-rate': { type: 'string', default: '200' },
      'paced-jobs': { type: 'string', default: '600' },
      'log-level': { type: 'string', default: 'info' },
      'cpu-prof': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  exitOnHelp(values, USAGE);
  const modes = values.modes.split(',').map((m) => m.trim());
  for (const mode of modes) {
    if (!(MODES as readonly string[]).includes(mode)) {
      throw new UsageError(`--modes: unknown mode ${mode} (known: ${MODES.join(', ')})`);
    }
  }
  if (!LOG_LEVELS.includes(values['log-level'])) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    jobs: wholeNumber('jobs', values.jobs, 1, 10_000_000),
    rounds: wholeNumber('rounds', values.rounds, 1, 100),
    warmup: wholeNumber('warmup', values.warmup, 0, 10_000_000),
    concurrency: wholeNumber('concurrency', values.concurrency, 1, 100),
    poolSize: wholeNumber('pool-size', values['pool-size'], 1, 100),
    enqueuers: wholeNumber('enqueuers', values.enqueuers, 1, 1000),
    modes: modes as Mode[],
    pacedRate: wholeNumber('paced-rate', values['paced-rate'], 1, 100_000),
    pacedJobs: wholeNumber('paced-jobs', values['paced-jobs'], 1, 1_000_000),
    logLevel: values['log-level'],
    cpuProf: values['cpu-prof'],
    keep: values.keep,
  };
}
type Options = ReturnType<typeof parseOptions>;

/** One side of the comparison: its database, its worker child, its way to enqueue. */
interface Variant {
  readonly name: VariantName;
  readonly queue: QueueDatabase;
  readonly child: WorkerChild;
  readonly enqueue: Enqueue;
  /** The enqueuers' pool. */
  close(): Promise<void>;
}

async function startVariant(
  name: VariantName,
  queue: QueueDatabase,
  options: Options,
  stamp: string,
): Promise<Variant> {
  const profile = options.cpuProf
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${path.join(ROOT, 'bench', 'results', 'profiles')}`,
        `--cpu-prof-name=jobs-${stamp}-${name}.cpuprofile`,
      ]
    : [];
  const child = await startWorkerChild({
    name: `${name} worker`,
    script: WORKER_SCRIPTS[name],
    nodeFlags: profile,
    env: {
      ...process.env,
      // Production mode as deployed, with a throwaway key (the worker signs nothing).
      NODE_ENV: 'production',
      TOKEN_SIGNING_KEY: 'bench-jobs-throwaway-signing-key-0123456789abcdef',
      DATABASE_URL: queue.url,
      DATABASE_POOL_SIZE: String(options.poolSize),
      JOB_CONCURRENCY: String(options.concurrency),
      LOG_LEVEL: options.logLevel,
    },
  });
  say(`${name} worker: pid ${child.pid}, database ${queue.name}`);
  let pool: pg.Pool | undefined;
  let database: Database | undefined;
  let enqueue: Enqueue;
  if (name === 'bare') {
    pool = new pg.Pool({ connectionString: queue.url, max: options.poolSize });
    enqueue = bareEnqueue(pool);
  } else {
    database = openDatabase(queue.url, options.poolSize);
    enqueue = tasklaneEnqueue(database.db, BENCH_JOB);
  }
  return {
    name,
    queue,
    child,
    enqueue,
    close: async () => {
      await pool?.end();
      await database?.close();
    },
  };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One measurement of one variant in one mode, on an emptied queue. */
async function measure(
  variant: Variant,
  mode: Mode,
  round: number,
  options: Options,
): Promise<Measurement> {
  const jobs = mode === 'paced' ? options.pacedJobs : options.jobs;
  await variant.queue.empty();
  const { done } = await variant.child.expect(jobs);
  const load = { count: jobs, enqueuers: options.enqueuers };
  const { startedAt, enqueued, cpu } = await enqueuePhase(variant.enqueue, variant.child, {
    ...load,
    drain: mode === 'drain',
    rate: mode === 'paced' ? options.pacedRate : undefined,
  });
  // Generous: a stuck round is an error, not a result (a no-op job takes well under 1 ms).
  const timing = await within(done, 30_000 + jobs * 10, `${variant.name} ${mode} round ${round}`);
  const left = await variant.queue.drained();
  return {
    variant: variant.name,
    mode,
    round,
    jobs,
    jobsPerSecond: jobs / ((timing.lastEndAt - startedAt) / 1000),
    enqueuePerSecond: jobs / ((enqueued.endedAt - enqueued.startedAt) / 1000),
    latency: timing.latency,
    workerCpuPerJob: timing.cpuMicros / jobs,
    enqueuerCpuPerJob: (cpu.user + cpu.system) / jobs,
    left,
    load: os.loadavg()[0]!,
  };
}

const loads = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  const options = parseOptions();
  const startedAt = new Date();
  const stamp = startedAt.toISOString().slice(0, 16).replace('T', '-').replace(':', '');
  const loadAtStart = loads();
  let stopping = false;
  onInterrupt(() => {
    stopping = true;
  });
  const server = await openBenchServer();
  const queues: QueueDatabase[] = [];
  const variants: Variant[] = [];
  try {
    const machine = await describeMachine(server);
    for (const name of VARIANTS) {
      const queue = await createQueueDatabase(server, `tasklane_bench_jobs_${name}`);
      queues.push(queue);
      variants.push(await startVariant(name, queue, options, stamp));
    }
    if (options.warmup > 0) {
      say(`warm-up: ${options.warmup} jobs end to end per variant`);
      for (const variant of variants)
        await measure(variant, 'end-to-end', 0, { ...options, jobs: options.warmup });
    }
    const measurements: Measurement[] = [];
    const orders: string[] = [];
    for (let round = 1; round <= options.rounds && !stopping; round++) {
      // Every other round the other variant goes first, in every mode.
      const turn = round % 2 === 1 ? variants : [...variants].reverse();
      orders.push(`${round}: ${turn.map((v) => v.name).join(' → ')} in each mode`);
      for (const mode of options.modes) {
        for (const variant of turn) {
          if (stopping) break;
          await pause(300); // the last round's commits and deletes settle
          const m = await measure(variant, mode, round, options);
          measurements.push(m);
          const flag =
            m.left.jobs + m.left.errored > 0
              ? `  ⚠ left ${m.left.jobs}, errored ${m.left.errored}`
              : '';
          say(
            `round ${round} ${mode.padEnd(10)} ${variant.name.padEnd(8)} ${Math.round(m.jobsPerSecond)} jobs/s, enqueued ${Math.round(m.enqueuePerSecond)}/s, start p50 ${m.latency.p50.toFixed(2)} ms p99 ${m.latency.p99.toFixed(2)} ms, worker CPU ${Math.round(m.workerCpuPerJob)} µs/job, enqueuer ${Math.round(m.enqueuerCpuPerJob)} µs/job${flag}`,
          );
        }
      }
    }
    if (stopping) {
      say('interrupted: no report written');
      return 130;
    }
    const peaks = variants.map((v) => {
      const peak = v.child.peakRss();
      return `${v.name} ${peak === undefined ? 'unknown' : `${Math.round(peak / 2 ** 20)} MB`}`;
    });
    const where = server.config.databaseUrl
      ? 'DATABASE_URL=…'
      : `DATA_DIR=${path.relative(process.cwd(), server.config.dataDir) || '.'}`;
    const args = process.argv.slice(2).join(' ');
    const report = renderReport({
      details: [
        ['started (UTC)', startedAt.toISOString().replace(/\.\d+Z$/, 'Z')],
        ['command', `\`${where} npm run bench:jobs${args ? ` -- ${args}` : ''}\``],
        ...machine.rows,
        ['graphile-worker', graphileWorkerVersion()],
        [
          'load',
          `${options.jobs} jobs per variant per round (paced: ${options.pacedJobs} at ${options.pacedRate}/s), ${options.rounds} alternating round(s) after ${options.warmup} warm-up jobs each; ${options.enqueuers} enqueuers, one job per transaction; worker concurrency ${options.concurrency}; pg pool ${options.poolSize} for each worker and for each side's enqueuers; Tasklane worker LOG_LEVEL=${options.logLevel}, NODE_ENV=production, its stdout read and dropped`,
        ],
        ['load average (1, 5, 15 min)', `${loadAtStart} at the start; ${loads()} at the end`],
        ['worker peak RSS (VmHWM)', peaks.join('; ')],
      ],
      freeMemory: machine.memory,
      measurements,
      orders,
      notes: options.cpuProf
        ? ['Run with --cpu-prof: profiling slows the workers, so these figures are not results.']
        : [],
    });
    const file = path.join(ROOT, 'bench', 'results', `jobs-${stamp}.md`);
    writeFileSync(file, report);
    process.stdout.write(`\n${report}`);
    say(`report written to ${path.relative(process.cwd(), file)}`);
    const bad = measurements.some((m) => m.left.jobs > 0 || m.left.errored > 0);
    if (bad) say('⚠ jobs left in a queue or errored: see the report');
    return bad ? 1 : 0;
  } finally {
    for (const variant of variants) {
      await variant.child.stop();
      await variant.close();
    }
    for (const queue of queues) {
      if (options.keep) await queue.admin.close();
      else await queue.drop();
    }
    await server.runtime.close();
  }
}

function graphileWorkerVersion(): string {
  try {
    const file = path.join(ROOT, 'node_modules', 'graphile-worker', 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

await runCommand(USAGE, main);
