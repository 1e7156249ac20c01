// End to end through a real process and a real socket: `node src/main.ts serve`.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freePort } from '../src/db/embedded.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { PASSWORD, uniqueEmail } from './helpers/factories.ts';
import { collectLines, within } from './helpers/processes.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
// A bound against a hung start, not a speed check: a loaded CI machine starts Node slowly.
const STARTUP_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 5_000;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Every line the process wrote to stdout (pino JSON) and stderr, so far. */
  readonly stdout: string[];
  readonly stderr: string[];
  readonly exited: Promise<Exit>;
  /** Resolves with the first stdout log record that matches, waiting up to `timeoutMs`. */
  waitForLog(
    match: (record: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

const children = new Set<ChildProcess>();
const sockets = new Set<net.Socket>();
const databases: TestDatabase[] = [];
let dataDir: string;
let database: TestDatabase;

before(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-server-'));
  database = await createTestDatabase();
  databases.push(database);
});

after(async () => {
  // Whatever failed, no server or socket outlives the tests.
  for (const socket of sockets) socket.destroy();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const db of databases) await db.drop();
  await fs.rm(dataDir, { recursive: true, force: true });
});

function parseLog(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Spawns `node src/main.ts serve` with exactly this environment (plus PATH). */
async function spawnServer(env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/main.ts', 'serve'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: database.url,
      PORT: String(port),
      TOKEN_SIGNING_KEY: randomBytes(48).toString('base64'),
      DATA_DIR: dataDir,
      ...env,
    },
  });
  children.add(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  collectLines(child.stdout!, stdout, notify);
  collectLines(child.stderr!, stderr, notify);
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  exited.then(notify);

  const waitForLog: ServerProcess['waitForLog'] = (match, timeoutMs = EXIT_TIMEOUT_MS) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = stdout.map(parseLog).find((record) => record && match(record));
        if (!found) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching log line in ${timeoutMs} ms; stdout:\n${stdout.join('\n')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    stdout,
    stderr,
    exited,
    waitForLog,
  };
}

/** A server that answers GET /healthz; fails fast if the process exits instead. */
async function startServer(env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await spawnServer(env);
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let exit: Exit | undefined;
  void server.exited.then((value) => {
    exit = value;
  });
  while (Date.now() < deadline) {
    if (exit) {
      throw new Error(`server exited with ${exit.code} before it was healthy:\n${server.stderr}`);
    }
    try {
      const response = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return server;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server not healthy within ${STARTUP_TIMEOUT_MS} ms:\n${server.stderr}`);
}

async function post(
  server: ServerProcess,
  url: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${server.url}${url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Reads one complete HTTP/1.1 response (after any 1xx interim responses) from a raw
 * socket, using its Content-Length; rejects if the socket ends before it is whole.
 */
function readResponse(socket: net.Socket, received: () => string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const tryParse = (): RawResponse | undefined => {
      const text = received().replace(/^(HTTP\/1\.1 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return undefined;
      const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = text.slice(end + 4);
      if (Buffer.byteLength(body) < Number(headers['content-length'])) return undefined;
      return { status: Number(statusLine!.split(' ')[1]), headers, body };
    };
    const onData = () => {
      const response = tryParse();
      if (response) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(response);
      }
    };
    const onClose = () => {
      const response = tryParse();
      if (response) resolve(response);
      else
        reject(new Error(`socket closed before a whole response: ${JSON.stringify(received())}`));
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    onData();
  });
}

/** GET /healthz on a brand-new connection: its status, or the connection error's code. */
function probeNewConnection(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 2000 },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('the server process', { timeout: 60_000 }, () => {
  test('serves the API over a real socket: signup, login, create a team, refresh', async () => {
    const server = await startServer();
    const email = uniqueEmail('e2e');

    const signup = await post(server, '/v1/auth/signup', {
      email,
      name: 'End To End',
      password: PASSWORD,
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));

    const login = await post(server, '/v1/auth/login', { email, password: PASSWORD });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(login.body.user.id, signup.body.user.id);

    const team = await post(
      server,
      '/v1/teams',
      { name: 'Socket Team' },
      { authorization: `Bearer ${login.body.access_token}` },
    );
    assert.equal(team.status, 201, JSON.stringify(team.body));
    assert.equal(team.body.name, 'Socket Team');

    const refreshed = await post(server, '/v1/auth/refresh', {
      refresh_token: login.body.refresh_token,
    });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.notEqual(refreshed.body.refresh_token, login.body.refresh_token);

    // The rotated access token reads the team back.
    const read = await fetch(`${server.url}/v1/teams/${team.body.id}`, {
      headers: { authorization: `Bearer ${refreshed.body.access_token}` },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { id: string }).id, team.body.id);

    server.child.kill('SIGTERM');
    assert.deepEqual(await within(EXIT_TIMEOUT_MS, server.exited, 'exit'), {
      code: 0,
      signal: null,
    });
  });

  test('on SIGTERM, refuses new connections, finishes the in-flight request, then exits 0', async () => {
    const server = await startServer();
    const email = uniqueEmail('drain');
    assert.equal(
      (await post(server, '/v1/auth/signup', { email, name: 'Drain', password: PASSWORD })).status,
      201,
    );

    // A login whose body is only half sent when the signal arrives.
    const body = JSON.stringify({ email, password: PASSWORD });
    const half = Math.floor(body.length / 2);
    const socket = net.connect(server.port, '127.0.0.1');
    sockets.add(socket);
    socket.setEncoding('utf8');
    let received = '';
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    await within(2000, new Promise((resolve) => socket.once('connect', resolve)), 'connect');
    // Expect: 100-continue makes the server say when it has the request in hand, so the
    // signal is certain to arrive while this request is in flight, not before it.
    const response = readResponse(socket, () => received);
    socket.write(
      `POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Expect: 100-continue\r\nConnection: keep-alive\r\n\r\n`,
    );
    await within(
      2000,
      new Promise<void>((resolve) => {
        const check = () => {
          if (received.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
            socket.off('data', check);
            resolve();
          }
        };
        socket.on('data', check);
        check();
      }),
      '100 Continue',
    );
    socket.write(body.slice(0, half));

    server.child.kill('SIGTERM');
    await server.waitForLog((record) => String(record.msg).startsWith('shutting down'));

    // A new connection is refused (or, in the instant before the listener closes, told 503).
    const deadline = Date.now() + 3000;
    let probe: number | string = await probeNewConnection(server.port);
    while (probe !== 'ECONNREFUSED' && probe !== 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      probe = await probeNewConnection(server.port);
    }
    assert.ok(probe === 'ECONNREFUSED' || probe === 503, `new connection got ${probe}`);
    assert.equal(server.child.exitCode, null, 'the process waited for the in-flight request');

    socket.write(body.slice(half));
    const answer = await within(5000, response, 'in-flight response');
    assert.equal(answer.status, 200, answer.body);
    const login = JSON.parse(answer.body) as { access_token?: string };
    assert.equal(typeof login.access_token, 'string');
    assert.equal(answer.headers.connection, 'close');

    // The client keeps its end open, as a keep-alive client would: the server must not
    // wait for it (nor for SHUTDOWN_TIMEOUT_MS) to exit.
    assert.deepEqual(await within(EXIT_TIMEOUT_MS, server.exited, 'exit after SIGTERM'), {
      code: 0,
      signal: null,
    });
    socket.destroy();
    const messages = server.stdout.map((line) => String(parseLog(line)?.msg));
    assert.ok(messages.includes('stopped'), `no "stopped" line in:\n${server.stdout.join('\n')}`);
    assert.ok(!messages.some((msg) => msg.startsWith('shutdown timeout')), 'no connection was cut');
  });

  test('with PORT=abc, exits 1 printing exactly one line on stderr, naming PORT', async () => {
    const server = await spawnServer({ PORT: 'abc' });
    const exit = await within(10_000, server.exited, 'exit');
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.equal(server.stderr.length, 1, server.stderr.join('\n'));
    assert.match(server.stderr[0]!, /\bPORT\b/);
    assert.deepEqual(server.stdout, []);
  });

  test('when an applied migration was edited, refuses to start: exit 1, one line naming the file', async () => {
    // The ledger's checksum no longer matching the file is exactly what an edit looks like.
    const tampered = await createTestDatabase();
    databases.push(tampered);
    const client = new pg.Client({ connectionString: tampered.url });
    await client.connect();
    try {
      await client.query(
        `UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = '0001'`,
      );
    } finally {
      await client.end();
    }

    const server = await spawnServer({ DATABASE_URL: tampered.url });
    const exit = await within(10_000, server.exited, 'exit');
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.equal(server.stderr.length, 1, server.stderr.join('\n'));
    assert.match(server.stderr[0]!, /0001_init\.sql.*edited/);
  });
});
