// Turns the samples of a run into the markdown report: per-scenario medians over
// rounds, ratios to the ceilings taken round by round, the targets of issue 3,
// and every non-2xx or connection error spelled out rather than averaged away.
import type { Sample } from './measure.ts';
import type { Scenario } from './scenarios.ts';

export const TARGETS = {
  getTaskRatio: 0.7,
  listPageRatio: 0.7,
  p99Ms: 50,
  p99Connections: 32,
  peakRssBytes: 256 * 1024 * 1024,
} as const;

export interface RunInfo {
  readonly startedAt: Date;
  readonly machine: readonly [string, string][];
  /** `free -h`. */
  readonly freeMemory: string;
  readonly connections: number;
  readonly scenarios: readonly Scenario[];
  /** Scenario name → why it did not run. */
  readonly notRun: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
  /** VmHWM of the Tasklane process at points of the run, bytes. */
  readonly rssTimeline: readonly (readonly [string, number | undefined])[];
  readonly peakRss: number | undefined;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const rounded = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const ms = (n: number) => (Number.isFinite(n) ? String(Math.round(n * 10) / 10) : '–');
const mb = (bytes: number | undefined) =>
  bytes === undefined ? 'unknown' : `${Math.round(bytes / 1024 / 1024)} MB`;
const percent = (n: number) => (Number.isFinite(n) ? `${Math.round(n * 100)} %` : '–');

export interface ScenarioSummary {
  readonly scenario: Scenario;
  readonly samples: readonly Sample[];
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}

export function summarize(scenario: Scenario, all: readonly Sample[]): ScenarioSummary {
  const samples = all.filter((sample) => sample.scenario === scenario.name);
  const statusCodes: Record<string, number> = {};
  for (const sample of samples) {
    for (const [status, count] of Object.entries(sample.statusCodes)) {
      statusCodes[status] = (statusCodes[status] ?? 0) + count;
    }
  }
  return {
    scenario,
    samples,
    requestsPerSecond: median(samples.map((s) => s.requestsPerSecond)),
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
    non2xx: samples.reduce((sum, s) => sum + s.non2xx, 0),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
    statusCodes,
  };
}

export const failed = (summary: ScenarioSummary) => summary.non2xx > 0 || summary.errors > 0;

/** a/b per round (the two ran minutes apart at most), then the median of those. */
export function ratio(samples: readonly Sample[], a: string, b: string) {
  const rounds = [...new Set(samples.map((s) => s.round))].sort((x, y) => x - y);
  const byRound: number[] = [];
  for (const round of rounds) {
    const top = samples.find((s) => s.round === round && s.scenario === a);
    const bottom = samples.find((s) => s.round === round && s.scenario === b);
    if (top && bottom && bottom.requestsPerSecond > 0) {
      byRound.push(top.requestsPerSecond / bottom.requestsPerSecond);
    }
  }
  return { median: median(byRound), byRound };
}

const verdict = (met: boolean | undefined) =>
  met === undefined ? 'not measured' : met ? 'met' : '**MISSED**';

type Align = 'left' | 'right';
const width = (text: string) => [...text].length;
const cell = (text: string) => text.replaceAll('|', '\\|').replace(/\s+/g, ' ').trim();

/** A markdown table with padded columns, laid out as `biome format` lays it out. */
export function table(header: readonly string[], rows: readonly string[][], align: Align[] = []) {
  const cells = [header, ...rows].map((row) => header.map((_, i) => cell(row[i] ?? '')));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => width(row[i]!))));
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat(widths[i]! - width(text));
    return align[i] === 'right' ? fill + text : text + fill;
  };
  const line = (row: readonly string[]) => `| ${row.map(pad).join(' | ')} |`;
  const rule = widths.map((w, i) =>
    align[i] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w),
  );
  return [line(cells[0]!), `| ${rule.join(' | ')} |`, ...cells.slice(1).map(line)];
}

function targetRows(info: RunInfo, summaries: readonly ScenarioSummary[]): string[][] {
  const rows: string[][] = [];
  const clean = (name: string) => {
    const summary = summaries.find((s) => s.scenario.name === name);
    return summary !== undefined && summary.samples.length > 0 && !failed(summary);
  };
  for (const [label, a, b, target] of [
    ['GET task / ceiling-pk', 'get-task', 'ceiling-pk', TARGETS.getTaskRatio],
    ['list page / ceiling-page', 'list-page', 'ceiling-page', TARGETS.listPageRatio],
  ] as const) {
    const { median: value, byRound } = ratio(info.samples, a, b);
    const measured = byRound.length > 0 && clean(a) && clean(b);
    const rounds = byRound.map(percent).join(', ');
    rows.push([
      label,
      `${percent(value)}${rounds ? ` (rounds: ${rounds})` : ''}`,
      `≥ ${percent(target)}`,
      verdict(measured ? value >= target : undefined),
    ]);
  }
  const worst = summaries
    .filter((s) => s.scenario.target === 'tasklane' && s.samples.length > 0)
    .reduce<ScenarioSummary | undefined>(
      (top, s) => (top === undefined || s.p99Ms > top.p99Ms ? s : top),
      undefined,
    );
  const at32 = info.connections === TARGETS.p99Connections;
  rows.push([
    'worst p99 of the Tasklane scenarios',
    worst ? `${ms(worst.p99Ms)} ms (${worst.scenario.name})` : '–',
    `< ${TARGETS.p99Ms} ms at ${TARGETS.p99Connections} connections${at32 ? '' : ` (run used ${info.connections})`}`,
    verdict(worst && at32 ? worst.p99Ms < TARGETS.p99Ms : undefined),
  ]);
  rows.push([
    'Tasklane peak RSS (VmHWM, whole run)',
    mb(info.peakRss),
    `< ${mb(TARGETS.peakRssBytes)}`,
    verdict(info.peakRss === undefined ? undefined : info.peakRss < TARGETS.peakRssBytes),
  ]);
  return rows;
}

function resultRows(info: RunInfo, summaries: readonly ScenarioSummary[]): string[][] {
  return summaries.map((summary) => {
    const { scenario } = summary;
    const reason = info.notRun.get(scenario.name);
    if (reason !== undefined || summary.samples.length === 0) {
      const dashes = Array<string>(6).fill('–');
      return [scenario.name, ...dashes, `**NOT RUN: ${reason ?? 'no samples'}**`];
    }
    return [
      `${scenario.name}${failed(summary) ? ' ⚠' : ''}`,
      rounded(summary.requestsPerSecond),
      ms(summary.p50Ms),
      ms(summary.p99Ms),
      String(summary.non2xx),
      String(summary.errors),
      summary.samples.map((s) => rounded(s.requestsPerSecond)).join(', '),
      scenario.summary,
    ];
  });
}

/** The top of every bench report: its title, the run's details, and `free -h`. */
export function reportHeader(
  title: string,
  details: readonly (readonly [string, string])[],
  freeMemory: string,
): string[] {
  return [
    `# ${title}`,
    '',
    ...table(['run', 'details'], details as [string, string][]),
    '',
    'Memory (`free -h`):',
    '',
    '```',
    freeMemory.trimEnd(),
    '```',
    '',
  ];
}

export function renderReport(info: RunInfo): string {
  const summaries = info.scenarios.map((scenario) => summarize(scenario, info.samples));
  const lines = [`# Tasklane benchmark, ${info.startedAt.toISOString()}`, ''];
  lines.push(
    ...table(
      ['run', 'details'],
      info.machine.map(([key, value]) => [key, value]),
    ),
  );
  lines.push('', 'Memory (`free -h`):', '', '```', info.freeMemory.trimEnd(), '```', '');

  lines.push('## Results (median over rounds)', '');
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'req/s by round'];
  const right: Align[] = ['left', 'right', 'right', 'right', 'right', 'right'];
  lines.push(...table([...header, 'what it does'], resultRows(info, summaries), right));

  lines.push('', '## Targets (issue 3, PERFORMANCE.md)', '');
  lines.push(...table(['check', 'value', 'target', 'verdict'], targetRows(info, summaries)));
  const timeline = info.rssTimeline.map(([label, bytes]) => `${label} ${mb(bytes)}`).join(' → ');
  lines.push('', `Tasklane VmHWM along the run: ${timeline || '–'}.`);

  const broken = summaries.filter(failed);
  if (broken.length > 0 || info.notRun.size > 0) {
    lines.push('', '## ⚠ Errors: these figures are not results', '');
    for (const summary of broken) {
      const codes = Object.entries(summary.statusCodes)
        .map(([status, count]) => `${status}×${count}`)
        .join(', ');
      lines.push(
        `- **${summary.scenario.name}**: ${summary.non2xx} non-2xx responses, ${summary.errors} connection errors/timeouts; status codes: ${codes}`,
      );
    }
    for (const [name, reason] of info.notRun) {
      lines.push(`- **${name}** did not run: ${reason.replace(/\s+/g, ' ').trim()}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
