// What every worker child script shares: its command line (the workload, how
// often to report) and the tally its handlers report to. Deliberately light on
// imports (no bench/lib/cli.ts, which pulls in the app), so the bare ceiling's
// process holds graphile-worker and pg and little else.
import { parseArgs } from 'node:util';
import { Tally } from '../lib/completions.ts';
import { BENCH_WORKLOADS, type BenchWorkload } from './jobs.ts';

/** The read of the `read-task` workload: one task by primary key, as a notification job does. */
export const READ_TASK_SQL = 'SELECT id, title, status, assignee_id FROM tasks WHERE id = $1';

export function childSetup(): { workload: BenchWorkload; tally: Tally } {
  const { values } = parseArgs({
    options: {
      workload: { type: 'string', default: 'noop' },
      'progress-ms': { type: 'string', default: '0' },
      'sample-ms': { type: 'string', default: '0' },
    },
  });
  const workload = values.workload as BenchWorkload;
  const progressMs = Number(values['progress-ms']);
  const sampleMs = Number(values['sample-ms']);
  if (!BENCH_WORKLOADS.includes(workload) || !(progressMs >= 0) || !(sampleMs >= 0)) {
    throw new Error(`worker child: bad arguments ${process.argv.slice(2).join(' ')}`);
  }
  return { workload, tally: new Tally({ progressMs, sampleMs }) };
}

/** Stops the worker on SIGTERM, then exits (explicitly, so --cpu-prof writes its profile). */
export function stopOnSigterm(stop: () => Promise<void>): void {
  process.once('SIGTERM', async () => {
    await stop();
    process.exit(0);
  });
}
