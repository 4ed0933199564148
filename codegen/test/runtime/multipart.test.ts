// A route whose body may also be multipart/form-data (file uploads): the per-content-type body
// schemas registerRoutes sets up, text parts converted like query strings, file parts as Buffers
// (Binary), other media types refused before the body is read, and the REST client sending files.
import fastifyMultipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { Binary } from '../../runtime/binary.js';
import { registerRoutes, type RouteDef } from '../../runtime/fastify.js';
import { restCall } from '../../runtime/rest-client.js';

const ErrorBody = Type.Object({ error_code: Type.String(), error: Type.String(), detail: Type.String() }, { additionalProperties: false });
const Echo = Type.Object({ title: Type.String(), tags: Type.Array(Type.String()), bytes: Type.Integer() }, { additionalProperties: false });

const routes: RouteDef[] = [
  {
    operationId: 'upload',
    method: 'POST',
    url: '/upload',
    schema: {
      body: Type.Object({ title: Type.String(), tags: Type.Optional(Type.Array(Type.String())) }, { additionalProperties: false }),
      multipart: Type.Object({ title: Type.String({ minLength: 1 }), tags: Type.Optional(Type.Array(Type.String(), { maxItems: 3 })), file: Binary() }, { additionalProperties: false }),
      response: { 201: Echo, 400: ErrorBody },
    },
    security: 'none',
    errors: { 400: ['invalid_request'] },
  },
  {
    operationId: 'jsonOnly',
    method: 'POST',
    url: '/json',
    schema: { body: Type.Object({ title: Type.String() }, { additionalProperties: false }), response: { 200: Echo, 400: ErrorBody } },
    security: 'none',
    errors: { 400: ['invalid_request'] },
  },
];

type Body = { title: string; tags?: string[]; file?: Uint8Array };
const echo = async (req: FastifyRequest<{ Body: Body }>, reply: { code(n: number): unknown }) => {
  reply.code(201);
  return { title: req.body.title, tags: req.body.tags ?? [], bytes: req.body.file ? req.body.file.length : -1 };
};
const handlers = { upload: echo, jsonOnly: async (req: FastifyRequest<{ Body: Body }>) => ({ title: req.body.title, tags: [], bytes: -1 }) };

let app: FastifyInstance;
let base: string;
async function build(): Promise<string> {
  app = Fastify({ logger: false });
  await app.register(fastifyMultipart, { attachFieldsToBody: 'keyValues' });
  registerRoutes(app, routes, handlers);
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  return base;
}
afterEach(async () => app?.close());

function form(parts: [string, string | Blob, string?][]): FormData {
  const f = new FormData();
  for (const [k, v, name] of parts) {
    if (typeof v === 'string') f.append(k, v);
    else f.append(k, v, name);
  }
  return f;
}

async function post(url: string, body: FormData | string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${url}`, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as { error?: string } & Record<string, unknown> };
}

describe('registerRoutes with a multipart body', () => {
  it('takes JSON as before, and multipart with the file as bytes and one text part for an array field as a list of one', async () => {
    await build();
    let r = await post('/upload', JSON.stringify({ title: 'json', tags: ['a'] }), { 'content-type': 'application/json' });
    expect(r).toEqual({ status: 201, body: { title: 'json', tags: ['a'], bytes: -1 } });
    r = await post('/upload', form([['title', 'mp'], ['tags', 'only'], ['file', new Blob([new Uint8Array(5)]), 'f.bin']]));
    expect(r).toEqual({ status: 201, body: { title: 'mp', tags: ['only'], bytes: 5 } });
    r = await post('/upload', form([['title', 'mp'], ['tags', 'a'], ['tags', 'b'], ['file', new Blob(['xyz']), 'f.bin']]));
    expect(r.body).toEqual({ title: 'mp', tags: ['a', 'b'], bytes: 3 });
  });

  it('validates multipart bodies against the multipart schema', async () => {
    await build();
    expect(await post('/upload', form([['title', 'mp']]))).toEqual({ status: 400, body: { error_code: 'invalid_request', error: 'body/file: is required', detail: 'body/file: is required' } });
    expect(await post('/upload', form([['title', 'mp'], ['file', 'not a file']]))).toEqual({ status: 400, body: { error_code: 'invalid_request', error: 'body/file: must be a file part', detail: 'body/file: must be a file part' } });
    expect((await post('/upload', form([['title', 'mp'], ['x', '1'], ['file', new Blob(['a']), 'a']]))).body.error).toBe('body/x: is not allowed (unknown field)');
    expect((await post('/upload', form([['title', ''], ['file', new Blob(['a']), 'a']]))).body.error).toMatch(/^body\/title: must be at least 1 character/);
    const four = form([['title', 't'], ['tags', '1'], ['tags', '2'], ['tags', '3'], ['tags', '4'], ['file', new Blob(['a']), 'a']]);
    expect((await post('/upload', four)).body.error).toMatch(/^body\/tags: must .*3/);
    // a JSON body is still held to the JSON schema (no file field there)
    expect((await post('/upload', JSON.stringify({ title: 'j', file: 'x' }), { 'content-type': 'application/json' })).body.error).toBe('body/file: is not allowed (unknown field)');
  });

  it('refuses media types an operation does not declare, before parsing, with the accepted ones', async () => {
    await build();
    expect(await post('/json', form([['title', 'mp']]))).toEqual({
      status: 400, body: { error_code: 'invalid_request', error: 'body: Unsupported Media Type: multipart/form-data (accepted: application/json)', detail: 'body: Unsupported Media Type: multipart/form-data (accepted: application/json)' },
    });
    expect(await post('/upload', 'title=x', { 'content-type': 'text/plain' })).toEqual({
      status: 400, body: { error_code: 'invalid_request', error: 'body: Unsupported Media Type: text/plain (accepted: application/json, multipart/form-data)', detail: 'body: Unsupported Media Type: text/plain (accepted: application/json, multipart/form-data)' },
    });
    expect((await post('/json', JSON.stringify({ title: 'ok' }), { 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
  });
});

describe('restCall with a file', () => {
  it('sends multipart when the route takes it and the body has bytes or a Blob, JSON otherwise', async () => {
    await build();
    const upload = routes[0]!;
    let r = await restCall(base, upload, { body: { title: 'bytes', tags: ['x', 'y'], file: new Uint8Array([1, 2, 3, 4]) } });
    expect(r).toMatchObject({ status: 201, body: { title: 'bytes', tags: ['x', 'y'], bytes: 4 } });
    r = await restCall(base, upload, { body: { title: 'blob', file: new File(['hello'], 'h.txt', { type: 'text/plain' }) } });
    expect(r).toMatchObject({ status: 201, body: { title: 'blob', tags: [], bytes: 5 } });
    r = await restCall(base, upload, { body: { title: 'json' } });
    expect(r).toMatchObject({ status: 201, body: { title: 'json', bytes: -1 } });
  });
});
