// DATA_DIR=bench/data npm run bench:observability -- [--duration 8] [--rounds 4] [--sampled 0.1] [--cpu-prof] …
//
// What observability costs a real request (issue 6), in one run: GET
// /v1/tasks/{id} on three Tasklane processes over the seeded bench database —
// metrics off (METRICS_ENABLED=false), metrics on (the default), and metrics
// on with tracing exporting every request's spans (OTLP/HTTP JSON to a local
// sink, bench/observability/span-sink.ts) — and, with --sampled <ratio>, a
// fourth with tracing sampled at that ratio, in alternating rounds. The rate
// limiter and the job worker are off in all of them, so only observability
// differs. Prints the report and writes
// bench/results/observability-<UTC YYYY-MM-DD-HHMM>.md. See bench/README.md,
// "Observability overhead".
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { runCommand, UsageError } from '../lib/cli.ts';
import { onInterrupt, openBenchDatabase, say } from '../lib/database.ts';
import { loadFixtures } from '../lib/fixtures.ts';
import type { Sample } from '../lib/measure.ts';
import { type Server, startServer } from '../lib/processes.ts';
import {
  buckets,
  type CpuProfile,
  monotonicMicros,
  type Owner,
  RUNTIME,
  within,
} from '../lib/profile-owners.ts';
import { summarise } from '../lib/profile-summary.ts';
import { failed, median, ratio, reportHeader, summarize, table } from '../lib/report.ts';
import {
  loadAverages,
  measureRounds,
  parseRoundOptions,
  type RoundVariant,
} from '../lib/rounds.ts';
import { buildScenarios } from '../lib/scenarios.ts';
import { checkScenarios, describeMachine, fetchPools, login } from '../lib/setup.ts';
import { tasklaneEnv } from '../lib/tasklane-env.ts';
import type { SinkCounts } from './span-sink.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PROFILES = path.join(ROOT, 'bench', 'results', 'profiles');
const USAGE = `usage: DATA_DIR=bench/data npm run bench:observability -- [options]

  --duration <s>      seconds per variant per round (default 5)
  --rounds <n>        alternating rounds, the order rotated each round (default 3)
  --connections <n>   concurrent connections (default 32)
  --warmup <s>        unrecorded seconds per variant before round 1 (default 2; 0 = none)
  --pool-size <n>     pg pool size of every server (default 10)
  --ids <n>           random task ids fetched for the requests (default 10000)
  --sampled <ratio>   add a fourth variant: tracing with parentbased_traceidratio at
                      this ratio (0 < ratio < 1), what a busy production node would run
  --cpu-prof          profile every Tasklane process (node --cpu-prof) into
                      bench/results/profiles/ and compare their CPU per request by
                      owner in the report (the throughput figures are then not results)
`;

interface VariantSpec {
  readonly name: string;
  /** Its profile's and its sink path's name. */
  readonly slug: string;
  readonly env: (sinkUrl: string) => Record<string, string>;
  /** Issue 6: the most it may cost, as a share of metrics off's requests per second. */
  readonly goal?: number;
  /** The share of requests traced; 0: tracing off. */
  readonly traced: number;
}

/** Whatever the caller's environment says, observability starts off, then each variant turns on its part. */
const QUIET: Record<string, string> = {
  METRICS_ENABLED: 'true',
  METRICS_PORT: '',
  METRICS_TOKEN: '',
  OTEL_SDK_DISABLED: '',
  OTEL_TRACES_EXPORTER: '',
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
  OTEL_EXPORTER_OTLP_PROTOCOL: '',
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: '',
  OTEL_TRACES_SAMPLER: '',
  OTEL_TRACES_SAMPLER_ARG: '',
  OTEL_BSP_SCHEDULE_DELAY: '',
};

function variantSpecs(sampled: number | undefined): VariantSpec[] {
  const specs: VariantSpec[] = [
    {
      name: 'metrics off',
      slug: 'metrics-off',
      env: () => ({ METRICS_ENABLED: 'false' }),
      traced: 0,
    },
    { name: 'metrics on', slug: 'metrics-on', env: () => ({}), goal: 0.05, traced: 0 },
    {
      name: 'metrics + tracing',
      slug: 'tracing',
      // Every request: the sampler's default, parentbased_always_on (the worst case).
      env: (sink) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: `${sink}/tracing` }),
      goal: 0.15,
      traced: 1,
    },
  ];
  if (sampled !== undefined) {
    specs.push({
      name: `metrics + tracing ${sampled * 100} %`,
      slug: 'tracing-sampled',
      env: (sink) => ({
        OTEL_EXPORTER_OTLP_ENDPOINT: `${sink}/tracing-sampled`,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: String(sampled),
      }),
      traced: sampled,
    });
  }
  return specs;
}

function parseOptions() {
  const options = parseRoundOptions(USAGE, '2', {
    sampled: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  });
  const raw = options.extra.sampled as string | undefined;
  const sampled = raw === undefined ? undefined : Number(raw);
  if (sampled !== undefined && !(sampled > 0 && sampled < 1)) {
    throw new UsageError('--sampled is a ratio between 0 and 1, e.g. 0.1');
  }
  return { ...options, sampled, cpuProf: options.extra['cpu-prof'] === true };
}

interface Variant extends RoundVariant {
  readonly spec: VariantSpec;
  readonly profile?: string;
}

/** The sum of every series of `metric` in a Prometheus exposition. */
function total(exposition: string, metric: string): number {
  let sum = 0;
  for (const [, value] of exposition.matchAll(
    new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'),
  ))
    sum += Number(value);
  return sum;
}

/**
 * Where a request's CPU goes, by the nearest owner up each sample's stack
 * (bench/lib/profile-owners.ts): a socket write lands with whoever wrote, a
 * JSON.stringify with whoever serialised.
 */
const OWNERS: readonly Owner[] = [
  [
    'tracing: OTLP export (JSON, HTTP to the sink)',
    (pkg) =>
      pkg === '@opentelemetry/otlp-transformer' ||
      pkg === '@opentelemetry/otlp-exporter-base' ||
      pkg === '@opentelemetry/exporter-trace-otlp-http',
  ],
  [
    'tracing: spans (OpenTelemetry SDK: ids, attributes, batching)',
    (pkg) =>
      pkg === '@opentelemetry/sdk-trace' ||
      pkg === '@opentelemetry/core' ||
      pkg === '@opentelemetry/resources',
  ],
  [
    'tracing: our span helpers (tracing.ts)',
    (_, url) => url.endsWith('/src/observability/tracing.ts'),
  ],
  [
    'async context (@opentelemetry/api, AsyncLocalStorage)',
    (pkg) => pkg === '@opentelemetry/api' || pkg === '@opentelemetry/context-async-hooks',
  ],
  ['metrics: prom-client', (pkg) => pkg === 'prom-client'],
  [
    'metrics: our hooks (http-metrics.ts, error-ranking.ts)',
    (_, url) =>
      url.endsWith('/src/observability/http-metrics.ts') ||
      url.endsWith('/src/observability/error-ranking.ts'),
  ],
  [
    'query observer (query-observer.ts)',
    (_, url) => url.endsWith('/src/observability/query-observer.ts'),
  ],
  ['pg driver', (pkg) => /^(pg|pg-\w+|postgres-\w+)$/.test(pkg)],
  ['our pg wrapper (src/db)', (pkg) => pkg === 'src/db'],
  ['Kysely', (pkg) => pkg === 'kysely'],
  ['JWT (jose)', (pkg) => pkg === 'jose'],
  [
    'logging (pino)',
    (pkg) => /^(pino|@pinojs\/.*|sonic-boom|pino-std-serializers|thread-stream)$/.test(pkg),
  ],
  [
    'Fastify (routing, hooks, schemas, serialisation)',
    (pkg) =>
      /^(fastify|@fastify\/.*|find-my-way|fast-json-stringify|avvio|ajv|ajv-formats|fast-uri|light-my-request|safe-regex2|ret|json-schema-ref-resolver)$/.test(
        pkg,
      ),
  ],
  ['other src/', (pkg) => pkg.startsWith('src/')],
];

const count = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : '–');
const signed = (n: number) => (n > 0 ? `+${n.toFixed(0)}` : n.toFixed(0));

/** Median over rounds of the server's CPU µs per response. */
function cpuPerRequest(samples: readonly Sample[], cpu: ReadonlyMap<Sample, number>) {
  const perRound = samples
    .filter((s) => cpu.has(s) && s.responses > 0)
    .map((s) => (cpu.get(s)! / s.responses) * 1e6);
  return { median: median(perRound), byRound: perRound };
}

/** The profiles side by side: CPU µs per request by owner, and the differences that are the overhead. */
function profileComparison(
  profiled: readonly { name: string; file: string; requests: number }[],
  window: { readonly fromUs: number; readonly toUs: number },
) {
  const perRequest = profiled.map(({ file, requests }) => {
    const whole = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const totals = buckets(within(whole, window.fromUs, window.toUs), OWNERS);
    totals.delete('(idle)');
    return new Map([...totals].map(([owner, us]) => [owner, us / requests]));
  });
  const owners = [...new Set(perRequest.flatMap((m) => [...m.keys()]))];
  const at = (i: number, owner: string) => perRequest[i]?.get(owner) ?? 0;
  const names = profiled.map((p) => p.name);
  const off = names.indexOf('metrics off');
  const on = names.indexOf('metrics on');
  const traced = names.indexOf('metrics + tracing');
  const sortBy = traced >= 0 ? traced : perRequest.length - 1;
  owners.sort((a, b) => at(sortBy, b) - at(sortBy, a));
  const diffs: [string, number, number][] = [];
  if (on >= 0 && off >= 0) diffs.push(['metrics on − off', on, off]);
  if (traced >= 0 && on >= 0) diffs.push(['tracing − metrics on', traced, on]);
  const row = (label: string, value: (i: number) => number) => [
    label,
    ...perRequest.map((_, i) => value(i).toFixed(0)),
    ...diffs.map(([, a, b]) => signed(value(a) - value(b))),
  ];
  const busy = (i: number) => [...perRequest[i]!.values()].reduce((x, y) => x + y, 0);
  return table(
    ['owner (nearest up the stack), µs per request', ...names, ...diffs.map(([label]) => label)],
    [row('**busy, all owners**', busy), ...owners.map((owner) => row(owner, (i) => at(i, owner)))],
    ['left', ...names.map(() => 'right' as const), ...diffs.map(() => 'right' as const)],
  );
}

async function main(): Promise<number> {
  const options = parseOptions();
  const startedAt = new Date();
  const stamp = startedAt.toISOString().slice(0, 16).replace('T', '-').replace(':', '');
  const loadAtStart = loadAverages();
  const bench = await openBenchDatabase();
  let stopping = false;
  onInterrupt(() => {
    stopping = true;
  });
  const started: Server[] = [];
  try {
    const sinkPort = await freePort();
    const sink = await startServer({
      name: 'span sink',
      args: [path.join(ROOT, 'bench', 'observability', 'span-sink.ts')],
      env: { ...process.env, PORT: String(sinkPort) },
      port: sinkPort,
      readyPath: '/counts',
    });
    started.push(sink);
    const { pools, dataset } = await fetchPools(
      bench.db,
      await loadFixtures(bench.db),
      options.ids,
    );
    const machine = await describeMachine(bench);
    const getTask = buildScenarios(pools).find((s) => s.name === 'get-task')!;
    if (options.cpuProf) mkdirSync(PROFILES, { recursive: true });
    const variants: Variant[] = [];
    for (const spec of variantSpecs(options.sampled)) {
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
        ...QUIET,
        ...spec.env(sink.baseUrl),
      };
      const profile = options.cpuProf
        ? `observability-${stamp}-${spec.slug}.cpuprofile`
        : undefined;
      const args = [
        ...(profile
          ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`, `--cpu-prof-name=${profile}`]
          : []),
        path.join(ROOT, 'src', 'main.ts'),
        'serve',
      ];
      const server = await startServer({ name: spec.name, args, env, port, readyPath: '/healthz' });
      started.push(server);
      say(`${spec.name}: pid ${server.pid}, ${server.baseUrl}`);
      const headers = { authorization: `Bearer ${await login(server.baseUrl)}` };
      const urls = { hello: '', page: '', pk: '', tasklane: server.baseUrl };
      for (const [scenario, reason] of await checkScenarios([getTask], urls, headers)) {
        throw new Error(`${scenario} cannot run against "${spec.name}": ${reason}`);
      }
      // The switch took: /metrics is there exactly when metrics are on.
      const metricsStatus = (await fetch(`${server.baseUrl}/metrics`)).status;
      if ((metricsStatus === 200) !== (spec.name !== 'metrics off')) {
        throw new Error(`"${spec.name}" answered GET /metrics with ${metricsStatus}`);
      }
      variants.push({ scenario: { ...getTask, name: spec.name }, server, headers, spec, profile });
    }
    // The profiles are read for this window only: no start-up, login or shutdown.
    const fromUs = monotonicMicros();
    const { samples, orders, warmups, cpuSeconds } = await measureRounds(
      variants,
      options,
      () => stopping,
    );
    const window = { fromUs, toUs: monotonicMicros() };
    if (stopping) {
      say('interrupted: no report written');
      return 130;
    }

    // Spans made, from each traced process's own counters: one per request, one per statement.
    const made = new Map<string, { requests: number; statements: number }>();
    for (const v of variants) {
      if (v.spec.traced === 0) continue;
      const text = await (await fetch(`${v.server.baseUrl}/metrics`)).text();
      made.set(v.spec.slug, {
        requests: total(text, 'http_requests_total'),
        statements: total(text, 'db_query_duration_seconds_count'),
      });
    }
    // A graceful stop flushes the span queue (and writes the profiles).
    await Promise.all(variants.map((v) => v.server.stop()));
    const received = (await (await fetch(`${sink.baseUrl}/counts`)).json()) as Record<
      string,
      SinkCounts
    >;

    const summaries = variants.map((v) => summarize(v.scenario, samples));
    const base = variants[0]!.scenario.name;
    const right = 'right' as const;
    const results = variants.map((v, i) => {
      const s = summaries[i]!;
      const mine = samples.filter((x) => x.scenario === v.scenario.name);
      const cpu = cpuPerRequest(mine, cpuSeconds);
      const share = ratio(samples, v.scenario.name, base);
      const cost = { median: 1 - share.median, byRound: share.byRound.map((r) => 1 - r) };
      const baseCpu = cpuPerRequest(
        samples.filter((x) => x.scenario === base),
        cpuSeconds,
      ).median;
      const clean = !failed(s) && !failed(summaries[0]!) && share.byRound.length > 0;
      const goal = v.spec.goal;
      return [
        `${v.scenario.name}${failed(s) ? ' ⚠' : ''}`,
        count(s.requestsPerSecond),
        String(s.p50Ms),
        String(s.p99Ms),
        mine.map((x) => count(x.requestsPerSecond)).join(', '),
        i === 0 ? '—' : `**${pct(cost.median)}** (${cost.byRound.map(pct).join(', ')})`,
        `${count(cpu.median)} (${cpu.byRound.map(count).join(', ')})`,
        i === 0 ? '—' : `${cpu.median >= baseCpu ? '+' : ''}${pct(cpu.median / baseCpu - 1)}`,
        goal === undefined
          ? i === 0
            ? 'baseline'
            : 'for comparison'
          : !clean
            ? 'not measured (errors)'
            : cost.median < goal
              ? `met (< ${goal * 100} %)`
              : `**MISSED** (≥ ${goal * 100} %)`,
      ];
    });
    const spans = variants
      .filter((v) => v.spec.traced > 0)
      .map((v) => {
        const m = made.get(v.spec.slug)!;
        const got = received[v.spec.slug] ?? { exports: 0, spans: 0, bytes: 0 };
        const expected = (m.requests + m.statements) * v.spec.traced;
        return [
          v.scenario.name,
          count(m.requests),
          count(m.statements),
          `${(m.statements / m.requests).toFixed(2)}`,
          count(expected),
          count(got.spans),
          pct(got.spans / expected),
          count(got.exports),
          `${(got.bytes / 2 ** 20).toFixed(0)} MB (${(got.bytes / Math.max(1, got.spans)).toFixed(0)} B a span)`,
        ];
      });
    const profiled = variants
      .filter((v) => v.profile !== undefined)
      .map((v) => ({
        name: v.scenario.name,
        file: path.join(PROFILES, v.profile!),
        // Everything it answered while profiled: the warm-up and every round.
        requests: [...warmups, ...samples]
          .filter((x) => x.scenario === v.scenario.name)
          .reduce((n, x) => n + x.responses, 0),
      }));
    const where = bench.config.databaseUrl
      ? 'DATABASE_URL=…'
      : `DATA_DIR=${path.relative(process.cwd(), bench.config.dataDir) || '.'}`;
    const args = process.argv.slice(2).join(' ');
    const report = [
      ...reportHeader(
        'Observability overhead: GET /v1/tasks/{id} with metrics off, on, and with tracing',
        [
          ['started (UTC)', startedAt.toISOString().replace(/\.\d+Z$/, 'Z')],
          ['command', `\`${where} npm run bench:observability${args ? ` -- ${args}` : ''}\``],
          ...machine.rows,
          [
            'dataset',
            `${dataset.tasks.toLocaleString('en-US')} tasks (${dataset.liveTasks.toLocaleString('en-US')} live) in ${dataset.projects} projects; ${pools.taskIds.length} random task ids requested`,
          ],
          [
            'load',
            `autocannon, ${options.connections} connections, ${options.duration} s per variant, ${options.rounds} alternating round(s) after ${options.warmup} s warm-up each; pg pool ${options.poolSize} in every server; Tasklane in production mode, LOG_LEVEL=warn, rate limiter off, JOBS_IN_PROCESS=false${options.cpuProf ? '; **--cpu-prof: every process profiled, so these rates are not results**' : ''}`,
          ],
          [
            'tracing',
            'OTLP/HTTP JSON to bench/observability/span-sink.ts (its own process, answers 200 at once), batch span processor defaults (512 a batch, queue 2048, OTEL_BSP_SCHEDULE_DELAY 5000 ms); "metrics + tracing" samples every request (parentbased_always_on, the default: the worst case)',
          ],
          [
            'load average (1, 5, 15 min)',
            `${loadAtStart} at the start; ${loadAverages()} at the end`,
          ],
        ],
        machine.memory,
      ),
      '## Results (medians over rounds; costs within each round, then their median)',
      '',
      'Cost = 1 − the variant’s req/s ÷ metrics off’s req/s in the same round. CPU is the server process’s user + system time over each sample (`/proc/<pid>/stat`) per response, the median of the rounds: steadier than req/s when something else shares the machine.',
      '',
      ...table(
        [
          'GET /v1/tasks/{id}',
          'req/s',
          'p50 ms',
          'p99 ms',
          'req/s by round',
          'cost vs metrics off (rounds)',
          'CPU µs per request (rounds)',
          'CPU vs metrics off',
          'goal (issue 6)',
        ],
        results,
        ['left', right, right, right, 'left', right, right, right],
      ),
      '',
      `Order of the rounds: ${orders.join('; ')}.`,
      '',
      '## Spans exported',
      '',
      'Made: the traced process’s own `http_requests_total` and `db_query_duration_seconds_count` (a span for each request, one for each SQL statement), times the sampled share; received: `"spanId"` keys counted by the sink, after the processes stopped (a graceful stop flushes the queue). Fewer received than made means the batch processor dropped spans from a full queue.',
      '',
      ...table(
        [
          'variant',
          'requests',
          'SQL statements',
          'statements a request',
          'spans made',
          'spans received',
          'received ÷ made',
          'exports',
          'sent',
        ],
        spans,
        ['left', right, right, right, right, right, right, right, right],
      ),
      '',
    ];
    if (profiled.length > 0) {
      report.push(
        '## CPU profiles (`--cpu-prof`)',
        '',
        `Each process's samples from the start of the warm-up to the end of the last round (start-up, login and shutdown left out), divided by the requests it answered meanwhile (${profiled.map((p) => `${p.name} ${count(p.requests)}`).join(', ')}). The profiler slows every process, so read the differences, not the totals. Files: ${profiled.map((p) => `\`${path.relative(ROOT, p.file)}\``).join(', ')}.`,
        '',
        ...profileComparison(profiled, window),
        '',
        `"${RUNTIME}" holds Node's HTTP parser and socket handling for the requests, among other things.`,
        '',
      );
      const traced = profiled.find((p) => p.name === 'metrics + tracing');
      if (traced) {
        report.push(
          `### ${traced.name}: self time (bench/lib/profile-summary.ts)`,
          '',
          summarise(
            within(
              JSON.parse(readFileSync(traced.file, 'utf8')) as Parameters<typeof summarise>[0],
              window.fromUs,
              window.toUs,
            ),
            15,
          ),
        );
      }
    }
    const text = report.join('\n');
    const file = path.join(ROOT, 'bench', 'results', `observability-${stamp}.md`);
    writeFileSync(file, text);
    process.stdout.write(`\n${text}`);
    say(`report written to ${path.relative(process.cwd(), file)}`);
    const noSpans = variants.some(
      (v) => v.spec.traced > 0 && (received[v.spec.slug]?.spans ?? 0) === 0,
    );
    const bad = summaries.some((s) => failed(s)) || noSpans;
    if (bad) say('⚠ non-2xx responses, connection errors, or no span exported: see the report');
    return bad ? 1 : 0;
  } finally {
    await Promise.all(started.map((server) => server.stop()));
    await bench.runtime.close();
  }
}

await runCommand(USAGE, main);
