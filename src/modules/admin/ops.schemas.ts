import { Type } from 'typebox';
import { durationMs } from '../../config-parse.ts';
import { AppError } from '../../http/problems.ts';
import { Timestamp } from '../../http/schema-types.ts';
import type { RouteErrorRate } from '../../observability/error-ranking.ts';

export const DEFAULT_WINDOW = '5m';
export const DEFAULT_TOP_K = 10;
export const MAX_TOP_K = 100;
export const DEFAULT_MIN_REQUESTS = 20;

export const TopErrorsQuery = Type.Object(
  {
    window: Type.String({
      pattern: '^[1-9][0-9]{0,5}(s|m|h)$',
      default: DEFAULT_WINDOW,
      description:
        'How far back to look: `30s`, `5m`, `1h`; a multiple of 10 s from 10 s to 1 h (the buckets the node keeps)',
    }),
    k: Type.Integer({
      minimum: 1,
      maximum: MAX_TOP_K,
      default: DEFAULT_TOP_K,
      description: `At most this many routes, 1–${MAX_TOP_K}`,
    }),
    min_requests: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: DEFAULT_MIN_REQUESTS,
      description:
        'Routes with fewer requests in the window are left out, so one failed call on a quiet route does not top the list',
    }),
  },
  { additionalProperties: false },
);

const RouteErrorRateSchema = Type.Object(
  {
    method: Type.String({
      description: 'The HTTP method (`OTHER` for unusual ones; `*` for the overflow series)',
    }),
    route: Type.String({
      description:
        'The route template (`/v1/tasks/:task_id`), `unmatched` for URLs no route serves, or `overflow` for the routes beyond the 1 000 kept apart',
    }),
    requests: Type.Integer({ description: 'Responses in the window' }),
    errors: Type.Integer({ description: 'Of them, 5xx responses (503 refusals included)' }),
    error_rate: Type.Number({ description: 'errors / requests, above 0 and at most 1' }),
  },
  { additionalProperties: false },
);

export const TopErrorsSchema = Type.Object(
  {
    window_seconds: Type.Integer({ description: 'The window the counts cover, in seconds' }),
    bucket_seconds: Type.Integer({
      description:
        'Granularity: the window is the current bucket and those before it; the bucket its far edge falls into is left out',
    }),
    min_requests: Type.Integer({ description: 'The least requests a listed route had' }),
    node: Type.String({
      description: 'The API node that answered (`host:pid`): each node counts its own responses',
    }),
    generated_at: Timestamp('When the ranking was computed'),
    data: Type.Array(RouteErrorRateSchema, {
      description:
        'Routes with at least one error, by error rate, then errors, then method and route; empty when nothing failed',
    }),
  },
  { additionalProperties: false },
);

/**
 * The window in ms, or 422: it must be a whole number of buckets, at least one
 * and at most the retention.
 */
export function windowMsOf(window: string, bucketMs: number, retentionMs: number): number {
  const ms = durationMs(window) ?? Number.NaN;
  if (ms >= bucketMs && ms <= retentionMs && ms % bucketMs === 0) return ms;
  const detail = `must be a multiple of ${bucketMs / 1000}s from ${bucketMs / 1000}s to ${retentionMs / 1000}s`;
  throw new AppError('validation_failed', `window ${detail}`, {
    errors: [{ parameter: 'window', detail }],
  });
}

export function presentRouteErrorRate(row: RouteErrorRate) {
  return {
    method: row.method,
    route: row.route,
    requests: row.requests,
    errors: row.errors,
    error_rate: row.errorRate,
  };
}
