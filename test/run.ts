// `npm test`: one PostgreSQL for the whole run — the server at DATABASE_URL, or an
// embedded one in a temporary folder — with a migrated template database that each
// test file clones (CREATE DATABASE … TEMPLATE), then `node --test` over the suite.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/db/database.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrator.ts';
import { migrateJobQueue } from '../src/jobs/worker.ts';

const DEFAULT_PATTERNS = ['src/**/*.test.ts', 'test/**/*.test.ts'];

/**
 * The test files to run: the patterns given (the whole suite when none), minus
 * any `--exclude=<glob>`. CI runs the real-process tests in one of its two
 * passes only (.ci/run): they test processes, not the database they run on.
 */
async function testFiles(args: readonly string[]): Promise<string[]> {
  const excluded = args.filter((a) => a.startsWith('--exclude=')).map((a) => a.slice(10));
  const given = args.filter((a) => !a.startsWith('--exclude='));
  const patterns = given.length > 0 ? given : DEFAULT_PATTERNS;
  if (excluded.length === 0) return patterns;
  const files: string[] = [];
  for (const pattern of patterns) {
    for await (const file of fs.glob(pattern)) {
      if (!excluded.some((glob) => path.matchesGlob(file, glob))) files.push(file);
    }
  }
  return files.sort();
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function main(): Promise<number> {
  let embedded: EmbeddedDatabase | undefined;
  let tmp: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-test-'));
    await fs.chmod(tmp, 0o755);
    process.stderr.write(`test: starting embedded PostgreSQL in ${tmp}\n`);
    embedded = await startEmbeddedPostgres({ directory: path.join(tmp, 'pg') });
    adminUrl = embedded.url;
  } else {
    process.stderr.write('test: using the PostgreSQL server at DATABASE_URL\n');
  }

  const template = `tasklane_tpl_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${template}`);
    const { db, pool, close } = openDatabase(withDatabase(adminUrl, template), 1);
    await migrate(db);
    await migrateJobQueue(pool);
    await close();

    const files = await testFiles(process.argv.slice(2));
    const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...files], {
      stdio: 'inherit',
      env: {
        ...process.env,
        TASKLANE_TEST_ADMIN_URL: adminUrl,
        TASKLANE_TEST_TEMPLATE: template,
      },
    });
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    // Test files drop their own databases; a crashed one leaves a database behind, so sweep.
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2`,
      [`${template}_%`, template],
    );
    for (const { datname } of rows) {
      await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
    await admin.end();
    await embedded?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
