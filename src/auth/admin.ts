import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../http/problems.ts';
import { staticBearer } from './static-bearer.ts';

/** Its own realm: the admin token is an operator's secret, not a user's access token. */
export const ADMIN_CHALLENGE = 'Bearer realm="tasklane-admin"';

/**
 * The onRequest hook of the /v1/admin routes: `Authorization: Bearer <ADMIN_TOKEN>`
 * or 401, before the query is read (compared in constant time, static-bearer.ts).
 * A user's access token is no admin token.
 */
export function adminAuthenticator(adminToken: string) {
  const check = staticBearer(adminToken);
  return async function authenticateAdmin(
    request: FastifyRequest,
    _reply: FastifyReply,
  ): Promise<void> {
    const verdict = check(request.headers.authorization);
    if (verdict === 'missing') {
      throw new AppError('unauthenticated', 'send Authorization: Bearer <admin token>', {
        headers: { 'www-authenticate': ADMIN_CHALLENGE },
      });
    }
    if (verdict === 'wrong') {
      throw new AppError('unauthenticated', 'the admin token is wrong', {
        headers: { 'www-authenticate': `${ADMIN_CHALLENGE}, error="invalid_token"` },
      });
    }
  };
}
