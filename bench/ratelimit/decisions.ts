// npm run bench:ratelimit -- [--seconds 0.4] [--rounds 5] [--concurrency 64] [--keys 10000] …
//
// How fast is one rate limit decision, ours against the floor of a Redis round
// trip and against rate-limiter-flexible and @fastify/rate-limit? Measures, in
// one run and in alternating rounds, decisions/s and the p50/p99 latency of one
// decision at 1 and at 64 in flight, then the same minimal Fastify app without
// and with each limiter. Prints the report and writes
// bench/results/ratelimit-<UTC YYYY-MM-DD-HHMM>.md. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exitOnHelp, parseCommandLine, runCommand, UsageError, wholeNumber } from '../lib/cli.ts';
import type { Server } from '../lib/processes.ts';
import { Callers, drive, driveSync, Tally } from './drive.ts';
import { measureHttp, startApps } from './http-load.ts';
import { type Candidate, connectRedis, deleteBenchKeys, openCandidates } from './limiters.ts';
import { type DecisionRow, type Mode, renderReport } from './report.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const USAGE = `usage: npm run bench:ratelimit -- [options]

  --seconds <s>       seconds per limiter and mode per round (default 0.4)
  --warmup <s>        unrecorded seconds per limiter and mode before round 1 (default 0.5)
  --rounds <n>        alternating rounds (default 5)
  --concurrency <n>   decisions in flight in the concurrent modes (default 64)
  --keys <n>          distinct callers requests are spread over (default 10000)
  --http-seconds <s>  seconds per app per round in the HTTP part (default 1; 0 skips it)
  --connections <n>   autocannon connections in the HTTP part (default 32)
  --redis-url <url>   default REDIS_URL, else redis://127.0.0.1:6379

Keys are written under bench:ratelimit: and deleted at the start and the end.
`;

const say = (message: string) => process.stderr.write(`bench:ratelimit: ${message}\n`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function seconds(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value < min || value > max) {
    throw new UsageError(`--${name} must be a number of seconds from ${min} to ${max}`);
  }
  return value;
}

function parseOptions() {
  const { values } = parseCommandLine({
    options: {
      seconds: { type: 'string', default: '0.4' },
      warmup: { type: 'string', default: '0.5' },
      rounds: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '64' },
      keys: { type: 'string', default: '10000' },
      'http-seconds': { type: 'string', default: '1' },
      connections: { type: 'string', default: '32' },
      'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  exitOnHelp(values, USAGE);
  return {
    seconds: seconds('seconds', values.seconds, 0.1, 60),
    warmup: seconds('warmup', values.warmup, 0, 60),
    rounds: wholeNumber('rounds', values.rounds, 1, 20),
    concurrency: wholeNumber('concurrency', values.concurrency, 2, 10_000),
    keys: wholeNumber('keys', values.keys, 1, 1_000_000),
    httpSeconds: wholeNumber('http-seconds', values['http-seconds'], 0, 60),
    connections: wholeNumber('connections', values.connections, 1, 1000),
    redisUrl: values['redis-url'],
  };
}
type Options = ReturnType<typeof parseOptions>;

const MODES: readonly Mode[] = ['sequential', 'concurrent', 'hot'];
/** Rows of one mode take turns in slices this long, so background load hits them all alike. */
const SLICE_SECONDS = 0.1;

/**
 * The rows measured in `mode`: synchronous rows with 1 in flight only, the
 * floor not on a hot key (it has no key).
 */
function rowsIn(rows: readonly DecisionRow[], mode: Mode): DecisionRow[] {
  return rows.filter(({ candidate }) =>
    mode === 'sequential'
      ? true
      : candidate.decideSync === undefined && (mode !== 'hot' || candidate.backend !== 'none'),
  );
}

async function runSlice(
  candidate: Candidate,
  mode: Mode,
  callers: { spread: Callers; hot: Callers },
  options: Options,
  seconds: number,
  tally: Tally,
): Promise<void> {
  if (candidate.decideSync) return driveSync(candidate.decideSync, callers.spread, seconds, tally);
  const decide = candidate.decide!;
  if (mode === 'sequential') return drive(decide, callers.spread, 1, seconds, tally);
  const pool = mode === 'hot' ? callers.hot : callers.spread;
  return drive(decide, pool, options.concurrency, seconds, tally);
}

// Left over by the previous mode: collect it now rather than while measuring.
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

/**
 * Each round, mode by mode, the rows take turns in slices of 0.1 s until each
 * has had `--seconds`, starting one row later every slice: on a shared machine
 * a noisy second then falls on every row of the comparison instead of one.
 */
async function measureDecisions(options: Options, candidates: readonly Candidate[]) {
  const rows: DecisionRow[] = candidates.map((candidate) => ({ candidate, results: {} }));
  const callers = { spread: new Callers(options.keys), hot: new Callers(1) };
  const slices = Math.max(1, Math.round(options.seconds / SLICE_SECONDS));
  if (options.warmup > 0) {
    say(`warm-up: ${options.warmup} s for each limiter and mode`);
    for (const mode of MODES) {
      for (const { candidate } of rowsIn(rows, mode)) {
        await runSlice(candidate, mode, callers, options, options.warmup, new Tally());
      }
    }
  }
  for (let round = 1; round <= options.rounds; round++) {
    for (const mode of MODES) {
      const measured = rowsIn(rows, mode);
      const tallies = measured.map(() => new Tally());
      collect();
      await pause(20);
      for (let slice = 0; slice < slices; slice++) {
        for (let turn = 0; turn < measured.length; turn++) {
          const i = (slice + turn) % measured.length;
          const seconds = options.seconds / slices;
          await runSlice(measured[i]!.candidate, mode, callers, options, seconds, tallies[i]!);
        }
      }
      for (const [i, row] of measured.entries()) {
        const result = tallies[i]!.result();
        row.results[mode] = [...(row.results[mode] ?? []), result];
        say(
          `round ${round} ${row.candidate.label} ${mode}: ${Math.round(result.perSecond)}/s p50 ${result.p50Us.toFixed(2)} µs p99 ${result.p99Us.toFixed(2)} µs${result.refused + result.errors > 0 ? ` ⚠ ${result.refused} refused, ${result.errors} errors` : ''}`,
        );
      }
    }
  }
  return rows;
}

function command(file: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

const versionOf = (name: string): string =>
  (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

function describeMachine(options: Options, redisInfo: string, startedAt: Date) {
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(redisInfo)?.[1]?.trim();
  const commit = command('git', ['rev-parse', '--short', 'HEAD'])?.trim();
  const dirty =
    commit !== undefined && command('git', ['diff-index', '--quiet', 'HEAD', '--']) === undefined;
  const args = process.argv.slice(2).join(' ');
  const loads = () =>
    os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(', ');
  return {
    rows: [
      ['started (UTC)', startedAt.toISOString().replace(/\.\d+Z$/, 'Z')],
      ['command', `\`npm run bench:ratelimit${args ? ` -- ${args}` : ''}\``],
      ['CPUs (`nproc`)', `${command('nproc', [])?.trim() ?? '?'} × ${os.cpus()[0]?.model}`],
      ['OS', `${os.type()} ${os.release()}`],
      ['Node', process.version],
      [
        'Redis',
        `${field('redis_version') ?? 'unknown'} at ${new URL(options.redisUrl).host} (${field('io_threads_active') === '1' ? 'I/O threads' : 'single-threaded I/O'})`,
      ],
      [
        'libraries',
        ['ioredis', 'rate-limiter-flexible', '@fastify/rate-limit', 'fastify', 'autocannon']
          .map((name) => `${name} ${versionOf(name)}`)
          .join(', '),
      ],
      ['commit', commit ? `${commit}${dirty ? ' with uncommitted changes' : ''}` : 'unknown'],
      [
        'settings',
        `${options.rounds} rounds of ${options.seconds} s per limiter and mode, the rows of a mode taking turns in 0.1 s slices, after ${options.warmup} s warm-up; ${options.concurrency} in flight; ${options.keys} callers; HTTP ${options.httpSeconds} s per app per round, ${options.connections} connections; ${'gc' in globalThis ? 'a full GC before each mode of each round' : 'no forced GC (run without --expose-gc)'}`,
      ],
    ] as [string, string][],
    loads,
  };
}

async function main(): Promise<number> {
  const options = parseOptions();
  const startedAt = new Date();
  const admin = await connectRedis(options.redisUrl);
  const started: Server[] = [];
  let candidates: Candidate[] = [];
  try {
    const redisInfo = String(await admin.info('server'));
    const leftover = await deleteBenchKeys(admin);
    if (leftover > 0) say(`deleted ${leftover} keys left by an earlier run`);
    const machine = describeMachine(options, redisInfo, startedAt);
    const loadAtStart = machine.loads();
    const apps = options.httpSeconds > 0 ? await startApps(options.redisUrl, started) : new Map();
    candidates = await openCandidates(options.redisUrl);
    const rows = await measureDecisions(options, candidates);
    const http =
      options.httpSeconds > 0
        ? await measureHttp({ ...options, seconds: options.httpSeconds }, apps, say)
        : new Map();
    const report = renderReport({
      machine: [
        ...machine.rows,
        [
          'load average (1, 5, 15 min)',
          `${loadAtStart} at the start; ${machine.loads()} at the end`,
        ],
      ],
      concurrency: options.concurrency,
      keys: options.keys,
      connections: options.connections,
      rows,
      http,
    });
    const stamp = startedAt.toISOString().slice(0, 16).replace('T', '-').replace(':', '');
    const file = path.join(ROOT, 'bench', 'results', `ratelimit-${stamp}.md`);
    writeFileSync(file, report);
    process.stdout.write(report);
    say(`written to ${path.relative(process.cwd(), file)}`);
    return 0;
  } finally {
    for (const candidate of candidates) await candidate.close();
    for (const server of started) await server.stop(5000);
    const deleted = await deleteBenchKeys(admin).catch(() => 0);
    say(`deleted the ${deleted} keys this run wrote`);
    await admin.quit();
  }
}

await runCommand(USAGE, main);
