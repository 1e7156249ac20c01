import { channel } from 'node:diagnostics_channel';
import type { FastifyInstance, RouteOptions } from 'fastify';

export interface RegisteredRoute {
  readonly method: string;
  /** The route pattern, e.g. `/v1/teams/:team_id`. */
  readonly url: string;
  /** The JSON Schema of its body, when it takes one. */
  readonly bodySchema: Record<string, any> | undefined;
}

const initialization = channel('fastify.initialization');

/**
 * Runs `start` and returns, with its result, every route the Fastify instances it
 * creates register (HEAD twins left out). Fastify announces each new instance on its
 * `fastify.initialization` diagnostics channel before any route exists, so an
 * onRoute hook added there sees them all without touching buildApp.
 */
export async function recordRoutes<T>(
  start: () => Promise<T>,
): Promise<{ result: T; routes: RegisteredRoute[] }> {
  const routes: RegisteredRoute[] = [];
  const record = (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      const bodySchema = route.schema?.body as Record<string, any> | undefined;
      if (method !== 'HEAD') routes.push({ method, url: route.url, bodySchema });
    }
  };
  const onInstance = (message: unknown) => {
    (message as { fastify: FastifyInstance }).fastify.addHook('onRoute', record);
  };
  initialization.subscribe(onInstance);
  try {
    return { result: await start(), routes };
  } finally {
    initialization.unsubscribe(onInstance);
  }
}
