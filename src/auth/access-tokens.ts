import { createHash } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

export const TOKEN_ISSUER = 'tasklane';
export const TOKEN_AUDIENCE = 'tasklane-api';

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
      try {
        const { payload } = await jwtVerify(token, signingKey, {
          algorithms: ['HS256'],
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          typ: 'at+jwt',
          requiredClaims: ['sub', 'sid', 'exp', 'iat'],
        });
        if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return undefined;
        return { userId: payload.sub, sessionId: payload.sid };
      } catch (error) {
        if (error instanceof joseErrors.JOSEError) return undefined;
        throw error;
      }
    },
  };
}
