// The servers under test, each its own Node process: started, awaited until it
// answers, measured (peak RSS) and stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Server {
  readonly name: string;
  readonly pid: number;
  readonly baseUrl: string;
  /** VmHWM: the most resident memory the process ever had, in bytes. */
  peakRss(): number | undefined;
  /** CPU time (user + system) the process has used so far, in seconds. */
  cpuSeconds(): number | undefined;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ServerOptions {
  readonly name: string;
  /** Node's arguments: flags, the script, its arguments. */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly port: number;
  /** Path polled until it answers (any HTTP status). */
  readonly readyPath: string;
  readonly readyTimeoutMs?: number;
}

/** Reads VmHWM (peak resident set) from /proc; undefined where there is no /proc. */
export function peakRssOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc/<pid>/stat's times: 100 on every Linux port Node runs on. */
const CLOCK_TICKS = 100;

/** utime + stime from /proc/<pid>/stat, in seconds; undefined where there is no /proc. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startServer(options: ServerOptions): Promise<Server> {
  const child = spawn(process.execPath, [...options.args], {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The last lines it printed, to explain a failed start. Reading the pipes also
  // keeps a chatty server from blocking on a full one.
  const recent: string[] = [];
  const remember = (chunk: Buffer) => {
    recent.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    recent.splice(0, Math.max(0, recent.length - 20));
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const server: Server = {
    name: options.name,
    pid: child.pid ?? -1,
    baseUrl,
    peakRss: () => (child.pid === undefined ? undefined : peakRssOf(child.pid)),
    cpuSeconds: () => (child.pid === undefined ? undefined : cpuSecondsOf(child.pid)),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited(child);
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${options.name} exited (${child.exitCode ?? child.signalCode}) before answering:\n  ${recent.join('\n  ')}`,
      );
    }
    try {
      await fetch(`${baseUrl}${options.readyPath}`, { signal: AbortSignal.timeout(2000) });
      return server;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await server.stop(1000);
      throw new Error(
        `${options.name} did not answer within the timeout:\n  ${recent.join('\n  ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
