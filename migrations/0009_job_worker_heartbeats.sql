-- Job worker heartbeats (ADR 0021). graphile-worker locks a job with its worker
-- pool's id and, if that process dies, only takes the lock back after 4 hours.
-- Each pool writes a row here and refreshes it every few seconds; a live worker
-- that finds a job locked by a pool whose row is stale or missing hands the job
-- back (graphile_worker.force_unlock_workers) and deletes the stale row.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE job_worker_heartbeats (
  -- graphile-worker's pool id, as it appears in graphile_worker.jobs.locked_by.
  pool_id text PRIMARY KEY CHECK (length(pool_id) BETWEEN 1 AND 200),
  -- Who the pool is, for an operator reading this table.
  hostname text NOT NULL CHECK (length(hostname) <= 255),
  pid integer NOT NULL,
  started_at timestamptz(3) NOT NULL DEFAULT now(),
  -- The database's clock, never a node's: nodes compare it with now() and their
  -- clocks may disagree.
  last_seen_at timestamptz(3) NOT NULL DEFAULT now()
);
