import { hostname } from 'node:os';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminAuthenticator } from '../../auth/admin.ts';
import { problems } from '../../http/openapi-responses.ts';
import type { ErrorRanking } from '../../observability/error-ranking.ts';
import {
  presentRouteErrorRate,
  TopErrorsQuery,
  TopErrorsSchema,
  windowMsOf,
} from './ops.schemas.ts';

/** The OpenAPI security requirement of the admin routes (src/http/openapi.ts names the scheme). */
export const adminAuth = [{ adminToken: [] }];

export interface AdminRouteDeps {
  /** ADMIN_TOKEN: buildApp registers these routes only when it is set. */
  readonly adminToken: string;
  readonly errorRanking: ErrorRanking;
}

/**
 * The operator API under /v1/admin. Rate limited like any read, by client
 * address: an admin token names no user.
 */
export function adminOpsRoutes(deps: AdminRouteDeps): FastifyPluginAsyncTypebox {
  const { errorRanking } = deps;
  const authenticateAdmin = adminAuthenticator(deps.adminToken);
  const node = `${hostname()}:${process.pid}`;
  return async (app) => {
    app.get(
      '/v1/admin/ops/top-errors',
      {
        onRequest: authenticateAdmin,
        schema: {
          tags: ['admin'],
          summary: 'The routes failing most on this node, by error rate (admin token)',
          description:
            'Counted in memory by the node that answers, over a rolling window of 10-second buckets kept for an hour; ' +
            'the `http_requests_total` metric has the same counts for the whole fleet. An error is a 5xx ' +
            'response, 503 refusals included; 4xx are not. See docs/decisions/0023.',
          security: adminAuth,
          querystring: TopErrorsQuery,
          response: { 200: TopErrorsSchema, ...problems(401) },
        },
      },
      async (request, reply) => {
        const { window, k, min_requests: minRequests } = request.query;
        const windowMs = windowMsOf(window, errorRanking.bucketMs, errorRanking.retentionMs);
        const rows = errorRanking.top({ windowMs, k, minRequests });
        reply.header('cache-control', 'no-store');
        return {
          window_seconds: windowMs / 1000,
          bucket_seconds: errorRanking.bucketMs / 1000,
          min_requests: minRequests,
          node,
          generated_at: new Date().toISOString(),
          data: rows.map(presentRouteErrorRate),
        };
      },
    );
  };
}
