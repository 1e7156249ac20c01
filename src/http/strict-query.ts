import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';

/**
 * API routes without query parameters refuse any (422), as list routes refuse
 * unknown ones: a misspelt `?limt=10` should fail loudly, not be ignored.
 * Registered before the routes, as onRoute hooks only see routes added after them.
 */
export function registerStrictQuery(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    route.schema ??= {};
    route.schema.querystring ??= Type.Object({}, { additionalProperties: false });
  });
}
