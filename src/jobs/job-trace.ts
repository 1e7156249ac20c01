/**
 * A job carries the trace of the request (or job) that queued it: enqueueing
 * adds the active span's `traceparent` to the payload, under a key no job's
 * schema declares, and the worker takes it out before the payload is checked,
 * then runs the job in a span that continues that trace. Tracing off, payloads
 * carry nothing and jobs run in a fresh context with their work scope only.
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';
import { contextFromHeaders, inSpan, SpanKind } from '../observability/tracing.ts';
import { type WorkScope, withWorkScope } from '../observability/work-scope.ts';

export const TRACEPARENT_KEY = 'traceparent';

/** `payload` with `traceparent` added, when there is one to carry. */
export function withTraceparent<P>(payload: P, traceparent: string | undefined): P {
  return traceparent === undefined ? payload : { ...payload, [TRACEPARENT_KEY]: traceparent };
}

/** The payload as the job's schema knows it, and the trace it came with. */
export function splitTraceparent(payload: unknown): {
  payload: unknown;
  traceparent: string | undefined;
} {
  if (typeof payload !== 'object' || payload === null || !(TRACEPARENT_KEY in payload)) {
    return { payload, traceparent: undefined };
  }
  const { [TRACEPARENT_KEY]: traceparent, ...rest } = payload as Record<string, unknown>;
  return { payload: rest, traceparent: typeof traceparent === 'string' ? traceparent : undefined };
}

interface JobRun {
  readonly name: string;
  readonly id: string;
  readonly attempt: number;
  readonly traceparent: string | undefined;
  /** The job's logger, made on first use (most runs log nothing). */
  log(): FastifyBaseLogger;
}

/** Runs `work` as the job's span (when tracing), with a work scope for its SQL and logs. */
export function runInJobContext<T>(run: JobRun, work: () => Promise<T>): Promise<T> {
  const parent =
    run.traceparent === undefined
      ? ROOT_CONTEXT
      : contextFromHeaders({ traceparent: run.traceparent });
  const scope: WorkScope = {
    get log() {
      return run.log();
    },
    dbQueries: 0,
    dbMs: 0,
    slowestQueryMs: 0,
    teamId: undefined,
  };
  return context.with(withWorkScope(parent, scope), () =>
    inSpan(
      `job ${run.name}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { 'job.name': run.name, 'job.id': run.id, 'job.attempt': run.attempt },
      },
      work,
    ),
  );
}
