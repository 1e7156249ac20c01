import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onSendHookHandler,
  preHandlerAsyncHookHandler,
  RouteOptions,
} from 'fastify';
import type { Principal } from '../auth/principal.ts';
import { problemResponse } from '../http/openapi-responses.ts';
import { AppError } from '../http/problems.ts';
import type { Metrics } from '../observability/metrics.ts';
import { accountKey, ipKey, userKey } from './caller.ts';
import type { ConcurrencyLimiter } from './concurrency.ts';
import { rateLimitHeader, rateLimitPolicyHeader, wholeSeconds } from './headers.ts';
import { type Charge, type RateLimiter, UNAVAILABLE } from './limiter.ts';
import type { MemoryRateLimitStore } from './memory-store.ts';
import type { PlanCache } from './plan-cache.ts';
import { isOperationalRoute, type Plan, type PolicyTable, routeLimit } from './policies.ts';
import type { RatePolicy } from './types.ts';

export interface RateLimitingOptions {
  readonly limiter: RateLimiter;
  readonly policies: PolicyTable;
  readonly plans: PlanCache;
  readonly concurrency: ConcurrencyLimiter;
  /** This node's ceiling over every caller together; absent when there is none. */
  readonly nodeCeiling?: { readonly store: MemoryRateLimitStore; readonly policy: RatePolicy };
  /** Counts the refusals decided here rather than by the limiter (node ceiling, concurrency). */
  readonly metrics: Metrics;
  /** The caller behind the request's access token, if it carries a valid one. */
  readonly identify: (request: FastifyRequest) => Promise<Principal | undefined>;
}

/** What the limiter charged a request, kept for the 304 refund and the headers. */
interface RequestLimits {
  readonly charges: Charge[];
}

declare module 'fastify' {
  interface FastifyRequest {
    rateLimits: RequestLimits | null;
  }
}

const LOGIN_ROUTE = '/v1/auth/login';
/** Signed-in or not, these are charged to the client's address: they are how one signs in. */
const ANONYMOUS_ROUTES = new Set(['/v1/auth/signup', LOGIN_ROUTE, '/v1/auth/refresh']);

/**
 * Rate limits every `/v1` request in onRequest, before the body is read, before
 * the idempotency layer and before any handler touches the database (ADR 0016):
 *
 * 1. this node's ceiling (503: the node is busy, not the caller at fault), for
 *    every request but the health checks;
 * 2. the caller's requests in flight on this node (429 `concurrency`);
 * 3. the route's class policy for the caller's plan, keyed by user or IP;
 * 4. for a login, the account's policy too (preHandler, once the body is valid).
 *
 * Every limited response carries `RateLimit-Policy` and `RateLimit`; a refused
 * one is a 429 with `Retry-After` and `violated-policies`. A 304 gets its
 * charge back.
 */
export function registerRateLimiting(app: FastifyInstance, options: RateLimitingOptions): void {
  const { limiter, policies, plans, concurrency, nodeCeiling, identify, metrics } = options;
  const policyHeaders = policyHeadersOf(policies);

  app.decorateRequest('rateLimits', null);
  app.addHook('onRoute', documentRateLimits);

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    // Every request but the health checks counts against the node, 404s included.
    if (
      nodeCeiling &&
      !isOperationalRoute(route) &&
      !nodeCeiling.store.decideNow('node', nodeCeiling.policy, 1).allowed
    ) {
      metrics.rateLimitDecisions.inc({ class: 'node', outcome: 'limited' });
      throw new AppError('service_unavailable', 'this node is at its request ceiling', {
        headers: { 'retry-after': '1' },
      });
    }
    const limit = routeLimit(request.method, route, request.query);
    if (limit === undefined || route === undefined) return;

    // 'close' fires once per response, sent or aborted — possibly while this hook
    // still awaits the token or the plan, before a slot is taken: hence the flag.
    let closed = false;
    let slot: string | undefined;
    reply.raw.once('close', () => {
      closed = true;
      if (slot !== undefined) concurrency.release(slot);
    });

    const principal = await identify(request);
    const anonymous = principal === undefined || ANONYMOUS_ROUTES.has(route);
    const key = anonymous ? ipKey(request.ip) : userKey(principal.userId);
    const plan: Plan = anonymous ? 'free' : await planOf(plans, principal.userId, request);
    const policy = limit.class === 'auth' ? policies.auth : policies.throughput[plan][limit.class];
    reply.header(
      'ratelimit-policy',
      limit.class === 'auth'
        ? route === LOGIN_ROUTE
          ? policyHeaders.login
          : policyHeaders.auth
        : policyHeaders[plan],
    );

    if (closed) return;
    if (!concurrency.tryAcquire(key)) {
      metrics.rateLimitDecisions.inc({ class: 'concurrency', outcome: 'limited' });
      throw new AppError(
        'rate_limited',
        `at most ${concurrency.limit} requests at a time per caller; wait for one to finish`,
        { headers: { 'retry-after': '1' }, extensions: { 'violated-policies': ['concurrency'] } },
      );
    }
    slot = key;

    const limits: RequestLimits = { charges: [] };
    request.rateLimits = limits;
    await chargeOrRefuse(limiter, limits, reply, key, policy, limit.cost);
  });

  // The account is in the body, so a login's second policy waits for it to be valid.
  const chargeAccount: preHandlerAsyncHookHandler = async (request, reply) => {
    if (request.rateLimits === null) return;
    const email = (request.body as { email?: unknown } | undefined)?.email;
    if (typeof email !== 'string') return;
    await chargeOrRefuse(limiter, request.rateLimits, reply, accountKey(email), policies.login, 1);
  };

  // A 304 costs nothing: each charge is given back, and the header says so.
  const refundNotModified: onSendHookHandler = async (request, reply, payload) => {
    if (reply.statusCode !== 304 || request.rateLimits === null) return payload;
    const refunded = request.rateLimits.charges.map((charge) => {
      limiter.refund(charge);
      return { ...charge, decision: refundedDecision(charge) };
    });
    reply.header('ratelimit', rateLimitHeader(refunded.map(headerItem)));
    return payload;
  };

  // Each on the routes that need it only: a hook on every route costs every request.
  app.addHook('onRoute', (route) => {
    if (route.url === LOGIN_ROUTE) appendHook(route, 'preHandler', chargeAccount);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const answers304 = methods.some((method) => method === 'GET' || method === 'HEAD');
    if (route.url.startsWith('/v1/') && answers304) appendHook(route, 'onSend', refundNotModified);
  });
}

/** Adds `hook` after the route's own hooks of that kind. */
function appendHook<K extends 'preHandler' | 'onSend'>(
  route: RouteOptions,
  name: K,
  hook: NonNullable<RouteOptions[K]>,
): void {
  const existing = route[name];
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  route[name] = [...list, hook] as RouteOptions[K];
}

async function chargeOrRefuse(
  limiter: RateLimiter,
  limits: RequestLimits,
  reply: FastifyReply,
  key: string,
  policy: RatePolicy,
  cost: number,
): Promise<void> {
  const charge = await limiter.charge(key, policy, cost);
  if (charge === UNAVAILABLE) {
    throw new AppError(
      'service_unavailable',
      `the "${policy.name}" limit cannot be checked right now, and sign-in is not let through unchecked; retry shortly`,
      { headers: { 'retry-after': '1' } },
    );
  }
  const { decision } = charge;
  if (decision.allowed) {
    limits.charges.push(charge);
    reply.header('ratelimit', rateLimitHeader(limits.charges.map(headerItem)));
    return;
  }
  // Retry-After is the `t` of the violated policy: when this request would be admitted.
  const retryAfter = wholeSeconds(decision.retryAfterMs);
  reply.header(
    'ratelimit',
    rateLimitHeader([
      ...limits.charges.map(headerItem),
      { name: policy.name, remaining: 0, resetSeconds: retryAfter },
    ]),
  );
  throw new AppError(
    'rate_limited',
    `the "${policy.name}" limit of ${policy.quota} per ${policy.windowSeconds} s is used up; retry in ${retryAfter} s`,
    {
      headers: { 'retry-after': String(retryAfter) },
      extensions: { 'violated-policies': [policy.name] },
    },
  );
}

function headerItem({ policy, decision }: Charge) {
  return {
    name: policy.name,
    remaining: decision.remaining,
    resetSeconds: wholeSeconds(decision.resetAfterMs),
  };
}

/**
 * The decision as it reads once the charge is given back (never beyond a full
 * bucket), in GCRA's terms: every policy in the table is GCRA (policies.ts).
 */
function refundedDecision({ policy, decision, cost }: Charge) {
  const capacity = policy.burst + 1;
  const costMs = (cost * policy.windowSeconds * 1000) / policy.quota;
  return {
    ...decision,
    remaining: Math.min(capacity, decision.remaining + cost),
    resetAfterMs: Math.max(0, Math.ceil(decision.resetAfterMs - costMs)),
  };
}

async function planOf(plans: PlanCache, userId: string, request: FastifyRequest): Promise<Plan> {
  const cached = plans.cached(userId);
  if (cached !== undefined) return cached;
  try {
    return await plans.planOf(userId);
  } catch (error) {
    // The database is failing: the request will likely fail too, but not because of its plan.
    request.log.warn({ err: error }, 'plan lookup failed; limiting as free');
    return 'free';
  }
}

/** The `RateLimit-Policy` values, written once: per plan, and for the sign-in routes. */
function policyHeadersOf(policies: PolicyTable) {
  const throughput = (plan: Plan) => {
    const { read, write, search } = policies.throughput[plan];
    return rateLimitPolicyHeader([read, write, search]);
  };
  return {
    free: throughput('free'),
    pro: throughput('pro'),
    auth: rateLimitPolicyHeader([policies.auth]),
    login: rateLimitPolicyHeader([policies.auth, policies.login]),
  };
}

/** Every limited route may answer 429, and 503 when the node sheds or a sign-in limit cannot be checked. */
function documentRateLimits(route: RouteOptions): void {
  const url = route.url;
  if (!url.startsWith('/v1/')) return;
  route.schema ??= {};
  if ((route.schema as { hide?: boolean }).hide) return;
  route.schema.response ??= {};
  const response = route.schema.response as Record<string, unknown>;
  response[429] ??= problemResponse(429);
  response[503] ??= problemResponse(503);
}
