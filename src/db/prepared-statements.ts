import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

// PostgreSQL answers a prepared statement whose table changed shape since it was
// planned (a migration added a column under `SELECT *`) with this SQLSTATE:
// "cached plan must not change result type".
const CACHED_PLAN_CHANGED = '0A000';

const names = new Map<string, string>();

/** A statement's name: a hash of its text, the same on every connection. */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    name = `k${createHash('sha256').update(sql).digest('base64url').slice(0, 22)}`;
    names.set(sql, name);
  }
  return name;
}

const TRANSACTION_START = /^\s*(begin|start transaction)\b/i;
const TRANSACTION_END = /^\s*(commit|rollback)\b/i;

/**
 * The pool as Kysely sees it, with every parameterised query sent as a named
 * prepared statement: PostgreSQL parses and plans it once per connection instead
 * of on every call (this doubled the throughput of GET /v1/tasks/{id}; see
 * bench/README.md). Queries without parameters (BEGIN, migrations) stay simple
 * queries. Shapes are bounded by the code, and pool connections have a maximum
 * lifetime (database.ts), which bounds each connection's statement cache.
 *
 * A connection whose statement went stale after a migration is retired on
 * release; outside a transaction the failed query is retried as a plain one, so
 * the caller never sees the error. Inside one it cannot be (the transaction is
 * already aborted), and that one request fails.
 */
export function preparingPool(pool: pg.Pool): PostgresPool {
  return {
    options: pool.options,
    end: () => pool.end(),
    async connect() {
      const client = await pool.connect();
      let inTransaction = false;
      let stale = false;
      const query = async (sql: string, parameters: readonly unknown[]) => {
        if (parameters.length === 0) {
          if (TRANSACTION_START.test(sql)) inTransaction = true;
          else if (TRANSACTION_END.test(sql)) inTransaction = false;
          return client.query(sql);
        }
        const values = [...parameters];
        try {
          return await client.query({ name: statementName(sql), text: sql, values });
        } catch (error) {
          if ((error as { code?: string }).code !== CACHED_PLAN_CHANGED) throw error;
          stale = true;
          if (inTransaction) throw error;
          return client.query(sql, values);
        }
      };
      return {
        query: query as unknown as PostgresPoolClient['query'],
        release: (destroy?: boolean) => client.release(destroy || stale),
      };
    },
  };
}
