/** Who is making a request, once authenticated. */
export interface Principal {
  readonly userId: string;
  /** The session family the access token was issued for. */
  readonly sessionId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}
