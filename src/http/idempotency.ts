import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';

/** Idempotency-Key handling for POST and PATCH (see docs/decisions). */
export function registerIdempotency(_app: FastifyInstance, _deps: AppDeps): void {}
