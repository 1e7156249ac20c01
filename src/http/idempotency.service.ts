import type { Db } from '../db/database.ts';
import {
  claimKey,
  findKey,
  releaseClaim,
  type StoredResponse,
  storeResponse,
} from './idempotency.repository.ts';
import type { RequestFingerprint } from './idempotency-key.ts';
import { AppError } from './problems.ts';

/** How long a response stays replayable (API.md: 24 hours). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * How long an in-flight claim is honoured before a retry may take it over. A claim
 * only outlives its request when the process died mid-request (crash, OOM kill,
 * SIGKILL after the shutdown timeout), and then nothing will ever finish it.
 * Requests are short transactions and graceful shutdown waits at most
 * SHUTDOWN_TIMEOUT_MS (10 s by default), so a live request is far inside 60 s; a
 * client retrying a dead one waits at most a minute of 409s.
 */
export const IDEMPOTENCY_LEASE_MS = 60_000;

// Claim, then read on conflict: a row swept between the two statements needs one
// more claim. Three rounds are far beyond any real interleaving.
const CLAIM_ATTEMPTS = 3;

export interface Claim {
  readonly scope: string;
  readonly key: string;
  /** When the claim was made: also its fencing token against a later takeover. */
  readonly claimedAt: Date;
}

export type Beginning =
  | { readonly kind: 'claimed'; readonly claim: Claim }
  | { readonly kind: 'replay'; readonly response: StoredResponse };

/**
 * Decides what a request with an Idempotency-Key does: run (the key is claimed for
 * it), replay the stored response, or fail with 422 (the key belongs to another
 * request) or 409 (the first request is still running).
 */
export async function beginIdempotentRequest(
  db: Db,
  scope: string,
  key: string,
  request: RequestFingerprint,
  now: Date,
): Promise<Beginning> {
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
    const claimedAt = await claimKey(db, {
      scope,
      key,
      method: request.method,
      path: request.path,
      requestHash: request.hash,
      now,
      expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
      abandonedBefore: new Date(now.getTime() - IDEMPOTENCY_LEASE_MS),
    });
    if (claimedAt) return { kind: 'claimed', claim: { scope, key, claimedAt } };
    const record = await findKey(db, scope, key);
    if (!record) continue;
    if (!record.requestHash.equals(request.hash)) {
      const what =
        record.method === request.method && record.path === request.path
          ? 'with a different body'
          : `(${record.method} ${record.path})`;
      throw new AppError(
        'idempotency_key_reused',
        `this Idempotency-Key was first used for a different request ${what}; use a new key`,
      );
    }
    if (record.response) return { kind: 'replay', response: record.response };
    break;
  }
  throw new AppError(
    'idempotency_key_in_use',
    'a request with this Idempotency-Key is still running; retry when it has finished',
    { headers: { 'retry-after': '1' } },
  );
}

/**
 * Stores the response of a claimed request for replay, with a fresh 24 h expiry.
 * False when a retry took the claim over meanwhile (see IDEMPOTENCY_LEASE_MS).
 */
export function finishIdempotentRequest(
  db: Db,
  claim: Claim,
  response: StoredResponse,
  now: Date,
): Promise<boolean> {
  return storeResponse(db, claim, response, new Date(now.getTime() + IDEMPOTENCY_TTL_MS));
}

/** Gives the key back when the response cannot be stored (a stream): a retry runs anew. */
export function abandonIdempotentRequest(db: Db, claim: Claim): Promise<void> {
  return releaseClaim(db, claim);
}
