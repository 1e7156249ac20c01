// Real processes for end-to-end tests: `node src/main.ts serve` nodes and private
// `redis-server` instances, their output collected line by line, every one of them
// killed by ProcessGroup.stopAll() whatever became of the test.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';

export { freePort };

const ROOT = path.resolve(import.meta.dirname, '../..');
// Three nodes starting at once on a loaded two-core machine take ~20 s.
const STARTUP_TIMEOUT_MS = 60_000;
const LOG_TIMEOUT_MS = 5_000;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

type LogRecord = Record<string, unknown>;

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Every line the process wrote to stdout and stderr, so far. */
  readonly stdout: string[];
  readonly stderr: string[];
  readonly exited: Promise<Exit>;
  /** Sends `signal` (SIGKILL unless told) and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface ServerProcess extends RunningProcess {
  readonly port: number;
  readonly url: string;
  /** The stdout lines that are JSON (pino's log records), parsed, so far. */
  readonly logs: LogRecord[];
  /** Resolves with the first log record that matches, waiting up to `timeoutMs`. */
  waitForLog(match: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
}

export interface RedisProcess extends RunningProcess {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
}

/** The `redis-server` binary on PATH (or in the usual places), if this machine has one. */
export function findRedisServer(): string | undefined {
  const directories = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/bin',
    '/usr/local/bin',
    '/usr/sbin',
  ];
  for (const directory of directories.filter(Boolean)) {
    const candidate = path.join(directory, 'redis-server');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Rejects when `promise` has not settled within `ms`. */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The processes one test file starts. `stopAll()` in `after` kills whichever are
 * still running, so no server or Redis outlives a failed test.
 */
export class ProcessGroup {
  readonly #running = new Set<RunningProcess>();

  /**
   * Spawns `node src/main.ts serve` with this environment over a minimal one: PATH,
   * NODE_ENV=test, LOG_LEVEL=info and a free PORT. Does not wait for it to listen.
   */
  async spawnServer(env: Record<string, string> = {}): Promise<ServerProcess> {
    const port = await freePort();
    const running = this.#spawn(process.execPath, ['src/main.ts', 'serve'], {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      PORT: String(port),
      ...env,
    });
    const logs: LogRecord[] = [];
    const waiters = new Set<() => void>();
    let parsed = 0;
    const onOutput = () => {
      for (; parsed < running.stdout.length; parsed += 1) {
        const record = parseLog(running.stdout[parsed]!);
        if (record) logs.push(record);
      }
      for (const waiter of waiters) waiter();
    };
    // A microtask later, so the lines of this chunk are collected whatever the listener order.
    running.child.stdout!.on('data', () => queueMicrotask(onOutput));
    void running.exited.then(onOutput);

    const waitForLog: ServerProcess['waitForLog'] = (match, timeoutMs = LOG_TIMEOUT_MS) =>
      new Promise((resolve, reject) => {
        let checked = 0;
        const check = () => {
          for (; checked < logs.length; checked += 1) {
            if (!match(logs[checked]!)) continue;
            cleanup();
            resolve(logs[checked]!);
            return;
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no matching log line in ${timeoutMs} ms; stdout:\n${running.stdout.slice(-50).join('\n')}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        onOutput();
      });

    return { ...running, port, url: `http://127.0.0.1:${port}`, logs, waitForLog };
  }

  /** A server that answers GET /healthz; fails fast, with its stderr, if the process exits instead. */
  async startServer(
    env: Record<string, string> = {},
    timeoutMs = STARTUP_TIMEOUT_MS,
  ): Promise<ServerProcess> {
    const server = await this.spawnServer(env);
    await waitUntil(server, timeoutMs, 'healthy (GET /healthz)', async () => {
      const response = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      return response.status === 200;
    });
    return server;
  }

  /**
   * A private `redis-server` on 127.0.0.1 (a free port unless told), with no
   * persistence, so a test may kill it and start it again on the same port
   * without touching any Redis other tests use.
   */
  async startRedis(
    options: { binary?: string; port?: number; timeoutMs?: number } = {},
  ): Promise<RedisProcess> {
    const binary = options.binary ?? findRedisServer();
    if (binary === undefined) throw new Error('redis-server is not installed on this machine');
    const port = options.port ?? (await freePort());
    // argv, not a shell: `--save ""` is an empty argument.
    const running = this.#spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        os.tmpdir(),
        '--loglevel',
        'warning',
      ],
      { PATH: process.env.PATH ?? '' },
    );
    await waitUntil(running, options.timeoutMs ?? 5000, `redis-server on port ${port}`, () =>
      redisPing(port),
    );
    return { ...running, port, url: `redis://127.0.0.1:${port}` };
  }

  /**
   * `node <args>` from the repository root (a script, or `src/main.ts <command>`)
   * with this environment over PATH and NODE_ENV=test. Does not wait for it.
   */
  spawnNode(args: readonly string[], env: Record<string, string> = {}): RunningProcess {
    return this.#spawn(process.execPath, [...args], {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      ...env,
    });
  }

  /** Kills (SIGKILL) every process of the group that is still running. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#running].map((running) => running.kill('SIGKILL')));
  }

  #spawn(command: string, args: string[], env: Record<string, string>): RunningProcess {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
    const stdout: string[] = [];
    const stderr: string[] = [];
    collectLines(child.stdout!, stdout);
    collectLines(child.stderr!, stderr);
    const exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // A binary that cannot be started never exits: say so as an exit.
      child.once('error', () => resolve({ code: child.exitCode, signal: null }));
    });
    const running: RunningProcess = {
      child,
      stdout,
      stderr,
      exited,
      async kill(signal = 'SIGKILL') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return await exited;
      },
    };
    this.#running.add(running);
    void exited.then(() => this.#running.delete(running));
    return running;
  }
}

/** Appends each complete line of `stream` to `into`, and calls `onLine` after each chunk. */
export function collectLines(
  stream: NodeJS.ReadableStream,
  into: string[],
  onLine: () => void = () => {},
): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    into.push(...parts.filter(Boolean));
    onLine();
  });
  stream.on('end', () => {
    if (rest) into.push(rest);
    rest = '';
    onLine();
  });
}

function parseLog(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LogRecord;
  } catch {
    return undefined;
  }
}

/** Polls `ready` every 50 ms until it says true; fails fast if the process exits first. */
async function waitUntil(
  running: RunningProcess,
  timeoutMs: number,
  what: string,
  ready: () => Promise<boolean>,
): Promise<void> {
  let exit: Exit | undefined;
  void running.exited.then((value) => {
    exit = value;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exit) {
      throw new Error(
        `process exited (${exit.code ?? exit.signal}) before it was ${what}:\n${[...running.stderr, ...running.stdout].join('\n')}`,
      );
    }
    if (await ready().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await running.kill();
  throw new Error(`not ${what} within ${timeoutMs} ms:\n${running.stderr.join('\n')}`);
}

/** True when a Redis answers PING on 127.0.0.1:`port` within a second. */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
