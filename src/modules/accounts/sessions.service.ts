import type { AccessTokenIssuer } from '../../auth/access-tokens.ts';
import type { RefreshTokenSecrets } from '../../auth/refresh-tokens.ts';
import type { Db, Trx } from '../../db/database.ts';
import { AppError } from '../../http/problems.ts';
import { uuidv7 } from '../../lib/ids.ts';
import {
  findRefreshToken,
  insertFamily,
  insertRefreshToken,
  lockTokenByHash,
  markSpent,
  revokeFamilies,
} from './sessions.repository.ts';

export interface TokenPair {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token: string;
}

export interface SessionPolicy {
  readonly idleTtlSeconds: number;
  readonly absoluteTtlSeconds: number;
  readonly reuseGraceSeconds: number;
}

export interface SessionDeps {
  readonly accessTokens: AccessTokenIssuer;
  readonly refreshTokens: RefreshTokenSecrets;
  readonly policy: SessionPolicy;
}

const seconds = (s: number) => s * 1000;
const invalidRefresh = () =>
  new AppError('unauthenticated', 'the refresh token is invalid, expired or revoked');

/** The access token minted with a refresh token: same id, same issue time, so rebuildable. */
async function pairFor(
  deps: SessionDeps,
  userId: string,
  token: { id: string; family_id: string; created_at: Date },
  refreshToken: string,
): Promise<TokenPair> {
  const accessToken = await deps.accessTokens.sign({
    userId,
    sessionId: token.family_id,
    tokenId: token.id,
    issuedAt: Math.floor(token.created_at.getTime() / 1000),
  });
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: deps.accessTokens.ttlSeconds,
    refresh_token: refreshToken,
  };
}

/** A new session family for a login or signup, inside the caller's transaction. */
export async function startSession(
  trx: Trx,
  deps: SessionDeps,
  userId: string,
): Promise<TokenPair> {
  const now = new Date();
  const expiresAt = new Date(now.getTime() + seconds(deps.policy.absoluteTtlSeconds));
  const familyId = uuidv7();
  await insertFamily(trx, {
    id: familyId,
    user_id: userId,
    created_at: now,
    expires_at: expiresAt,
  });
  const secret = deps.refreshTokens.generate();
  const token = { id: uuidv7(), family_id: familyId, created_at: now };
  await insertRefreshToken(trx, {
    ...token,
    token_hash: deps.refreshTokens.hash(secret),
    idle_expires_at: new Date(now.getTime() + seconds(deps.policy.idleTtlSeconds)),
  });
  return pairFor(deps, userId, token, secret);
}

type RefreshOutcome = { pair: TokenPair } | { reuseDetected: true };

/**
 * Rotates a refresh token (RFC 9700 §4.14.2). A token spent moments ago by a
 * concurrent refresh answers with that refresh's pair; a token spent earlier than
 * that is a replay, and revokes its whole family.
 */
export async function refreshSession(
  db: Db,
  deps: SessionDeps,
  presented: string,
): Promise<TokenPair> {
  if (!deps.refreshTokens.isWellFormed(presented)) throw invalidRefresh();
  const outcome = await db.transaction().execute(async (trx): Promise<RefreshOutcome> => {
    const found = await lockTokenByHash(trx, deps.refreshTokens.hash(presented));
    if (!found) throw invalidRefresh();
    const { token, family } = found;
    const now = new Date();
    if (family.revoked_at !== null || family.expires_at <= now) throw invalidRefresh();

    if (token.spent_at === null) {
      if (token.idle_expires_at <= now) throw invalidRefresh();
      const successorSecret = deps.refreshTokens.successorOf(presented);
      const successor = { id: uuidv7(), family_id: family.id, created_at: now };
      const idleExpiry = now.getTime() + seconds(deps.policy.idleTtlSeconds);
      await insertRefreshToken(trx, {
        ...successor,
        token_hash: deps.refreshTokens.hash(successorSecret),
        idle_expires_at: new Date(Math.min(idleExpiry, family.expires_at.getTime())),
      });
      await markSpent(trx, token.id, now, successor.id);
      return { pair: await pairFor(deps, family.user_id, successor, successorSecret) };
    }

    const withinGrace =
      now.getTime() - token.spent_at.getTime() <= seconds(deps.policy.reuseGraceSeconds);
    const successor = token.replaced_by
      ? await findRefreshToken(trx, token.replaced_by)
      : undefined;
    if (withinGrace && successor && successor.spent_at === null) {
      const successorSecret = deps.refreshTokens.successorOf(presented);
      return { pair: await pairFor(deps, family.user_id, successor, successorSecret) };
    }
    await revokeFamilies(trx, { familyId: family.id }, 'reuse_detected', now);
    return { reuseDetected: true };
  });
  // The revocation above has committed; only now refuse the replayed token.
  if ('reuseDetected' in outcome) throw invalidRefresh();
  return outcome.pair;
}

/** Logout: the session's refresh tokens stop working at once. */
export async function endSession(db: Db, familyId: string): Promise<void> {
  await db.transaction().execute((trx) => revokeFamilies(trx, { familyId }, 'logout', new Date()));
}
