// Route registration for the generated REST routes: every route gets the one validator (no
// coercion of bodies, unknown body fields rejected where the schema says so), responses checked
// against their schema, and the `{error_code, error}` error shape.
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { TSchema } from 'typebox';
import { restErrorHandler, type ErrorTable } from './http-error.js';
import { restSchemaErrorFormatter, restValidatorCompiler, strictSerializerCompiler } from './rest-validation.js';

export { HttpError, restErrorBody, restErrorHandler, restNotFoundHandler, toRestError } from './http-error.js';
export type { ErrorTable, RestErrorBody, RestErrorResponse } from './http-error.js';
export { RequestValidationError, ResponseSchemaError, restValidatorCompiler, restSchemaErrorFormatter, strictSerializerCompiler } from './rest-validation.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** 'device-token': a player's own bearer token (the `deviceToken` scheme), not a user's. */
export type RouteSecurity = 'bearer' | 'optional-bearer' | 'device-token' | 'none';

export interface RouteDef {
  operationId: string;
  method: HttpMethod;
  /** OpenAPI form: '/u/{sqid}/player'. */
  url: string;
  schema: {
    body?: TSchema;
    /**
     * The `multipart/form-data` alternative of the body (file uploads), validated like `body`
     * after its text parts are converted like query strings (a single part for an array field
     * becomes a one-item array). The app needs a multipart parser that puts the parts on the body
     * as values and files as Buffers (@fastify/multipart with `attachFieldsToBody: 'keyValues'`).
     */
    multipart?: TSchema;
    params?: TSchema;
    querystring?: TSchema;
    headers?: TSchema;
    /** By status; null means no body (e.g. 204). */
    response: Record<number, TSchema | null>;
  };
  security: RouteSecurity;
  /** The documented error answers: status -> error codes (the route answers no other error). */
  errors: ErrorTable;
}

/** Route config attached to every registered route (`request.routeOptions.config`). */
export interface RouteConfig {
  operationId: string;
  security: RouteSecurity;
}

// Handlers are typed per route by the generated code; any request/reply generics are accepted here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRouteHandler = RouteHandlerMethod<any, any, any, any, any, any, any, any>;

export type Authenticate = (
  request: FastifyRequest,
  reply: FastifyReply,
  security: Exclude<RouteSecurity, 'none'>,
) => void | Promise<void>;

export interface RegisterRoutesOptions {
  /** 'throw' (default): a route without a handler fails registration; 'skip': such routes are left out. */
  onMissing?: 'throw' | 'skip';
  /**
   * Runs (onRequest, before validation) for routes whose security is not 'none'. Without it the
   * caller enforces security itself, e.g. with an app hook reading `request.routeOptions.config`.
   */
  authenticate?: Authenticate;
  /** Check every response against its schema before sending (default true); a mismatch is a 500. */
  checkResponses?: boolean;
  /** Default restErrorHandler(route.errors). */
  errorHandler?: (error: unknown, request: FastifyRequest, reply: FastifyReply) => unknown;
}

/** '/u/{sqid}/player/{player_id}' -> '/u/:sqid/player/:player_id' */
export function toFastifyUrl(url: string): string {
  const out = url.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
  if (/[{}]/.test(out)) throw new Error(`path ${url}: parameters must look like {name}`);
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function registerRoutes(
  app: FastifyInstance<any, any, any, any, any>,
  routes: readonly RouteDef[],
  handlers: Readonly<Record<string, AnyRouteHandler>>,
  opts: RegisterRoutesOptions = {},
): void {
  const ids = new Set<string>();
  for (const r of routes) {
    if (ids.has(r.operationId)) throw new Error(`registerRoutes: operationId ${r.operationId} appears twice`);
    ids.add(r.operationId);
  }
  const missing = routes.filter((r) => typeof handlers[r.operationId] !== 'function').map((r) => r.operationId);
  if (missing.length && (opts.onMissing ?? 'throw') === 'throw') {
    throw new Error(`registerRoutes: no handler for ${missing.join(', ')} (add it to the handlers, or pass onMissing: 'skip')`);
  }
  const unknown = Object.keys(handlers).filter((k) => !ids.has(k));
  if (unknown.length) throw new Error(`registerRoutes: handlers for unknown operations: ${unknown.join(', ')}`);

  for (const route of routes) {
    const handler = handlers[route.operationId];
    if (typeof handler !== 'function') continue;
    const { response, multipart, ...parts } = route.schema;
    const responses = Object.fromEntries(Object.entries(response).filter(([, s]) => s !== null)) as Record<string, TSchema>;
    const schema: Record<string, unknown> = { ...parts };
    if (parts.body && multipart) {
      schema.body = { content: { 'application/json': { schema: parts.body }, 'multipart/form-data': { schema: multipart } } };
    }
    const mediaTypes = parts.body ? ['application/json', ...(multipart ? ['multipart/form-data'] : [])] : null;
    if (Object.keys(responses).length) schema.response = responses;
    const authenticate = opts.authenticate;
    const security = route.security;
    const config: RouteConfig = { operationId: route.operationId, security };
    const onRequest = [
      ...(security !== 'none' && authenticate
        ? [async (request: FastifyRequest, reply: FastifyReply) => authenticate(request, reply, security)]
        : []),
      ...(mediaTypes ? [acceptMediaTypes(mediaTypes)] : []),
    ];
    app.route({
      method: route.method,
      url: toFastifyUrl(route.url),
      schema,
      // (a plugin may augment FastifyContextConfig with optional keys only, e.g. @fastify/multipart)
      config: config as RouteConfig & FastifyContextConfig,
      handler,
      validatorCompiler: restValidatorCompiler,
      schemaErrorFormatter: restSchemaErrorFormatter,
      ...(opts.checkResponses === false ? {} : { serializerCompiler: strictSerializerCompiler(route.operationId) }),
      errorHandler: (opts.errorHandler ?? restErrorHandler(route.errors)) as never,
      ...(onRequest.length ? { onRequest } : {}),
    });
  }
}

/**
 * Refuses, before the body is read, a body whose media type the operation does not declare (a
 * parser registered for another route's content type must not open a back door into this one).
 * Same message shape as Fastify's own 415, answered as 400 like every body problem.
 */
function acceptMediaTypes(mediaTypes: readonly string[]) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers['content-type'];
    if (header === undefined) return;
    const mediaType = header.split(';')[0]!.trim().toLowerCase();
    if (!mediaTypes.includes(mediaType)) {
      // a client error of status 415: answered with the route's documented 400 as `body: <message>`
      throw Object.assign(new Error(`Unsupported Media Type: ${mediaType} (accepted: ${mediaTypes.join(', ')})`), { statusCode: 415 });
    }
  };
}
