// Writes the Prometheus rules of the SLOs in ops/slos.yaml:
//   node scripts/slo-rules.ts
// ops/prometheus/recording-rules.yml: each SLO's error ratio over every window
// its alerts read, and its objective; ops/prometheus/slo-alerts.yml: the
// multi-window, multi-burn-rate alerts. test/ops.test.ts fails when the files
// on disk are not what this script writes, so edit slos.yaml, then run it.
import fs from 'node:fs/promises';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';
import { parse, stringify } from 'yaml';
import { DURATION_BUCKETS_SECONDS } from '../src/observability/http-metrics.ts';

const Duration = Type.String({ pattern: '^[0-9]+[mhd]$' });
const SloFile = Type.Object(
  {
    window: Duration,
    job: Type.String({ minLength: 1 }),
    classes: Type.Record(
      Type.String({ pattern: '^[a-z]+$' }),
      Type.Object(
        {
          methods: Type.Optional(Type.String({ minLength: 1 })),
          routes: Type.String({ minLength: 1 }),
          exclude_routes: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    slos: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[a-z]+(-[a-z]+)*$' }),
          class: Type.String(),
          sli: Type.Union([Type.Literal('availability'), Type.Literal('latency')]),
          threshold_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          objective: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    burn_rates: Type.Array(
      Type.Object(
        {
          severity: Type.Union([Type.Literal('page'), Type.Literal('ticket')]),
          long: Duration,
          short: Duration,
          rate: Type.Number({ exclusiveMinimum: 0 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);
export type SloFile = Static<typeof SloFile>;
export type Slo = SloFile['slos'][number];

export const SLO_FILE = new URL('../ops/slos.yaml', import.meta.url);
export const RECORDING_RULES_FILE = new URL(
  '../ops/prometheus/recording-rules.yml',
  import.meta.url,
);
export const SLO_ALERTS_FILE = new URL('../ops/prometheus/slo-alerts.yml', import.meta.url);

/** The record every SLO's error ratio over `window` is kept under (labels: slo, slo_class, sli). */
export const errorRatio = (window: string) => `tasklane:slo_errors:ratio_rate${window}`;
export const OBJECTIVE = 'tasklane:slo_objective:ratio';

/**
 * slos.yaml, checked: its shape, that every SLO names a class, that a latency
 * SLO's threshold is a bucket boundary of http_request_duration_seconds (the
 * share under any other value cannot be counted), that names are unique.
 */
export function parseSlos(text: string): SloFile {
  const value: unknown = parse(text);
  if (!Value.Check(SloFile, value)) {
    const problems = [...Value.Errors(SloFile, value)].map(
      (error) => `${error.instancePath || '/'} ${error.message}`,
    );
    throw new Error(`ops/slos.yaml: ${problems.join('; ')}`);
  }
  const names = new Set<string>();
  for (const slo of value.slos) {
    if (names.has(slo.name)) throw new Error(`ops/slos.yaml: ${slo.name} is defined twice`);
    names.add(slo.name);
    if (!(slo.class in value.classes)) {
      throw new Error(`ops/slos.yaml: ${slo.name} names an unknown class ${slo.class}`);
    }
    const threshold = slo.threshold_seconds;
    if ((slo.sli === 'latency') !== (threshold !== undefined)) {
      throw new Error(`ops/slos.yaml: ${slo.name}: threshold_seconds goes with latency SLOs only`);
    }
    if (threshold !== undefined && !DURATION_BUCKETS_SECONDS.includes(threshold)) {
      throw new Error(
        `ops/slos.yaml: ${slo.name}: ${threshold} s is not a bucket boundary (${DURATION_BUCKETS_SECONDS.join(', ')})`,
      );
    }
  }
  return value;
}

/** The windows the burn-rate alerts read, shortest first. */
export function windowsOf(file: SloFile): string[] {
  const seconds = (duration: string) =>
    Number(duration.slice(0, -1)) * { m: 60, h: 3600, d: 86_400 }[duration.at(-1) as 'm'];
  const windows = new Set(file.burn_rates.flatMap((burn) => [burn.long, burn.short]));
  return [...windows].sort((a, b) => seconds(a) - seconds(b));
}

/** The series selector of a class, with extra matchers. */
export function classSelector(file: SloFile, name: string, extra: string[] = []): string {
  const routeClass = file.classes[name]!;
  const matchers = [`job="${file.job}"`];
  if (routeClass.methods) matchers.push(`method=~"${routeClass.methods}"`);
  matchers.push(`route=~"${routeClass.routes}"`);
  if (routeClass.exclude_routes) matchers.push(`route!~"${routeClass.exclude_routes}"`);
  return `{${[...matchers, ...extra].join(',')}}`;
}

// Prometheus 3 stores `le` as a float ("1.0") where the exposition says "1"; 2.x keeps "1".
function bucketMatcher(threshold: number): string {
  const text = String(threshold);
  return Number.isInteger(threshold) ? `le=~"${text}|${text}\\\\.0"` : `le="${text}"`;
}

/** The PromQL of an SLO's error ratio (bad events over all events) over one window. */
export function errorRatioExpr(file: SloFile, slo: Slo, window: string): string {
  const select = (metric: string, extra: string[]) =>
    `${metric}${classSelector(file, slo.class, extra)}[${window}]`;
  if (slo.sli === 'availability') {
    // `or vector(0)`: with traffic and not one 5xx yet, the ratio is 0, not empty.
    return [
      `(sum(rate(${select('http_requests_total', ['status_class="5xx"'])})) or vector(0))`,
      '/',
      `sum(rate(${select('http_requests_total', [])}))`,
    ].join('\n');
  }
  const answered = 'status_class!="5xx"';
  return [
    '1 - (',
    `  sum(rate(${select('http_request_duration_seconds_bucket', [answered, bucketMatcher(slo.threshold_seconds!)])}))`,
    '  /',
    `  sum(rate(${select('http_request_duration_seconds_count', [answered])}))`,
    ')',
  ].join('\n');
}

function sloLabels(slo: Slo) {
  return { slo: slo.name, slo_class: slo.class, sli: slo.sli };
}

/** ops/prometheus/recording-rules.yml, as text. */
export function renderRecordingRules(file: SloFile): string {
  const windows = windowsOf(file);
  const groups = file.slos.map((slo) => ({
    name: `tasklane-slo-${slo.name}`,
    rules: [
      { record: OBJECTIVE, expr: `vector(${slo.objective})`, labels: sloLabels(slo) },
      ...windows.map((window) => ({
        record: errorRatio(window),
        expr: errorRatioExpr(file, slo, window),
        labels: sloLabels(slo),
      })),
    ],
  }));
  return render('recording rules of the SLOs', { groups });
}

const ALERT_NAMES = {
  availability: 'TasklaneAvailabilityBurn',
  latency: 'TasklaneLatencyBurn',
} as const;
const SPEED = { page: 'Fast', ticket: 'Slow' } as const;
const WHAT = {
  availability: 'answering with 5xx',
  latency: 'answering slower than its threshold',
} as const;

/** The name of the burn-rate alert of one SLI at one severity. */
export const burnAlertName = (sli: Slo['sli'], severity: 'page' | 'ticket') =>
  `${ALERT_NAMES[sli]}${SPEED[severity]}`;

/** ops/prometheus/slo-alerts.yml, as text: one alert per SLI and severity, for every class. */
export function renderSloAlerts(file: SloFile): string {
  const rules = [];
  for (const sli of ['availability', 'latency'] as const) {
    for (const severity of ['page', 'ticket'] as const) {
      const burns = file.burn_rates.filter((burn) => burn.severity === severity);
      if (burns.length === 0) continue;
      // group_left keeps the ratio's labels (slo_class, sli); one-to-one on(slo) would drop them.
      const above = (window: string, rate: number) =>
        `${errorRatio(window)}{sli="${sli}"} > on(slo) group_left() (${rate} * (1 - ${OBJECTIVE}))`;
      const expr = burns
        .map(
          (burn) =>
            `(\n  ${above(burn.long, burn.rate)}\nand on(slo)\n  ${above(burn.short, burn.rate)}\n)`,
        )
        .join('\nor\n');
      const name = burnAlertName(sli, severity);
      const spans = burns
        .map((burn) => `${burn.rate}× over ${burn.long} and ${burn.short}`)
        .join(', or ');
      rules.push({
        alert: name,
        expr,
        for: severity === 'page' ? '2m' : '15m',
        labels: { severity },
        annotations: {
          summary: `{{ $labels.slo }}: the ${file.window} error budget is burning ${severity === 'page' ? 'fast' : 'steadily'}`,
          description: `Tasklane's ${sli === 'latency' ? 'latency' : 'availability'} SLO {{ $labels.slo }} (route class {{ $labels.slo_class }}) is ${WHAT[sli]} to {{ $value | humanizePercentage }} of requests: its budget burns faster than ${spans} (ops/slos.yaml).`,
          runbook_url: `ops/runbooks/${name}.md`,
        },
      });
    }
  }
  return render('multi-window, multi-burn-rate alerts of the SLOs', {
    groups: [{ name: 'tasklane-slo-alerts', rules }],
  });
}

function render(what: string, document: unknown): string {
  const header = [
    `# The ${what}, written by \`node scripts/slo-rules.ts\` from ops/slos.yaml.`,
    '# Do not edit: change ops/slos.yaml and run the script (test/ops.test.ts checks).',
  ].join('\n');
  return `${header}\n${stringify(document, { lineWidth: 0 })}`;
}

if (import.meta.main) {
  const file = parseSlos(await fs.readFile(SLO_FILE, 'utf8'));
  await fs.writeFile(RECORDING_RULES_FILE, renderRecordingRules(file));
  await fs.writeFile(SLO_ALERTS_FILE, renderSloAlerts(file));
  process.stdout.write('wrote ops/prometheus/recording-rules.yml and slo-alerts.yml\n');
}
