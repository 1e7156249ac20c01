// What a run needs before it measures: ids to request, the machine it runs on,
// the Tasklane session, and which task routes exist yet.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';
import type { BenchDatabase } from './database.ts';
import { BENCH_OWNER, type BenchFixtures } from './fixtures.ts';
import type { Pools, Scenario } from './scenarios.ts';

export interface Dataset {
  readonly tasks: number;
  readonly liveTasks: number;
  readonly projects: number;
}

/** Live task ids drawn at random from the bench projects, and the rest of the pools. */
export async function fetchPools(
  db: Db,
  fixtures: BenchFixtures,
  size: number,
): Promise<{ pools: Pools; dataset: Dataset }> {
  const projectIds = fixtures.projects.map((project) => project.id);
  const rows = await db
    .selectFrom('tasks')
    .select('id')
    .where('project_id', 'in', projectIds)
    .where('deleted_at', 'is', null)
    .orderBy(sql`random()`)
    .limit(size)
    .execute();
  const counts = await db
    .selectFrom('tasks')
    .select((eb) => [
      eb.fn.countAll<number>().as('tasks'),
      sql<number>`count(*) FILTER (WHERE deleted_at IS NULL)::int`.as('live'),
    ])
    .where('project_id', 'in', projectIds)
    .executeTakeFirstOrThrow();
  if (rows.length === 0) throw new Error('the bench projects hold no tasks: run `npm run seed`');
  return {
    pools: { taskIds: rows.map((row) => row.id), projectIds, people: fixtures.people },
    dataset: { tasks: counts.tasks, liveTasks: counts.live, projects: projectIds.length },
  };
}

function command(file: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** The machine table of the report, and `free -h`. */
export async function describeMachine(bench: BenchDatabase) {
  const { rows } = await sql<{ version: string }>`SELECT version()`.execute(bench.db);
  const where = bench.config.databaseUrl
    ? `DATABASE_URL (${new URL(bench.config.databaseUrl).host})`
    : `embedded, under ${path.relative(process.cwd(), bench.config.dataDir) || '.'}`;
  const commit = command('git', ['rev-parse', '--short', 'HEAD'])?.trim();
  // diff-index only reads; a non-zero exit means the tree differs from HEAD.
  const dirty =
    commit !== undefined && command('git', ['diff-index', '--quiet', 'HEAD', '--']) === undefined;
  const cpus = command('nproc', [])?.trim() ?? String(os.availableParallelism());
  return {
    rows: [
      ['CPUs (`nproc`)', `${cpus} × ${os.cpus()[0]?.model ?? 'unknown'}`],
      ['OS', `${os.type()} ${os.release()}`],
      ['Node', process.version],
      ['PostgreSQL', `${rows[0]?.version ?? 'unknown'}; ${where}`],
      ['commit', commit ? `${commit}${dirty ? ' with uncommitted changes' : ''}` : 'unknown'],
    ] as [string, string][],
    memory: command('free', ['-h']) ?? 'free(1) not available\n',
  };
}

/** The bench owner's access token, from the real login route. */
export async function login(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: BENCH_OWNER.email, password: BENCH_OWNER.password }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!response.ok || typeof body.access_token !== 'string') {
    throw new Error(
      `login as ${BENCH_OWNER.email} answered ${response.status}: ${JSON.stringify(body)}`,
    );
  }
  return body.access_token;
}

const normalized = (route: string) => route.replace(/\{[^}]+\}/g, '{}');

/**
 * Why each scenario cannot run, if it cannot: its route is missing from
 * /openapi.json (not built yet), or one request of it does not answer 2xx.
 */
export async function checkScenarios(
  scenarios: readonly Scenario[],
  baseUrls: Readonly<Record<Scenario['target'], string>>,
  tasklaneHeaders: Record<string, string>,
): Promise<Map<string, string>> {
  const spec = (await (await fetch(`${baseUrls.tasklane}/openapi.json`)).json()) as {
    paths?: Record<string, Record<string, unknown>>;
  };
  const routes = new Set(
    Object.entries(spec.paths ?? {}).flatMap(([route, operations]) =>
      Object.keys(operations).map((method) => `${method.toLowerCase()} ${normalized(route)}`),
    ),
  );
  const notRun = new Map<string, string>();
  for (const scenario of scenarios) {
    const { route } = scenario;
    if (route && !routes.has(`${route.method} ${normalized(route.path)}`)) {
      notRun.set(
        scenario.name,
        `route not available yet (${route.method.toUpperCase()} ${route.path} is not in /openapi.json)`,
      );
      continue;
    }
    const request = scenario.next();
    const headers =
      scenario.target === 'tasklane' ? { ...tasklaneHeaders, ...request.headers } : request.headers;
    const response = await fetch(`${baseUrls[scenario.target]}${request.path}`, {
      method: request.method,
      headers,
      body: request.body,
    });
    const text = await response.text();
    if (!response.ok) {
      notRun.set(
        scenario.name,
        `a probe (${request.method} ${request.path}) answered ${response.status}: ${text.slice(0, 300)}`,
      );
    }
  }
  return notRun;
}
