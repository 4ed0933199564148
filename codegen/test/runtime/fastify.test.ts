import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError, registerRoutes, restNotFoundHandler, toFastifyUrl, type RouteDef } from '../../runtime/fastify.js';

const ErrorBody = Type.Object({ error_code: Type.String(), error: Type.String(), detail: Type.String() }, { additionalProperties: false });
const Item = Type.Object({ id: Type.Integer(), name: Type.String() }, { additionalProperties: false });
const ItemId = Type.Object({ item_id: Type.Integer({ minimum: 1 }) });

const routes: RouteDef[] = [
  {
    operationId: 'createItem',
    method: 'POST',
    url: '/items',
    schema: {
      body: Type.Object({ name: Type.String({ minLength: 1 }), count: Type.Optional(Type.Integer()), tags: Type.Optional(Type.Array(Type.String())) }, { additionalProperties: false }),
      response: { 201: Item, 400: ErrorBody },
    },
    security: 'none',
    errors: { 400: ['invalid_request'] },
  },
  {
    operationId: 'getItem',
    method: 'GET',
    url: '/items/{item_id}',
    schema: { params: ItemId, response: { 200: Item, 400: ErrorBody, 404: ErrorBody, 429: ErrorBody } },
    security: 'none',
    errors: { 400: ['invalid_request'], 404: ['not_found'], 429: ['rate_limit_exceeded'] },
  },
  {
    operationId: 'deleteItem',
    method: 'DELETE',
    url: '/items/{item_id}',
    schema: { params: ItemId, response: { 204: null, 401: ErrorBody } },
    security: 'bearer',
    errors: { 401: ['authentication_failed'] },
  },
  {
    operationId: 'searchItems',
    method: 'GET',
    url: '/search',
    schema: {
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })), q: Type.Optional(Type.String()), exact: Type.Optional(Type.Boolean()) }),
      response: { 200: Type.Object({ limit: Type.Integer(), q: Type.Union([Type.String(), Type.Null()]), exact: Type.Boolean() }), 400: ErrorBody, 401: ErrorBody },
    },
    security: 'optional-bearer',
    errors: { 400: ['invalid_request'], 401: ['authentication_failed'] },
  },
  {
    operationId: 'brokenItem',
    method: 'GET',
    url: '/broken/{mode}',
    schema: { params: Type.Object({ mode: Type.String() }), response: { 200: Item, 400: ErrorBody, 500: ErrorBody } },
    security: 'none',
    errors: { 400: ['invalid_request', 'invalid_emoji'], 500: ['internal_error'] },
  },
];

const handlers = {
  createItem: async (req: FastifyRequest<{ Body: { name: string } }>, reply: FastifyReply) => {
    void reply.code(201);
    return { id: 1, name: req.body.name };
  },
  getItem: async (req: FastifyRequest<{ Params: { item_id: number } }>) => {
    const id = req.params.item_id;
    if (typeof id !== 'number') throw new Error(`item_id arrived as ${typeof id}`);
    if (id === 404) throw new HttpError(404, 'not_found', 'no item 404');
    if (id === 429) throw new HttpError(429, 'rate_limit_exceeded', 'slow down', { 'retry-after': '7' });
    return { id, name: `item ${id}` };
  },
  deleteItem: async (_req: FastifyRequest, reply: FastifyReply) => reply.code(204).send(),
  searchItems: async (req: FastifyRequest<{ Querystring: { limit?: number; q?: string; exact?: boolean } }>) => ({
    limit: req.query.limit ?? 50,
    q: req.query.q ?? null,
    exact: req.query.exact ?? false,
  }),
  brokenItem: async (req: FastifyRequest<{ Params: { mode: string } }>) => {
    if (req.params.mode === 'shape') return { id: 'one', name: 'x', secret: 'leak' };
    if (req.params.mode === 'teapot') throw new HttpError(418, 'teapot', 'short and stout');
    if (req.params.mode === 'code') throw new HttpError(400, 'forbidden', 'a code 400 does not carry here');
    if (req.params.mode === 'emoji') throw new HttpError(400, 'invalid_emoji', 'the second documented code');
    throw new Error('database password is hunter2');
  },
};

async function authenticate(req: FastifyRequest, _reply: FastifyReply, security: 'bearer' | 'optional-bearer' | 'device-token'): Promise<void> {
  const auth = req.headers.authorization;
  if (auth && auth !== 'Bearer good') throw new HttpError(401, 'authentication_failed', 'invalid token');
  if (!auth && security === 'bearer') throw new HttpError(401, 'authentication_failed', 'a bearer token is required');
}

let app: FastifyInstance;

async function build(): Promise<FastifyInstance> {
  app = Fastify({ logger: false });
  app.setNotFoundHandler(restNotFoundHandler);
  registerRoutes(app, routes, handlers, { authenticate });
  await app.ready();
  return app;
}

afterEach(async () => {
  await app?.close();
});

describe('toFastifyUrl', () => {
  it('turns OpenAPI path parameters into Fastify ones', () => {
    expect(toFastifyUrl('/u/{sqid}/player/{player_id}')).toBe('/u/:sqid/player/:player_id');
    expect(toFastifyUrl('/u/{sqid}/player/command/all')).toBe('/u/:sqid/player/command/all');
    expect(toFastifyUrl('/auth/login')).toBe('/auth/login');
    expect(() => toFastifyUrl('/x/{bad-name}')).toThrow(/\{name\}/);
  });
});

describe('registerRoutes', () => {
  it('accepts a valid body and answers with the declared status', async () => {
    await build();
    const res = await app.inject({ method: 'POST', url: '/items', payload: { name: 'lamp', count: 2 } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: 1, name: 'lamp' });
  });

  it('rejects unknown body fields with 400 invalid_request naming the field', async () => {
    await build();
    const res = await app.inject({ method: 'POST', url: '/items', payload: { name: 'lamp', colour: 'red' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error_code: 'invalid_request', error: 'body/colour: is not allowed (unknown field)', detail: 'body/colour: is not allowed (unknown field)' });
  });

  it('does not coerce a wrongly typed body', async () => {
    await build();
    let res = await app.inject({ method: 'POST', url: '/items', payload: { name: 123 } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error_code: 'invalid_request', error: 'body/name: must be string', detail: 'body/name: must be string' });
    res = await app.inject({ method: 'POST', url: '/items', payload: { name: 'x', count: '5', tags: 'a' } });
    expect(res.json()).toEqual({ error_code: 'invalid_request', error: 'body/count: must be integer; body/tags: must be array', detail: 'body/count: must be integer; body/tags: must be array' });
    res = await app.inject({ method: 'POST', url: '/items', payload: {} });
    expect(res.json()).toEqual({ error_code: 'invalid_request', error: 'body/name: is required', detail: 'body/name: is required' });
  });

  it('answers bad JSON and a missing body with 400 invalid_request', async () => {
    await build();
    let res = await app.inject({ method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, payload: '{"name":' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_code).toBe('invalid_request');
    res = await app.inject({ method: 'POST', url: '/items' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error_code: 'invalid_request', error: 'body: must be object', detail: 'body: must be object' });
  });

  it('answers an unsupported media type and an oversize body with 400 invalid_request naming the body', async () => {
    await build();
    let res = await app.inject({ method: 'POST', url: '/items', headers: { 'content-type': 'application/xml' }, payload: '<name>x</name>' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_code).toBe('invalid_request');
    expect(res.json().error).toMatch(/^body: Unsupported Media Type/);
    const small = Fastify({ bodyLimit: 100 });
    registerRoutes(small, routes, handlers);
    res = await small.inject({ method: 'POST', url: '/items', payload: { name: 'x'.repeat(200) } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error_code: 'invalid_request', error: 'body: Request body is too large', detail: 'body: Request body is too large' });
    await small.close();
  });

  it('converts an integer path parameter, and only a real integer', async () => {
    await build();
    const ok = await app.inject({ method: 'GET', url: '/items/12' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ id: 12, name: 'item 12' });
    for (const bad of ['abc', '0x10', '1e3', '12.0', '%2012']) {
      const res = await app.inject({ method: 'GET', url: `/items/${bad}` });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json(), bad).toEqual({ error_code: 'invalid_request', error: 'params/item_id: must be integer', detail: 'params/item_id: must be integer' });
    }
    const zero = await app.inject({ method: 'GET', url: '/items/0' });
    expect(zero.json()).toEqual({ error_code: 'invalid_request', error: 'params/item_id: must be >= 1', detail: 'params/item_id: must be >= 1' });
  });

  it('converts querystring integers and booleans, and checks them', async () => {
    await build();
    let res = await app.inject({ method: 'GET', url: '/search?limit=20&q=cat&exact=true' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ limit: 20, q: 'cat', exact: true });
    res = await app.inject({ method: 'GET', url: '/search?limit=51' });
    expect(res.json()).toEqual({ error_code: 'invalid_request', error: 'querystring/limit: must be <= 50', detail: 'querystring/limit: must be <= 50' });
    res = await app.inject({ method: 'GET', url: '/search?exact=yes' });
    expect(res.json()).toEqual({ error_code: 'invalid_request', error: 'querystring/exact: must be boolean', detail: 'querystring/exact: must be boolean' });
  });

  it('maps HttpError to its status, code and headers', async () => {
    await build();
    let res = await app.inject({ method: 'GET', url: '/items/404' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error_code: 'not_found', error: 'no item 404', detail: 'no item 404' });
    res = await app.inject({ method: 'GET', url: '/items/429' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json()).toEqual({ error_code: 'rate_limit_exceeded', error: 'slow down', detail: 'slow down' });
  });

  it('answers 204 without a body', async () => {
    await build();
    const res = await app.inject({ method: 'DELETE', url: '/items/3', headers: { authorization: 'Bearer good' } });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
  });

  it('runs authenticate before validation for secured routes', async () => {
    await build();
    let res = await app.inject({ method: 'DELETE', url: '/items/abc' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error_code: 'authentication_failed', error: 'a bearer token is required', detail: 'a bearer token is required' });
    res = await app.inject({ method: 'GET', url: '/search', headers: { authorization: 'Bearer bad' } });
    expect(res.statusCode).toBe(401);
    res = await app.inject({ method: 'GET', url: '/search' }); // optional-bearer: anonymous is fine
    expect(res.statusCode).toBe(200);
  });

  it('turns unknown errors and responses that break their schema into 500 internal_error, leaking nothing', async () => {
    await build();
    for (const mode of ['throw', 'shape']) {
      const res = await app.inject({ method: 'GET', url: `/broken/${mode}` });
      expect(res.statusCode, mode).toBe(500);
      expect(res.json(), mode).toEqual({ error_code: 'internal_error', error: 'internal server error', detail: 'internal server error' });
      expect(res.body).not.toMatch(/hunter2|leak/);
    }
  });

  it('answers only the errors the operation documents: an undocumented status or code becomes 500 internal_error', async () => {
    await build();
    for (const mode of ['teapot', 'code']) {
      const res = await app.inject({ method: 'GET', url: `/broken/${mode}` });
      expect(res.statusCode, mode).toBe(500);
      expect(res.json(), mode).toEqual({ error_code: 'internal_error', error: 'internal server error', detail: 'internal server error' });
    }
    const ok = await app.inject({ method: 'GET', url: '/broken/emoji' });
    expect(ok.statusCode).toBe(400);
    expect(ok.json()).toEqual({ error_code: 'invalid_emoji', error: 'the second documented code', detail: 'the second documented code' });
  });

  it("maps a library's client error to the route's documented 400, or to 500 when the route has none", async () => {
    await build();
    // DELETE /items/{id} documents only 401: a bad content type there is not answered 415 or 400
    const res = await app.inject({ method: 'DELETE', url: '/items/3', headers: { authorization: 'Bearer good', 'content-type': 'application/xml' }, payload: '<x/>' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error_code: 'internal_error', error: 'internal server error', detail: 'internal server error' });
  });

  it('answers unknown routes with 404 not_found', async () => {
    await build();
    const res = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error_code: 'not_found', error: 'no route for GET /nope', detail: 'no route for GET /nope' });
  });

  it('exposes operationId and security in the route config', async () => {
    app = Fastify();
    let seen: unknown;
    app.addHook('onRequest', async (req) => {
      seen = req.routeOptions.config;
    });
    registerRoutes(app, routes.slice(1, 2), { getItem: handlers.getItem });
    await app.inject({ method: 'GET', url: '/items/5' });
    expect(seen).toMatchObject({ operationId: 'getItem', security: 'none' });
  });

  it('throws at registration when a handler is missing or unknown', () => {
    app = Fastify();
    const { getItem: _omitted, ...rest } = handlers;
    expect(() => registerRoutes(app, routes, rest, { authenticate })).toThrow(/no handler for getItem/);
    expect(() => registerRoutes(app, routes, { ...handlers, getItme: handlers.getItem }, { authenticate })).toThrow(/unknown operations: getItme/);
  });

  it("registers the others with onMissing: 'skip'", async () => {
    app = Fastify();
    const { getItem: _omitted, ...rest } = handlers;
    registerRoutes(app, routes, rest, { onMissing: 'skip', authenticate });
    await app.ready();
    const res = await app.inject({ method: 'GET', url: '/items/5' });
    expect(res.statusCode).toBe(404);
  });

  it('accepts an instance with the TypeBox type provider', async () => {
    const typed = Fastify().withTypeProvider<TypeBoxTypeProvider>();
    registerRoutes(typed, routes.slice(0, 1), { createItem: handlers.createItem });
    const res = await typed.inject({ method: 'POST', url: '/items', payload: { name: 'n' } });
    expect(res.statusCode).toBe(201);
    await typed.close();
  });
});
