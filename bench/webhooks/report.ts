// The markdown report of bench:webhooks: deliveries per second per variant and
// mode (medians over rounds, every round listed), Tasklane as a share of each
// ceiling taken within each round (then the median), latency, CPU per
// delivery, and what the receiver and the delivery table saw.
import type { Latency } from '../lib/completions.ts';
import type { QueueCounts } from '../lib/queue.ts';
import { median, reportHeader, table } from '../lib/report.ts';
import type { DeliveryCheck } from './fixtures.ts';
import type { ReceiverReport } from './receiver-protocol.ts';

/** Issue 5: Tasklane's deliveries/s at least this share of the bare no-op ceiling's. */
export const GOAL = 0.8;

export const MODES = ['end-to-end', 'drain', 'paced'] as const;
export type Mode = (typeof MODES)[number];
export const VARIANTS = ['noop', 'http', 'tasklane'] as const;
export type VariantName = (typeof VARIANTS)[number];

const LABEL: Record<VariantName, string> = {
  noop: 'ceiling A: bare graphile-worker, no-op job',
  http: 'ceiling B: bare graphile-worker, one undici POST',
  tasklane: 'Tasklane: appendEvent → deliver-webhook',
};

const MODE_TEXT: Record<Mode, string> = {
  'end-to-end':
    'enqueuers and worker at once: first BEGIN → last delivery received and recorded (the issue’s figure)',
  drain:
    'events appended while the worker was frozen (SIGSTOP), then thawed: SIGCONT → last delivery received and recorded',
  paced:
    'events appended at a fixed rate well below capacity: event → received latency without a backlog (the rate is the pace, not a result)',
};

export interface Measurement {
  readonly variant: VariantName;
  readonly mode: Mode;
  readonly round: number;
  readonly deliveries: number;
  readonly perSecond: number;
  /** Events (jobs) queued per second by the enqueuers, first BEGIN → last COMMIT. */
  readonly enqueuePerSecond: number;
  /**
   * Event → received at the receiver (Tasklane: from the event's created_at;
   * ceiling B: from before BEGIN); ceiling A has no receiver: enqueue → start.
   */
  readonly latency: Latency;
  /** CPU time per delivery, µs: the worker child's, this process's while it enqueued, the receiver's. */
  readonly workerCpu: number;
  readonly enqueuerCpu: number;
  readonly receiverCpu: number | undefined;
  readonly receiver: ReceiverReport | undefined;
  /** The delivery table after the round (Tasklane only). */
  readonly check: DeliveryCheck | undefined;
  readonly left: QueueCounts;
  /** Whatever was not as it should be: such a round is not a result. */
  readonly problems: readonly string[];
  readonly load: number;
}

export interface WebhookRun {
  readonly details: readonly [string, string][];
  readonly freeMemory: string;
  readonly measurements: readonly Measurement[];
  readonly orders: readonly string[];
  readonly notes: readonly string[];
  /** Markdown summaries of the CPU profiles, by variant, when profiled. */
  readonly profiles: readonly [string, string][];
}

const count = (n: number | undefined) =>
  n !== undefined && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : '–');
const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '–');
const right = 'right' as const;

const of = (run: WebhookRun, mode: Mode, variant: VariantName) =>
  run.measurements.filter((m) => m.mode === mode && m.variant === variant);
const clean = (ms_: readonly Measurement[]) =>
  ms_.length > 0 && ms_.every((m) => m.problems.length === 0);

/** `top` ÷ `bottom` of `value`, round by round, then the median. */
export function ratioByRound(
  measurements: readonly Measurement[],
  mode: Mode,
  top: VariantName,
  bottom: VariantName,
  value: (m: Measurement) => number,
) {
  const byRound: number[] = [];
  for (const round of [...new Set(measurements.map((m) => m.round))].sort((a, b) => a - b)) {
    const find = (v: VariantName) =>
      measurements.find((m) => m.round === round && m.mode === mode && m.variant === v);
    const [a, b] = [find(top), find(bottom)];
    if (a && b && value(b) > 0) byRound.push(value(a) / value(b));
  }
  return { median: median(byRound), byRound };
}

function resultRows(run: WebhookRun, mode: Mode): string[][] {
  return VARIANTS.filter((v) => of(run, mode, v).length > 0).map((variant) => {
    const ms_ = of(run, mode, variant);
    const med = (value: (m: Measurement) => number | undefined) => {
      const values = ms_.map(value).filter((v): v is number => v !== undefined);
      return values.length > 0 ? median(values) : undefined;
    };
    // In the drain mode everything waited for the thaw: no latency to speak of.
    const latency = (p: 'p50' | 'p99') => (mode === 'drain' ? '–' : ms(med((m) => m.latency[p])!));
    return [
      `${LABEL[variant]}${clean(ms_) ? '' : ' ⚠'}`,
      count(med((m) => m.perSecond)),
      ms_.map((m) => count(m.perSecond)).join(', '),
      count(med((m) => m.enqueuePerSecond)),
      latency('p50'),
      latency('p99'),
      count(med((m) => m.workerCpu)),
      count(med((m) => m.enqueuerCpu)),
      count(med((m) => m.receiverCpu)),
    ];
  });
}

function ratioRows(run: WebhookRun): string[][] {
  const has = (mode: Mode, v: VariantName) => of(run, mode, v).length > 0;
  const rows: string[][] = [];
  const row = (
    what: string,
    mode: Mode,
    top: VariantName,
    bottom: VariantName,
    value: (m: Measurement) => number,
    goal: boolean,
  ) => {
    if (!has(mode, top) || !has(mode, bottom)) return;
    const r = ratioByRound(run.measurements, mode, top, bottom, value);
    const measured =
      r.byRound.length > 0 && clean(of(run, mode, top)) && clean(of(run, mode, bottom));
    rows.push([
      what,
      `${pct(r.median)} (${r.byRound.map(pct).join(', ')})`,
      goal ? `≥ ${GOAL * 100} %` : '–',
      goal ? (!measured ? 'not measured' : r.median >= GOAL ? 'met' : '**MISSED**') : '',
    ]);
  };
  const rate = (m: Measurement) => m.perSecond;
  // CPU per delivery inverted, so that it reads like the rates: 50 % = twice the CPU.
  const cpu = (m: Measurement) => 1 / m.workerCpu;
  row('deliveries/s end to end ÷ ceiling A (no-op)', 'end-to-end', 'tasklane', 'noop', rate, true);
  row('deliveries/s end to end ÷ ceiling B (POST)', 'end-to-end', 'tasklane', 'http', rate, false);
  row('deliveries/s drain ÷ ceiling A (no-op)', 'drain', 'tasklane', 'noop', rate, false);
  row('deliveries/s drain ÷ ceiling B (POST)', 'drain', 'tasklane', 'http', rate, false);
  row('drain: ceiling B ÷ ceiling A (what one POST costs)', 'drain', 'http', 'noop', rate, false);
  row(
    'worker CPU per delivery, drain (ceiling B ÷ Tasklane)',
    'drain',
    'tasklane',
    'http',
    cpu,
    false,
  );
  row(
    'worker CPU per delivery, drain (ceiling A ÷ Tasklane)',
    'drain',
    'tasklane',
    'noop',
    cpu,
    false,
  );
  row(
    'events queued/s, worker frozen (Tasklane ÷ ceiling A)',
    'drain',
    'tasklane',
    'noop',
    (m) => m.enqueuePerSecond,
    false,
  );
  return rows;
}

/** Totals over every round of what the receiver and the delivery table saw. */
function integrityRows(run: WebhookRun): string[][] {
  return VARIANTS.filter((v) => v !== 'noop' && run.measurements.some((m) => m.variant === v)).map(
    (variant) => {
      const ms_ = run.measurements.filter((m) => m.variant === variant);
      const sum = (value: (m: Measurement) => number | undefined) =>
        ms_.reduce((total, m) => total + (value(m) ?? 0), 0);
      const checked = sum((m) => m.receiver?.signaturesChecked);
      return [
        LABEL[variant],
        count(sum((m) => m.deliveries)),
        count(sum((m) => m.receiver?.requests)),
        count(sum((m) => m.receiver?.distinct)),
        count(sum((m) => (m.receiver ? m.receiver.requests - m.receiver.distinct : 0))),
        count(sum((m) => m.receiver?.connections)),
        checked > 0 ? `${count(checked)} / ${count(sum((m) => m.receiver?.badSignatures))}` : '–',
        variant === 'tasklane'
          ? `${count(sum((m) => m.check?.succeeded))} / ${count(sum((m) => m.check?.attempts))} / ${count(sum((m) => m.check?.failedAttempts))}`
          : '–',
        `${count(sum((m) => m.left.jobs))} / ${count(sum((m) => m.left.errored))}`,
      ];
    },
  );
}

export function renderReport(run: WebhookRun): string {
  const sections = MODES.filter((mode) => run.measurements.some((m) => m.mode === mode)).flatMap(
    (mode) => [
      `### ${mode}: ${MODE_TEXT[mode]}`,
      '',
      ...table(
        [
          'variant',
          'deliveries/s',
          'by round',
          'events queued/s',
          'event → received p50 ms',
          'p99 ms',
          'worker CPU µs/delivery',
          'enqueuer CPU µs/event',
          'receiver CPU µs/request',
        ],
        resultRows(run, mode),
        ['left', right, 'left', right, right, right, right, right, right],
      ),
      '',
    ],
  );
  const problems = run.measurements.flatMap((m) =>
    m.problems.map((p) => `- round ${m.round} ${m.mode} ${m.variant}: ${p}`),
  );
  const perRound = run.measurements.map((m) => [
    String(m.round),
    m.mode,
    m.variant,
    String(m.deliveries),
    count(m.perSecond),
    count(m.enqueuePerSecond),
    m.mode === 'drain' ? '–' : ms(m.latency.p50),
    m.mode === 'drain' ? '–' : ms(m.latency.p99),
    count(m.workerCpu),
    count(m.enqueuerCpu),
    m.receiver ? `${m.receiver.requests} / ${m.receiver.distinct}` : '–',
    m.load.toFixed(2),
  ]);
  return [
    ...reportHeader(
      'Webhook deliveries per second: Tasklane against bare graphile-worker',
      run.details,
      run.freeMemory,
    ),
    '## Results (medians over rounds)',
    '',
    'Ceiling A has no receiver: its latency column is enqueue → handler start.',
    '',
    ...sections,
    '## Tasklane ÷ ceilings (within each round, then the median)',
    '',
    ...table(['figure', 'ratio (rounds)', 'goal', 'verdict'], ratioRows(run), ['left', right]),
    '',
    '## What arrived (all rounds)',
    '',
    ...table(
      [
        'variant',
        'deliveries',
        'requests received',
        'distinct webhook-ids',
        'repeats',
        'connections opened',
        'signatures checked / bad (standardwebhooks)',
        'recorded succeeded / attempts / failed attempts',
        'left in queue / errored',
      ],
      integrityRows(run),
      ['left', right, right, right, right, right, right, right, right],
    ),
    '',
    problems.length > 0
      ? '**Problems (those rounds are not results):**'
      : 'No problems: every round delivered every event once, signed, recorded as succeeded, with nothing left in a queue.',
    ...(problems.length > 0 ? ['', ...problems] : []),
    '',
    ...(run.notes.length > 0 ? ['## Notes', '', ...run.notes.map((n) => `- ${n}`), ''] : []),
    ...run.profiles.flatMap(([variant, summary]) => [
      `## CPU profile: ${variant} worker`,
      '',
      summary,
    ]),
    '## Every measurement',
    '',
    `Order: ${run.orders.join('; ')}.`,
    '',
    ...table(
      [
        'round',
        'mode',
        'variant',
        'deliveries',
        'deliveries/s',
        'queued/s',
        'p50 ms',
        'p99 ms',
        'worker CPU µs',
        'enqueuer CPU µs',
        'requests / distinct',
        'load (1 min)',
      ],
      perRound,
      ['right', 'left', 'left', right, right, right, right, right, right, right, right, right],
    ),
    '',
  ].join('\n');
}
