// node bench/webhooks/http-worker.ts
//
// Ceiling B of bench:webhooks, forked by bench/lib/worker-child.ts: the bare
// graphile-worker of bench/jobs/bare-worker.ts (same pool, concurrency, silent
// logger, no crontab), whose task makes one undici POST of a delivery's body to
// the receiver and reads the answer. Nothing else: no signing, no delivery row
// to load, no attempt to record. Tasklane ÷ this is what our delivery code costs
// beyond the HTTP request itself.
//
// Environment: DATABASE_URL, DATABASE_POOL_SIZE, JOB_CONCURRENCY as the bare
// worker; BENCH_RECEIVER_URL (where to post) and BENCH_WEBHOOK_BODY (a body as
// Tasklane would send it, made by the parent with deliveryBody()).
import { Agent, request } from 'undici';
import { runBareWorker } from '../jobs/bare-runner.ts';
import { childSetup } from '../jobs/child-setup.ts';
import type { BenchPayload } from '../jobs/jobs.ts';
import { ENQUEUED_AT_HEADER } from './receiver-protocol.ts';

const url = process.env.BENCH_RECEIVER_URL;
const body = process.env.BENCH_WEBHOOK_BODY;
if (!url || !body) throw new Error('http-worker: BENCH_RECEIVER_URL and BENCH_WEBHOOK_BODY');
// The shape and size of Tasklane's signature header (one v1 HMAC-SHA256), not computed.
const SIGNATURE = `v1,${'A'.repeat(43)}=`;

const { tally } = childSetup();
// The agent as Tasklane's sender configures it (src/webhooks/http-client.ts):
// kept-alive connections, HTTP/1.1, the same timeouts.
const agent = new Agent({
  connect: { timeout: 10_000 },
  allowH2: false,
  headersTimeout: 10_000,
  bodyTimeout: 10_000,
  keepAliveTimeout: 10_000,
});
await runBareWorker(
  () => async (payload) => {
    const { id, at } = payload as BenchPayload;
    tally.started(at);
    const response = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': SIGNATURE,
        'content-type': 'application/json',
        'user-agent': 'Tasklane-Webhooks/1',
        [ENQUEUED_AT_HEADER]: String(at),
      },
      body,
    });
    await response.body.dump();
    // A failed POST must fail the job, as a failed delivery would be retried.
    if (response.statusCode >= 300) throw new Error(`receiver answered ${response.statusCode}`);
    tally.finished();
  },
  () => agent.close(),
);
tally.ready();
