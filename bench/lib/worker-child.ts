// A job worker under test, in a child process of its own (so its CPU profile and
// its RSS are its own), driven over the IPC channel of `fork`: the parent says
// how many jobs to expect, queues them, and waits for the child's `done`. The
// child's side is bench/lib/completions.ts; bench/jobs/tasklane-worker.ts and
// bench/jobs/bare-worker.ts are two.
import { type ChildProcess, fork } from 'node:child_process';
import type { FromChild, Latency, MemorySample, ToChild } from './completions.ts';
import { peakRssOf } from './processes.ts';

export interface RoundTiming {
  readonly firstStartAt: number;
  readonly lastEndAt: number;
  readonly latency: Latency;
  /** The child's CPU time over the round, µs. */
  readonly cpuMicros: number;
}

export interface WorkerChild {
  readonly name: string;
  readonly pid: number;
  /**
   * Tells the child to count the next `count` finished jobs; resolves once it has
   * (so jobs queued after this cannot be missed), with a promise of their timing.
   * Rejects if the child exits first.
   */
  expect(count: number): Promise<{ done: Promise<RoundTiming> }>;
  /** Jobs finished so far, as last reported (`progress` or `sample` messages). */
  done(): number;
  /** Memory samples so far, if the child was asked for them. */
  readonly samples: readonly MemorySample[];
  /**
   * SIGSTOP: the process stops dead, holding no lock (when idle) and taking no
   * job, until `thaw()` (SIGCONT); meanwhile PostgreSQL keeps its notifications.
   */
  freeze(): void;
  thaw(): void;
  /** VmHWM of the child, bytes. */
  peakRss(): number | undefined;
  /** SIGTERM (the child stops its worker and exits), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface WorkerChildOptions {
  readonly name: string;
  readonly script: string;
  readonly args?: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Node flags for the child only, e.g. --cpu-prof. */
  readonly nodeFlags?: readonly string[];
  readonly readyTimeoutMs?: number;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startWorkerChild(options: WorkerChildOptions): Promise<WorkerChild> {
  const child = fork(options.script, [...(options.args ?? [])], {
    env: options.env,
    execArgv: [...(options.nodeFlags ?? [])],
    // stdout (the worker's log lines) is read and dropped, as a log shipper would
    // read it; the last lines explain a failed start.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const recent: string[] = [];
  const remember = (chunk: Buffer) => {
    recent.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    recent.splice(0, Math.max(0, recent.length - 20));
  };
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);
  const why = () =>
    `${options.name} exited (${child.exitCode ?? child.signalCode}):\n  ${recent.join('\n  ')}`;

  const samples: MemorySample[] = [];
  let done = 0;
  // One waiter per message type at a time: the protocol is request/answer.
  const waiting = new Map<
    string,
    { resolve: (m: FromChild) => void; reject: (e: Error) => void }
  >();
  const wait = (type: FromChild['type']) =>
    new Promise<FromChild>((resolve, reject) => waiting.set(type, { resolve, reject }));
  child.on('message', (message: FromChild) => {
    if (message.type === 'progress') done = message.done;
    if (message.type === 'sample') {
      const { type: _, ...sample } = message;
      samples.push(sample);
      done = sample.done;
    }
    const waiter = waiting.get(message.type);
    if (waiter) {
      waiting.delete(message.type);
      waiter.resolve(message);
    }
  });
  child.once('exit', () => {
    for (const waiter of waiting.values()) waiter.reject(new Error(why()));
    waiting.clear();
  });

  const ready = wait('ready');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.readyTimeoutMs ?? 60_000);
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  const pid = child.pid ?? -1;
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
  };
  return {
    name: options.name,
    pid,
    samples,
    done: () => done,
    async expect(count) {
      const armed = wait('armed');
      child.send({ type: 'expect', count } satisfies ToChild);
      await armed;
      const finished = wait('done').then((m) => m as RoundTiming & FromChild);
      // A round that is never awaited (an error elsewhere) must not crash the bench.
      finished.catch(() => {});
      return { done: finished };
    },
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    peakRss: () => peakRssOf(pid),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal('SIGCONT');
      signal('SIGTERM');
      const kill = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited(child);
      clearTimeout(kill);
    },
  };
}
