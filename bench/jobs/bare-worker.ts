// node bench/jobs/bare-worker.ts [--workload noop|read-task] [--progress-ms n] [--sample-ms n]
//
// The ceiling, forked by bench/lib/worker-child.ts: graphile-worker's run()
// (bare-runner.ts) with the same handler as bench/jobs/tasklane-worker.ts and
// nothing around it.
import { runBareWorker } from './bare-runner.ts';
import { childSetup, READ_TASK_SQL } from './child-setup.ts';
import type { BenchPayload } from './jobs.ts';

const { workload, tally } = childSetup();
await runBareWorker((pool) => async (payload) => {
  const { id, at } = payload as BenchPayload;
  tally.started(at);
  if (workload === 'read-task') {
    await pool.query({ name: 'read-task', text: READ_TASK_SQL, values: [id] });
  }
  tally.finished();
});
tally.ready();
