import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../http/problems.ts';
import type { AccessTokenIssuer } from './access-tokens.ts';
import type { Principal } from './principal.ts';

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

function unauthenticated(detail: string, tokenPresented: boolean): AppError {
  // RFC 6750: say which scheme to use, and whether the token sent was the problem.
  const challenge = tokenPresented
    ? 'Bearer realm="tasklane", error="invalid_token"'
    : 'Bearer realm="tasklane"';
  return new AppError('unauthenticated', detail, { headers: { 'www-authenticate': challenge } });
}

/**
 * The onRequest hook every protected route declares: a valid access token or 401.
 * It runs before the body is read or validated, so an anonymous caller learns
 * nothing about the route's schema and costs no parsing.
 */
export function authenticator(tokens: AccessTokenIssuer) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    // The rate limiter already verified this request's token (bearerPrincipal).
    if (request.principal) return;
    const header = request.headers.authorization;
    if (header === undefined)
      throw unauthenticated('send Authorization: Bearer <access token>', false);
    const match = BEARER.exec(header);
    if (!match) throw unauthenticated('the Authorization header must be "Bearer <token>"', true);
    const claims = await tokens.verify(match[1]!);
    if (!claims) throw unauthenticated('the access token is invalid or expired', true);
    request.principal = claims satisfies Principal;
  };
}

/**
 * The caller a request's bearer token names, if it is valid, without refusing
 * anything: the rate limiter keys by it before the route decides whether it
 * needs one. Sets `request.principal`, so `authenticate` does not verify twice.
 */
export function bearerPrincipal(tokens: AccessTokenIssuer) {
  return async (request: FastifyRequest): Promise<Principal | undefined> => {
    if (request.principal) return request.principal;
    const header = request.headers.authorization;
    const match = header === undefined ? null : BEARER.exec(header);
    if (!match) return undefined;
    const claims = await tokens.verify(match[1]!);
    if (claims) request.principal = claims;
    return claims;
  };
}

/** The principal of a route that declared `authenticate`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthenticated');
  return request.principal;
}
