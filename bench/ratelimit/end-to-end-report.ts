// The markdown report of bench/ratelimit/end-to-end.ts: medians over rounds, the
// ratios to the pk ceiling and to the limiter-off process taken within each round
// (then their median), and issue 4's goal with a verdict per limiter.
import type { Sample } from '../lib/measure.ts';
import { failed, ratio, reportHeader, summarize, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenarios.ts';

/** Issue 4: the limiter costs less than this share of end-to-end throughput. */
export const GOAL = 0.1;

/** What the limiter of one Tasklane process counted (GET /metrics). */
export interface LimiterCounters {
  /** Decisions by outcome: allowed, limited, unavailable. */
  readonly decisions: Readonly<Record<string, number>>;
  readonly storeErrors: number;
}

export interface EndToEndRun {
  readonly machine: readonly [string, string][];
  readonly freeMemory: string;
  /** The ceiling first, then get-task with the limiter off, then the limiters. */
  readonly scenarios: readonly Scenario[];
  readonly samples: readonly Sample[];
  /** The order of each round, as text. */
  readonly orders: readonly string[];
  /** By scenario name, for the Tasklane processes whose limiter is on. */
  readonly counters: ReadonlyMap<string, LimiterCounters>;
}

const count = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : '–');
const withRounds = (r: { median: number; byRound: number[] }) =>
  `${pct(r.median)} (${r.byRound.map(pct).join(', ')})`;

export function renderReport(run: EndToEndRun): string {
  const [ceiling, off, ...limiters] = run.scenarios.map((s) => summarize(s, run.samples));
  const decisions = (name: string) => {
    const counted = run.counters.get(name);
    if (counted === undefined) return '– (limiter off)';
    const outcomes = Object.entries(counted.decisions).map(([k, n]) => `${k} ${count(n)}`);
    return `${outcomes.join(', ') || 'none'}; store errors ${counted.storeErrors}`;
  };
  const results = [ceiling!, off!, ...limiters].map((s) => [
    `${s.scenario.name}${failed(s) ? ' ⚠' : ''}`,
    count(s.requestsPerSecond),
    String(s.p50Ms),
    String(s.p99Ms),
    String(s.non2xx),
    String(s.errors),
    s.samples.map((x) => count(x.requestsPerSecond)).join(', '),
    s === ceiling
      ? '100 %'
      : withRounds(ratio(run.samples, s.scenario.name, ceiling!.scenario.name)),
    decisions(s.scenario.name),
  ]);
  const goals = limiters.map((s) => {
    const share = ratio(run.samples, s.scenario.name, off!.scenario.name);
    const cost = { median: 1 - share.median, byRound: share.byRound.map((r) => 1 - r) };
    const clean = !failed(s) && !failed(off!) && share.byRound.length > 0;
    const storeErrors = run.counters.get(s.scenario.name)?.storeErrors ?? 0;
    return [
      s.scenario.name,
      withRounds(cost),
      `${s.p99Ms} / ${off!.p99Ms}`,
      `< ${GOAL * 100} %`,
      !clean || storeErrors > 0
        ? 'not measured (errors)'
        : cost.median < GOAL
          ? 'met'
          : '**MISSED**',
    ];
  });
  const right = 'right' as const;
  return [
    ...reportHeader(
      'Rate limiter end to end: GET /v1/tasks/{id} without and with the limiter',
      run.machine,
      run.freeMemory,
    ),
    '## Results (medians over rounds; ratios within each round, then their median)',
    '',
    ...table(
      [
        'variant',
        'req/s',
        'p50 ms',
        'p99 ms',
        'non-2xx',
        'errors',
        'req/s by round',
        '÷ ceiling-pk (rounds)',
        'limiter decisions (its /metrics, whole run)',
      ],
      results,
      ['left', right, right, right, right, right, 'left', right],
    ),
    '',
    `Order of the rounds (rotated, and each variant follows a different one every round): ${run.orders.join('; ')}.`,
    '',
    `## Goal (issue 4): the limiter costs < ${GOAL * 100} % of end-to-end throughput`,
    '',
    'Cost = 1 − get-task req/s with the limiter ÷ get-task req/s with it off, within each round; the median of the rounds.',
    '',
    ...table(['limiter', 'cost (rounds)', 'p99 ms, limiter / off', 'goal', 'verdict'], goals, [
      'left',
      right,
      right,
    ]),
    '',
  ].join('\n');
}
