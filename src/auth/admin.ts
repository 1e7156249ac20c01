import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../http/problems.ts';

/** Its own realm: the admin token is an operator's secret, not a user's access token. */
export const ADMIN_CHALLENGE = 'Bearer realm="tasklane-admin"';

const BEARER = /^Bearer +(\S+) *$/i;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * The onRequest hook of the /v1/admin routes: `Authorization: Bearer <ADMIN_TOKEN>`
 * or 401, before the query is read. Both tokens are hashed first, so the
 * comparison takes the same time whatever was sent, its length included. A
 * user's access token is no admin token.
 */
export function adminAuthenticator(adminToken: string) {
  const expected = sha256(adminToken);
  return async function authenticateAdmin(
    request: FastifyRequest,
    _reply: FastifyReply,
  ): Promise<void> {
    const header = request.headers.authorization;
    const presented = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (presented === undefined) {
      throw new AppError('unauthenticated', 'send Authorization: Bearer <admin token>', {
        headers: { 'www-authenticate': ADMIN_CHALLENGE },
      });
    }
    if (!timingSafeEqual(sha256(presented), expected)) {
      throw new AppError('unauthenticated', 'the admin token is wrong', {
        headers: { 'www-authenticate': `${ADMIN_CHALLENGE}, error="invalid_token"` },
      });
    }
  };
}
