// One batch of seeded tasks: a single INSERT … SELECT generate_series statement
// that also moves the project's task counter, so a batch is all or nothing and a
// re-run continues exactly where the last committed batch ended.
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';

/** Title and description vocabulary; full-text search for any of them has hits. */
export const WORDS = `
  account admin alert analytics android api archive audit avatar backend backup badge
  banner billing browser bucket budget build cache calendar campaign canvas certificate
  chart checkout client cluster column comment compliance config contract cookie coupon
  crash customer dashboard database deadline deploy design dialog discount docker domain
  download draft editor email endpoint export feature feedback filter firmware font footer
  gateway graph header icon import index invoice kernel keyboard label latency layout
  ledger license login logo mailbox marketing memory menu metric migration mobile monitor
  network newsletter notification onboarding order packet password payment payroll
  permission pipeline pixel plugin portal printer privacy profile prototype proxy query
  queue quota receipt refund release replica report router sandbox scanner schema screen
  search server session shipping sidebar signup sitemap snapshot socket spreadsheet
  storage stripe subscription survey sync tablet tenant terminal theme ticket timezone
  token tooltip tracker translation upload vendor video voucher wallet warehouse webhook
  widget wizard workflow zipcode
`
  .trim()
  .split(/\s+/);
export const LABELS = ['bug', 'feature', 'chore', 'frontend', 'backend', 'urgent', 'design', 'ops'];

/** Where seeded time starts; each task number adds 30 s, so 1M tasks end within a year. */
const SEED_EPOCH = '2025-01-01T00:00:00Z';

export interface TaskBatch {
  readonly projectId: string;
  /** The project's position: every project gets its own (reproducible) data. */
  readonly projectOrdinal: number;
  readonly count: number;
  /** Users tasks are assigned to and created by (all team members). */
  readonly people: readonly string[];
}

/**
 * Inserts `count` tasks numbered after the project's last_task_number, as the app
 * allocates them (no gaps). Every column but the id's random bits is a hash of
 * (project, number): re-seeding from scratch gives the same data. The id is a
 * UUIDv7 carrying created_at's milliseconds, like the app's. About 1 % of the
 * tasks are in the trash, so lists have something to skip.
 */
export async function insertTaskBatch(db: Db, batch: TaskBatch): Promise<number> {
  const seed = batch.projectOrdinal * 100;
  // A deterministic 31-bit number per (task, purpose).
  const h = (purpose: number) =>
    sql.raw(`(hashint8extended(n::bigint, ${seed + purpose}) & 2147483647)`);
  // A number per (task, word position, purpose), for the words of a text.
  const hw = (purpose: number) =>
    sql.raw(`(hashint8extended(n::bigint * 64 + i, ${seed + purpose}) & 2147483647)`);
  const words = sql`${WORDS}::text[]`;
  const pick = (purpose: number) => sql`(${words})[1 + ${hw(purpose)} % ${sql.lit(WORDS.length)}]`;
  const people = sql`${batch.people}::uuid[]`;

  const result = await sql`
    WITH allocated AS (
      UPDATE projects SET last_task_number = last_task_number + ${batch.count}
      WHERE id = ${batch.projectId}
      RETURNING last_task_number - ${batch.count} AS first
    )
    INSERT INTO tasks (id, project_id, number, title, description, status, priority,
      assignee_id, due_date, labels, created_by, created_at, updated_at, deleted_at, version)
    SELECT
      (lpad(to_hex((extract(epoch FROM t.created_at) * 1000)::bigint), 12, '0') || '7'
        || substr(replace(gen_random_uuid()::text, '-', ''), 14, 19))::uuid,
      ${batch.projectId}::uuid,
      n,
      (SELECT string_agg(${pick(20)}, ' ' ORDER BY i) FROM generate_series(1, 3 + ${h(1)} % 4) AS i),
      CASE WHEN ${h(2)} % 100 < 20 THEN '' ELSE
        (SELECT string_agg(${pick(21)}, ' ' ORDER BY i) FROM generate_series(1, 8 + ${h(3)} % 33) AS i)
      END,
      CASE WHEN ${h(4)} % 100 < 30 THEN 'todo' WHEN ${h(4)} % 100 < 50 THEN 'in_progress'
        WHEN ${h(4)} % 100 < 60 THEN 'in_review' WHEN ${h(4)} % 100 < 95 THEN 'done'
        ELSE 'canceled' END,
      CASE WHEN ${h(5)} % 100 < 40 THEN 'none' WHEN ${h(5)} % 100 < 60 THEN 'low'
        WHEN ${h(5)} % 100 < 80 THEN 'medium' WHEN ${h(5)} % 100 < 95 THEN 'high'
        ELSE 'urgent' END,
      CASE WHEN ${h(6)} % 100 < 30 THEN NULL
        ELSE (${people})[1 + ${h(7)} % cardinality(${people})] END,
      CASE WHEN ${h(8)} % 100 < 45 THEN NULL
        ELSE (t.created_at + (${h(9)} % 100 - 10) * interval '1 day')::date END,
      ARRAY(SELECT label FROM unnest(${LABELS}::text[]) WITH ORDINALITY AS l(label, i)
        WHERE ${hw(22)} % 100 < 12 ORDER BY i),
      (${people})[1 + ${h(10)} % cardinality(${people})],
      t.created_at,
      t.updated_at,
      CASE WHEN ${h(11)} % 1000 < 10 THEN t.updated_at + interval '1 hour' END,
      CASE WHEN t.updated_at = t.created_at THEN 1 ELSE 2 + ${h(12)} % 5 END
    FROM allocated,
      generate_series(allocated.first + 1, allocated.first + ${batch.count}) AS n,
      LATERAL (SELECT ${SEED_EPOCH}::timestamptz + n * interval '30 seconds'
        + (${h(13)} % 30000) * interval '1 millisecond' AS created_at) AS c,
      LATERAL (SELECT c.created_at, CASE WHEN ${h(14)} % 100 < 50 THEN c.created_at
        ELSE c.created_at + (${h(15)} % 604800000) * interval '1 millisecond' END AS updated_at) AS t
  `.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}
