import { type Config, ConfigError, loadConfig } from './config.ts';
import { MigrationError } from './db/migrator.ts';
import { startIdempotencySweep } from './http/idempotency-sweep.ts';
import { buildServer, migrateRuntime, openRuntime, type Runtime } from './runtime.ts';

const USAGE = `usage: tasklane <command>

  serve     migrate the database, then serve the API (the default)
  migrate   apply pending migrations and exit
`;

const say = (message: string) => process.stderr.write(`tasklane: ${message}\n`);

async function serve(config: Config, runtime: Runtime): Promise<void> {
  await migrateRuntime(runtime, say);
  const app = await buildServer(config, runtime);
  await app.listen({ port: config.port, host: config.host });
  const stopSweep = startIdempotencySweep(runtime.database.db, app.log);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    stopSweep();
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    // In-flight requests get SHUTDOWN_TIMEOUT_MS; then their connections are cut.
    const deadline = setTimeout(() => {
      app.log.warn('shutdown timeout reached: closing remaining connections');
      app.server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    deadline.unref();
    try {
      await app.close();
      await runtime.close();
      app.log.info('stopped');
      process.exitCode = 0;
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exitCode = 1;
    } finally {
      clearTimeout(deadline);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0] ?? 'serve';
  if (command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command !== 'serve' && command !== 'migrate') {
    process.stderr.write(USAGE);
    process.exitCode = 2;
    return;
  }
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig();
    runtime = await openRuntime(config, say);
    if (command === 'migrate') {
      await migrateRuntime(runtime, say);
      await runtime.close();
      return;
    }
    await serve(config, runtime);
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
