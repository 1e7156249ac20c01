import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer +(\S+) *$/i;

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * `(Authorization header) → how does it compare with this operator secret?`
 * (ADMIN_TOKEN, METRICS_TOKEN). Both sides are hashed first, so the comparison
 * takes the same time whatever was sent, its length included.
 */
export function staticBearer(
  secret: string,
): (header: string | undefined) => 'ok' | 'missing' | 'wrong' {
  const expected = sha256(secret);
  return (header) => {
    const presented = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (presented === undefined) return 'missing';
    return timingSafeEqual(sha256(presented), expected) ? 'ok' : 'wrong';
  };
}
