import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { problemResponse } from './openapi-responses.ts';

/**
 * Problems any route may answer with, documented on every route so clients see
 * them in /openapi.json without each route repeating them.
 */
function addCommonProblems(route: RouteOptions): void {
  route.schema ??= {};
  const schema = route.schema;
  if ((schema as { hide?: boolean }).hide) return;
  schema.response ??= {};
  const response = schema.response as Record<string, unknown>;
  const add = (status: number) => {
    response[status] ??= problemResponse(status);
  };
  if (schema.body) [400, 413, 415].forEach(add);
  if (schema.body || schema.querystring || schema.params) add(422);
  add(500);
}

/** OpenAPI 3.1 at /openapi.json, built from the route schemas, and a reference at /docs. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  app.addHook('onRoute', addCommonProblems);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tasklane API',
        version,
        description:
          'Teams own projects, projects hold tasks, tasks carry comments. Every error is RFC 9457 problem details (`application/problem+json`) with a stable `code`.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'Access token from /v1/auth/login, /v1/auth/signup or /v1/auth/refresh',
          },
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description:
              'The operator secret `ADMIN_TOKEN`; the admin routes exist only when it is set',
          },
        },
      },
      tags: [
        { name: 'auth', description: 'Accounts and sessions' },
        { name: 'teams', description: 'Teams and their members' },
        { name: 'projects', description: 'Projects of a team, and members of private projects' },
        { name: 'tasks', description: 'Tasks in projects: lists, search, trash' },
        { name: 'comments', description: 'Comments on tasks' },
        { name: 'events', description: 'The team audit trail' },
        { name: 'notifications', description: 'Your inbox and notification channels' },
        { name: 'meta', description: 'Health, documentation and problem types' },
        {
          name: 'admin',
          description: 'Operator views of this node (only when ADMIN_TOKEN is set)',
        },
      ],
    },
    // Name components after the schemas' $id (`Problem`, `User`) instead of def-0, def-1.
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
