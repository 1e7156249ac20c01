// The variants of http-app.ts, in the order each round runs them; the first is the ceiling.
export const HTTP_VARIANTS = {
  bare: 'the app alone (the ceiling)',
  'empty hook': 'an empty async `onRequest` hook: what any hook costs, before it decides anything',
  'fastify-rate-limit memory': '@fastify/rate-limit, in-memory store (LRU `cache` of 20 000)',
  'Tasklane memory hook': 'an `onRequest` hook calling `MemoryRateLimitStore.decide`',
  'fastify-rate-limit Redis': '@fastify/rate-limit, Redis store (an ioredis client)',
  'Tasklane Redis hook': 'an `onRequest` hook calling `RedisRateLimitStore.decide`',
} as const;
export type HttpVariant = keyof typeof HTTP_VARIANTS;
