// DATA_DIR=bench/data npm run bench:ratelimit:e2e -- [--duration 5] [--rounds 3] [--connections 32] …
//
// What the rate limiter costs a real request (issue 4), in one run: GET
// /v1/tasks/{id} on three Tasklane processes (limiter off, in memory, on Redis)
// and the pk ceiling, over the seeded bench database, in alternating rounds.
// Prints the report and writes bench/results/ratelimit-e2e-<UTC YYYY-MM-DD-HHMM>.md.
// See bench/README.md, "Rate limiter end to end".
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { runCommand } from '../lib/cli.ts';
import { type BenchDatabase, onInterrupt, openBenchDatabase, say } from '../lib/database.ts';
import { loadFixtures } from '../lib/fixtures.ts';
import { type Server, startServer } from '../lib/processes.ts';
import { failed, summarize } from '../lib/report.ts';
import { loadAverages, measureRounds, parseRoundOptions } from '../lib/rounds.ts';
import { buildScenarios, type Pools, type Scenario } from '../lib/scenarios.ts';
import { checkScenarios, describeMachine, fetchPools, login } from '../lib/setup.ts';
import { type LimiterMode, tasklaneEnv } from '../lib/tasklane-env.ts';
import { type LimiterCounters, renderReport } from './end-to-end-report.ts';
import { connectRedis } from './limiters.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const USAGE = `usage: DATA_DIR=bench/data npm run bench:ratelimit:e2e -- [options]

  --duration <s>      seconds per variant per round (default 5)
  --rounds <n>        alternating rounds, the order rotated each round (default 3)
  --connections <n>   concurrent connections (default 32)
  --warmup <s>        unrecorded seconds per variant before round 1 (default 1; 0 = none)
  --pool-size <n>     pg pool size of every server (default 10)
  --ids <n>           random task ids fetched for the requests (default 10000)

Redis: REDIS_URL, else redis://127.0.0.1:6379 (keys under a random prefix).
`;
const MODES: readonly LimiterMode[] = ['off', 'memory', 'redis'];

const parseOptions = () => parseRoundOptions(USAGE, '1');

type Options = ReturnType<typeof parseOptions>;

interface Variant {
  readonly scenario: Scenario;
  readonly mode?: LimiterMode;
  readonly server: Server;
  readonly headers: Record<string, string>;
}

/**
 * Starts the pk ceiling and one Tasklane per limiter mode (each added to
 * `started` at once, so a failure stops the rest), logs in on each and checks
 * that get-task answers 200, with RateLimit headers exactly when the limiter is on.
 */
async function startVariants(
  bench: BenchDatabase,
  pools: Pools,
  options: Options,
  started: Server[],
): Promise<Variant[]> {
  const common = { DATABASE_URL: bench.url, DATABASE_POOL_SIZE: String(options.poolSize) };
  const start = async (
    name: string,
    args: string[],
    readyPath: string,
    env: (port: number) => NodeJS.ProcessEnv,
  ) => {
    const port = await freePort();
    const server = await startServer({ name, args, env: env(port), port, readyPath });
    started.push(server);
    say(`${name}: pid ${server.pid}, ${server.baseUrl}`);
    return server;
  };
  const pk = await start(
    'ceiling (2) pk',
    [path.join(ROOT, 'bench', 'ceilings', 'pk.ts')],
    '/',
    (port) => ({
      ...process.env,
      ...common,
      PORT: String(port),
    }),
  );
  const scenarios = buildScenarios(pools);
  const ceilingPk = scenarios.find((s) => s.name === 'ceiling-pk')!;
  const getTask = scenarios.find((s) => s.name === 'get-task')!;
  const variants: Variant[] = [{ scenario: ceilingPk, server: pk, headers: {} }];
  for (const mode of MODES) {
    const env = (port: number) =>
      tasklaneEnv({
        common,
        dataDir: bench.config.dataDir,
        port,
        logLevel: 'warn',
        limiter: mode,
        connections: options.connections,
      });
    const main = [path.join(ROOT, 'src', 'main.ts'), 'serve'];
    const server = await start(`tasklane, limiter ${mode}`, main, '/healthz', env);
    const headers = { authorization: `Bearer ${await login(server.baseUrl)}` };
    const urls = { hello: '', page: '', pk: pk.baseUrl, tasklane: server.baseUrl };
    for (const [name, reason] of await checkScenarios([ceilingPk, getTask], urls, headers)) {
      throw new Error(`${name} cannot run against the limiter-${mode} Tasklane: ${reason}`);
    }
    const probe = await fetch(`${server.baseUrl}${getTask.next().path}`, { headers });
    if (probe.headers.has('ratelimit') !== (mode !== 'off')) {
      throw new Error(
        `the limiter-${mode} Tasklane answered with RateLimit: ${probe.headers.get('ratelimit')}`,
      );
    }
    variants.push({
      scenario: { ...getTask, name: `get-task, limiter ${mode}` },
      mode,
      server,
      headers,
    });
  }
  return variants;
}

/** The limiter's own counters from GET /metrics: decisions by outcome, shared-store errors. */
async function limiterCounters(server: Server): Promise<LimiterCounters> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const decisions: Record<string, number> = {};
  for (const [, labels, value] of text.matchAll(/^ratelimit_decisions_total\{(.*)\} (\S+)$/gm)) {
    const outcome = /outcome="([^"]*)"/.exec(labels!)?.[1] ?? '?';
    decisions[outcome] = (decisions[outcome] ?? 0) + Number(value);
  }
  const errors = [...text.matchAll(/^ratelimit_store_errors_total\S* (\S+)$/gm)];
  return { decisions, storeErrors: errors.reduce((sum, [, value]) => sum + Number(value), 0) };
}

async function main(): Promise<number> {
  const options = parseOptions();
  const startedAt = new Date();
  const loadAtStart = loadAverages();
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = await connectRedis(redisUrl); // fails early when Redis is not there
  const redisVersion = /^redis_version:(.*)$/m.exec(String(await redis.info('server')))?.[1];
  await redis.quit();
  const bench = await openBenchDatabase();
  let stopping = false;
  onInterrupt(() => {
    stopping = true;
  });
  const started: Server[] = [];
  try {
    const { pools, dataset } = await fetchPools(
      bench.db,
      await loadFixtures(bench.db),
      options.ids,
    );
    const machine = await describeMachine(bench);
    const variants = await startVariants(bench, pools, options, started);
    const { samples, orders } = await measureRounds(variants, options, () => stopping);
    if (stopping) {
      say('interrupted: no report written');
      return 130;
    }
    const counters = new Map<string, LimiterCounters>();
    for (const v of variants)
      if (v.mode && v.mode !== 'off')
        counters.set(v.scenario.name, await limiterCounters(v.server));
    const where = bench.config.databaseUrl
      ? 'DATABASE_URL=…'
      : `DATA_DIR=${path.relative(process.cwd(), bench.config.dataDir) || '.'}`;
    const args = process.argv.slice(2).join(' ');
    const report = renderReport({
      machine: [
        ['started (UTC)', startedAt.toISOString().replace(/\.\d+Z$/, 'Z')],
        ['command', `\`${where} npm run bench:ratelimit:e2e${args ? ` -- ${args}` : ''}\``],
        ...machine.rows,
        ['Redis', `${redisVersion?.trim() ?? 'unknown'} at ${new URL(redisUrl).host}`],
        [
          'dataset',
          `${dataset.tasks.toLocaleString('en-US')} tasks (${dataset.liveTasks.toLocaleString('en-US')} live) in ${dataset.projects} projects; ${pools.taskIds.length} random task ids requested`,
        ],
        [
          'load',
          `autocannon, ${options.connections} connections, ${options.duration} s per variant, ${options.rounds} alternating round(s) after ${options.warmup} s warm-up each; pg pool ${options.poolSize} in every server; Tasklane in production mode, LOG_LEVEL=warn, quotas raised so that nothing is refused`,
        ],
        [
          'load average (1, 5, 15 min)',
          `${loadAtStart} at the start; ${loadAverages()} at the end`,
        ],
      ],
      freeMemory: machine.memory,
      scenarios: variants.map((v) => v.scenario),
      samples,
      orders,
      counters,
    });
    const stamp = startedAt.toISOString().slice(0, 16).replace('T', '-').replace(':', '');
    const file = path.join(ROOT, 'bench', 'results', `ratelimit-e2e-${stamp}.md`);
    writeFileSync(file, report);
    process.stdout.write(`\n${report}`);
    say(`report written to ${path.relative(process.cwd(), file)}`);
    const bad =
      variants.some((v) => failed(summarize(v.scenario, samples))) ||
      [...counters.values()].some((c) => c.storeErrors > 0);
    if (bad) say('⚠ non-2xx responses, connection errors or Redis store errors: see the report');
    return bad ? 1 : 0;
  } finally {
    await Promise.all(started.map((server) => server.stop()));
    await bench.runtime.close();
  }
}

await runCommand(USAGE, main);
