/**
 * The checks behind /readyz, run concurrently, each under its own deadline
 * (ADR 0022). What a failure says leaves the server, so a check fails with a
 * ReadinessFailure whose reason it wrote itself; any other error is logged and
 * reported by a fixed phrase, never by its message (which may hold a host, a
 * user name or SQL).
 */
import type { FastifyBaseLogger } from 'fastify';

export type CheckStatus = 'ok' | 'failed' | 'timeout';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly duration_ms: number;
  /** Why it failed, safe to show anyone; absent when ok. */
  readonly reason?: string;
}

export interface ReadinessCheck {
  readonly name: string;
  /**
   * False for a dependency the node serves without, worse (Redis: the limiter
   * falls back to this node's memory): its failure makes the node `degraded`,
   * still ready.
   */
  readonly critical: boolean;
  /** Resolves when the dependency is fit; rejects with a ReadinessFailure, or anything else. */
  run(): Promise<void>;
  /** The reason shown for an error that is not a ReadinessFailure. */
  describe?(error: unknown): string;
}

/** A check's verdict in words of its own, safe to put in the response. */
export class ReadinessFailure extends Error {
  override name = 'ReadinessFailure';
}

export type ReadinessStatus = 'ready' | 'degraded' | 'not_ready';

export interface ReadinessReport {
  readonly status: ReadinessStatus;
  readonly checks: readonly CheckResult[];
}

/**
 * Runs the checks. A check still waiting on its previous run (a query stuck past
 * its deadline) is not started again: the probe reports `timeout` and rides on
 * the pending run, so a hung database holds one connection per check, not one
 * per probe. Logs each check's changes between ok and not ok, not every probe.
 */
export class ReadinessProbe {
  readonly #checks: readonly ReadinessCheck[];
  readonly #timeoutMs: number;
  readonly #log: FastifyBaseLogger;
  readonly #running = new Map<string, Promise<void>>();
  readonly #lastStatus = new Map<string, CheckStatus>();

  constructor(checks: readonly ReadinessCheck[], timeoutMs: number, log: FastifyBaseLogger) {
    this.#checks = checks;
    this.#timeoutMs = timeoutMs;
    this.#log = log;
  }

  async report(): Promise<ReadinessReport> {
    const results = await Promise.all(this.#checks.map((check) => this.#run(check)));
    const failing = this.#checks.filter((_, i) => results[i]!.status !== 'ok');
    const status: ReadinessStatus =
      failing.length === 0 ? 'ready' : failing.some((c) => c.critical) ? 'not_ready' : 'degraded';
    return { status, checks: results };
  }

  async #run(check: ReadinessCheck): Promise<CheckResult> {
    const started = performance.now();
    let run = this.#running.get(check.name);
    if (run === undefined) {
      run = check.run().finally(() => this.#running.delete(check.name));
      this.#running.set(check.name, run);
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#timeoutMs);
    });
    let error: unknown;
    const outcome = await Promise.race([
      run.then(
        () => 'ok' as const,
        (cause: unknown) => {
          error = cause;
          return 'failed' as const;
        },
      ),
      deadline,
    ]);
    clearTimeout(timer);
    const duration_ms = Math.round(performance.now() - started);
    const result: CheckResult =
      outcome === 'ok'
        ? { name: check.name, status: 'ok', duration_ms }
        : outcome === 'timeout'
          ? {
              name: check.name,
              status: 'timeout',
              duration_ms,
              reason: `no answer within ${this.#timeoutMs} ms`,
            }
          : { name: check.name, status: 'failed', duration_ms, reason: reasonFor(check, error) };
    this.#noteChange(result, error);
    return result;
  }

  #noteChange(result: CheckResult, error: unknown): void {
    const before = this.#lastStatus.get(result.name) ?? 'ok';
    this.#lastStatus.set(result.name, result.status);
    if (before === result.status) return;
    if (result.status === 'ok') {
      this.#log.info({ check: result.name }, 'readiness check passes again');
    } else {
      // The error itself goes to the log only, with its message and stack.
      this.#log.warn(
        { check: result.name, status: result.status, reason: result.reason, err: error },
        'readiness check failing',
      );
    }
  }
}

function reasonFor(check: ReadinessCheck, error: unknown): string {
  if (error instanceof ReadinessFailure) return error.message;
  return check.describe?.(error) ?? 'the check failed';
}
