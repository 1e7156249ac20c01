import { createHash, createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'tlr_';
const SHAPE = /^tlr_[A-Za-z0-9_-]{43}$/;

/**
 * Opaque refresh tokens: `tlr_` and 32 random bytes, stored only as SHA-256.
 * A token's successor is an HMAC of the token under a server key, so the server
 * can hand the same successor to a concurrent second refresh without ever
 * having stored it.
 */
export interface RefreshTokenSecrets {
  generate(): string;
  successorOf(token: string): string;
  hash(token: string): Buffer;
  isWellFormed(token: string): boolean;
}

export function refreshTokenSecrets(derivationKey: Uint8Array): RefreshTokenSecrets {
  return {
    generate: () => PREFIX + randomBytes(32).toString('base64url'),
    successorOf: (token) =>
      PREFIX + createHmac('sha256', derivationKey).update(token).digest('base64url'),
    hash: (token) => createHash('sha256').update(token).digest(),
    isWellFormed: (token) => SHAPE.test(token),
  };
}
