// The markdown report of bench/jobs/throughput.ts: jobs/s per variant and mode
// (medians over rounds, every round listed), Tasklane as a share of the bare
// graphile-worker ceiling taken within each round (then the median), the
// enqueue-only rates, enqueue → start latency, and anything left in a queue.
import type { Latency } from '../lib/completions.ts';
import type { QueueCounts } from '../lib/queue.ts';
import { median, reportHeader, table } from '../lib/report.ts';

/** Issue 5: Tasklane's jobs/s at least this share of the bare ceiling's. */
export const GOAL = 0.8;

export const MODES = ['end-to-end', 'drain', 'paced'] as const;
export type Mode = (typeof MODES)[number];
export const VARIANTS = ['bare', 'tasklane'] as const;
export type VariantName = (typeof VARIANTS)[number];

export const MODE_TEXT: Record<Mode, string> = {
  'end-to-end':
    'enqueuers and worker at once: first BEGIN → last handler done (the issue’s figure)',
  drain:
    'jobs queued while the worker was frozen (SIGSTOP), then thawed: SIGCONT → last handler done; the enqueue rate here is enqueue alone',
  paced: 'queued at a fixed rate far below capacity: enqueue → start latency without a backlog',
};

export interface Measurement {
  readonly variant: VariantName;
  readonly mode: Mode;
  readonly round: number;
  readonly jobs: number;
  readonly jobsPerSecond: number;
  /** Jobs queued per second by the enqueuers (first BEGIN → last COMMIT). */
  readonly enqueuePerSecond: number;
  /** Enqueue (before BEGIN) → handler start. */
  readonly latency: Latency;
  /**
   * CPU time per job, µs: the worker child's (from `expect` to its last job)
   * and this process's while it enqueued. Less noisy than wall-clock rates on a
   * shared machine: a busy neighbour adds far more to a process's wall-clock time
   * than to its CPU time.
   */
  readonly workerCpuPerJob: number;
  readonly enqueuerCpuPerJob: number;
  /** What was left in the queue once the round's handlers were done. */
  readonly left: QueueCounts;
  /** 1-minute load average at the end of the measurement. */
  readonly load: number;
}

export interface ThroughputRun {
  readonly details: readonly [string, string][];
  readonly freeMemory: string;
  readonly measurements: readonly Measurement[];
  readonly orders: readonly string[];
  readonly notes: readonly string[];
}

const count = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : '–');
const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '–');
const label = (v: VariantName) =>
  v === 'bare' ? 'ceiling: bare graphile-worker' : 'Tasklane (enqueueJob + startWorker)';

const of = (run: ThroughputRun, mode: Mode, variant: VariantName) =>
  run.measurements.filter((m) => m.mode === mode && m.variant === variant);

/** Tasklane ÷ bare of `value`, round by round, then the median. */
export function ratioByRound(
  measurements: readonly Measurement[],
  mode: Mode,
  value: (m: Measurement) => number,
) {
  const byRound: number[] = [];
  for (const round of [...new Set(measurements.map((m) => m.round))].sort((a, b) => a - b)) {
    const find = (v: VariantName) =>
      measurements.find((m) => m.round === round && m.mode === mode && m.variant === v);
    const [top, bottom] = [find('tasklane'), find('bare')];
    if (top && bottom && value(bottom) > 0) byRound.push(value(top) / value(bottom));
  }
  return { median: median(byRound), byRound };
}

const clean = (ms: readonly Measurement[]) =>
  ms.length > 0 && ms.every((m) => m.left.jobs === 0 && m.left.errored === 0);

function resultRows(run: ThroughputRun, mode: Mode): string[][] {
  return VARIANTS.map((variant) => {
    const ms_ = of(run, mode, variant);
    const left = ms_.reduce((sum, m) => sum + m.left.jobs, 0);
    const errored = ms_.reduce((sum, m) => sum + m.left.errored, 0);
    return [
      `${label(variant)}${clean(ms_) ? '' : ' ⚠'}`,
      count(median(ms_.map((m) => m.jobsPerSecond))),
      ms_.map((m) => count(m.jobsPerSecond)).join(', '),
      count(median(ms_.map((m) => m.enqueuePerSecond))),
      // In the drain mode the jobs waited for the thaw: no latency to speak of.
      mode === 'drain' ? '–' : ms(median(ms_.map((m) => m.latency.p50))),
      mode === 'drain' ? '–' : ms(median(ms_.map((m) => m.latency.p99))),
      count(median(ms_.map((m) => m.workerCpuPerJob))),
      count(median(ms_.map((m) => m.enqueuerCpuPerJob))),
      `${left} / ${errored}`,
    ];
  });
}

export function renderReport(run: ThroughputRun): string {
  const right = 'right' as const;
  const sections = MODES.filter((mode) => run.measurements.some((m) => m.mode === mode)).flatMap(
    (mode) => [
      `### ${mode}: ${MODE_TEXT[mode]}`,
      '',
      ...table(
        [
          'variant',
          'jobs/s',
          'jobs/s by round',
          'enqueued/s',
          'enqueue → start p50 ms',
          'p99 ms',
          'worker CPU µs/job',
          'enqueuer CPU µs/job',
          'left in queue / errored',
        ],
        resultRows(run, mode),
        ['left', right, 'left', right, right, right, right, right, right],
      ),
      '',
    ],
  );
  const ratioRow = (what: string, mode: Mode, value: (m: Measurement) => number, goal: boolean) => {
    const r = ratioByRound(run.measurements, mode, value);
    const measured =
      r.byRound.length > 0 && clean(of(run, mode, 'bare')) && clean(of(run, mode, 'tasklane'));
    return [
      what,
      `${pct(r.median)} (${r.byRound.map(pct).join(', ')})`,
      goal ? `≥ ${GOAL * 100} %` : '–',
      goal ? (!measured ? 'not measured' : r.median >= GOAL ? 'met' : '**MISSED**') : '',
    ];
  };
  const has = (mode: Mode) => run.measurements.some((m) => m.mode === mode);
  const ratios = [
    ...(has('end-to-end')
      ? [ratioRow('jobs/s end to end', 'end-to-end', (m) => m.jobsPerSecond, true)]
      : []),
    ...(has('drain')
      ? [
          ratioRow('jobs/s, drain only (worker cost)', 'drain', (m) => m.jobsPerSecond, false),
          ratioRow(
            'jobs queued/s, worker frozen (enqueue cost)',
            'drain',
            (m) => m.enqueuePerSecond,
            false,
          ),
        ]
      : []),
    ...(has('end-to-end')
      ? [
          ratioRow(
            'jobs queued/s during end to end',
            'end-to-end',
            (m) => m.enqueuePerSecond,
            false,
          ),
        ]
      : []),
    // CPU per job inverted, so that it reads like the rates: 50 % = twice the CPU per job.
    ...(has('drain')
      ? [
          ratioRow(
            'worker CPU per job, drain (ceiling ÷ Tasklane)',
            'drain',
            (m) => 1 / m.workerCpuPerJob,
            false,
          ),
          ratioRow(
            'enqueuer CPU per job, worker frozen (ceiling ÷ Tasklane)',
            'drain',
            (m) => 1 / m.enqueuerCpuPerJob,
            false,
          ),
        ]
      : []),
  ];
  const perRound = run.measurements.map((m) => [
    String(m.round),
    m.mode,
    m.variant,
    String(m.jobs),
    count(m.jobsPerSecond),
    count(m.enqueuePerSecond),
    ms(m.latency.p50),
    ms(m.latency.p99),
    ms(m.latency.max),
    count(m.workerCpuPerJob),
    count(m.enqueuerCpuPerJob),
    `${m.left.jobs} / ${m.left.errored}`,
    m.load.toFixed(2),
  ]);
  return [
    ...reportHeader(
      'Job queue throughput: Tasklane against bare graphile-worker',
      run.details,
      run.freeMemory,
    ),
    '## Results (medians over rounds)',
    '',
    ...sections,
    '## Tasklane ÷ ceiling (within each round, then the median)',
    '',
    ...table(['figure', 'Tasklane ÷ ceiling (rounds)', 'goal', 'verdict'], ratios, ['left', right]),
    '',
    ...(run.notes.length > 0 ? ['## Notes', '', ...run.notes.map((n) => `- ${n}`), ''] : []),
    '## Every measurement',
    '',
    `Order: ${run.orders.join('; ')}.`,
    '',
    ...table(
      [
        'round',
        'mode',
        'variant',
        'jobs',
        'jobs/s',
        'enqueued/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'worker CPU µs/job',
        'enqueuer CPU µs/job',
        'left / errored',
        'load (1 min)',
      ],
      perRound,
      [
        'right',
        'left',
        'left',
        right,
        right,
        right,
        right,
        right,
        right,
        right,
        right,
        right,
        right,
      ],
    ),
    '',
  ].join('\n');
}
