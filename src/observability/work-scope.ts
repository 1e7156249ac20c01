/**
 * What the code running now is working for — a request or a job — kept in the
 * async context, so code far from the request (a repository's query, the
 * permission check that learns the team) can add to its log line and timing
 * without every function passing the request along.
 */
import { type Context, context, createContextKey } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';

export interface WorkScope {
  /** The request's or job's logger; team_id joins its bindings once known. */
  readonly log: FastifyBaseLogger;
  /** SQL statements run for this work, and their total and longest time (query-observer.ts). */
  dbQueries: number;
  dbMs: number;
  slowestQueryMs: number;
  teamId: string | undefined;
}

const SCOPE = createContextKey('tasklane.work-scope');

export function newWorkScope(log: FastifyBaseLogger): WorkScope {
  return { log, dbQueries: 0, dbMs: 0, slowestQueryMs: 0, teamId: undefined };
}

export function withWorkScope(parent: Context, scope: WorkScope): Context {
  return parent.setValue(SCOPE, scope);
}

export function currentWorkScope(): WorkScope | undefined {
  return context.active().getValue(SCOPE) as WorkScope | undefined;
}

interface BindableLogger {
  setBindings?(bindings: Record<string, unknown>): void;
}

/**
 * The team this work turned out to concern (a permission check knows it): every
 * later line of its log carries `team_id`. The first team wins — a request that
 * touches two teams is about the one it was authorised for first.
 */
export function noteTeam(teamId: string): void {
  const scope = currentWorkScope();
  if (scope === undefined || scope.teamId !== undefined) return;
  scope.teamId = teamId;
  (scope.log as BindableLogger).setBindings?.({ team_id: teamId });
}
