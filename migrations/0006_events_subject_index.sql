-- tasklane:no-transaction
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
-- (squawk assumes a transaction for every file, but the migrator runs this one without.)
-- The history of one resource (GET /v1/teams/{id}/events?subject_id=…) reads this
-- index newest first instead of every event of the team. CONCURRENTLY: events is
-- the most written table, and a plain CREATE INDEX would block its writes.
SET lock_timeout = '5s';
-- Building concurrently blocks no writes, so it may take its time on a big table.
SET statement_timeout = '1h';
-- A build that failed half-way leaves an invalid index behind; a rerun drops it first.
DROP INDEX CONCURRENTLY IF EXISTS events_subject_id_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_subject_id_idx ON events (subject_id, id);
