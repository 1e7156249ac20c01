// npm run bench:webhooks -- [--deliveries 3000] [--rounds 3] [--concurrency 4] [--enqueuers 8] …
//
// Webhook deliveries per second to a local receiver (issue 5, item 7): events
// appended with the real appendEvent, one per transaction (each queues one
// delivery), delivered by the real worker to a node:http receiver answering
// 204, in alternating rounds against two ceilings on the same stack: bare
// graphile-worker with a no-op job (A, the issue's ceiling, as bench:jobs
// measures it) and with a task that makes one undici POST (B). Prints the
// report and writes bench/results/webhooks-<UTC YYYY-MM-DD-HHMM>.md. See
// bench/README.md, "Webhook deliveries per second".
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { enqueuePhase } from '../jobs/enqueuers.ts';
import { exitOnHelp, parseCommandLine, runCommand, UsageError, wholeNumber } from '../lib/cli.ts';
import { onInterrupt, say } from '../lib/database.ts';
import { summarise } from '../lib/profile-summary.ts';
import { openBenchServer, type QueueCounts } from '../lib/queue.ts';
import { describeMachine } from '../lib/setup.ts';
import type { DeliveryCheck } from './fixtures.ts';
import { renderBuckets } from './profile-buckets.ts';
import { type Receiver, startReceiver } from './receiver-child.ts';
import type { ReceiverReport } from './receiver-protocol.ts';
import {
  type Measurement,
  MODES,
  type Mode,
  renderReport,
  VARIANTS,
  type VariantName,
} from './report.ts';
import { startVariant, type Variant } from './variants.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PROFILES = path.join(ROOT, 'bench', 'results', 'profiles');
const USAGE = `usage: npm run bench:webhooks -- [options]

  --deliveries <n>    deliveries per variant per round, end to end and drain (default 3000)
  --rounds <n>        alternating rounds (default 3)
  --warmup <n>        unrecorded deliveries per variant before round 1 (default 500)
  --concurrency <n>   jobs each worker runs at once (JOB_CONCURRENCY; default 4, the app's)
  --pool-size <n>     pg pool of each worker and of each side's enqueuers (default 10)
  --enqueuers <n>     concurrent enqueue loops, one event per transaction (default 8)
  --teams <n>         Tasklane: teams, one endpoint each, events spread over them (default 1)
  --modes <a,b,…>     end-to-end, drain, paced (default all)
  --paced-rate <n>    events/s of the paced (latency) mode (default 100)
  --paced-deliveries <n>  deliveries per variant per round in the paced mode (default 400)
  --variants <a,b,…>  tasklane, noop, http (default all; the ratios need them)
  --log-level <l>     Tasklane worker's LOG_LEVEL (default info, the app's default)
  --cpu-prof          CPU profile of the tasklane and http workers, summarised in the report
  --keep              keep the bench databases (default: dropped at the end)

Database: DATABASE_URL's server, else embedded PostgreSQL under DATA_DIR; the
bench creates tasklane_bench_webhooks_{tasklane,noop,http} there.
`;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function list<T extends string>(name: string, raw: string, known: readonly T[]): T[] {
  const items = raw.split(',').map((item) => item.trim());
  for (const item of items) {
    if (!(known as readonly string[]).includes(item)) {
      throw new UsageError(`--${name}: unknown ${item} (known: ${known.join(', ')})`);
    }
  }
  return items as T[];
}

function parseOptions() {
  const { values } = parseCommandLine({
    options: {
      deliveries: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '4' },
      'pool-size': { type: 'string', default: '10' },
      enqueuers: { type: 'string', default: '8' },
      teams: { type: 'string', default: '1' },
      modes: { type: 'string', default: MODES.join(',') },
      'paced-rate': { type: 'string', default: '100' },
      'paced-deliveries': { type: 'string', default: '400' },
      variants: { type: 'string', default: VARIANTS.join(',') },
      'log-level': { type: 'string', default: 'info' },
      'cpu-prof': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  exitOnHelp(values, USAGE);
  if (!LOG_LEVELS.includes(values['log-level'])) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const variants = list('variants', values.variants, VARIANTS);
  return {
    deliveries: wholeNumber('deliveries', values.deliveries, 1, 1_000_000),
    rounds: wholeNumber('rounds', values.rounds, 1, 100),
    warmup: wholeNumber('warmup', values.warmup, 0, 1_000_000),
    concurrency: wholeNumber('concurrency', values.concurrency, 1, 100),
    poolSize: wholeNumber('pool-size', values['pool-size'], 1, 100),
    enqueuers: wholeNumber('enqueuers', values.enqueuers, 1, 1000),
    teams: wholeNumber('teams', values.teams, 1, 1000),
    modes: list('modes', values.modes, MODES),
    pacedRate: wholeNumber('paced-rate', values['paced-rate'], 1, 100_000),
    pacedDeliveries: wholeNumber('paced-deliveries', values['paced-deliveries'], 1, 1_000_000),
    // Always in the order of VARIANTS, whatever order they were given in.
    variants: VARIANTS.filter((v) => variants.includes(v)),
    logLevel: values['log-level'],
    cpuProf: values['cpu-prof'],
    keep: values.keep,
  };
}
type Options = ReturnType<typeof parseOptions>;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What was not as it should be after a round of `deliveries`: such a round is not a result. */
function problemsOf(
  deliveries: number,
  left: QueueCounts,
  report: ReceiverReport | undefined,
  check: DeliveryCheck | undefined,
): string[] {
  const problems: string[] = [];
  if (left.jobs > 0 || left.errored > 0) {
    problems.push(`left ${left.jobs} jobs, ${left.errored} errored`);
  }
  if (report) {
    if (report.distinct !== deliveries) problems.push(`received ${report.distinct} distinct ids`);
    if (report.requests !== report.distinct) {
      problems.push(`${report.requests - report.distinct} repeated requests`);
    }
    if (report.stray > 0) problems.push(`${report.stray} requests to another path`);
    if (report.badSignatures > 0) problems.push(`${report.badSignatures} bad signatures`);
  }
  if (check && (check.succeeded !== deliveries || check.deliveries !== deliveries)) {
    problems.push(
      `${check.deliveries} deliveries, ${check.succeeded} succeeded, ${check.pending} pending, ${check.failed} failed`,
    );
  }
  if (check && (check.attempts !== deliveries || check.failedAttempts > 0)) {
    problems.push(`${check.attempts} attempts recorded, ${check.failedAttempts} failed`);
  }
  return problems;
}

/**
 * One measurement of one variant in one mode, on emptied tables. The round ends
 * when the worker has finished its last job (for Tasklane: recorded the last
 * attempt) and, for the HTTP variants, the receiver has every distinct id.
 */
async function measure(
  variant: Variant,
  receiver: Receiver,
  mode: Mode,
  round: number,
  deliveries: number,
  options: Options,
): Promise<Measurement> {
  await variant.reset();
  const { done } = await variant.child.expect(deliveries);
  const arrived = variant.path ? (await receiver.expect(variant.path, deliveries)).done : undefined;
  const load = { count: deliveries, enqueuers: options.enqueuers };
  const { startedAt, enqueued, cpu } = await enqueuePhase(variant.enqueue, variant.child, {
    ...load,
    drain: mode === 'drain',
    rate: mode === 'paced' ? options.pacedRate : undefined,
  });
  // Generous: a stuck round is an error, not a result. A failed attempt is
  // retried after 5 s (the schedule's first step), so it shows as a slow round.
  const [timing, receipt] = await within(
    Promise.all([done, arrived]),
    30_000 + deliveries * 20,
    `${variant.name} ${mode} round ${round}`,
  );
  const endedAt = Math.max(timing.lastEndAt, receipt?.lastAt ?? Number.NEGATIVE_INFINITY);
  const left = await variant.queue.drained();
  const check = await variant.check();
  const report = variant.path ? await receiver.report(variant.secret) : undefined;

  const problems = problemsOf(deliveries, left, report, check);
  return {
    variant: variant.name,
    mode,
    round,
    deliveries,
    perSecond: deliveries / ((endedAt - startedAt) / 1000),
    enqueuePerSecond: deliveries / ((enqueued.endedAt - enqueued.startedAt) / 1000),
    // The receiver's event → received where there is one; the tally's enqueue → start otherwise.
    latency: report?.latency ?? timing.latency,
    workerCpu: timing.cpuMicros / deliveries,
    enqueuerCpu: (cpu.user + cpu.system) / deliveries,
    receiverCpu: receipt ? receipt.cpuMicros / deliveries : undefined,
    receiver: report,
    check,
    left,
    problems,
    load: os.loadavg()[0]!,
  };
}

const loads = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const profileName = (stamp: string, name: VariantName) => `webhooks-${stamp}-${name}.cpuprofile`;

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
  const receiver = await startReceiver();
  const variants: Variant[] = [];
  try {
    const machine = await describeMachine(server);
    say(`receiver: pid ${receiver.pid}, ${receiver.baseUrl}`);
    for (const name of options.variants) {
      const variant = await startVariant(name, server, receiver, {
        ...options,
        nodeFlags: (v) =>
          options.cpuProf && v !== 'noop'
            ? [
                '--cpu-prof',
                `--cpu-prof-dir=${PROFILES}`,
                `--cpu-prof-name=${profileName(stamp, v)}`,
              ]
            : [],
      });
      variants.push(variant);
      say(`${name} worker: pid ${variant.child.pid}, database ${variant.queue.name}`);
    }
    if (options.warmup > 0) {
      say(`warm-up: ${options.warmup} deliveries end to end per variant`);
      for (const variant of variants) {
        const m = await measure(variant, receiver, 'end-to-end', 0, options.warmup, options);
        if (m.problems.length > 0) say(`warm-up ${variant.name}: ${m.problems.join('; ')}`);
      }
    }
    const measurements: Measurement[] = [];
    const orders: string[] = [];
    for (let round = 1; round <= options.rounds && !stopping; round++) {
      // Each round starts with the next variant: each goes first, middle and last in turn.
      const shift = (round - 1) % variants.length;
      const turn = [...variants.slice(shift), ...variants.slice(0, shift)];
      orders.push(`${round}: ${turn.map((v) => v.name).join(' → ')} in each mode`);
      for (const mode of options.modes) {
        for (const variant of turn) {
          if (stopping) break;
          await pause(300); // the last round's commits settle
          const count = mode === 'paced' ? options.pacedDeliveries : options.deliveries;
          const m = await measure(variant, receiver, mode, round, count, options);
          measurements.push(m);
          const flag = m.problems.length > 0 ? `  ⚠ ${m.problems.join('; ')}` : '';
          say(
            `round ${round} ${mode.padEnd(10)} ${variant.name.padEnd(8)} ${Math.round(m.perSecond)} deliveries/s, queued ${Math.round(m.enqueuePerSecond)}/s, p50 ${m.latency.p50.toFixed(1)} ms p99 ${m.latency.p99.toFixed(1)} ms, worker CPU ${Math.round(m.workerCpu)} µs/delivery${flag}`,
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
    // The profiles are written as the children exit.
    for (const variant of variants) await variant.close();
    const profiles: [string, string][] = options.cpuProf
      ? variants
          .filter((v) => v.name !== 'noop')
          .map((v) => {
            const file = path.join(PROFILES, profileName(stamp, v.name));
            const profile = JSON.parse(readFileSync(file, 'utf8'));
            // Everything the child delivered while profiled: the warm-up and every round.
            const handled =
              options.warmup +
              measurements
                .filter((m) => m.variant === v.name)
                .reduce((n, m) => n + m.deliveries, 0);
            return [
              v.name,
              [
                `\`${path.relative(ROOT, file)}\`, ${handled} deliveries. By owner (bench/webhooks/profile-buckets.ts):`,
                '',
                renderBuckets(profile, handled),
                '',
                summarise(profile, 20),
              ].join('\n'),
            ];
          })
      : [];
    const where = server.config.databaseUrl
      ? 'DATABASE_URL=…'
      : `DATA_DIR=${path.relative(process.cwd(), server.config.dataDir) || '.'}`;
    const args = process.argv.slice(2).join(' ');
    const report = renderReport({
      details: [
        ['started (UTC)', startedAt.toISOString().replace(/\.\d+Z$/, 'Z')],
        ['command', `\`${where} npm run bench:webhooks${args ? ` -- ${args}` : ''}\``],
        ...machine.rows,
        ['graphile-worker', packageVersion('graphile-worker')],
        ['undici', packageVersion('undici')],
        [
          'load',
          `${options.deliveries} deliveries per variant per round and mode (paced: ${options.pacedDeliveries} at ${options.pacedRate}/s), ${options.rounds} alternating round(s) after ${options.warmup} warm-up deliveries each; ${options.enqueuers} enqueuers, one event (one job) per transaction; ${options.teams} team(s) with one endpoint each; worker concurrency ${options.concurrency}; pg pool ${options.poolSize} for each worker and for each side's enqueuers; Tasklane worker LOG_LEVEL=${options.logLevel}, NODE_ENV=production, its stdout read and dropped; receiver: node:http answering 204, its own process`,
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
      profiles,
    });
    const file = path.join(ROOT, 'bench', 'results', `webhooks-${stamp}.md`);
    writeFileSync(file, report);
    process.stdout.write(`\n${report}`);
    say(`report written to ${path.relative(process.cwd(), file)}`);
    const bad = measurements.some((m) => m.problems.length > 0);
    if (bad) say('⚠ some rounds had problems: see the report');
    return bad ? 1 : 0;
  } finally {
    for (const variant of variants) {
      await variant.close();
      if (options.keep) await variant.queue.admin.close();
      else await variant.queue.drop();
    }
    await receiver.stop();
    await server.runtime.close();
  }
}

function packageVersion(name: string): string {
  try {
    const file = path.join(ROOT, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

await runCommand(USAGE, main);
