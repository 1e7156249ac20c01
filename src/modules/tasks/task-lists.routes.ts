import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';

export function taskListRoutes(_deps: AppDeps): FastifyPluginAsyncTypebox {
  return async () => {};
}
