import { staticBearer } from '../auth/static-bearer.ts';

/** The 401's challenge: its own realm, since the metrics token is no user's credential. */
export const METRICS_CHALLENGE = 'Bearer realm="tasklane-metrics"';

/**
 * `(authorization header) → may this scrape read /metrics?` for METRICS_TOKEN:
 * anyone when no token is set, else `Bearer <token>` and nothing else.
 */
export function metricsAuthorization(
  token: string | undefined,
): (header: string | undefined) => boolean {
  if (token === undefined) return () => true;
  const check = staticBearer(token);
  return (header) => check(header) === 'ok';
}
