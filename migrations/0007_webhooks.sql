-- Webhooks (ADR 0018): a team's endpoints, one delivery per (event, endpoint),
-- and every attempt at it.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- A UUIDv7 (RFC 9562) made in SQL, like src/lib/ids.ts makes them in TS, for rows
-- created by a statement rather than by the application: an event's deliveries
-- are inserted by the same statement as the event (src/events/event-log.ts).
-- PostgreSQL 18 has uuidv7(); this also runs on older servers. 48 bits of Unix
-- milliseconds over a random UUID, then the version nibble set to 7 (a v4 has
-- 0100 there: setting bits 52 and 53 makes it 0111).
CREATE FUNCTION tasklane_uuidv7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
        FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

CREATE TABLE webhook_endpoints (
  id uuid PRIMARY KEY,
  team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  -- Exact event types (task.created), a subject's every type (task.*), or '*'.
  event_types text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 50),
  -- Signing secrets (whsec_…). Kept whole: signing needs them, so they cannot be
  -- hashed like refresh tokens (ADR 0018 says what protects them).
  secret text NOT NULL,
  -- After a rotation the old secret still signs, beside the new one, until then.
  previous_secret text,
  previous_secret_expires_at timestamptz(3),
  -- Set when Tasklane stopped delivering (410 Gone, retries exhausted) or an owner did.
  disabled_at timestamptz(3),
  disabled_reason text CHECK (disabled_reason IN ('gone', 'retries_exhausted', 'manual')),
  -- The circuit breaker: failed attempts since the last success, and until when
  -- deliveries wait instead of trying (a half-open probe moves it forward).
  consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  circuit_open_until timestamptz(3),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  version integer NOT NULL DEFAULT 1 CHECK (version > 0),
  CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL)),
  CHECK ((disabled_at IS NULL) = (disabled_reason IS NULL))
);
-- Endpoints of a team, oldest first; also what every event's fan-out reads.
CREATE INDEX webhook_endpoints_team_id_idx ON webhook_endpoints (team_id, id);

CREATE TABLE webhook_deliveries (
  -- The Standard Webhooks `webhook-id`: fixed when the event commits, the same on
  -- every attempt, so a receiver drops a repeat by it.
  id uuid PRIMARY KEY,
  endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  event_type text NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz(3),
  last_status integer,
  last_error text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  completed_at timestamptz(3),
  -- One delivery per (event, endpoint), whatever retries or crashes happen.
  UNIQUE (event_id, endpoint_id)
);
-- An endpoint's deliveries, newest first (keyset on id, a UUIDv7).
CREATE INDEX webhook_deliveries_endpoint_id_idx ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  number integer NOT NULL CHECK (number > 0),
  started_at timestamptz(3) NOT NULL,
  duration_ms integer NOT NULL CHECK (duration_ms >= 0),
  -- The response's status; null when none came (timeout, refused, blocked).
  status integer,
  error text,
  -- The start of the response body, for the team to see why it failed.
  response_snippet text CHECK (length(response_snippet) <= 1024),
  PRIMARY KEY (delivery_id, number)
);
