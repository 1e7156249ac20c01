// DATA_DIR=bench/data npm run bench:observability -- [--duration 5] [--rounds 3] [--connections 32] …
//
// What observability costs a real request (issue 6), in one run: GET
// /v1/tasks/{id} on three Tasklane processes over the seeded bench database —
// metrics off (METRICS_ENABLED=false), metrics on (the default), and metrics
// on with tracing exporting every request's spans (OTLP/HTTP to a local sink
// in this process) — in alternating rounds. The rate limiter is off in all
// three, so only observability differs. Prints the report and writes
// bench/results/observability-<UTC YYYY-MM-DD-HHMM>.md. See bench/README.md,
// "Observability overhead".
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { runCommand } from '../lib/cli.ts';
import { onInterrupt, openBenchDatabase, say } from '../lib/database.ts';
import { loadFixtures } from '../lib/fixtures.ts';
import { type Server, startServer } from '../lib/processes.ts';
import { failed, summarize } from '../lib/report.ts';
import {
  loadAverages,
  measureRounds,
  parseRoundOptions,
  type RoundVariant,
} from '../lib/rounds.ts';
import { buildScenarios } from '../lib/scenarios.ts';
import { checkScenarios, describeMachine, fetchPools, login } from '../lib/setup.ts';
import { tasklaneEnv } from '../lib/tasklane-env.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const USAGE = `usage: DATA_DIR=bench/data npm run bench:observability -- [options]

  --duration <s>      seconds per variant per round (default 5)
  --rounds <n>        alternating rounds, the order rotated each round (default 3)
  --connections <n>   concurrent connections (default 32)
  --warmup <s>        unrecorded seconds per variant before round 1 (default 2; 0 = none)
  --pool-size <n>     pg pool size of every server (default 10)
  --ids <n>           random task ids fetched for the requests (default 10000)
`;

/** Goals of issue 6: metrics cost < 5 %, metrics and tracing < 15 %, of the bare request. */
const GOALS: Readonly<Record<string, number>> = { 'metrics on': 5, 'metrics + tracing': 15 };

const parseOptions = () => parseRoundOptions(USAGE, '2');

/** An OTLP/HTTP collector that keeps nothing: it counts the spans it is sent and answers 200. */
async function startSpanSink(): Promise<{ url: string; spans: () => number; close(): void }> {
  let spans = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // Each span has one "spanId" key in the JSON encoding.
      spans += Buffer.concat(chunks).toString('utf8').split('"spanId"').length - 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans: () => spans, close: () => server.close() };
}

async function main(): Promise<number> {
  const options = parseOptions();
  const startedAt = new Date();
  const loadAtStart = loadAverages();
  const bench = await openBenchDatabase();
  const sink = await startSpanSink();
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
    const getTask = buildScenarios(pools).find((s) => s.name === 'get-task')!;
    const settings: [string, Record<string, string>][] = [
      ['metrics off', { METRICS_ENABLED: 'false' }],
      ['metrics on', {}],
      ['metrics + tracing', { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }],
    ];
    const variants: RoundVariant[] = [];
    for (const [name, extra] of settings) {
      const port = await freePort();
      const env = {
        ...tasklaneEnv({
          common: { DATABASE_URL: bench.url, DATABASE_POOL_SIZE: String(options.poolSize) },
          dataDir: bench.config.dataDir,
          port,
          logLevel: 'warn',
          limiter: 'off',
          connections: options.connections,
        }),
        JOBS_IN_PROCESS: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: '',
        ...extra,
      };
      const args = [path.join(ROOT, 'src', 'main.ts'), 'serve'];
      const server = await startServer({ name, args, env, port, readyPath: '/healthz' });
      started.push(server);
      say(`${name}: pid ${server.pid}, ${server.baseUrl}`);
      const headers = { authorization: `Bearer ${await login(server.baseUrl)}` };
      const urls = { hello: '', page: '', pk: '', tasklane: server.baseUrl };
      for (const [scenario, reason] of await checkScenarios([getTask], urls, headers)) {
        throw new Error(`${scenario} cannot run against "${name}": ${reason}`);
      }
      variants.push({ scenario: { ...getTask, name }, server, headers });
    }
    const { samples, orders } = await measureRounds(variants, options, () => stopping);
    if (stopping) {
      say('interrupted: no report written');
      return 130;
    }
    // The batch processor sends every 5 s: wait for the last batch before counting.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const summaries = variants.map((v) => summarize(v.scenario, samples));
    const base = summaries[0]!.requestsPerSecond;
    const rows = summaries.map((s) => {
      const cost = ((base - s.requestsPerSecond) / base) * 100;
      const goal = GOALS[s.scenario.name];
      const verdict =
        goal === undefined ? '' : cost < goal ? `met (< ${goal} %)` : `missed (≥ ${goal} %)`;
      return `| ${s.scenario.name} | ${Math.round(s.requestsPerSecond)} | ${s.p50Ms} | ${s.p99Ms} | ${s.scenario.name === 'metrics off' ? '—' : `${cost.toFixed(1)} %`} | ${verdict} |`;
    });
    const where = bench.config.databaseUrl
      ? 'DATABASE_URL=…'
      : `DATA_DIR=${path.relative(process.cwd(), bench.config.dataDir) || '.'}`;
    const args = process.argv.slice(2).join(' ');
    const report = [
      `# Observability overhead, ${startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}`,
      '',
      `- command: \`${where} npm run bench:observability${args ? ` -- ${args}` : ''}\``,
      ...machine.rows.map(([key, value]) => `- ${key}: ${value}`),
      `- dataset: ${dataset.tasks.toLocaleString('en-US')} tasks in ${dataset.projects} projects; ${pools.taskIds.length} random task ids`,
      `- load: autocannon, ${options.connections} connections, ${options.duration} s per variant, ${options.rounds} round(s) after ${options.warmup} s warm-up; rate limiter off, jobs off, LOG_LEVEL=warn, production mode`,
      `- tracing: every request sampled (parentbased_always_on); spans received by the sink: ${sink.spans().toLocaleString('en-US')}`,
      `- load average (1, 5, 15 min): ${loadAtStart} at the start; ${loadAverages()} at the end`,
      '',
      '| GET /v1/tasks/{id} | req/s (median) | p50 ms | p99 ms | cost vs metrics off | goal |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      'Round orders:',
      ...orders.map((o) => `- ${o}`),
      '',
    ].join('\n');
    const stamp = startedAt.toISOString().slice(0, 16).replace('T', '-').replace(':', '');
    const file = path.join(ROOT, 'bench', 'results', `observability-${stamp}.md`);
    writeFileSync(file, report);
    process.stdout.write(`\n${report}`);
    say(`report written to ${path.relative(process.cwd(), file)}`);
    const bad = summaries.some((s) => failed(s)) || sink.spans() === 0;
    if (bad) say('⚠ non-2xx responses, connection errors, or no span exported: see the report');
    return bad ? 1 : 0;
  } finally {
    await Promise.all(started.map((server) => server.stop()));
    sink.close();
    await bench.runtime.close();
  }
}

await runCommand(USAGE, main);
