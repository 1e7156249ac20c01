import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { MigrationError } from './db/migrator.ts';
import {
  JOBS_USAGE,
  type JobsRequest,
  parseJobsArgs,
  runJobsCommand,
  UsageError,
} from './jobs/jobs-command.ts';
import { type JobWorker, startWorker } from './jobs/worker.ts';
import { ServingState } from './observability/health.ts';
import { loggerOptions } from './observability/logger.ts';
import { type MetricsServer, serveMetrics } from './observability/metrics-server.ts';
import { buildServer, migrateRuntime, openRuntime, type Runtime } from './runtime.ts';

const USAGE = `usage: tasklane <command>

  serve     migrate the database, then serve the API and run jobs (the default;
            JOBS_IN_PROCESS=false leaves jobs to workers)
  worker    migrate the database, then run jobs only (WORKER_METRICS_PORT serves
            its /metrics)
  migrate   apply pending migrations and exit
  jobs      jobs that failed for good: \`jobs failed [--json]\` lists them,
            \`jobs retry <id>... | --all\` runs them again (tasklane jobs --help)
`;
const COMMANDS = new Set(['serve', 'worker', 'migrate', 'jobs']);

const say = (message: string) => process.stderr.write(`tasklane: ${message}\n`);

async function serve(config: Config, runtime: Runtime): Promise<void> {
  await migrateRuntime(runtime, say);
  const serving = new ServingState();
  const app = await buildServer(config, runtime, serving);
  await app.listen({ port: config.port, host: config.host });
  const metricsServer = await startMetricsServer(config, runtime, config.metricsPort);
  if (metricsServer) {
    app.log.info({ port: metricsServer.port }, 'metrics at GET /metrics on their own port');
  } else if (config.env === 'production' && config.metricsToken === undefined) {
    app.log.warn('GET /metrics is open on the API port: set METRICS_TOKEN, or METRICS_PORT');
  }
  const worker = config.jobsInProcess ? await startJobs(config, runtime, app.log) : undefined;

  const drain = { delayMs: config.shutdownDrainDelayMs, begin: () => serving.beginDraining() };
  onShutdown(app.log, drain, async () => {
    // In-flight requests get SHUTDOWN_TIMEOUT_MS; then their connections are cut.
    const deadline = setTimeout(() => {
      app.log.warn('shutdown timeout reached: closing remaining connections');
      app.server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    deadline.unref();
    try {
      await Promise.all([app.close(), worker?.stop()]);
    } finally {
      clearTimeout(deadline);
    }
    // Last to go, so a scrape during the shutdown still finds the node.
    await metricsServer?.close();
    await runtime.close();
  });
}

/** The bare /metrics server on `port` (METRICS_PORT, WORKER_METRICS_PORT), when one is set. */
function startMetricsServer(
  config: Config,
  runtime: Runtime,
  port: number | undefined,
): Promise<MetricsServer | undefined> {
  if (port === undefined) return Promise.resolve(undefined);
  return serveMetrics(runtime.metrics.registry, {
    host: config.metricsHost,
    port,
    token: config.metricsToken,
  });
}

/** `tasklane worker`: jobs only, no HTTP. */
async function work(config: Config, runtime: Runtime): Promise<void> {
  await migrateRuntime(runtime, say);
  const log = pino(loggerOptions(config));
  const worker = await startJobs(config, runtime, log);
  const metricsServer = await startMetricsServer(config, runtime, config.workerMetricsPort);
  if (metricsServer) log.info({ port: metricsServer.port }, 'worker metrics at GET /metrics');
  // No load balancer sends a worker requests: nothing to drain.
  onShutdown(log, undefined, async () => {
    await Promise.all([worker.stop(), metricsServer?.close()]);
    await runtime.close();
  });
}

function startJobs(config: Config, runtime: Runtime, log: FastifyBaseLogger): Promise<JobWorker> {
  return startWorker({
    pool: runtime.database.pool,
    db: runtime.database.db,
    config,
    log,
    metrics: runtime.metrics,
  });
}

/** Readiness off, then a pause while load balancers notice, before `stop` runs. */
interface Drain {
  readonly delayMs: number;
  begin(): void;
}

/**
 * On SIGTERM or SIGINT: `drain` (when given) and its delay, during which a
 * second signal cuts the delay short; then `stop` (stop taking work, finish what
 * runs) and exit. Once `stop` has begun, our handlers are gone: a further
 * signal ends the process at once, as it would any Node process.
 */
function onShutdown(
  log: FastifyBaseLogger,
  drain: Drain | undefined,
  stop: () => Promise<void>,
): void {
  let phase: 'running' | 'draining' | 'stopping' = 'running';
  let endDelay = () => {};
  const onSignal = (signal: NodeJS.Signals) => {
    if (phase === 'running') void shutdown(signal);
    else if (phase === 'draining') {
      log.info({ signal }, 'second signal: skipping the rest of the drain delay');
      endDelay();
    }
  };
  const shutdown = async (signal: NodeJS.Signals) => {
    phase = 'draining';
    if (drain) {
      drain.begin();
      if (drain.delayMs > 0) {
        log.info(
          { signal, delay_ms: drain.delayMs },
          'draining: /readyz answers 503, everything else serves on until the delay ends',
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drain.delayMs);
          endDelay = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    phase = 'stopping';
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    log.info(
      { signal },
      'shutting down: no new connections, finishing in-flight requests and jobs',
    );
    try {
      await stop();
      log.info('stopped');
      process.exitCode = 0;
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exitCode = 1;
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0] ?? 'serve';
  if (command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (!COMMANDS.has(command)) {
    process.stderr.write(USAGE);
    process.exitCode = 2;
    return;
  }
  let jobsRequest: JobsRequest | undefined;
  try {
    // Checked before anything starts: a typo must not boot an embedded PostgreSQL.
    if (command === 'jobs') jobsRequest = parseJobsArgs(argv.slice(1));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(error.message);
    process.exitCode = 2;
    return;
  }
  if (jobsRequest?.command === 'help') {
    process.stdout.write(JOBS_USAGE);
    return;
  }
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig();
    runtime = await openRuntime(config, say);
    if (jobsRequest) {
      process.exitCode = await runJobsCommand(jobsRequest, runtime.database.db, {
        out: (text) => process.stdout.write(text),
        say,
      });
      await runtime.close();
      return;
    }
    if (command === 'migrate') {
      await migrateRuntime(runtime, say);
      await runtime.close();
      return;
    }
    if (command === 'worker') await work(config, runtime);
    else await serve(config, runtime);
  } catch (error) {
    // A bad setting or an edited migration is the operator's to fix: one clear line.
    if (error instanceof ConfigError || error instanceof MigrationError) say(error.message);
    else
      say(
        `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    await runtime?.close().catch(() => {});
    process.exit(1);
  }
}

await main(process.argv.slice(2));
