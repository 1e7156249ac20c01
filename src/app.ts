import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import type { Migration } from './db/migrator.ts';
import { createDeps } from './deps.ts';
import { registerDrain } from './http/drain.ts';
import { answerFrameworkError, registerErrorHandling } from './http/error-handling.ts';
import { registerIdempotency } from './http/idempotency.ts';
import { registerLoadShedding } from './http/load-shedding.ts';
import { registerNulGuard } from './http/nul-guard.ts';
import { registerOpenApi } from './http/openapi.ts';
import { ProblemSchema } from './http/openapi-responses.ts';
import { registerProblemPages } from './http/problem-pages.ts';
import { registerRequestContext, requestIdFor } from './http/request-context.ts';
import { registerStrictQuery } from './http/strict-query.ts';
import { accountRoutes } from './modules/accounts/accounts.routes.ts';
import { UserSchema } from './modules/accounts/accounts.schemas.ts';
import { adminOpsRoutes } from './modules/admin/ops.routes.ts';
import { commentRoutes } from './modules/comments/comments.routes.ts';
import { eventRoutes } from './modules/events/events.routes.ts';
import { notificationRoutes } from './modules/notifications/notifications.routes.ts';
import { projectRoutes } from './modules/projects/projects.routes.ts';
import { taskListRoutes } from './modules/tasks/task-lists.routes.ts';
import { taskRoutes } from './modules/tasks/tasks.routes.ts';
import { TaskSchema } from './modules/tasks/tasks.schemas.ts';
import { memberRoutes } from './modules/teams/members.routes.ts';
import { teamRoutes } from './modules/teams/teams.routes.ts';
import { deliveryRoutes } from './modules/webhooks/deliveries.routes.ts';
import { webhookRoutes } from './modules/webhooks/webhooks.routes.ts';
import { ErrorRanking } from './observability/error-ranking.ts';
import { registerHealth, ServingState } from './observability/health.ts';
import { registerHttpMetrics } from './observability/http-metrics.ts';
import { loggerOptions } from './observability/logger.ts';
import { createMetrics, type Metrics, registerMetricsRoute } from './observability/metrics.ts';
import { installContext } from './observability/tracing.ts';
import { shedPriority } from './ratelimit/policies.ts';
import { setUpRateLimiting } from './ratelimit/setup.ts';
import type { Keys } from './secrets.ts';

export const API_VERSION = '0.1.0';
export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface AppOptions {
  readonly config: Config;
  readonly db: Db;
  readonly keys: Keys;
  readonly migrations: readonly Migration[];
  /** Where log lines go; stdout when absent. Tests pass a stream to read them. */
  readonly logStream?: DestinationStream;
  /**
   * The process's metrics, shared with the job worker when it runs in this
   * process (runtime.ts), so /metrics carries the job series; a fresh set when absent.
   */
  readonly metrics?: Metrics;
  /** Turned to draining by main.ts on SIGTERM, which /readyz reports; never, when absent. */
  readonly serving?: ServingState;
}

type ValidatorFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>['buildValidator'];

/**
 * Bodies are validated strictly (a string where a number belongs is a 422), while
 * query strings and path parameters, which are always text, are coerced.
 */
function validatorCompilers() {
  const common = {
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
  } as const;
  const body = addFormats.default(new Ajv.default({ ...common, coerceTypes: false }));
  const text = addFormats.default(new Ajv.default({ ...common, coerceTypes: 'array' }));
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? body : text).compile(schema);
}

/** The whole HTTP application, without listening: main.ts listens, tests inject. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, db } = options;
  const logger = loggerOptions(config);
  const app = Fastify({
    logger: options.logStream ? { ...logger, stream: options.logStream } : logger,
    genReqId: requestIdFor,
    // Fastify's own two lines per request are replaced by one of ours (request-context.ts).
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      disableRequestLogging: true,
    }),
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: typeof config.trustProxy === 'boolean' ? config.trustProxy : [...config.trustProxy],
    return503OnClosing: false, // see http/drain.ts
    // Errors raised before routing (a malformed URL) still answer problem details.
    frameworkErrors: answerFrameworkError,
    // The factory, not app.setValidatorCompiler: a plugin that calls addSchema gets its
    // compiler rebuilt from the factory, and with the setter that silently meant
    // Fastify's default Ajv (coercing 42 to "42", dropping unknown fields). Fastify
    // types the compiler as Ajv's compile(schema); it is called with { schema, httpPart }.
    schemaController: {
      compilersFactory: { buildValidator: validatorCompilers as unknown as ValidatorFactory },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Only JSON bodies: without this, Fastify would accept text/plain and let it fail as a 422.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    'application/merge-patch+json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
  app.addSchema(ProblemSchema);
  app.addSchema(UserSchema);
  // Shared by the task and task-list routes (two plugins), so registered once here.
  app.addSchema(TaskSchema);

  installContext();
  registerRequestContext(app, { slowRequestMs: config.observability.slowRequestMs });
  registerDrain(app);
  const metrics = options.metrics ?? createMetrics();
  // Before the limiter: an overloaded node refuses before it spends a decision.
  const shedder = registerLoadShedding(app, {
    ...config.loadShedding,
    priorityOf: shedPriority,
    onShed: (priority) => metrics.loadShed.inc({ priority }),
  });
  metrics.http.inFlight = () => shedder.inFlight;
  // This app's own, unlike the metrics a worker may share; kept only for the admin API that reads it.
  const errorRanking =
    config.adminToken === undefined || !config.metricsEnabled ? undefined : new ErrorRanking();
  // METRICS_ENABLED=false: no per-request series and no /metrics (the overhead benchmark's baseline).
  if (config.metricsEnabled) registerHttpMetrics(app, metrics.http, errorRanking);
  registerErrorHandling(app);
  registerNulGuard(app);
  registerStrictQuery(app);
  await registerOpenApi(app, API_VERSION);
  registerProblemPages(app);
  // With METRICS_PORT, /metrics is served there (main.ts) and is a 404 here.
  if (config.metricsEnabled && config.metricsPort === undefined) {
    registerMetricsRoute(app, metrics, { token: config.metricsToken });
  }

  const deps = createDeps(config, db, options.keys);
  // Before the routes, so their hooks wrap every one of them; limits before the
  // idempotency claim, so a refused request stores nothing.
  const rateLimiting = await setUpRateLimiting(app, {
    config: config.rateLimit,
    redisUrl: config.redisUrl,
    db,
    accessTokens: deps.sessions.accessTokens,
    metrics,
    log: app.log,
  });
  registerHealth(app, {
    db,
    migrations: options.migrations,
    pingRedis: rateLimiting.pingRedis,
    timeoutMs: config.readinessTimeoutMs,
    serving: options.serving ?? new ServingState(),
  });
  registerIdempotency(app, deps);
  await app.register(accountRoutes(deps));
  await app.register(teamRoutes(deps));
  await app.register(memberRoutes(deps));
  await app.register(projectRoutes(deps));
  await app.register(taskRoutes(deps));
  await app.register(taskListRoutes(deps));
  await app.register(commentRoutes(deps));
  await app.register(eventRoutes(deps));
  await app.register(notificationRoutes(deps));
  await app.register(webhookRoutes(deps));
  await app.register(deliveryRoutes(deps));
  // Without ADMIN_TOKEN the admin routes do not exist: a 404 like any unknown URL.
  if (config.adminToken !== undefined && errorRanking !== undefined) {
    await app.register(adminOpsRoutes({ adminToken: config.adminToken, errorRanking }));
  }
  return app;
}
