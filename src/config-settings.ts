/**
 * Every environment variable Tasklane reads, as the README's configuration
 * table lists it (scripts/config-table.ts; test/readme.test.ts keeps the two
 * equal). config.ts parses them.
 */
import { POLICY_KEYS } from './ratelimit/policies.ts';

export interface Setting {
  readonly name: string;
  readonly description: string;
  readonly default: string;
}

/** The table the README's configuration section is written from. */
export const settings: readonly Setting[] = [
  { name: 'PORT', description: 'TCP port the HTTP server listens on', default: '3000' },
  {
    name: 'HOST',
    description: 'Interface to bind',
    default: '127.0.0.1 (development), 0.0.0.0 (production)',
  },
  {
    name: 'NODE_ENV',
    description: '`development`, `production` or `test`; production requires explicit secrets',
    default: 'development',
  },
  {
    name: 'DATABASE_URL',
    description: 'PostgreSQL connection string; unset starts an embedded PostgreSQL',
    default: 'embedded, under `$DATA_DIR/pg`',
  },
  { name: 'DATABASE_POOL_SIZE', description: 'Connections in the pg pool', default: '10' },
  {
    name: 'DATA_DIR',
    description: 'Where embedded PostgreSQL and generated secrets live',
    default: './data',
  },
  {
    name: 'REDIS_URL',
    description: 'Redis for shared limits and fan-out; unset uses in-process stores',
    default: 'unset',
  },
  {
    name: 'LOG_LEVEL',
    description: 'pino level: fatal, error, warn, info, debug, trace, silent',
    default: 'info',
  },
  {
    name: 'TOKEN_SIGNING_KEY',
    description:
      'Secret from which the access-token, refresh-token and cursor keys are derived, ≥ 32 bytes; required in production',
    default: 'generated into `$DATA_DIR/secrets.json`',
  },
  {
    name: 'ADMIN_TOKEN',
    description:
      'Opens the operator API (`/v1/admin/*`) to `Authorization: Bearer <token>`; a secret of at least 32 characters (`openssl rand -hex 32`). Unset, those routes do not exist (404)',
    default: 'unset (no admin API)',
  },
  { name: 'ACCESS_TOKEN_TTL_SECONDS', description: 'Access token lifetime', default: '600' },
  {
    name: 'REFRESH_IDLE_TTL_SECONDS',
    description: 'A refresh token unused this long expires',
    default: '2592000 (30 days)',
  },
  {
    name: 'REFRESH_ABSOLUTE_TTL_SECONDS',
    description: 'A refresh token family expires this long after login, however used',
    default: '7776000 (90 days)',
  },
  {
    name: 'REFRESH_REUSE_GRACE_SECONDS',
    description:
      'How long a spent refresh token still answers with its successor (concurrent double refresh)',
    default: '3',
  },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    description: 'How long SIGTERM waits for in-flight requests before closing connections',
    default: '10000',
  },
  {
    name: 'SHUTDOWN_DRAIN_DELAY_MS',
    description:
      'After SIGTERM, how long `/readyz` answers 503 (`draining`) while every other route serves on, so load balancers stop sending before the listener closes; a second signal skips the rest. Runs before `SHUTDOWN_TIMEOUT_MS`',
    default: '5000 (production), 0 (development, test)',
  },
  {
    name: 'READINESS_TIMEOUT_MS',
    description:
      'Longest each `/readyz` check (database, migrations, job queue, Redis) may take before it counts as `timeout`; keep it under the load balancer’s probe timeout',
    default: '500',
  },
  {
    name: 'TRUST_PROXY',
    description:
      'Which proxies to believe about the client address (`X-Forwarded-For`), which keys the per-IP rate limits: `false`; their addresses or CIDR ranges, comma-separated (`loopback`, `linklocal`, `uniquelocal` name the private ranges); or `true`, every hop, which a client can forge: only behind a proxy that overwrites the header',
    default: 'false',
  },
  {
    name: 'JOBS_IN_PROCESS',
    description:
      'Run background jobs inside `serve`; `false` leaves them to `tasklane worker` processes',
    default: 'true',
  },
  { name: 'JOB_CONCURRENCY', description: 'Jobs one worker runs at once', default: '4' },
  {
    name: 'JOB_LOCK_TIMEOUT_SECONDS',
    description:
      'A job locked this long by a worker whose heartbeat is as old, or gone (a killed process), is handed back to the queue; a worker beats every quarter of it',
    default: '30',
  },
  {
    name: 'WORKER_METRICS_PORT',
    description:
      '`tasklane worker` serves `GET /metrics` on this port (on `METRICS_HOST`); `serve` has its own `/metrics`',
    default: 'unset (none)',
  },
  {
    name: 'METRICS_ENABLED',
    description:
      '`false` turns off the per-request and per-query series and /metrics on the API port (benchmark baseline)',
    default: 'true',
  },
  {
    name: 'METRICS_TOKEN',
    description:
      'When set, `GET /metrics` (API port, `METRICS_PORT`, `WORKER_METRICS_PORT`) asks for `Authorization: Bearer <token>`, else 401; a secret of at least 32 characters (`openssl rand -hex 32`)',
    default: 'unset (open)',
  },
  {
    name: 'METRICS_PORT',
    description:
      '`serve` answers `GET /metrics` on this port (on `METRICS_HOST`) instead of the API port, where `/metrics` is then a 404',
    default: 'unset (the API port)',
  },
  {
    name: 'METRICS_HOST',
    description:
      'Interface the separate metrics servers (`METRICS_PORT`, `WORKER_METRICS_PORT`) bind',
    default: '`HOST`',
  },
  {
    name: 'TRASH_RETENTION_DAYS',
    description: 'Days a deleted task or comment stays in the trash before it is purged for good',
    default: '30',
  },
  {
    name: 'SMTP_URL',
    description:
      'SMTP server for notification emails (`smtp://user:pass@host:587`, `smtps://…` for TLS from the start); unset, emails are only logged, like push and SMS',
    default: 'unset',
  },
  {
    name: 'SMTP_FROM',
    description: 'The `From` of notification emails',
    default: '`Tasklane <notifications@tasklane.invalid>`',
  },
  {
    name: 'WEBHOOK_ALLOW_PRIVATE_TARGETS',
    description:
      'Deliver webhooks to private, loopback and link-local addresses (the SSRF guard off; for private networks and tests)',
    default: 'false',
  },
  {
    name: 'WEBHOOK_RETRY_SCHEDULE',
    description:
      'Delays before each webhook retry after the first attempt, jittered ±20 %; then the delivery fails and the endpoint is disabled',
    default: '`5s 5m 30m 2h 5h 10h 14h 20h 24h`',
  },
  {
    name: 'WEBHOOK_TIMEOUT',
    description: 'Longest one webhook attempt may take, connect to last byte',
    default: '`10s`',
  },
  {
    name: 'WEBHOOK_CIRCUIT_FAILURES',
    description: 'Consecutive failed attempts after which an endpoint’s circuit opens',
    default: '5',
  },
  {
    name: 'WEBHOOK_CIRCUIT_COOLDOWN',
    description:
      'How long an open circuit waits before one half-open probe; doubles per failed probe, at most 1h',
    default: '`1m`',
  },
  {
    name: 'RATE_LIMITS',
    description: `Overrides of the rate limit policies, e.g. \`read.free=1200/60 auth=20/60~4\` (\`<policy>=<quota>/<window s>[~burst]\`; policies: ${POLICY_KEYS.map((key) => `\`${key}\``).join(', ')}); docs/api.md lists the defaults`,
    default: 'the defaults in docs/api.md',
  },
  {
    name: 'RATE_LIMIT_ENABLED',
    description: 'false turns rate limiting off (for benchmarks of the bare API)',
    default: 'true',
  },
  {
    name: 'RATE_LIMIT_CONCURRENCY',
    description: 'Requests one caller may have in flight on one node; 0 = no cap',
    default: '20',
  },
  {
    name: 'RATE_LIMIT_NODE_RPS',
    description:
      'Requests per second one node takes from all callers together (then 503); 0 = no ceiling',
    default: '10000',
  },
  {
    name: 'RATE_LIMIT_REDIS_TIMEOUT_MS',
    description:
      'How long a rate limit decision waits for Redis before failing open (reads, writes, search) or closed (sign-in)',
    default: '25',
  },
  {
    name: 'RATE_LIMIT_KEY_PREFIX',
    description: 'Prefix of every rate limit key in Redis (several deployments on one Redis)',
    default: '`rl:`',
  },
  {
    name: 'LOAD_SHED_EVENT_LOOP_DELAY_MS',
    description:
      'Event-loop delay (p99 over a second) from which the node sheds load: searches first, then reads and writes at 1.5×, sign-in at 2×; 0 = off',
    default: '100',
  },
  {
    name: 'LOAD_SHED_HEAP_USED_MB',
    description: 'V8 heap in use (MiB) from which the node sheds load, as above; 0 = off',
    default: '60 % of the V8 heap limit',
  },
  {
    name: 'LOAD_SHED_MAX_IN_FLIGHT',
    description: 'Requests in flight on the node from which it sheds load, as above; 0 = off',
    default: '256',
  },
  {
    name: 'SLOW_REQUEST_MS',
    description:
      'A request at least this slow logs `slow request` at warn, with its database time and query count; 0 = off',
    default: '1000',
  },
  {
    name: 'SLOW_QUERY_MS',
    description:
      'A SQL statement at least this slow logs `slow query` at warn, with its parameterised text (never values); 0 = off',
    default: '250',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    description:
      'OpenTelemetry collector (OTLP/HTTP, JSON); setting it (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns tracing on. The exporter also reads `OTEL_EXPORTER_OTLP_HEADERS` and `_TIMEOUT`',
    default: 'unset: tracing off',
  },
  {
    name: 'OTEL_TRACES_EXPORTER',
    description:
      '`otlp` turns tracing on (to localhost:4318 without an endpoint); `none` keeps it off',
    default: 'unset',
  },
  {
    name: 'OTEL_SDK_DISABLED',
    description: '`true` keeps tracing off whatever else is set',
    default: 'false',
  },
  {
    name: 'OTEL_SERVICE_NAME',
    description: 'The `service.name` of every span',
    default: '`tasklane`',
  },
  {
    name: 'OTEL_TRACES_SAMPLER',
    description:
      '`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off` or `parentbased_traceidratio`; `OTEL_TRACES_SAMPLER_ARG` is the ratio (0–1, default 1)',
    default: '`parentbased_always_on`',
  },
  {
    name: 'OTEL_BSP_SCHEDULE_DELAY',
    description: 'Milliseconds finished spans wait to be sent together',
    default: '5000',
  },
];
