import type { Db } from '../db/database.ts';

/** A response kept for replay. */
export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}

export interface IdempotencyRecord {
  readonly method: string;
  readonly path: string;
  readonly requestHash: Buffer;
  /** `null` while the first request runs. */
  readonly response: StoredResponse | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export interface ClaimInput {
  readonly scope: string;
  readonly key: string;
  readonly method: string;
  readonly path: string;
  readonly requestHash: Buffer;
  readonly now: Date;
  readonly expiresAt: Date;
  /** An in-flight row claimed at or before this instant is abandoned and may be taken over. */
  readonly abandonedBefore: Date;
}

/**
 * Claims `(scope, key)` for a request about to run: inserts an in-flight row, or
 * takes over a row that is expired (any request: the key is new again) or in flight
 * past its lease (the same request only). One statement, autocommitted, so the claim
 * is visible to every node before the handler starts. When several contenders race,
 * PostgreSQL serializes them on the row (the insert's unique check, then the
 * conflict update's row lock, which re-checks the WHERE on the newest version), so
 * exactly one gets a row back. Returns the claim's `created_at`, which is also its
 * fencing token for `storeResponse`; `undefined` when the key is held.
 */
export async function claimKey(db: Db, input: ClaimInput): Promise<Date | undefined> {
  const row = await db
    .insertInto('idempotency_keys')
    .values({
      principal_id: input.scope,
      key: input.key,
      method: input.method,
      path: input.path,
      request_hash: input.requestHash,
      created_at: input.now,
      expires_at: input.expiresAt,
    })
    .onConflict((conflict) =>
      conflict
        .columns(['principal_id', 'key'])
        .doUpdateSet((eb) => ({
          method: eb.ref('excluded.method'),
          path: eb.ref('excluded.path'),
          request_hash: eb.ref('excluded.request_hash'),
          response_status: null,
          response_headers: null,
          response_body: null,
          created_at: eb.ref('excluded.created_at'),
          expires_at: eb.ref('excluded.expires_at'),
        }))
        .where((eb) =>
          eb.or([
            eb('idempotency_keys.expires_at', '<=', input.now),
            eb.and([
              eb('idempotency_keys.response_status', 'is', null),
              eb('idempotency_keys.created_at', '<=', input.abandonedBefore),
              eb('idempotency_keys.request_hash', '=', input.requestHash),
            ]),
          ]),
        ),
    )
    .returning('created_at')
    .executeTakeFirst();
  return row?.created_at;
}

export async function findKey(
  db: Db,
  scope: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const row = await db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('principal_id', '=', scope)
    .where('key', '=', key)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    method: row.method,
    path: row.path,
    requestHash: row.request_hash,
    response:
      row.response_status === null
        ? null
        : {
            status: row.response_status,
            headers: row.response_headers ?? {},
            body: row.response_body,
          },
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

/**
 * Stores the response of the claim made at `claimedAt`. Returns false when that
 * claim is no longer the row's (a retry took it over after the lease): the newer
 * claim's outcome wins, this one is dropped.
 */
export async function storeResponse(
  db: Db,
  claim: { scope: string; key: string; claimedAt: Date },
  response: StoredResponse,
  expiresAt: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('idempotency_keys')
    .set({
      response_status: response.status,
      response_headers: JSON.stringify(response.headers),
      response_body: response.body,
      expires_at: expiresAt,
    })
    .where('principal_id', '=', claim.scope)
    .where('key', '=', claim.key)
    .where('created_at', '=', claim.claimedAt)
    .where('response_status', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Drops an in-flight claim whose response cannot be stored, so the key is free again. */
export async function releaseClaim(
  db: Db,
  claim: { scope: string; key: string; claimedAt: Date },
): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('principal_id', '=', claim.scope)
    .where('key', '=', claim.key)
    .where('created_at', '=', claim.claimedAt)
    .where('response_status', 'is', null)
    .execute();
}

/**
 * Deletes rows expired at `now`, `batchSize` at a time (each batch a short
 * statement on idempotency_keys_expires_at_idx, so no long lock or huge WAL burst),
 * until a batch comes back short. Rows locked by a claim taking them over are
 * skipped, so sweeping nodes never wait on requests or on each other. Returns how
 * many rows it deleted.
 */
export async function sweepIdempotencyKeys(db: Db, now: Date, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db
      .deleteFrom('idempotency_keys')
      .where((eb) =>
        eb(
          eb.refTuple('principal_id', 'key'),
          'in',
          eb
            .selectFrom('idempotency_keys')
            .select(['principal_id', 'key'])
            .where('expires_at', '<=', now)
            .limit(batchSize)
            .forUpdate()
            .skipLocked()
            .$asTuple('principal_id', 'key'),
        ),
      )
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
