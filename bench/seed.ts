// npm run seed -- --tasks 1000000 [--projects 10] [--batch 20000]
//
// Fills the benchmark database (see bench/README.md) with the bench cast and
// tasks. Resumable: each batch commits with its project's task counter, so a
// re-run (or a run after Ctrl-C) tops the table up to --tasks instead of starting over.
import { sql } from 'kysely';
import { exitOnHelp, parseCommandLine, runCommand, wholeNumber } from './lib/cli.ts';
import { onInterrupt, openBenchDatabase, say } from './lib/database.ts';
import { BENCH_OWNER, type BenchFixtures, ensureFixtures, MAX_PROJECTS } from './lib/fixtures.ts';
import { formatDuration, progressBar } from './lib/progress.ts';
import { insertTaskBatch } from './lib/task-batch.ts';

const USAGE = `usage: npm run seed -- --tasks <n> [--projects <n>] [--batch <n>]

  --tasks     how many tasks the bench projects should hold in total (required)
  --projects  how many bench projects share them (default: as many as exist, else 10;
              more can be added later, none is ever removed)
  --batch     tasks per INSERT statement (default 20000)

The database is the app's: DATABASE_URL, else embedded PostgreSQL under DATA_DIR.
Use DATA_DIR=bench/data so the benchmark never touches ./data.
`;

function parseOptions() {
  const { values } = parseCommandLine({
    options: {
      tasks: { type: 'string' },
      projects: { type: 'string' },
      batch: { type: 'string', default: '20000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  exitOnHelp(values, USAGE);
  return {
    tasks: wholeNumber('tasks', values.tasks, 0, 100_000_000),
    projects:
      values.projects === undefined
        ? undefined
        : wholeNumber('projects', values.projects, 1, MAX_PROJECTS),
    batch: wholeNumber('batch', values.batch, 1, 1_000_000),
  };
}

/** Each project's share of `target`: equal, the first ones taking the remainder. */
function deficits(fixtures: BenchFixtures, target: number): Map<string, number> {
  const { projects } = fixtures;
  const share = Math.floor(target / projects.length);
  const extra = target % projects.length;
  return new Map(
    projects.map((project, index) => [
      project.id,
      Math.max(0, share + (index < extra ? 1 : 0) - project.lastTaskNumber),
    ]),
  );
}

async function main(): Promise<number> {
  const options = parseOptions();
  const bench = await openBenchDatabase();
  let stopping = false;
  onInterrupt(() => {
    stopping = true;
  });
  try {
    const fixtures = await ensureFixtures(bench.db, options.projects);
    const existing = fixtures.projects.reduce((sum, project) => sum + project.lastTaskNumber, 0);
    say(
      `${fixtures.projects.length} bench projects hold ${existing} tasks; target ${options.tasks}`,
    );
    let done = existing;
    if (existing < options.tasks) {
      const missing = deficits(fixtures, options.tasks);
      const progress = progressBar('seeding tasks', options.tasks, existing);
      progress.update(done);
      // Round-robin over the projects, so an interrupted seed leaves them even.
      while (done < options.tasks && !stopping) {
        let inserted = 0;
        for (const [ordinal, project] of fixtures.projects.entries()) {
          const count = Math.min(options.batch, missing.get(project.id) ?? 0, options.tasks - done);
          if (count <= 0 || stopping) continue;
          try {
            await insertTaskBatch(bench.db, {
              projectId: project.id,
              projectOrdinal: ordinal,
              count,
              people: fixtures.people,
            });
          } catch (error) {
            // Ctrl-C in a terminal also reaches the embedded PostgreSQL, which may
            // abort the batch in flight: it rolled back whole, so that is fine.
            if (stopping) break;
            throw error;
          }
          missing.set(project.id, (missing.get(project.id) ?? 0) - count);
          done += count;
          inserted += count;
          progress.update(done);
        }
        // Shares can sum to less than the target when projects hold more than theirs.
        if (inserted === 0) break;
      }
      progress.finish(done);
      if (stopping) {
        say(`interrupted at ${done} tasks: run the same command again to continue`);
        return 130;
      }
      // VACUUM, not only ANALYZE: it sets the visibility map (index-only scans) and
      // flushes the GIN pending list now, rather than autovacuum doing it mid-benchmark.
      const started = performance.now();
      say('VACUUM (ANALYZE) tasks …');
      await sql`VACUUM (ANALYZE) tasks`.execute(bench.db);
      await sql`ANALYZE users, teams, team_members, projects`.execute(bench.db);
      say(`vacuumed and analyzed in ${formatDuration((performance.now() - started) / 1000)}`);
    }
    say(`done: ${done} tasks in ${fixtures.projects.length} projects`);
    say(`bench user: ${BENCH_OWNER.email} / ${BENCH_OWNER.password}`);
    return 0;
  } finally {
    await bench.runtime.close();
  }
}

await runCommand(USAGE, main);
