// The HTTP half of bench/ratelimit/decisions.ts: the apps of http-app.ts, one
// process per variant, loaded by autocannon in turns.
import { createServer } from 'node:net';
import path from 'node:path';
import autocannon from 'autocannon';
import { type Server, startServer } from '../lib/processes.ts';
import { Callers } from './drive.ts';
import { HTTP_VARIANTS, type HttpVariant } from './http-variants.ts';
import type { HttpSample } from './report.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** One child process per variant, each added to `started` at once so a failure stops the rest. */
export async function startApps(redisUrl: string, started: Server[]) {
  const apps = new Map<HttpVariant, Server>();
  for (const variant of Object.keys(HTTP_VARIANTS) as HttpVariant[]) {
    const port = await freePort();
    const server = await startServer({
      name: variant,
      args: [path.join(import.meta.dirname, 'http-app.ts')],
      env: { ...process.env, VARIANT: variant, PORT: String(port), REDIS_URL: redisUrl },
      port,
      readyPath: '/hello',
      readyTimeoutMs: 20_000,
    });
    started.push(server);
    apps.set(variant, server);
  }
  return apps;
}

async function load(server: Server, connections: number, duration: number, callers: Callers) {
  const result = await autocannon({
    url: `${server.baseUrl}/hello`,
    connections,
    duration,
    requests: [
      {
        setupRequest(request) {
          request.headers = { ...request.headers, 'x-caller': callers.next() };
          return request;
        },
      },
    ],
  });
  return {
    // Every response over the run's real length: a 1 s run has no once-a-second average to speak of.
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  } satisfies HttpSample;
}

export interface HttpLoadOptions {
  readonly keys: number;
  readonly rounds: number;
  /** Per app per round. */
  readonly seconds: number;
  readonly connections: number;
}

/**
 * autocannon against every app in turn, 1 s each to warm up, then `rounds`
 * rounds (every other one in reverse, as for the decisions).
 */
export async function measureHttp(
  options: HttpLoadOptions,
  apps: ReadonlyMap<HttpVariant, Server>,
  say: (message: string) => void,
) {
  const callers = new Callers(options.keys, 0xc0ffee);
  const samples = new Map<HttpVariant, HttpSample[]>();
  say('HTTP warm-up: 1 s per app');
  for (const server of apps.values()) await load(server, options.connections, 1, callers);
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 0 ? [...apps].reverse() : [...apps];
    for (const [variant, server] of order) {
      await pause(300); // let the previous run's connections close
      const sample = await load(server, options.connections, options.seconds, callers);
      (samples.get(variant) ?? samples.set(variant, []).get(variant)!).push(sample);
      say(
        `round ${round} HTTP ${variant}: ${Math.round(sample.requestsPerSecond)} req/s p99 ${sample.p99Ms} ms${sample.non2xx + sample.errors > 0 ? ` ⚠ ${sample.non2xx} non-2xx, ${sample.errors} errors` : ''}`,
      );
    }
  }
  return samples;
}
