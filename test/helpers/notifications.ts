// A real SMTP server on 127.0.0.1 that keeps what it receives, a job worker for
// the notification tests, and a wait for the queue to settle.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import type { Db } from '../../src/db/database.ts';
import { type JobWorker, startWorker } from '../../src/jobs/worker.ts';
import { startTestApp, type TestApp } from './app.ts';

export interface ReceivedMail {
  /** RCPT TO addresses. */
  readonly to: string[];
  /** The raw message as it arrived (headers and body). */
  readonly raw: string;
  /** A header of the message, unfolded; undefined when absent. */
  header(name: string): string | undefined;
}

export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>`, for SMTP_URL. */
  readonly url: string;
  readonly messages: ReceivedMail[];
  close(): Promise<void>;
}

function parseMail(raw: string, to: string[]): ReceivedMail {
  const end = raw.indexOf('\r\n\r\n');
  const head = (end >= 0 ? raw.slice(0, end) : raw).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { to, raw, header: (name) => headers.get(name.toLowerCase()) };
}

/** An SMTP server that accepts anything without TLS or auth, as a local relay would. */
export async function startSmtpServer(): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      // A sender killed mid-message: the message never arrived, nothing to keep.
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((rcpt) => rcpt.address);
        messages.push(parseMail(Buffer.concat(chunks).toString('utf8'), to));
        callback();
      });
    },
  });
  // Connections cut by a killed sender are the point of some tests, not a failure.
  server.on('error', () => {});
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An smtp:// URL where nothing listens: every connection is refused. */
export async function deadSmtpUrl(): Promise<string> {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `smtp://127.0.0.1:${port}`;
}

/** The app's worker with every job of the catalogue and no cron; `config` overrides settings. */
export function startTestWorker(
  t: TestApp,
  config: Partial<TestApp['config']> = {},
): Promise<JobWorker> {
  return startWorker({
    pool: t.database.pool,
    db: t.database.db,
    config: { ...t.config, ...config },
    log: t.app.log,
    crontab: '',
  });
}

/**
 * Waits until no job is running or due: what is left is waiting out a retry
 * backoff or has failed for good.
 */
export async function settled(db: Db, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM graphile_worker.jobs
      WHERE locked_at IS NOT NULL OR (attempts < max_attempts AND run_at <= now())`.execute(db);
    if (rows[0]!.n === 0) return;
    if (Date.now() > deadline)
      throw new Error(`the job queue did not settle: ${rows[0]!.n} jobs left`);
    await sleep(25);
  }
}

/** Jobs of `name` in the queue (waiting, running or failed for good), oldest first. */
export async function queuedJobs(db: Db, name: string) {
  const { rows } = await sql<{ id: string; key: string | null; attempts: number }>`
    SELECT id::text, key, attempts FROM graphile_worker.jobs
    WHERE task_identifier = ${name} ORDER BY id`.execute(db);
  return rows;
}

/** A test app mailing to a real local SMTP server, with a job worker running. */
export interface NotificationWorld {
  readonly smtp: TestSmtpServer;
  readonly t: TestApp;
  /** Replaceable: a test may stop it and start another; close() stops the current one. */
  worker: JobWorker;
  close(): Promise<void>;
}

export async function startNotificationWorld(): Promise<NotificationWorld> {
  const smtp = await startSmtpServer();
  const t = await startTestApp({ env: { SMTP_URL: smtp.url } });
  const world: NotificationWorld = {
    smtp,
    t,
    worker: await startTestWorker(t),
    async close() {
      await world.worker.stop();
      await t.close();
      await smtp.close();
    },
  };
  return world;
}
