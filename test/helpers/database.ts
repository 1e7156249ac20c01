import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

function settings(): { adminUrl: string; template: string } {
  const adminUrl = process.env.TASKLANE_TEST_ADMIN_URL;
  const template = process.env.TASKLANE_TEST_TEMPLATE;
  if (!adminUrl || !template) {
    throw new Error('run the tests with `npm test` (test/run.ts prepares the database)');
  }
  return { adminUrl, template };
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: settings().adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A database of this test file's own, cloned from the migrated template. */
export async function createTestDatabase(
  options: { migrated?: boolean } = {},
): Promise<TestDatabase> {
  const { adminUrl, template } = settings();
  const name = `${template}_${randomBytes(6).toString('hex')}`;
  const source = options.migrated === false ? 'template0' : template;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${source}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => {},
      ),
  };
}
