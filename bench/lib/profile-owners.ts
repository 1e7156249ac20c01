// Where a process's CPU goes by what it is for rather than by frame: each sample
// of a V8 CPU profile (node --cpu-prof) is charged to the nearest frame up its
// stack that belongs to a known owner, so native work (a socket write, a
// JSON.stringify) lands with its caller. Each bench names its own owners
// (bench/webhooks/profile-buckets.ts, bench/observability/overhead.ts).
import { packageOf } from './profile-summary.ts';
import { table } from './report.ts';

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: { readonly functionName: string; readonly url: string };
}
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  /** Microseconds on the system's monotonic clock (process.hrtime in any process on Linux). */
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Microseconds now on the clock of a profile's timestamps. */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/**
 * `profile` with only the samples taken between `fromUs` and `toUs` (monotonicMicros()
 * in the bench process: the same clock as the profiled child's, on Linux), so a
 * profile of a whole process can be read for the minutes it was measured, its
 * start-up and shutdown left out.
 */
export function within<T extends CpuProfile>(profile: T, fromUs: number, toUs: number): T {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs) return;
    samples.push(id);
    timeDeltas.push(delta);
  });
  return { ...profile, samples, timeDeltas };
}

/** An owner's name and whether a frame (its package, as packageOf names it, and its url) is its. */
export type Owner = readonly [string, (pkg: string, url: string) => boolean];

/** Where no owner is found up the stack. */
export const RUNTIME = 'Node runtime (event loop, promises, streams with no owner above)';
/** A longer sample interval is a stopped process (SIGSTOP), not work: left out. */
const GAP_US = 1_000_000;

/** Microseconds by owner; at each frame, the first owner of `owners` that matches wins. */
export function buckets(profile: CpuProfile, owners: readonly Owner[]): Map<string, number> {
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
      owner = owners.find(([, matches]) => matches(pkg, frame.url))?.[0];
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

/**
 * The buckets as a markdown table, shares of the busy time (idle left out), and
 * µs per unit of work when `per.count` (how many units the profile covers) is known.
 */
export function renderBuckets(
  profile: CpuProfile,
  owners: readonly Owner[],
  per?: { readonly count: number | undefined; readonly unit: string },
): string {
  const totals = buckets(profile, owners);
  totals.delete('(idle)');
  const busy = [...totals.values()].reduce((a, b) => a + b, 0);
  const rows = [...totals]
    .sort((a, b) => b[1] - a[1])
    .map(([owner, us]) => [
      owner,
      `${((us / busy) * 100).toFixed(1)} %`,
      (us / 1000).toFixed(0),
      per?.count ? (us / per.count).toFixed(0) : '–',
    ]);
  return table(
    ['owner (nearest up the stack)', 'busy', 'ms', `µs per ${per?.unit ?? 'unit'}`],
    rows,
    ['left', 'right', 'right', 'right'],
  ).join('\n');
}
