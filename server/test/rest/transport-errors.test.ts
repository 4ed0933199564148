// What fails before any route runs still answers in the one error shape with a documented status
// (400 invalid_request), over a real socket: a URL that does not percent-decode, oversized headers,
// a broken request line, JSON bodies that are not UTF-8 or declare another charset.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';

let stack: Stack;
let user: TestUser;
let port: number;

beforeAll(async () => {
  stack = await startStack();
  user = await registerUser(stack.api, uniqueHandle('transport'));
  port = Number(new URL(stack.server.url).port);
});
afterAll(async () => stack?.stop());

/** Sends raw bytes and returns the status and the parsed JSON body of the answer. */
function raw(request: string | Buffer): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1]);
      try {
        resolve({ status, body: JSON.parse(rest.join('\r\n\r\n')) });
      } catch (err) {
        reject(new Error(`not JSON after status ${status}: ${text.slice(0, 300)} (${String(err)})`));
      }
    });
    socket.write(request); // not end(): a half-closed socket may be dropped before an async answer; the server closes it (Connection: close)
  });
}

const post = (body: Buffer, contentType: string) =>
  Buffer.concat([
    Buffer.from(`POST /post HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`),
    body,
  ]);

describe('transport errors', () => {
  it('answers a path that does not percent-decode with 400 invalid_request', async () => {
    expect(await raw('GET /post/%ff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toEqual({
      status: 400, body: { error_code: 'invalid_request', error: 'url: not a valid percent-encoded path', detail: 'url: not a valid percent-encoded path' },
    });
  });

  it('answers oversized headers and an over-long URL with 400 invalid_request, not 431', async () => {
    const big = await raw(`GET /post/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
    expect(big).toEqual({ status: 400, body: { error_code: 'invalid_request', error: 'request: the URL and headers exceed the size limit', detail: 'request: the URL and headers exceed the size limit' } });
    const long = await raw(`GET /post/${'1'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ error_code: 'invalid_request' });
  });

  it('answers a broken request line with 400 invalid_request', async () => {
    expect(await raw('NOT HTTP AT ALL\r\n\r\n')).toEqual({ status: 400, body: { error_code: 'invalid_request', error: 'request: not a valid HTTP request', detail: 'request: not a valid HTTP request' } });
  });

  it('refuses a JSON body with invalid UTF-8 instead of replacing the bytes', async () => {
    const body = Buffer.concat([Buffer.from('{"title":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('","art_url":"https://x.test/a.png","canvas":"8x8","width":8,"height":8}')]);
    expect(await raw(post(body, 'application/json'))).toEqual({ status: 400, body: { error_code: 'invalid_request', error: 'body: not valid UTF-8', detail: 'body: not valid UTF-8' } });
  });

  it('refuses a JSON body that declares a charset other than UTF-8', async () => {
    const body = Buffer.from('{"title":"x"}', 'utf16le');
    expect(await raw(post(body, 'application/json; charset=utf-16'))).toEqual({
      status: 400, body: { error_code: 'invalid_request', error: 'body: the charset utf-16 is not supported; send UTF-8 JSON', detail: 'body: the charset utf-16 is not supported; send UTF-8 JSON' },
    });
  });

  it('still takes UTF-8 JSON, with or without a declared charset', async () => {
    const body = Buffer.from(JSON.stringify({ title: 'Café ☕', art_url: 'https://x.test/a.png', canvas: '8x8', width: 8, height: 8 }));
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
      const r = await raw(post(body, type));
      expect(r.status, type).toBe(201);
      expect((r.body as { title: string }).title).toBe('Café ☕');
    }
  });
});
