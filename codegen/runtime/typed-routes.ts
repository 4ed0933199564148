// Typed REST handlers: a handler receives the validated request and returns `{status, body, headers?}`;
// the generated `Handlers` interface lists, per operationId, exactly the replies the spec allows.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { registerRoutes, type RouteDef } from './fastify.js';

export interface Reply<S extends number, B> {
  status: S;
  body: B;
  headers?: Record<string, string>;
}

export type TypedRequest<B, P, Q> = FastifyRequest<{ Body: B; Params: P; Querystring: Q }>;

export interface RegisterOptions {
  /**
   * Called before validation for every route whose security is not 'none'; `required` is false for
   * 'optional-bearer'. Throw an HttpError(401, ...) to refuse.
   */
  authenticate?: (req: FastifyRequest, required: boolean) => Promise<void>;
}

export function registerTypedRoutes(
  app: FastifyInstance,
  routes: readonly RouteDef[],
  handlers: Record<string, (req: never) => Promise<Reply<number, unknown>>>,
  opts: RegisterOptions = {},
): void {
  const wrapped: Record<string, RouteHandlerMethod> = {};
  for (const route of routes) {
    const h = handlers[route.operationId];
    if (typeof h !== 'function') continue; // registerRoutes reports the missing handler
    wrapped[route.operationId] = async function (req: FastifyRequest, reply: FastifyReply) {
      const r = await h(req as never);
      if (r.headers) void reply.headers(r.headers);
      void reply.code(r.status);
      if (r.body === null || r.body === undefined) return reply.send();
      return r.body;
    };
  }
  const auth = opts.authenticate;
  if (auth) {
    const security = new Map(routes.map((r) => [`${r.method} ${r.operationId}`, r.security]));
    app.addHook('onRequest', async (req) => {
      const id = (req.routeOptions.config as { operationId?: string } | undefined)?.operationId;
      const sec = id ? security.get(`${req.method} ${id}`) : undefined;
      if (sec && sec !== 'none') await auth(req, sec === 'bearer');
    });
  }
  registerRoutes(app, routes, wrapped, { onMissing: 'throw' });
}
