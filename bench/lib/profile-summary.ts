// node bench/lib/profile-summary.ts <file.cpuprofile> [--top 25]
//
// Self time of a V8 CPU profile (node --cpu-prof) by package and by function,
// and the time under each of our own functions, as markdown tables: enough to
// say where a process spends its time without opening DevTools. "Package" is the npm package for node_modules, `src/<dir>`
// or `bench/<dir>` for our code, `node:internal` for Node's own, and V8's
// pseudo-frames as they are: (garbage collector), (idle), (program).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { exitOnHelp, parseCommandLine, runCommand, UsageError, wholeNumber } from './cli.ts';
import { table } from './report.ts';

const USAGE = `usage: node bench/lib/profile-summary.ts <file.cpuprofile> [--top <n>]

Prints self time by package and by function, and the time under each of our
src/ functions (the top n of each, default 25).
`;

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Where a frame's code lives, coarsely. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = file.slice(modules + '/node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : (first ?? file);
  }
  const relative = path.relative(ROOT, file);
  const [top, dir] = relative.split(path.sep);
  return top === 'src' || top === 'bench' ? `${top}/${dir}` : relative;
}

/**
 * A sample whose interval is longer than this was not running: the process was
 * stopped (SIGSTOP, as bench:jobs freezes a worker) and the whole pause lands on
 * whatever frame the first sample after it caught. Left out, and counted.
 */
const GAP_US = 1_000_000;

export function summarise(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const frameName = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    return `${functionName || '(anonymous)'} ${where} [${packageOf(url, functionName)}]`;
  };
  const selfUs = new Map<number, number>();
  // Time under each of our own functions (src/), callees included: where our code sends the time.
  const oursUs = new Map<string, number>();
  let gapUs = 0;
  // timeDeltas[i] is the time before sample i; charge it to that sample's frame.
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    if (delta > GAP_US) {
      gapUs += delta;
      return;
    }
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)!;
      if (!packageOf(node.callFrame.url, node.callFrame.functionName).startsWith('src/')) continue;
      const name = frameName(node);
      if (!seen.has(name)) oursUs.set(name, (oursUs.get(name) ?? 0) + delta);
      seen.add(name);
    }
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const packages = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    functions.set(frameName(node), (functions.get(frameName(node)) ?? 0) + us);
  }
  const active = total - (packages.get('(idle)') ?? 0);
  // Shares of the time the process was busy: idle is listed, but not counted in.
  const rows = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => !name.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => [name, `${((us / active) * 100).toFixed(1)} %`, (us / 1000).toFixed(0)]);
  return [
    `Profile: ${(total / 1e6).toFixed(1)} s sampled, ${(active / 1e6).toFixed(1)} s busy (${((active / total) * 100).toFixed(0)} %)` +
      `${gapUs > 0 ? `; ${(gapUs / 1e6).toFixed(1)} s stopped, left out` : ''}. Shares are of the busy time.`,
    '',
    ...table(['package (self time)', 'busy', 'ms'], rows(packages), ['left', 'right', 'right']),
    '',
    ...table(['function (self time)', 'busy', 'ms'], rows(functions), ['left', 'right', 'right']),
    '',
    ...table(['our function (src/, callees included)', 'busy', 'ms'], rows(oursUs), [
      'left',
      'right',
      'right',
    ]),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, help: { type: 'boolean', short: 'h' } },
  });
  exitOnHelp(values, USAGE);
  if (positionals.length !== 1) throw new UsageError('one .cpuprofile file, please');
  const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile;
  process.stdout.write(summarise(profile, wholeNumber('top', values.top, 1, 1000)));
  return 0;
}

if (import.meta.main) await runCommand(USAGE, main);
