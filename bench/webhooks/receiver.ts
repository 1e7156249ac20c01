// node bench/webhooks/receiver.ts
//
// The local webhook receiver of bench:webhooks, forked by receiver-child.ts: a
// bare node:http server on 127.0.0.1 that answers every POST 204 as soon as its
// body has arrived, as a receiver that queues the work for later would. It is a
// process of its own so that its CPU is neither the worker's nor the enqueuers'.
//
// Per round the parent arms it for one path (each variant posts to its own) and
// a count; it reports `done` when that many distinct `webhook-id`s have arrived.
// Anything costlier than counting — latency, duplicates, signature checks with
// the standardwebhooks library (not our code) — waits for the `report` request
// after the round, off the clock.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHistogram } from 'node:perf_hooks';
import { Webhook } from 'standardwebhooks';
import { wallClock } from '../lib/completions.ts';
import {
  ENQUEUED_AT_HEADER,
  type FromReceiver,
  type ReceiverReport,
  type ToReceiver,
} from './receiver-protocol.ts';

interface Received {
  readonly path: string;
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

const send = (message: FromReceiver) => process.send?.(message);

let armed: { path: string; count: number } | undefined;
let received: Received[] = [];
let distinct = new Set<string>();
let firstAt = Number.NaN;
let cpuAtArm = process.cpuUsage();
// New connections since the round was armed: a sender that keeps its
// connections alive opens none after the warm-up.
let connections = 0;

function onRequest(request: http.IncomingMessage, response: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    response.writeHead(204).end();
    const at = wallClock();
    const path = request.url ?? '/';
    received.push({ path, at, headers: request.headers, body: Buffer.concat(chunks).toString() });
    if (armed === undefined || path !== armed.path) return;
    const id = request.headers['webhook-id'];
    if (typeof id !== 'string' || distinct.has(id)) return;
    if (distinct.size === 0) firstAt = at;
    distinct.add(id);
    if (distinct.size === armed.count) {
      const cpu = process.cpuUsage(cpuAtArm);
      send({ type: 'done', firstAt, lastAt: at, cpuMicros: cpu.user + cpu.system });
    }
  });
}

/**
 * When each delivery was caused: the ceiling's header (its enqueuer's clock
 * before BEGIN), else the body's `timestamp`, which for Tasklane is the event's
 * `created_at`, taken by appendEvent inside the transaction.
 */
function causedAt(request: Received): number {
  const header = request.headers[ENQUEUED_AT_HEADER];
  if (typeof header === 'string') return Number(header);
  return Date.parse((JSON.parse(request.body) as { timestamp: string }).timestamp);
}

function report(secret: string | undefined): ReceiverReport {
  const mine = armed === undefined ? [] : received.filter((r) => r.path === armed!.path);
  const latency = createHistogram();
  for (const request of mine) {
    latency.record(Math.max(1, Math.round((request.at - causedAt(request)) * 1000)));
  }
  let badSignatures = 0;
  if (secret !== undefined) {
    const verifier = new Webhook(secret);
    for (const request of mine) {
      try {
        verifier.verify(request.body, request.headers as Record<string, string>);
      } catch {
        badSignatures++;
      }
    }
  }
  const ms = (micros: number) => micros / 1000;
  return {
    requests: mine.length,
    distinct: new Set(mine.map((r) => r.headers['webhook-id'])).size,
    stray: received.length - mine.length,
    connections,
    latency: {
      p50: ms(latency.percentile(50)),
      p99: ms(latency.percentile(99)),
      max: ms(latency.max),
      count: latency.count,
    },
    signaturesChecked: secret === undefined ? 0 : mine.length,
    badSignatures,
  };
}

process.on('message', (message: ToReceiver) => {
  if (message.type === 'expect') {
    armed = { path: message.path, count: message.count };
    received = [];
    distinct = new Set();
    firstAt = Number.NaN;
    cpuAtArm = process.cpuUsage();
    connections = 0;
    send({ type: 'armed' });
  } else if (message.type === 'report') {
    send({ type: 'report', ...report(message.secret) });
  }
});
// The channel is the parent: when it goes, so do we.
process.on('disconnect', () => process.exit(1));

const server = http.createServer(onRequest);
server.on('connection', () => connections++);
// Longer than the sender's keep-alive (10 s), so an idle pause between rounds
// never races a request against the server closing its socket.
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
});
