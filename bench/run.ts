// npm run bench -- [--duration 6] [--connections 32] [--rounds 3] [--scenarios a,b,…]
//
// Starts the three ceilings and Tasklane as separate processes over the seeded
// database, runs autocannon against each scenario in alternating rounds, and
// writes bench/results/<time>.md. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../src/db/embedded.ts';
import { exitOnHelp, parseCommandLine, runCommand, UsageError, wholeNumber } from './lib/cli.ts';
import { onInterrupt, openBenchDatabase, say } from './lib/database.ts';
import { loadFixtures } from './lib/fixtures.ts';
import { type Load, measure, type Sample } from './lib/measure.ts';
import { type Server, startServer } from './lib/processes.ts';
import { failed, renderReport, summarize } from './lib/report.ts';
import { buildScenarios, SCENARIO_NAMES, type Scenario, type Target } from './lib/scenarios.ts';
import { checkScenarios, describeMachine, fetchPools, login } from './lib/setup.ts';
import { LIMITER_MODES, type LimiterMode, tasklaneEnv } from './lib/tasklane-env.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const USAGE = `usage: npm run bench -- [options]

  --duration <s>      seconds per scenario per round (default 6)
  --connections <n>   concurrent connections (default 32)
  --rounds <n>        alternating rounds: every scenario once per round (default 3)
  --scenarios <list>  comma-separated subset of: ${SCENARIO_NAMES.join(', ')}
  --warmup <s>        unrecorded seconds per scenario before round 1 (default 1; 0 = none)
  --pool-size <n>     pg pool size of Tasklane and of the ceilings (default 10)
  --log-level <l>     Tasklane's LOG_LEVEL (default warn)
  --ids <n>           random task ids fetched for the requests (default 10000)
  --cpu-prof          profile Tasklane (node --cpu-prof) into bench/results/profiles/
  --limiter <mode>    Tasklane's rate limiter: memory (default: on, this node's
                      store), redis (on, REDIS_URL or redis://127.0.0.1:6379) or
                      off; quotas are raised so that nothing is refused
  --node-flags=<f>    extra Node flags for the Tasklane process only, e.g.
                      --node-flags="--max-semi-space-size=8 --trace-gc" (recorded in the report)

The database is the app's: DATABASE_URL, else embedded PostgreSQL under DATA_DIR
(use DATA_DIR=bench/data, the one \`npm run seed\` filled).
`;

function parseOptions() {
  const { values } = parseCommandLine({
    options: {
      duration: { type: 'string', default: '6' },
      connections: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '3' },
      scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
      warmup: { type: 'string', default: '1' },
      'pool-size': { type: 'string', default: '10' },
      'log-level': { type: 'string', default: 'warn' },
      ids: { type: 'string', default: '10000' },
      'cpu-prof': { type: 'boolean', default: false },
      'node-flags': { type: 'string', default: '' },
      limiter: { type: 'string', default: 'memory' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  exitOnHelp(values, USAGE);
  const scenarios = values.scenarios.split(',').map((name) => name.trim());
  const unknown = scenarios.filter((name) => !(SCENARIO_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new UsageError(`unknown scenario(s): ${unknown.join(', ')}`);
  if (!(LIMITER_MODES as readonly string[]).includes(values.limiter)) {
    throw new UsageError(`--limiter is one of ${LIMITER_MODES.join(', ')}`);
  }
  return {
    limiter: values.limiter as LimiterMode,
    duration: wholeNumber('duration', values.duration, 1, 600),
    connections: wholeNumber('connections', values.connections, 1, 1000),
    rounds: wholeNumber('rounds', values.rounds, 1, 100),
    warmup: wholeNumber('warmup', values.warmup, 0, 60),
    poolSize: wholeNumber('pool-size', values['pool-size'], 1, 100),
    ids: wholeNumber('ids', values.ids, 1, 1_000_000),
    logLevel: values['log-level'],
    cpuProf: values['cpu-prof'],
    nodeFlags: values['node-flags'].split(/\s+/).filter(Boolean),
    scenarios,
  };
}

type Options = ReturnType<typeof parseOptions>;

/** Starts the four servers; each is added to `started` at once, so a failure stops the rest. */
async function startServers(
  options: Options,
  databaseUrl: string,
  dataDir: string,
  started: Server[],
) {
  const common = { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: String(options.poolSize) };
  const ceiling = async (name: string, script: string, readyPath: string) => {
    const port = await freePort();
    const server = await startServer({
      name,
      args: [path.join(ROOT, 'bench', 'ceilings', script)],
      env: { ...process.env, ...common, PORT: String(port) },
      port,
      readyPath,
    });
    started.push(server);
    return server;
  };
  const servers: Partial<Record<Target, Server>> = {};
  servers.hello = await ceiling('ceiling (1) hello', 'hello.ts', '/hello');
  servers.pk = await ceiling('ceiling (2) pk', 'pk.ts', '/');
  servers.page = await ceiling('ceiling (3) page', 'page.ts', '/');
  const port = await freePort();
  const profileDir = path.join(ROOT, 'bench', 'results', 'profiles');
  if (options.cpuProf) mkdirSync(profileDir, { recursive: true });
  servers.tasklane = await startServer({
    name: 'tasklane',
    args: [
      ...options.nodeFlags,
      ...(options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      path.join(ROOT, 'src', 'main.ts'),
      'serve',
    ],
    env: tasklaneEnv({
      common,
      dataDir,
      port,
      logLevel: options.logLevel,
      limiter: options.limiter,
      connections: options.connections,
    }),
    port,
    readyPath: '/healthz',
  });
  started.push(servers.tasklane);
  return servers as Record<Target, Server>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function commandLine(bench: { config: { databaseUrl: string | undefined; dataDir: string } }) {
  const env = bench.config.databaseUrl
    ? 'DATABASE_URL=… '
    : `DATA_DIR=${path.relative(process.cwd(), bench.config.dataDir) || '.'} `;
  const args = process.argv.slice(2).join(' ');
  return `${env}npm run bench${args ? ` -- ${args}` : ''}`;
}

async function main(): Promise<number> {
  const options = parseOptions();
  const startedAt = new Date();
  const bench = await openBenchDatabase();
  let stopping = false;
  onInterrupt(() => {
    stopping = true;
  });
  const started: Server[] = [];
  try {
    const fixtures = await loadFixtures(bench.db);
    const { pools, dataset } = await fetchPools(bench.db, fixtures, options.ids);
    const machine = await describeMachine(bench);
    say(
      `dataset: ${dataset.tasks} tasks (${dataset.liveTasks} live) in ${dataset.projects} projects`,
    );
    say('starting the ceilings and Tasklane …');
    const servers = await startServers(options, bench.url, bench.config.dataDir, started);
    for (const server of started) say(`${server.name}: pid ${server.pid}, ${server.baseUrl}`);
    const baseUrls = Object.fromEntries(
      Object.entries(servers).map(([target, server]) => [target, server.baseUrl]),
    ) as Record<Target, string>;
    // Tasklane's VmHWM along the run, to show which scenario grows it.
    const memory: [string, number | undefined][] = [['started', servers.tasklane.peakRss()]];
    const auth = { authorization: `Bearer ${await login(baseUrls.tasklane)}` };
    const scenarios = buildScenarios(pools).filter((s) => options.scenarios.includes(s.name));
    const notRun = await checkScenarios(scenarios, baseUrls, auth);
    for (const [name, reason] of notRun) say(`⚠ ${name} will not run: ${reason}`);
    const runnable = scenarios.filter((s) => !notRun.has(s.name));
    const load: Load = { connections: options.connections, duration: options.duration };
    const run = (scenario: Scenario, seconds: number, round: number) =>
      measure(
        scenario,
        baseUrls[scenario.target],
        scenario.target === 'tasklane' ? auth : {},
        { ...load, duration: seconds },
        round,
      );

    if (options.warmup > 0) {
      say(`warm-up: ${options.warmup} s per scenario`);
      for (const scenario of runnable) if (!stopping) await run(scenario, options.warmup, 0);
    }
    memory.push(['login, probes and warm-up', servers.tasklane.peakRss()]);
    const samples: Sample[] = [];
    // Rounds alternate the scenarios (all of round 1, then all of round 2, …), so a
    // noisy minute on the machine spreads over every scenario instead of one.
    for (let round = 1; round <= options.rounds && !stopping; round++) {
      for (const scenario of runnable) {
        if (stopping) break;
        await pause(500); // let the previous scenario's connections close
        const sample = await run(scenario, options.duration, round);
        samples.push(sample);
        const flag =
          sample.non2xx > 0 || sample.errors > 0
            ? `  ⚠ ${sample.non2xx} non-2xx, ${sample.errors} errors`
            : '';
        say(
          `round ${round} ${scenario.name.padEnd(14)} ${Math.round(sample.requestsPerSecond)} req/s  p50 ${sample.p50Ms} ms  p99 ${sample.p99Ms} ms${flag}`,
        );
        if (round === 1 && scenario.target === 'tasklane') {
          memory.push([`round 1 ${scenario.name}`, servers.tasklane.peakRss()]);
        }
      }
      memory.push([`end of round ${round}`, servers.tasklane.peakRss()]);
    }
    if (stopping) {
      say('interrupted: no report written');
      return 130;
    }

    const report = renderReport({
      startedAt,
      machine: [
        ['command', `\`${commandLine(bench)}\``],
        ...machine.rows,
        [
          'dataset',
          `${dataset.tasks.toLocaleString('en-US')} tasks (${dataset.liveTasks.toLocaleString('en-US')} live) in ${dataset.projects} projects; ${pools.taskIds.length} random task ids requested`,
        ],
        [
          'load',
          `autocannon, ${options.connections} connections, ${options.duration} s per scenario, ${options.rounds} alternating round(s) after ${options.warmup} s warm-up each; pg pool ${options.poolSize} in every server; Tasklane LOG_LEVEL=${options.logLevel}, rate limiter ${options.limiter}${options.nodeFlags.length > 0 ? `, node ${options.nodeFlags.join(' ')}` : ''}${options.cpuProf ? ', --cpu-prof (slower)' : ''}`,
        ],
      ],
      freeMemory: machine.memory,
      connections: options.connections,
      scenarios,
      notRun,
      samples,
      rssTimeline: memory,
      peakRss: servers.tasklane.peakRss(),
    });
    const resultsDir = path.join(ROOT, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(
      resultsDir,
      `${startedAt
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replaceAll(':', '-')}.md`,
    );
    writeFileSync(file, report);
    process.stdout.write(`\n${report}\n`);
    say(`report written to ${path.relative(process.cwd(), file)}`);
    const bad = scenarios.some((s) => notRun.has(s.name) || failed(summarize(s, samples)));
    if (bad) say('⚠ some scenarios failed or did not run: see "Errors" in the report');
    return bad ? 1 : 0;
  } finally {
    await Promise.all(started.map((server) => server.stop()));
    await bench.runtime.close();
  }
}

await runCommand(USAGE, main);
