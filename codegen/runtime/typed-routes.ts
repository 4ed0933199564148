// Typed REST handlers: a handler receives the validated request and returns `{status, body, headers?}`;
// the generated `Handlers` interface lists, per operationId, exactly the replies the spec allows.
// Errors may also be thrown as HttpError (mapped to the `{error_code, error}` shape).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { registerRoutes, type AnyRouteHandler, type RegisterRoutesOptions, type RouteDef } from './fastify.js';

export interface Reply<S extends number, B> {
  status: S;
  body: B;
  headers?: Record<string, string>;
}

export type TypedRequest<B, P, Q> = FastifyRequest<{ Body: B; Params: P; Querystring: Q }>;

export type RegisterOptions = Omit<RegisterRoutesOptions, 'onMissing'>;

export function registerTypedRoutes(
  app: FastifyInstance,
  routes: readonly RouteDef[],
  handlers: Record<string, (req: never) => Promise<Reply<number, unknown>>>,
  opts: RegisterOptions = {},
): void {
  const wrapped: Record<string, AnyRouteHandler> = {};
  for (const [operationId, h] of Object.entries(handlers)) {
    if (typeof h !== 'function') continue; // registerRoutes reports the missing handler
    wrapped[operationId] = async function (req: FastifyRequest, reply: FastifyReply) {
      const r = await h(req as never);
      if (r.headers) void reply.headers(r.headers);
      void reply.code(r.status);
      if (r.body === null || r.body === undefined) return reply.send();
      return r.body;
    };
  }
  registerRoutes(app, routes, wrapped, { ...opts, onMissing: 'throw' });
}
