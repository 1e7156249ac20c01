// node bench/webhooks/profile-buckets.ts <file.cpuprofile> [--per <n>]
//
// Where a delivery worker's CPU goes, by what it is for rather than by frame:
// each sample is charged to the nearest frame up its stack that belongs to a
// known owner (a socket write called by pg's query submission is pg's; an HMAC
// called by signing.ts is signing), so native work lands with its caller.
// bench/lib/profile-summary.ts gives self time by package and function; this
// answers "signing, SQL round trips, undici or logging?". With --per <n> (the
// deliveries the profile covers) it also gives µs per delivery.
import { readFileSync } from 'node:fs';
import { exitOnHelp, parseCommandLine, runCommand, UsageError, wholeNumber } from '../lib/cli.ts';
import { packageOf } from '../lib/profile-summary.ts';
import { table } from '../lib/report.ts';

const USAGE = `usage: node bench/webhooks/profile-buckets.ts <file.cpuprofile> [--per <deliveries>]
`;

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: { readonly functionName: string; readonly url: string };
}
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Owners, matched on a frame's package (packageOf) or file; the first that matches wins. */
const OWNERS: readonly (readonly [string, (pkg: string, url: string) => boolean])[] = [
  ['module loading (start-up)', (_, url) => url.startsWith('node:internal/modules')],
  ['signing (signing.ts, HMAC)', (_, url) => url.endsWith('/src/webhooks/signing.ts')],
  [
    'pg driver: queries, socket writes, row parsing',
    (pkg) => /^(pg|pg-\w+|postgres-\w+)$/.test(pkg),
  ],
  ['our pg wrapper (src/db: prepared statements, types)', (pkg) => pkg === 'src/db'],
  ['Kysely: building and compiling queries', (pkg) => pkg === 'kysely'],
  ['undici: the HTTP request', (pkg) => pkg === 'undici'],
  [
    'logging (pino, redaction, stdout)',
    (pkg) => /^(pino|@pinojs\/.*|sonic-boom|pino-std-serializers)$/.test(pkg),
  ],
  ['TypeBox payload checks', (pkg) => pkg === 'typebox'],
  ['metrics (prom-client)', (pkg) => pkg === 'prom-client'],
  ['graphile-worker', (pkg) => pkg === 'graphile-worker' || pkg.startsWith('@graphile/')],
  ['delivery code (src/webhooks, own frames)', (pkg) => pkg === 'src/webhooks'],
  ['job wrapper (src/jobs)', (pkg) => pkg === 'src/jobs'],
  ['other src/', (pkg) => pkg.startsWith('src/')],
  ['bench harness', (pkg) => pkg.startsWith('bench/')],
];
const RUNTIME = 'Node runtime (event loop, promises, streams with no owner above)';
/** A longer sample interval is a stopped process (SIGSTOP), not work: left out. */
const GAP_US = 1_000_000;

export function buckets(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const ownerCache = new Map<number, string>();
  const ownerOf = (leaf: number): string => {
    const cached = ownerCache.get(leaf);
    if (cached !== undefined) return cached;
    let owner: string | undefined;
    const { functionName, url } = byId.get(leaf)!.callFrame;
    // V8's pseudo-frames are their own owners.
    if (url === '' && functionName.startsWith('(')) owner = functionName;
    for (
      let at: number | undefined = leaf;
      owner === undefined && at !== undefined;
      at = parent.get(at)
    ) {
      const frame = byId.get(at)!.callFrame;
      const pkg = packageOf(frame.url, frame.functionName);
      owner = OWNERS.find(([, matches]) => matches(pkg, frame.url))?.[0];
    }
    ownerCache.set(leaf, owner ?? RUNTIME);
    return owner ?? RUNTIME;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    if (delta > GAP_US) return;
    const owner = ownerOf(id);
    totals.set(owner, (totals.get(owner) ?? 0) + delta);
  });
  return totals;
}

/** The buckets as a markdown table, shares of the busy time (idle left out). */
export function renderBuckets(profile: CpuProfile, deliveries?: number): string {
  const totals = buckets(profile);
  totals.delete('(idle)');
  const busy = [...totals.values()].reduce((a, b) => a + b, 0);
  const rows = [...totals]
    .sort((a, b) => b[1] - a[1])
    .map(([owner, us]) => [
      owner,
      `${((us / busy) * 100).toFixed(1)} %`,
      (us / 1000).toFixed(0),
      deliveries ? (us / deliveries).toFixed(0) : '–',
    ]);
  return table(['owner (nearest up the stack)', 'busy', 'ms', 'µs per delivery'], rows, [
    'left',
    'right',
    'right',
    'right',
  ]).join('\n');
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine({
    allowPositionals: true,
    options: { per: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  exitOnHelp(values, USAGE);
  if (positionals.length !== 1) throw new UsageError('one .cpuprofile file, please');
  const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile;
  const per = values.per === undefined ? undefined : wholeNumber('per', values.per, 1, 1e9);
  process.stdout.write(`${renderBuckets(profile, per)}\n`);
  return 0;
}

if (import.meta.main) await runCommand(USAGE, main);
