/**
 * `tasklane jobs …`: the dead letters for an operator (ADR 0021). A CLI rather
 * than an admin route: whoever may re-run any team's jobs already has the
 * database credentials, and an HTTP route would need a role that no API caller
 * has today.
 */
import type { Db } from '../db/database.ts';
import { type FailedJob, listFailedJobs, retryFailedJobs } from './dead-letters.ts';

export const JOBS_USAGE = `usage: tasklane jobs <command>

  failed [--json] [--limit N]   jobs that failed on every attempt, latest first (N: 100)
  retry <id>...                 run these failed jobs again, their attempts reset
  retry --all                   run every failed job again
`;

export type JobsRequest =
  | { readonly command: 'help' }
  | { readonly command: 'failed'; readonly json: boolean; readonly limit: number }
  | { readonly command: 'retry'; readonly ids: readonly string[] | 'all' };

/** Bad arguments: main prints the message as one line and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const MAX_JOB_ID = 2n ** 63n - 1n;

/** Parses the arguments after `jobs`; throws UsageError naming what is wrong. */
export function parseJobsArgs(args: readonly string[]): JobsRequest {
  const [command, ...rest] = args;
  if (command === undefined)
    throw new UsageError('jobs: say which: failed or retry (tasklane jobs --help)');
  if (command === '--help' || command === 'help') return { command: 'help' };
  if (command === 'failed') {
    let json = false;
    let limit = 100;
    for (let i = 0; i < rest.length; i++) {
      const arg = rest[i]!;
      if (arg === '--json') json = true;
      else if (arg === '--limit') {
        const value = rest[++i];
        if (value === undefined || !/^\d{1,6}$/.test(value) || Number(value) < 1) {
          throw new UsageError(
            `jobs failed: --limit takes a whole number from 1, got "${value ?? ''}"`,
          );
        }
        limit = Number(value);
      } else throw new UsageError(`jobs failed: unknown argument "${arg}"`);
    }
    return { command: 'failed', json, limit };
  }
  if (command === 'retry') {
    if (rest.includes('--all')) {
      if (rest.length > 1) throw new UsageError('jobs retry: --all takes no ids');
      return { command: 'retry', ids: 'all' };
    }
    if (rest.length === 0) throw new UsageError('jobs retry: give job ids, or --all');
    const ids = rest.map((arg) => {
      if (!/^\d{1,19}$/.test(arg) || BigInt(arg) > MAX_JOB_ID) {
        throw new UsageError(`jobs retry: "${arg}" is not a job id (ids are whole numbers)`);
      }
      return BigInt(arg).toString();
    });
    return { command: 'retry', ids };
  }
  throw new UsageError(`jobs: unknown command "${command}" (tasklane jobs --help)`);
}

export interface Output {
  /** Results, for stdout. */
  out(text: string): void;
  /** One line for a person, for stderr. */
  say(message: string): void;
}

/** Runs a parsed request; resolves with the exit code. */
export async function runJobsCommand(
  request: JobsRequest,
  db: Db,
  output: Output,
): Promise<number> {
  if (request.command === 'help') {
    output.out(JOBS_USAGE);
    return 0;
  }
  if (request.command === 'failed') {
    const jobs = await listFailedJobs(db, request.limit);
    output.out(request.json ? `${JSON.stringify(jobs.map(toJson), null, 2)}\n` : failedTable(jobs));
    return 0;
  }
  const { retried, notFailed } = await retryFailedJobs(db, request.ids);
  if (retried.length > 0) output.say(`queued again: ${retried.join(', ')}`);
  else if (request.ids === 'all') output.say('no failed jobs to retry');
  for (const id of notFailed)
    output.say(`job ${id} is not a failed job (unknown, done, or still retrying)`);
  return notFailed.length > 0 ? 1 : 0;
}

function toJson(job: FailedJob) {
  return {
    id: job.id,
    job: job.job,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    last_error: job.lastError,
    failed_at: job.failedAt.toISOString(),
    created_at: job.createdAt.toISOString(),
    job_key: job.jobKey,
    payload: job.payload,
  };
}

const ERROR_WIDTH = 80;

/** A fixed-width table for a terminal: the error's first line only, the payload's ids. */
export function failedTable(jobs: readonly FailedJob[]): string {
  if (jobs.length === 0) return 'no failed jobs\n';
  const rows = jobs.map((job) => [
    job.id,
    job.job,
    `${job.attempts}/${job.maxAttempts}`,
    job.failedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    payloadIds(job.payload),
    firstLine(job.lastError ?? ''),
  ]);
  const header = ['ID', 'JOB', 'ATTEMPTS', 'FAILED AT', 'PAYLOAD', 'LAST ERROR'];
  const widths = header.map((_, column) =>
    Math.max(...[header, ...rows].map((row) => row[column]!.length)),
  );
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ');
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > ERROR_WIDTH ? `${line.slice(0, ERROR_WIDTH - 1)}…` : line;
}

/** `delivery_id=… manual=false`: payloads are ids; a cron tick's `_cron` says nothing useful. */
function payloadIds(payload: unknown): string {
  if (payload === null || typeof payload !== 'object') return JSON.stringify(payload) ?? '';
  const parts = Object.entries(payload)
    .filter(([key]) => key !== '_cron')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return parts.length > 0 ? parts.join(' ') : '-';
}
