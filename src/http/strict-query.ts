import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';

interface ObjectSchema {
  properties?: Record<string, { default?: unknown }>;
  required?: string[];
}

/**
 * A query parameter with a default is optional to the client (Ajv fills it in),
 * so /openapi.json must not call it required. TypeBox marks it required because
 * the handler always sees a value, which stays true.
 */
function unrequireDefaults(schema: ObjectSchema): void {
  if (!schema.required || !schema.properties) return;
  const properties = schema.properties;
  schema.required = schema.required.filter((name) => properties[name]?.default === undefined);
}

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
    unrequireDefaults(route.schema.querystring as ObjectSchema);
  });
}
