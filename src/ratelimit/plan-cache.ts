import type { Db } from '../db/database.ts';
import { LruTtlCache } from './lru.ts';
import type { Plan } from './policies.ts';

/** How long a node trusts what it read: an upgrade reaches every node within this. */
export const PLAN_TTL_MS = 60_000;
/** How long a stale plan still answers while a fresh one is read in the background. */
const STALE_FOR_MS = 60 * 60_000;
/** After a failed read, the caller is `free` for this long before the database is asked again. */
const FAILED_READ_TTL_MS = 5_000;
const MAX_USERS = 50_000;

interface CachedPlan {
  readonly plan: Plan;
  readonly freshUntil: number;
}

/**
 * A caller's plan is the best plan among their teams: a pro team's members get
 * pro limits everywhere, since a request to /v1/tasks/{id} does not name its
 * team before the database is asked (ADR 0016).
 *
 * Only a caller's first request waits for the database. After that the plan
 * answers from memory: once it is a minute old, the request still gets it and
 * a fresh one is read in the background. A failed read answers `free` for five
 * seconds, so a database outage costs one query per caller per five seconds,
 * not one per request.
 */
export class PlanCache {
  readonly #db: Db;
  readonly #cache = new LruTtlCache<CachedPlan>(MAX_USERS);
  /** Reads in flight, so a burst from one caller costs one query. */
  readonly #loading = new Map<string, Promise<Plan>>();
  readonly #clock: () => number;

  constructor(db: Db, clock: () => number = Date.now) {
    this.#db = db;
    this.#clock = clock;
  }

  /** The plan without waiting (refreshing it in the background when stale), or undefined. */
  cached(userId: string): Plan | undefined {
    const now = this.#clock();
    const entry = this.#cache.get(userId, now);
    if (entry === undefined) return undefined;
    if (entry.freshUntil <= now) this.#load(userId).catch(() => {});
    return entry.plan;
  }

  /** The cached plan, or the one read now; rejects when the read fails (then `free` for a while). */
  async planOf(userId: string): Promise<Plan> {
    return this.cached(userId) ?? (await this.#load(userId));
  }

  #load(userId: string): Promise<Plan> {
    let loading = this.#loading.get(userId);
    if (loading === undefined) {
      loading = this.#read(userId).finally(() => this.#loading.delete(userId));
      this.#loading.set(userId, loading);
    }
    return loading;
  }

  async #read(userId: string): Promise<Plan> {
    try {
      const pro = await this.#db
        .selectFrom('team_members')
        .innerJoin('teams', 'teams.id', 'team_members.team_id')
        .select('teams.id')
        .where('team_members.user_id', '=', userId)
        .where('teams.plan', '=', 'pro')
        .limit(1)
        .executeTakeFirst();
      const plan: Plan = pro ? 'pro' : 'free';
      this.#remember(userId, plan, PLAN_TTL_MS, STALE_FOR_MS);
      return plan;
    } catch (error) {
      // A stale plan stays (asked again in five seconds); with none, `free` for five seconds.
      const stale = this.#cache.get(userId, this.#clock());
      if (stale === undefined)
        this.#remember(userId, 'free', FAILED_READ_TTL_MS, FAILED_READ_TTL_MS);
      else this.#remember(userId, stale.plan, FAILED_READ_TTL_MS, STALE_FOR_MS);
      throw error;
    }
  }

  #remember(userId: string, plan: Plan, freshForMs: number, keepForMs: number): void {
    const now = this.#clock();
    this.#cache.set(userId, { plan, freshUntil: now + freshForMs }, now + keepForMs, now);
  }
}
