// The three sides of bench:webhooks, each with a database of its own (so no
// worker sees another's jobs or notifications) and a worker child process:
//
// - tasklane: events appended with appendEvent (which queues the deliveries),
//   delivered by startWorker running the real deliver-webhook job;
// - noop (ceiling A): bench:jobs' bare variant, add_job sent bare and a no-op task;
// - http (ceiling B): the same add_job, and a bare task that POSTs the body.
//
// Both ceilings enqueue exactly as bench:jobs' ceiling does (bench/jobs/enqueuers.ts).
import path from 'node:path';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { bareEnqueue, type Enqueue } from '../jobs/enqueuers.ts';
import { WORKER_SCRIPTS } from '../jobs/jobs.ts';
import type { BenchDatabase } from '../lib/database.ts';
import { createQueueDatabase, type QueueDatabase } from '../lib/queue.ts';
import { startWorkerChild, type WorkerChild } from '../lib/worker-child.ts';
import {
  checkDeliveries,
  type DeliveryCheck,
  emptyDeliveries,
  sampleBody,
  seedWebhookTeams,
  webhookEnqueue,
} from './fixtures.ts';
import type { Receiver } from './receiver-child.ts';
import type { VariantName } from './report.ts';

const SCRIPTS: Record<VariantName, string> = {
  noop: WORKER_SCRIPTS.bare,
  http: path.join(import.meta.dirname, 'http-worker.ts'),
  tasklane: path.join(import.meta.dirname, 'tasklane-worker.ts'),
};

export interface VariantOptions {
  readonly concurrency: number;
  readonly poolSize: number;
  readonly teams: number;
  readonly logLevel: string;
  /** Node flags for the worker child (--cpu-prof …), by variant. */
  readonly nodeFlags: (name: VariantName) => readonly string[];
}

export interface Variant {
  readonly name: VariantName;
  readonly queue: QueueDatabase;
  readonly child: WorkerChild;
  readonly enqueue: Enqueue;
  /** The receiver path this variant posts to; none for the no-op ceiling. */
  readonly path: string | undefined;
  /** The endpoints' signing secret, for the receiver to check signatures with (Tasklane only). */
  readonly secret: string | undefined;
  /** Empties the queue (and Tasklane's event and delivery tables) before a round. */
  reset(): Promise<void>;
  /** The delivery table after a round (Tasklane only). */
  check(): Promise<DeliveryCheck | undefined>;
  /** Stops the worker child and closes the enqueuers' pool (the database is dropped by the caller). */
  close(): Promise<void>;
}

export async function startVariant(
  name: VariantName,
  server: BenchDatabase,
  receiver: Receiver,
  options: VariantOptions,
): Promise<Variant> {
  const queue = await createQueueDatabase(server, `tasklane_bench_webhooks_${name}`);
  const route = name === 'noop' ? undefined : `/${name}`;
  const url = `${receiver.baseUrl}${route ?? ''}`;
  const fixtures =
    name === 'tasklane' ? await seedWebhookTeams(queue.admin.db, options.teams, url) : undefined;
  let child: WorkerChild;
  try {
    child = await startWorkerChild({
      name: `${name} worker`,
      script: SCRIPTS[name],
      nodeFlags: options.nodeFlags(name),
      env: {
        ...process.env,
        // Production mode as deployed, with a throwaway key (the worker signs no token).
        NODE_ENV: 'production',
        TOKEN_SIGNING_KEY: 'bench-webhooks-throwaway-signing-key-0123456789abcdef',
        DATABASE_URL: queue.url,
        DATABASE_POOL_SIZE: String(options.poolSize),
        JOB_CONCURRENCY: String(options.concurrency),
        LOG_LEVEL: options.logLevel,
        // The receiver is on 127.0.0.1, which the SSRF guard refuses by default.
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
        BENCH_RECEIVER_URL: url,
        BENCH_WEBHOOK_BODY: sampleBody(),
      },
    });
  } catch (error) {
    await queue.drop();
    throw error;
  }
  // The enqueuers' pool, the same size for every variant.
  let pool: pg.Pool | undefined;
  let database: Database | undefined;
  let enqueue: Enqueue;
  if (fixtures) {
    database = openDatabase(queue.url, options.poolSize);
    enqueue = webhookEnqueue(database.db, fixtures);
  } else {
    pool = new pg.Pool({ connectionString: queue.url, max: options.poolSize });
    enqueue = bareEnqueue(pool);
  }
  let closed = false;
  return {
    name,
    queue,
    child,
    enqueue,
    path: route,
    secret: fixtures?.secret,
    async reset() {
      await queue.empty();
      if (fixtures) await emptyDeliveries(queue.admin.db);
    },
    check: async () => (fixtures ? checkDeliveries(queue.admin.db) : undefined),
    async close() {
      // Called once the run is over (so the profiles get written) and again in
      // the caller's cleanup: the second call does nothing.
      if (closed) return;
      closed = true;
      await child.stop();
      await pool?.end();
      await database?.close();
    },
  };
}
