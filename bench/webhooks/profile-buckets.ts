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
import {
  type CpuProfile,
  buckets as generic,
  type Owner,
  renderBuckets as renderOwners,
} from '../lib/profile-owners.ts';

export type { CpuProfile };

const USAGE = `usage: node bench/webhooks/profile-buckets.ts <file.cpuprofile> [--per <deliveries>]
`;

/** Owners, matched on a frame's package (packageOf) or file; the first that matches wins. */
const OWNERS: readonly Owner[] = [
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
export const buckets = (profile: CpuProfile) => generic(profile, OWNERS);

/** The buckets as a markdown table, shares of the busy time (idle left out). */
export const renderBuckets = (profile: CpuProfile, deliveries?: number) =>
  renderOwners(profile, OWNERS, { count: deliveries, unit: 'delivery' });

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
