/**
 * The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers):
 * structured-field lists of one item per policy, the policy name a quoted string.
 *
 *   RateLimit-Policy: "read";q=600;w=60, "write";q=120;w=60
 *   RateLimit: "read";r=598;t=1
 */
import type { RatePolicy } from './types.ts';

/** `"read";q=600;w=60, …`: the quotas the caller is held to. */
export function rateLimitPolicyHeader(policies: readonly RatePolicy[]): string {
  return policies
    .map((policy) => `"${policy.name}";q=${policy.quota};w=${Math.ceil(policy.windowSeconds)}`)
    .join(', ');
}

/** One item of `RateLimit`: what is left of a policy now, and in how many seconds it is whole. */
export interface RateLimitItem {
  readonly name: string;
  readonly remaining: number;
  /** Whole seconds, rounded up: never sooner than the truth. */
  readonly resetSeconds: number;
}

export function rateLimitHeader(items: readonly RateLimitItem[]): string {
  return items
    .map((item) => `"${item.name}";r=${item.remaining};t=${item.resetSeconds}`)
    .join(', ');
}

/** Milliseconds to the whole seconds the headers speak in, rounded up. */
export function wholeSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
