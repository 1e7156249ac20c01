import { createHash, timingSafeEqual } from 'node:crypto';

/** The 401's challenge: its own realm, since the metrics token is no user's credential. */
export const METRICS_CHALLENGE = 'Bearer realm="tasklane-metrics"';

/**
 * `(authorization header) → may this scrape read /metrics?` for METRICS_TOKEN:
 * anyone when no token is set, else `Bearer <token>` and nothing else. Both sides
 * are hashed first, so the comparison takes the same time whatever was sent,
 * its length included.
 */
export function metricsAuthorization(
  token: string | undefined,
): (header: string | undefined) => boolean {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (header) => {
    const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
