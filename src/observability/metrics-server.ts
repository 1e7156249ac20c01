/**
 * /metrics on a port of its own: `tasklane worker` has no Fastify, so with
 * WORKER_METRICS_PORT set it answers GET /metrics on a bare node:http server,
 * and nothing else; `tasklane serve` does the same with METRICS_PORT, which takes
 * /metrics off the API port. With METRICS_TOKEN, a scrape without it gets a 401.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { METRICS_CHALLENGE, metricsAuthorization } from './metrics-auth.ts';

export interface MetricsServer {
  /** The port it listens on (the one asked for, or the one picked for 0). */
  readonly port: number;
  close(): Promise<void>;
}

export async function serveMetrics(
  registry: Registry,
  options: { readonly host: string; readonly port: number; readonly token?: string | undefined },
): Promise<MetricsServer> {
  const authorized = metricsAuthorization(options.token);
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      response.end('method not allowed\n');
      return;
    }
    if (!authorized(request.headers.authorization)) {
      response.writeHead(401, {
        'www-authenticate': METRICS_CHALLENGE,
        'content-type': 'text/plain',
      });
      response.end('unauthorized: send Authorization: Bearer <METRICS_TOKEN>\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // A scraper's keep-alive connection would hold close() open.
        server.closeIdleConnections();
      }),
  };
}
