/**
 * What is limited, for whom, and how much: the policy table (ADR 0016).
 *
 * Every `/v1` route belongs to one endpoint class. Throughput classes (`read`,
 * `write`, `search`) are charged per user, with quotas from the caller's plan;
 * `auth` (signup, login, refresh, password change) is charged per client IP, or
 * per user once signed in, and a login is charged per account as well. Quotas
 * are the defaults below, overridden by `RATE_LIMITS`.
 */
import type { FastifyRequest } from 'fastify';
import type { ShedPriority } from '../http/load-shedding.ts';
import { gcraParams } from './gcra.ts';
import type { RatePolicy } from './types.ts';

export type Plan = 'free' | 'pro';
export const PLANS: readonly Plan[] = ['free', 'pro'];

export type ThroughputClass = 'read' | 'write' | 'search';
export type LimitClass = ThroughputClass | 'auth';
/** Policies that are not endpoint classes: a login is also charged per account. */
export type PolicyName = LimitClass | 'login';

/**
 * Security classes fail closed: when the shared store cannot decide, they answer
 * 503 rather than let a password-guessing run go unmetered (ADR 0016).
 */
export function failsClosed(name: PolicyName): boolean {
  return name === 'auth' || name === 'login';
}

export interface PolicyTable {
  /** Per plan, the throughput policies; every plan has all three. */
  readonly throughput: Readonly<Record<Plan, Readonly<Record<ThroughputClass, RatePolicy>>>>;
  readonly auth: RatePolicy;
  readonly login: RatePolicy;
}

/**
 * Throughput quotas are a whole minute's worth at once (burst = quota − 1), as
 * `RateLimit: "read";r=598` after two reads promises; auth is tighter: twenty
 * at once (an office behind one address signing in after a deploy), then one a
 * second; a login per account five at once, then one
 * a minute.
 */
const DEFAULT_SPECS: Readonly<Record<string, string>> = {
  'read.free': '600/60',
  'read.pro': '3000/60',
  'write.free': '120/60',
  'write.pro': '600/60',
  'search.free': '60/60',
  'search.pro': '300/60',
  auth: '60/60~19',
  login: '10/600~4',
};

/** The keys `RATE_LIMITS` may set, in the order the README lists them. */
export const POLICY_KEYS = Object.keys(DEFAULT_SPECS);

/** `quota/windowSeconds` with an optional `~burst`, e.g. `600/60` or `30/60~9`. */
const SPEC = /^(\d{1,9})\/(\d{1,7})(?:~(\d{1,9}))?$/;

/**
 * Parses `RATE_LIMITS`, e.g. `read.free=1200/60 auth=20/60~4`: entries separated
 * by spaces or commas, each overriding one default. Throws RangeError with a
 * message fit for the one line the process exits with.
 */
export function policyTable(overrides: string | undefined): PolicyTable {
  const specs: Record<string, string> = { ...DEFAULT_SPECS };
  for (const entry of (overrides ?? '').split(/[\s,]+/).filter(Boolean)) {
    const equals = entry.indexOf('=');
    const key = entry.slice(0, equals);
    const spec = entry.slice(equals + 1);
    if (equals === -1 || !Object.hasOwn(DEFAULT_SPECS, key)) {
      throw new RangeError(
        `"${entry}" is not <policy>=<quota>/<window seconds>[~burst]; policies: ${POLICY_KEYS.join(', ')}`,
      );
    }
    specs[key] = spec;
  }
  const policy = (key: string, name: PolicyName): RatePolicy => parsePolicy(key, name, specs[key]!);
  const throughputFor = (plan: Plan) => ({
    read: policy(`read.${plan}`, 'read'),
    write: policy(`write.${plan}`, 'write'),
    search: policy(`search.${plan}`, 'search'),
  });
  return {
    throughput: { free: throughputFor('free'), pro: throughputFor('pro') },
    auth: policy('auth', 'auth'),
    login: policy('login', 'login'),
  };
}

function parsePolicy(key: string, name: PolicyName, spec: string): RatePolicy {
  const match = SPEC.exec(spec);
  if (!match) {
    throw new RangeError(`${key}=${spec}: expected <quota>/<window seconds>[~burst], e.g. 600/60`);
  }
  const quota = Number(match[1]);
  const windowSeconds = Number(match[2]);
  const burst = match[3] === undefined ? quota - 1 : Number(match[3]);
  const policy: RatePolicy = { name, quota, windowSeconds, burst, algorithm: 'gcra' };
  try {
    gcraParams(policy);
  } catch (error) {
    throw new RangeError(`${key}=${spec}: ${(error as Error).message}`);
  }
  // A route cost above burst + 1 could never be admitted (gcra.ts).
  const maxCost = maxRouteCost(name);
  if (burst + 1 < maxCost) {
    throw new RangeError(
      `${key}=${spec}: a ${name} route costs up to ${maxCost}, so the burst must be at least ${maxCost - 1}`,
    );
  }
  return policy;
}

/** How a request is charged: its class and what it costs in that class's requests. */
export interface RouteLimit {
  readonly class: LimitClass;
  readonly cost: number;
}

const AUTH_ROUTES = new Set([
  'POST /v1/auth/signup',
  'POST /v1/auth/login',
  'POST /v1/auth/refresh',
  'POST /v1/me/password',
]);

/** Task lists that take `q`: with it, a request is a full-text search. */
const SEARCHABLE_ROUTES = new Set(['GET /v1/tasks', 'GET /v1/projects/:project_id/tasks']);

/**
 * Routes that cost more than one request of their class, because they do more
 * work: a list across every project the caller sees, and deleting a team,
 * which removes its projects, tasks and history in one go.
 */
const ROUTE_COSTS: Readonly<Record<string, number>> = {
  'GET /v1/tasks': 2,
  'DELETE /v1/teams/:team_id': 10,
};

/** The dearest route a policy is charged for; its burst must admit that much at once. */
function maxRouteCost(name: PolicyName): number {
  let max = 1;
  for (const [signature, cost] of Object.entries(ROUTE_COSTS)) {
    const [method = '', route] = signature.split(' ');
    const charged =
      routeLimit(method, route, { q: 'x' })?.class === name ||
      routeLimit(method, route, {})?.class === name;
    if (charged) max = Math.max(max, cost);
  }
  return max;
}

/**
 * The class and cost of a request to `route` (Fastify's pattern, e.g.
 * `/v1/tasks/:task_id`), or undefined when it is not limited: health checks,
 * metrics, documentation and unknown URLs are outside `/v1` and never limited.
 */
export function routeLimit(
  method: string,
  route: string | undefined,
  query: unknown,
): RouteLimit | undefined {
  if (route === undefined || !route.startsWith('/v1/')) return undefined;
  // HEAD is answered by the GET route and costs what a GET costs.
  const signature = `${method === 'HEAD' ? 'GET' : method} ${route}`;
  const cost = ROUTE_COSTS[signature] ?? 1;
  if (AUTH_ROUTES.has(signature)) return { class: 'auth', cost };
  if (SEARCHABLE_ROUTES.has(signature) && hasSearchTerm(query)) return { class: 'search', cost };
  return { class: method === 'GET' || method === 'HEAD' ? 'read' : 'write', cost };
}

function hasSearchTerm(query: unknown): boolean {
  const q = (query as Record<string, unknown> | undefined)?.q;
  return q !== undefined && q !== '';
}

/** Routes an overloaded node still answers: those that tell an orchestrator how it is. */
const OPERATIONAL_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** Health checks and metrics: never shed, never under the node's ceiling. */
export function isOperationalRoute(route: string | undefined): boolean {
  return route !== undefined && OPERATIONAL_ROUTES.has(route);
}

/**
 * Which requests an overloaded node refuses first (src/http/load-shedding.ts):
 * searches and everything outside the API, then reads and writes, then sign-in;
 * never the health checks.
 */
export function shedPriority(request: FastifyRequest): ShedPriority {
  const route = request.routeOptions.url;
  if (isOperationalRoute(route)) return 'never';
  const limit = routeLimit(request.method, route, request.query);
  if (limit === undefined || limit.class === 'search') return 'low';
  return limit.class === 'auth' ? 'auth' : 'normal';
}
