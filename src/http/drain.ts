import type { FastifyInstance } from 'fastify';
import { AppError } from './problems.ts';

/**
 * Once shutdown begins, requests that still arrive (pipelined, or on a keep-alive
 * connection) get a 503 problem with Retry-After and `Connection: close`, so a
 * client or load balancer retries on another node. Fastify's built-in answer
 * (return503OnClosing) is not problem+json, so it is turned off in app.ts.
 */
export function registerDrain(app: FastifyInstance): void {
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  // A request already in flight when shutdown began would answer keep-alive, and its
  // then idle connection would hold the process open until SHUTDOWN_TIMEOUT_MS.
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
  });
  app.addHook('onRequest', async () => {
    if (!draining) return;
    throw new AppError('service_unavailable', 'the server is shutting down; retry the request', {
      headers: { 'retry-after': '1' },
    });
  });
}
