// The verdict and report of bench/jobs/soak.ts: the worker's RSS at the end of
// warm-up (the first sample once the warm-up share of jobs is done) against
// every later sample, the V8 heap alongside it (a leak in JS objects shows there
// first; RSS also holds code, buffers and free heap pages V8 has not returned),
// and every sample as a table and as CSV.
import type { MemorySample } from '../lib/completions.ts';
import { reportHeader, table } from '../lib/report.ts';

export interface SoakAnalysis {
  /** The sample that ends warm-up; undefined if the run never got that far. */
  readonly warmup: MemorySample | undefined;
  /** The sample with the most RSS after warm-up. */
  readonly peak: MemorySample | undefined;
  /** peak.rss ÷ warmup.rss − 1. */
  readonly growth: number;
  readonly limit: number;
  /** undefined: not measured (no sample after warm-up). */
  readonly passed: boolean | undefined;
  /** Least-squares slope after warm-up, bytes per 10 000 jobs. */
  readonly rssSlope: number;
  readonly heapUsedSlope: number;
  /** heapUsed at warm-up, its most after, and at the last sample. */
  readonly heapUsed: { readonly warmup: number; readonly max: number; readonly last: number };
}

/** The slope of y over x by least squares. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

export function analyse(
  samples: readonly MemorySample[],
  run: { readonly jobs: number; readonly warmupShare: number; readonly limit: number },
): SoakAnalysis {
  const index = samples.findIndex((s) => s.done >= run.jobs * run.warmupShare);
  const warmup = index >= 0 ? samples[index] : undefined;
  const after = index >= 0 ? samples.slice(index + 1) : [];
  const peak = after.reduce<MemorySample | undefined>(
    (top, s) => (top === undefined || s.rss > top.rss ? s : top),
    undefined,
  );
  const growth = warmup && peak ? peak.rss / warmup.rss - 1 : Number.NaN;
  const per10k = (value: (s: MemorySample) => number) =>
    slope(after.map((s) => [s.done / 10_000, value(s)] as const));
  return {
    warmup,
    peak,
    growth,
    limit: run.limit,
    passed: warmup && peak ? growth <= run.limit : undefined,
    rssSlope: per10k((s) => s.rss),
    heapUsedSlope: per10k((s) => s.heapUsed),
    heapUsed: {
      warmup: warmup?.heapUsed ?? Number.NaN,
      max: Math.max(...after.map((s) => s.heapUsed)),
      last: after.at(-1)?.heapUsed ?? Number.NaN,
    },
  };
}

const mb = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 2 ** 20).toFixed(1) : '–');
const signedMb = (bytes: number) =>
  Number.isFinite(bytes) ? `${bytes >= 0 ? '+' : '−'}${mb(Math.abs(bytes))}` : '–';
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : '–');

export function samplesCsv(samples: readonly MemorySample[]): string {
  const t0 = samples[0]?.at ?? 0;
  const header =
    'seconds,jobs_done,rss_bytes,heap_used_bytes,heap_total_bytes,new_space_used_bytes,old_space_used_bytes,external_bytes,array_buffers_bytes';
  const rows = samples.map((s) =>
    [
      ((s.at - t0) / 1000).toFixed(1),
      s.done,
      s.rss,
      s.heapUsed,
      s.heapTotal,
      s.newSpaceUsed,
      s.oldSpaceUsed,
      s.external,
      s.arrayBuffers,
    ].join(','),
  );
  return `${[header, ...rows].join('\n')}\n`;
}

export interface SoakRun {
  /** Whose worker: "Tasklane worker", "bare graphile-worker (control)". */
  readonly title: string;
  readonly details: readonly [string, string][];
  readonly freeMemory: string;
  readonly analysis: SoakAnalysis;
  readonly samples: readonly MemorySample[];
  readonly limitPercent: number;
  readonly warmupPercent: number;
}

export function renderSoakReport(run: SoakRun): string {
  const a = run.analysis;
  const verdict = a.passed === undefined ? 'not measured' : a.passed ? 'met' : '**MISSED**';
  const t0 = run.samples[0]?.at ?? 0;
  const right = 'right' as const;
  const rows = run.samples.map((s) => [
    ((s.at - t0) / 1000).toFixed(0),
    s.done.toLocaleString('en-US'),
    mb(s.rss),
    mb(s.heapUsed),
    mb(s.heapTotal),
    mb(s.newSpaceUsed),
    mb(s.oldSpaceUsed),
    mb(s.external),
    s === a.warmup ? 'end of warm-up' : s === a.peak ? 'peak RSS after warm-up' : '',
  ]);
  return [
    ...reportHeader(
      `Job queue soak: ${run.title} memory over many jobs`,
      run.details,
      run.freeMemory,
    ),
    `## Verdict (issue 5): RSS after warm-up (the first ${run.warmupPercent} % of jobs) within ${run.limitPercent} % of its level then`,
    '',
    ...table(
      ['check', 'value', 'goal', 'verdict'],
      [
        [
          'RSS at the end of warm-up',
          a.warmup
            ? `${mb(a.warmup.rss)} MB (at ${a.warmup.done.toLocaleString('en-US')} jobs)`
            : '–',
          '',
          '',
        ],
        [
          'most RSS after warm-up',
          a.peak ? `${mb(a.peak.rss)} MB (at ${a.peak.done.toLocaleString('en-US')} jobs)` : '–',
          '',
          '',
        ],
        ['growth', pct(a.growth), `≤ ${run.limitPercent} %`, verdict],
        ['RSS trend after warm-up', `${signedMb(a.rssSlope)} MB per 10 000 jobs`, '', ''],
        [
          'V8 heap used: at warm-up / most after / last',
          `${mb(a.heapUsed.warmup)} / ${mb(a.heapUsed.max)} / ${mb(a.heapUsed.last)} MB`,
          '',
          '',
        ],
        [
          'heap used trend after warm-up',
          `${signedMb(a.heapUsedSlope)} MB per 10 000 jobs`,
          '',
          '',
        ],
      ],
      ['left', right],
    ),
    '',
    '## Samples (the worker process, `process.memoryUsage()`)',
    '',
    ...table(
      [
        's',
        'jobs done',
        'RSS MB',
        'heap used MB',
        'heap total MB',
        'of used: young MB',
        'old MB',
        'external MB',
        '',
      ],
      rows,
      [right, right, right, right, right, right, right, right],
    ),
    '',
  ].join('\n');
}
