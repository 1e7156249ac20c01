/**
 * Every SQL statement Kysely runs, seen once when it finishes: its duration goes
 * to `db_query_duration_seconds{operation}`, to the request's or job's timing
 * (work-scope.ts), to a span when tracing is on, and to a `slow query` log line
 * past SLOW_QUERY_MS. The text is the parameterised statement ($1, $2…):
 * parameter values — emails, titles, tokens — never leave the process.
 */
import type { LogEvent } from 'kysely';
import { Histogram, type Registry } from 'prom-client';
import { recordSpan, SpanKind } from './tracing.ts';
import { currentWorkScope } from './work-scope.ts';

const OPERATION_BY_NODE: Readonly<Record<string, string>> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
};

const RAW_OPERATION = /^\s*(select|insert|update|delete)\b/i;

/** select, insert, update, delete or other (BEGIN, CTEs, function calls). */
export function operationOf(event: LogEvent): string {
  const byNode = OPERATION_BY_NODE[event.query.query.kind];
  if (byNode !== undefined) return byNode;
  return RAW_OPERATION.exec(event.query.sql)?.[1]?.toLowerCase() ?? 'other';
}

/** Long statements are cut in log lines and spans; the start says which one it was. */
const MAX_STATEMENT_CHARS = 2000;

export interface QueryObserverOptions {
  /** Where `db_query_duration_seconds` goes; none: not measured (METRICS_ENABLED=false). */
  readonly registry: Registry | undefined;
  /** Statements at least this slow are logged; 0 logs none. */
  readonly slowQueryMs: number;
}

export type QueryObserver = (event: LogEvent) => void;

export function createQueryObserver(options: QueryObserverOptions): QueryObserver {
  const registry = options.registry;
  const duration =
    registry &&
    new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Duration of SQL statements sent through the query builder, by operation (select, insert, update, delete, other)',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  // One child per operation, so a statement costs no label lookup.
  const byOperation = new Map<string, Histogram.Internal<'operation'>>();
  const histogramFor = (operation: string) => {
    let child = byOperation.get(operation);
    if (child === undefined && duration !== undefined) {
      child = duration.labels({ operation });
      byOperation.set(operation, child);
    }
    return child;
  };

  return (event) => {
    const ms = event.queryDurationMillis;
    const operation = operationOf(event);
    histogramFor(operation)?.observe(ms / 1000);
    const scope = currentWorkScope();
    if (scope !== undefined) {
      scope.dbQueries += 1;
      scope.dbMs += ms;
      if (ms > scope.slowestQueryMs) scope.slowestQueryMs = ms;
    }
    const endTime = performance.timeOrigin + performance.now();
    recordSpan(operation.toUpperCase(), {
      kind: SpanKind.CLIENT,
      startTime: endTime - ms,
      endTime,
      error: event.level === 'error' ? event.error : undefined,
      attributes: {
        'db.system.name': 'postgresql',
        'db.operation.name': operation.toUpperCase(),
        'db.query.text': event.query.sql.slice(0, MAX_STATEMENT_CHARS),
      },
    });
    if (options.slowQueryMs > 0 && ms >= options.slowQueryMs && scope !== undefined) {
      scope.log.warn(
        {
          duration_ms: Math.round(ms * 100) / 100,
          operation,
          statement: event.query.sql.slice(0, MAX_STATEMENT_CHARS),
          failed: event.level === 'error',
        },
        'slow query',
      );
    }
  };
}
