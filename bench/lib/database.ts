// The benchmark's database, chosen by the app's own rules: DATABASE_URL, or an
// embedded PostgreSQL under DATA_DIR (use DATA_DIR=bench/data to keep ./data out of it).
import type { Config } from '../../src/config.ts';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/database.ts';
import { MigrationError } from '../../src/db/migrator.ts';
import { migrateRuntime, openRuntime, type Runtime } from '../../src/runtime.ts';

export interface BenchDatabase {
  readonly config: Config;
  readonly runtime: Runtime;
  readonly db: Db;
  /** A connection string for child processes (the embedded server's, when embedded). */
  readonly url: string;
}

export const say = (message: string) => process.stderr.write(`bench: ${message}\n`);

export async function openBenchDatabase(): Promise<BenchDatabase> {
  const config = loadConfig();
  const runtime = await openRuntime(config, say);
  try {
    await migrateRuntime(runtime, say);
  } catch (error) {
    await runtime.close();
    if (error instanceof MigrationError && config.databaseUrl === undefined) {
      // The schema moved under a benchmark database: it is scratch data, so start over.
      throw new Error(
        `${error.message}\nThe benchmark database predates the current migrations: delete ${config.dataDir} and run \`npm run seed\` again.`,
      );
    }
    throw error;
  }
  const url = runtime.database.pool.options.connectionString;
  if (url === undefined) throw new Error('the database pool has no connection string');
  return { config, runtime, db: runtime.database.db, url };
}

/**
 * Runs `stop` once on the first Ctrl-C or SIGTERM, so an interrupted command still
 * stops the embedded PostgreSQL it started (it would otherwise outlive us holding
 * the data directory). A second signal exits at once.
 */
export function onInterrupt(stop: () => void): void {
  let interrupted = false;
  const handler = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say(`${signal}: stopping cleanly (again to force)`);
    stop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
