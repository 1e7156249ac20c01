// Alternating measurement rounds over several variants of one scenario, shared
// by the end-to-end benchmarks (bench/ratelimit/end-to-end.ts,
// bench/observability/overhead.ts).
import os from 'node:os';
import { exitOnHelp, parseCommandLine, wholeNumber } from './cli.ts';
import { say } from './database.ts';
import { measure, type Sample } from './measure.ts';
import type { Server } from './processes.ts';
import type { Scenario } from './scenarios.ts';

export interface RoundVariant {
  readonly scenario: Scenario;
  readonly server: Server;
  readonly headers: Record<string, string>;
}

export interface RoundOptions {
  readonly connections: number;
  /** Seconds per variant per round. */
  readonly duration: number;
  readonly rounds: number;
  /** Unrecorded seconds per variant before round 1; 0 = none. */
  readonly warmup: number;
}

/**
 * Round `round`'s order, a Williams design: every round is a rotation of the
 * first, and (for an even count, here 4) each variant follows a different one
 * every round, so none always inherits the same neighbour's leftovers.
 */
function order<T>(items: readonly T[], round: number): T[] {
  const n = items.length;
  const first = items.map((_, i) => (i === 0 ? 0 : i % 2 === 1 ? (i + 1) / 2 : n - i / 2));
  return first.map((i) => items[(i + round) % n]!);
}

export async function measureRounds(
  variants: readonly RoundVariant[],
  options: RoundOptions,
  stopping: () => boolean,
) {
  // The server's CPU seconds (user + system) over each sample: its cost per request
  // is steadier than its rate when other work shares the machine.
  const cpuSeconds = new Map<Sample, number>();
  const run = async (variant: RoundVariant, duration: number, round: number) => {
    const before = variant.server.cpuSeconds();
    const sample = await measure(
      variant.scenario,
      variant.server.baseUrl,
      variant.headers,
      { connections: options.connections, duration },
      round,
    );
    const after = variant.server.cpuSeconds();
    if (before !== undefined && after !== undefined) cpuSeconds.set(sample, after - before);
    return sample;
  };
  if (options.warmup > 0) say(`warm-up: ${options.warmup} s per variant`);
  const warmups: Sample[] = [];
  for (const variant of variants)
    if (options.warmup > 0 && !stopping()) warmups.push(await run(variant, options.warmup, 0));
  const samples: Sample[] = [];
  const orders: string[] = [];
  for (let round = 1; round <= options.rounds && !stopping(); round++) {
    const turn = order(variants, round - 1);
    orders.push(`${round}: ${turn.map((v) => v.scenario.name).join(' → ')}`);
    for (const variant of turn) {
      if (stopping()) break;
      await new Promise((resolve) => setTimeout(resolve, 500)); // the last run's connections close
      const s = await run(variant, options.duration, round);
      samples.push(s);
      const flag = s.non2xx + s.errors > 0 ? `  ⚠ ${s.non2xx} non-2xx, ${s.errors} errors` : '';
      say(
        `round ${round} ${s.scenario.padEnd(24)} ${Math.round(s.requestsPerSecond)} req/s  p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms${flag}`,
      );
    }
  }
  return { samples, orders, warmups, cpuSeconds };
}

/** A bench's own options besides the common ones, as parseArgs declares them. */
export type ExtraOptions = Record<
  string,
  { type: 'string' | 'boolean'; default?: string | boolean }
>;

/**
 * The command line of an end-to-end bench: rounds, load, pool and ids, and in
 * `extra` the values of the bench's own `extraOptions`.
 */
export function parseRoundOptions(
  usage: string,
  defaultWarmup: string,
  extraOptions: ExtraOptions = {},
) {
  const { values } = parseCommandLine({
    options: {
      ...extraOptions,
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      warmup: { type: 'string', default: defaultWarmup },
      'pool-size': { type: 'string', default: '10' },
      ids: { type: 'string', default: '10000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  exitOnHelp(values, usage);
  return {
    extra: values as Readonly<Record<string, string | boolean | undefined>>,
    duration: wholeNumber('duration', values.duration, 1, 600),
    rounds: wholeNumber('rounds', values.rounds, 1, 100),
    connections: wholeNumber('connections', values.connections, 1, 1000),
    warmup: wholeNumber('warmup', values.warmup, 0, 60),
    poolSize: wholeNumber('pool-size', values['pool-size'], 1, 100),
    ids: wholeNumber('ids', values.ids, 1, 1_000_000),
  };
}

/** The machine's 1, 5 and 15 minute load averages, for a report. */
export const loadAverages = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(', ');
