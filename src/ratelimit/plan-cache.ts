import type { Db } from '../db/database.ts';
import { LruTtlCache } from './lru.ts';
import type { Plan } from './policies.ts';

/** How long a node trusts what it read: an upgrade reaches every node within this. */
export const PLAN_TTL_MS = 60_000;
const MAX_USERS = 50_000;

/**
 * A caller's plan is the best plan among their teams: a pro team's members get
 * pro limits everywhere, since a request to /v1/tasks/{id} does not name its
 * team before the database is asked (ADR 0016). Read once a minute per user
 * and node, so the limiter itself adds no query to a request.
 */
export class PlanCache {
  readonly #db: Db;
  readonly #cache = new LruTtlCache<Plan>(MAX_USERS);
  /** Lookups in flight, so a burst from one new caller costs one query. */
  readonly #loading = new Map<string, Promise<Plan>>();
  readonly #clock: () => number;

  constructor(db: Db, clock: () => number = Date.now) {
    this.#db = db;
    this.#clock = clock;
  }

  /** The cached plan without waiting, or undefined when it must be read. */
  cached(userId: string): Plan | undefined {
    return this.#cache.get(userId, this.#clock());
  }

  async planOf(userId: string): Promise<Plan> {
    const cached = this.cached(userId);
    if (cached !== undefined) return cached;
    let loading = this.#loading.get(userId);
    if (loading === undefined) {
      loading = this.#load(userId).finally(() => this.#loading.delete(userId));
      this.#loading.set(userId, loading);
    }
    return await loading;
  }

  async #load(userId: string): Promise<Plan> {
    const pro = await this.#db
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.id', 'team_members.team_id')
      .select('teams.id')
      .where('team_members.user_id', '=', userId)
      .where('teams.plan', '=', 'pro')
      .limit(1)
      .executeTakeFirst();
    const plan: Plan = pro ? 'pro' : 'free';
    const now = this.#clock();
    this.#cache.set(userId, plan, now + PLAN_TTL_MS, now);
    return plan;
  }
}
