import { createHash } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

export const TOKEN_ISSUER = 'tasklane';
export const TOKEN_AUDIENCE = 'tasklane-api';
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

export interface AccessTokenClaims {
  readonly userId: string;
  readonly sessionId: string;
  /** Identifies this token: the id of the refresh-token row it was issued with. */
  readonly tokenId: string;
  /** Seconds since the epoch. */
  readonly issuedAt: number;
}

export interface AccessTokenIssuer {
  readonly ttlSeconds: number;
  sign(claims: AccessTokenClaims): Promise<string>;
  /** The claims of a valid token, or undefined for anything else. */
  verify(token: string): Promise<{ userId: string; sessionId: string } | undefined>;
}

/**
 * HS256 JWTs. The signature is deterministic: the same claims give the same token,
 * which lets a concurrent double refresh answer both callers with one pair.
 */
export function accessTokenIssuer(signingKey: Uint8Array, ttlSeconds: number): AccessTokenIssuer {
  // Tokens already verified, until their own expiry. A client sends one token with
  // every request for up to ten minutes, and jose's HMAC check (an async WebCrypto
  // job) was a tenth of the CPU of a cached read. Keyed by the whole token,
  // signature included, so only the exact bytes that passed can hit. Bounded: the
  // oldest entry goes first (a Map iterates in insertion order).
  const verified = new Map<
    string,
    { claims: { userId: string; sessionId: string }; expiresAt: number }
  >();
  const remember = (
    token: string,
    claims: { userId: string; sessionId: string },
    expiresAt: number,
  ) => {
    if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) {
      const oldest = verified.keys().next().value;
      if (oldest !== undefined) verified.delete(oldest);
    }
    verified.set(token, { claims, expiresAt });
  };
  // A key id lets a later key rotation accept tokens signed by the previous key.
  const kid = createHash('sha256').update(signingKey).digest('base64url').slice(0, 12);
  return {
    ttlSeconds,
    sign: (claims) =>
      new SignJWT({ sid: claims.sessionId })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid })
        .setSubject(claims.userId)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setJti(claims.tokenId)
        .setIssuedAt(claims.issuedAt)
        .setExpirationTime(claims.issuedAt + ttlSeconds)
        .sign(signingKey),
    async verify(token) {
      const cached = verified.get(token);
      if (cached && cached.expiresAt > Date.now()) return cached.claims;
      try {
        const { payload } = await jwtVerify(token, signingKey, {
          algorithms: ['HS256'],
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          typ: 'at+jwt',
          requiredClaims: ['sub', 'sid', 'exp', 'iat'],
        });
        if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return undefined;
        const claims = { userId: payload.sub, sessionId: payload.sid };
        remember(token, claims, (payload.exp ?? 0) * 1000);
        return claims;
      } catch (error) {
        if (error instanceof joseErrors.JOSEError) return undefined;
        throw error;
      }
    },
  };
}
