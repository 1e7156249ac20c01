// The markdown report of bench/ratelimit/decisions.ts: medians over rounds,
// ratios taken within each round (then their median), and the two goals of
// issue 4 with an honest verdict.
import { median, table } from '../lib/report.ts';
import type { DriveResult } from './drive.ts';
import { HTTP_VARIANTS, type HttpVariant } from './http-variants.ts';
import type { Candidate, CandidateId } from './limiters.ts';

export type Mode = 'sequential' | 'concurrent' | 'hot';

export interface DecisionRow {
  readonly candidate: Candidate;
  /** Per mode, one result per round; a mode the row does not run is absent. */
  readonly results: Partial<Record<Mode, DriveResult[]>>;
}

export interface HttpSample {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

export interface RatelimitRun {
  readonly machine: readonly [string, string][];
  readonly concurrency: number;
  readonly keys: number;
  readonly connections: number;
  readonly rows: readonly DecisionRow[];
  readonly http: ReadonlyMap<HttpVariant, HttpSample[]>;
}

const count = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const micros = (n: number) =>
  !Number.isFinite(n) ? '–' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : count(n);
const millis = (n: number) => (Number.isFinite(n) ? String(Math.round(n * 100) / 100) : '–');
const times = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');
const verdict = (met: boolean) => (met ? 'met' : '**MISSED**');

const med = (results: readonly DriveResult[] | undefined, pick: (r: DriveResult) => number) =>
  results === undefined ? Number.NaN : median(results.map(pick));

function decisionTable(run: RatelimitRun): string[] {
  const c = run.concurrency;
  const header = [
    'limiter',
    '1 in flight: decisions/s',
    'p50 µs',
    'p99 µs',
    `${c} in flight: decisions/s`,
    'p50 µs',
    'p99 µs',
    `hot key, ${c} in flight: decisions/s`,
    'p99 µs',
  ];
  const rows = run.rows.map(({ candidate, results }) => [
    candidate.label,
    count(med(results.sequential, (r) => r.perSecond)),
    micros(med(results.sequential, (r) => r.p50Us)),
    micros(med(results.sequential, (r) => r.p99Us)),
    count(med(results.concurrent, (r) => r.perSecond)),
    micros(med(results.concurrent, (r) => r.p50Us)),
    micros(med(results.concurrent, (r) => r.p99Us)),
    count(med(results.hot, (r) => r.perSecond)),
    micros(med(results.hot, (r) => r.p99Us)),
  ]);
  return table(header, rows, ['left', ...Array<'right'>(8).fill('right')]);
}

function byRoundTable(run: RatelimitRun): string[] {
  const rounds = (results: readonly DriveResult[] | undefined) =>
    results === undefined ? '–' : results.map((r) => count(r.perSecond)).join(' / ');
  return table(
    ['limiter', '1 in flight', `${run.concurrency} in flight`, 'hot key'],
    run.rows.map(({ candidate, results }) => [
      candidate.label,
      rounds(results.sequential),
      rounds(results.concurrent),
      rounds(results.hot),
    ]),
  );
}

const p50 = (r: DriveResult) => r.p50Us;
const rps = (r: DriveResult) => r.perSecond;

/** Per round a ÷ b (or `combine`) of the same round, then the median and the list. */
function ratio(
  a: readonly DriveResult[] | undefined,
  b: readonly DriveResult[] | undefined,
  pick: (r: DriveResult) => number,
  combine = (x: number, y: number) => x / y,
) {
  const byRound = (a ?? []).flatMap((x, i) => {
    const y = b?.[i];
    return y === undefined ? [] : [combine(pick(x), pick(y))];
  });
  return { median: median(byRound), byRound };
}

function goals(run: RatelimitRun): string[] {
  const results = (id: CandidateId) => run.rows.find((r) => r.candidate.id === id)?.results;
  const ours = results('tasklane-redis');
  const time = results('evalsha-time');
  const rlflx = results('rlflx-redis');
  const c = run.concurrency;
  const checks = [
    {
      label: 'Tasklane Redis p50 ÷ bare EVALSHA `TIME` p50, 1 in flight',
      ...ratio(ours?.sequential, time?.sequential, p50),
      target: '≤ 1.20×',
      met: (x: number) => x <= 1.2,
    },
    {
      label: `bare EVALSHA \`TIME\` ÷ Tasklane Redis decisions/s, ${c} in flight`,
      ...ratio(time?.concurrent, ours?.concurrent, rps),
      target: '≤ 1.20×',
      met: (x: number) => x <= 1.2,
    },
    {
      label: 'Tasklane Redis p50 ÷ rate-limiter-flexible Redis p50, 1 in flight',
      ...ratio(ours?.sequential, rlflx?.sequential, p50),
      target: '≤ 1.00×',
      met: (x: number) => x <= 1,
    },
    {
      label: `rate-limiter-flexible Redis ÷ Tasklane Redis decisions/s, ${c} in flight`,
      ...ratio(rlflx?.concurrent, ours?.concurrent, rps),
      target: '≤ 1.00×',
      met: (x: number) => x <= 1,
    },
  ];
  return table(
    ['check', 'median (rounds)', 'target', ''],
    checks.map((check) => [
      check.label,
      `${times(check.median)} (${check.byRound.map(times).join(', ')})`,
      check.target,
      check.byRound.length > 0 ? verdict(check.met(check.median)) : 'not measured',
    ]),
  );
}

/** Where the gap between our Redis decision and the bare round trip goes, step by step. */
function attribution(run: RatelimitRun): string[] {
  const results = (id: CandidateId) => run.rows.find((r) => r.candidate.id === id)?.results;
  const ours = results('tasklane-redis');
  const gcra = results('evalsha-gcra');
  const time = results('evalsha-time');
  const step = (label: string, slower: typeof ours, faster: typeof ours) => {
    const added = ratio(slower?.sequential, faster?.sequential, p50, (a, b) => a - b);
    const factor = ratio(faster?.concurrent, slower?.concurrent, rps);
    const sign = added.median < 0 ? '−' : '+';
    return [label, `${sign}${micros(Math.abs(added.median))}`, times(factor.median)];
  };
  return table(
    [
      'step',
      'µs added to the p50, 1 in flight',
      `${run.concurrency} in flight: decisions/s without ÷ with the step`,
    ],
    [
      step('redis-gcra.lua instead of a bare `TIME` (bare GCRA vs bare TIME)', gcra, time),
      step("the store's client-side path (Tasklane Redis vs bare GCRA)", ours, gcra),
    ],
    ['left', 'right', 'right'],
  );
}

function httpTable(run: RatelimitRun): string[] {
  const bare = run.http.get('bare') ?? [];
  const rows = [...run.http].map(([variant, samples]) => {
    const overheadUs = median(
      samples.flatMap((s, i) => {
        const b = bare[i];
        return b === undefined ? [] : [1e6 / s.requestsPerSecond - 1e6 / b.requestsPerSecond];
      }),
    );
    const share = median(
      samples.flatMap((s, i) => {
        const b = bare[i];
        return b === undefined ? [] : [s.requestsPerSecond / b.requestsPerSecond];
      }),
    );
    return [
      `${variant}: ${HTTP_VARIANTS[variant]}`,
      count(median(samples.map((s) => s.requestsPerSecond))),
      samples.map((s) => count(s.requestsPerSecond)).join(' / '),
      millis(median(samples.map((s) => s.p50Ms))),
      millis(median(samples.map((s) => s.p99Ms))),
      variant === 'bare' ? '100 %' : `${Math.round(share * 100)} %`,
      variant === 'bare' ? '–' : micros(overheadUs),
      String(samples.reduce((n, s) => n + s.non2xx + s.errors, 0)),
    ];
  });
  return table(
    [
      'app',
      'req/s',
      'req/s by round',
      'p50 ms',
      'p99 ms',
      '÷ bare',
      'µs per request over bare',
      'non-2xx + errors',
    ],
    rows,
    ['left', 'right', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
}

function anomalies(run: RatelimitRun): string[] {
  const lines: string[] = [];
  for (const { candidate, results } of run.rows) {
    for (const [mode, list] of Object.entries(results)) {
      const refused = list.reduce((n, r) => n + r.refused, 0);
      const errors = list.reduce((n, r) => n + r.errors, 0);
      if (refused + errors > 0) {
        lines.push(`- ⚠ ${candidate.label}, ${mode}: ${refused} refused, ${errors} errors`);
      }
    }
  }
  return lines.length > 0
    ? lines
    : ['Every decision was made and admitted: no refusals, no errors.'];
}

export function renderReport(run: RatelimitRun): string {
  const legend = run.rows.map(({ candidate }) => `- **${candidate.label}**: ${candidate.about}`);
  return [
    '# Rate limiter decisions',
    '',
    ...table(
      ['', ''],
      run.machine.map(([key, value]) => [key, value]),
    ),
    '',
    `## One decision (medians over rounds; ${count(run.keys)} callers, hot key = 1 caller)`,
    '',
    ...decisionTable(run),
    '',
    ...anomalies(run),
    '',
    'Decisions/s by round:',
    '',
    ...byRoundTable(run),
    '',
    ...legend,
    '',
    '## Goals (issue 4): ratios within each round, then their median',
    '',
    ...goals(run),
    '',
    'Where the gap to the bare round trip goes (per round, then the median):',
    '',
    ...attribution(run),
    '',
    `## In a minimal Fastify app (autocannon, ${run.connections} connections, GET returning a small JSON object)`,
    '',
    ...httpTable(run),
    '',
    '"µs per request over bare" is 1/req/s of the variant minus 1/req/s of the bare app in the same round (median of rounds): the CPU time the limiter adds to a request on this machine, where the app, autocannon and Redis share the cores.',
    '',
  ].join('\n');
}
