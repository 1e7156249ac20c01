// The benchmark's scenarios: the three ceilings and Tasklane's task routes. Each
// request picks its ids at random from pools fetched from the database, so no
// cache sees the same row twice in a row and every request is one a user could make.
import { randomUUID } from 'node:crypto';
import { WORDS } from './task-batch.ts';

export type Target = 'hello' | 'pk' | 'page' | 'tasklane';

export interface BenchRequest {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface Scenario {
  readonly name: string;
  readonly target: Target;
  readonly summary: string;
  /** The route, as /openapi.json names it, that must exist for the scenario to run. */
  readonly route?: { readonly method: string; readonly path: string };
  next(): BenchRequest;
}

export interface Pools {
  /** Live tasks of the bench projects. */
  readonly taskIds: readonly string[];
  readonly projectIds: readonly string[];
  /** Team members tasks are assigned to. */
  readonly people: readonly string[];
}

const any = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const FILTER_STATUSES = ['todo', 'in_progress', 'in_review', 'done'];
const PRIORITIES = ['none', 'low', 'medium', 'high', 'urgent'];
const json = { 'content-type': 'application/json' };

export const SCENARIO_NAMES = [
  'ceiling-hello',
  'ceiling-pk',
  'ceiling-page',
  'get-task',
  'list-page',
  'filtered-list',
  'search',
  'create-task',
  'patch-task',
] as const;

export function buildScenarios(pools: Pools): Scenario[] {
  let patches = 0;
  const list = (query: string) => ({
    method: 'GET' as const,
    path: `/v1/projects/${any(pools.projectIds)}/tasks?${query}`,
  });
  const scenarios: Scenario[] = [
    {
      name: 'ceiling-hello',
      target: 'hello',
      summary: 'bare Fastify, small JSON object (the HTTP ceiling)',
      next: () => ({ method: 'GET', path: '/hello' }),
    },
    {
      name: 'ceiling-pk',
      target: 'pk',
      summary: 'bare Fastify + pg, prepared SELECT … WHERE id = $1 (random task)',
      next: () => ({ method: 'GET', path: `/tasks/${any(pools.taskIds)}` }),
    },
    {
      name: 'ceiling-page',
      target: 'page',
      summary: 'bare Fastify + pg, 50-row keyset page by (project_id, created_at, id)',
      next: () => ({ method: 'GET', path: `/projects/${any(pools.projectIds)}/tasks` }),
    },
    {
      name: 'get-task',
      target: 'tasklane',
      summary: 'GET /v1/tasks/{id}, random task',
      route: { method: 'get', path: '/v1/tasks/{task_id}' },
      next: () => ({ method: 'GET', path: `/v1/tasks/${any(pools.taskIds)}` }),
    },
    {
      name: 'list-page',
      target: 'tasklane',
      summary: 'GET /v1/projects/{id}/tasks?limit=50&sort=created_at, random project',
      route: { method: 'get', path: '/v1/projects/{project_id}/tasks' },
      next: () => list('limit=50&sort=created_at'),
    },
    {
      name: 'filtered-list',
      target: 'tasklane',
      summary: 'the same list filtered by status and assignee_id (random of each)',
      route: { method: 'get', path: '/v1/projects/{project_id}/tasks' },
      next: () => list(`limit=50&status=${any(FILTER_STATUSES)}&assignee_id=${any(pools.people)}`),
    },
    {
      name: 'search',
      target: 'tasklane',
      summary: 'the same list with q=<a random word of the seeded vocabulary>',
      route: { method: 'get', path: '/v1/projects/{project_id}/tasks' },
      next: () => list(`limit=50&q=${any(WORDS)}`),
    },
    {
      name: 'create-task',
      target: 'tasklane',
      summary: 'POST /v1/projects/{id}/tasks, random project, a new Idempotency-Key each',
      route: { method: 'post', path: '/v1/projects/{project_id}/tasks' },
      next: () => ({
        method: 'POST',
        path: `/v1/projects/${any(pools.projectIds)}/tasks`,
        headers: { ...json, 'idempotency-key': randomUUID() },
        body: JSON.stringify({
          title: `bench ${any(WORDS)} ${any(WORDS)} ${any(WORDS)}`,
          description: `created by the benchmark: ${any(WORDS)} ${any(WORDS)}`,
          priority: any(PRIORITIES),
        }),
      }),
    },
    {
      name: 'patch-task',
      target: 'tasklane',
      summary: 'PATCH /v1/tasks/{id} (merge patch, no If-Match), random task, alternating values',
      route: { method: 'patch', path: '/v1/tasks/{task_id}' },
      next: () => {
        patches += 1;
        const change =
          patches % 2 === 0
            ? { status: 'in_progress', priority: 'high' }
            : { status: 'todo', priority: 'low' };
        return {
          method: 'PATCH',
          path: `/v1/tasks/${any(pools.taskIds)}`,
          headers: { 'content-type': 'application/merge-patch+json' },
          body: JSON.stringify(change),
        };
      },
    },
  ];
  return scenarios;
}
