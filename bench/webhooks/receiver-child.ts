// The parent's handle on the receiver child (receiver.ts): start it, arm it for
// a round, wait for the round's distinct ids, ask for its figures, stop it.
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { FromReceiver, ReceiverReport, ToReceiver } from './receiver-protocol.ts';

export type ReceiverDone = Extract<FromReceiver, { type: 'done' }>;

export interface Receiver {
  readonly pid: number;
  /** `http://127.0.0.1:<port>`; each variant posts to a path of its own under it. */
  readonly baseUrl: string;
  /**
   * Arms the receiver for `count` distinct ids on `path`; resolves once armed,
   * with a promise of the round's end. Rejects if the child exits.
   */
  expect(path: string, count: number): Promise<{ done: Promise<ReceiverDone> }>;
  report(secret?: string): Promise<ReceiverReport>;
  stop(): Promise<void>;
}

const SCRIPT = path.join(import.meta.dirname, 'receiver.ts');

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

export async function startReceiver(): Promise<Receiver> {
  const child = fork(SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // One waiter per message type at a time: the protocol is request/answer.
  const waiting = new Map<
    string,
    { resolve: (m: FromReceiver) => void; reject: (e: Error) => void }
  >();
  const wait = <T extends FromReceiver['type']>(type: T) =>
    new Promise<Extract<FromReceiver, { type: T }>>((resolve, reject) =>
      waiting.set(type, { resolve: resolve as (m: FromReceiver) => void, reject }),
    );
  child.on('message', (message: FromReceiver) => {
    const waiter = waiting.get(message.type);
    waiting.delete(message.type);
    waiter?.resolve(message);
  });
  child.once('exit', (code, signal) => {
    for (const waiter of waiting.values())
      waiter.reject(new Error(`webhook receiver exited (${code ?? signal})`));
    waiting.clear();
  });
  const tell = (message: ToReceiver) => child.send(message);
  const { port } = await wait('ready');
  return {
    pid: child.pid ?? -1,
    baseUrl: `http://127.0.0.1:${port}`,
    async expect(round, count) {
      const armed = wait('armed');
      tell({ type: 'expect', path: round, count });
      await armed;
      const done = wait('done');
      done.catch(() => {}); // a round never awaited (an error elsewhere) must not crash the bench
      return { done };
    },
    async report(secret) {
      const answer = wait('report');
      tell(secret === undefined ? { type: 'report' } : { type: 'report', secret });
      const { type: _, ...report } = await answer;
      return report;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}
