// What Fastify answers before any route runs, in the one error shape: a malformed URL (bad
// percent-encoding), a broken HTTP request (oversized headers, a parse error) and JSON bodies that
// are not UTF-8. Every such answer is `{error_code: "invalid_request", error, detail}` with status 400,
// a status every operation that takes input documents; nothing leaves in Fastify's own shape.
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { restErrorBody } from './http-error.js';

const BAD_INPUT = { status: 400, code: 'invalid_request' } as const;

/** Fastify's `frameworkErrors`: a URL that does not decode (e.g. `/post/%ff`) is a 400 naming the URL. */
export function restFrameworkErrors(error: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const detail = error.message.length > 200 ? `${error.message.slice(0, 197)}...` : error.message;
  const what = error.code === 'FST_ERR_BAD_URL' ? 'url: not a valid percent-encoded path' : `request: ${detail}`;
  void reply.code(BAD_INPUT.status).send(restErrorBody(BAD_INPUT.code, what));
}

/** Fastify's `clientErrorHandler`: a request Node's HTTP parser refuses (oversized headers or URL, bad framing). */
export function restClientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const what = err.code === 'HPE_HEADER_OVERFLOW' ? 'request: the URL and headers exceed the size limit'
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request: not received in time'
      : 'request: not a valid HTTP request';
  const body = JSON.stringify(restErrorBody(BAD_INPUT.code, what));
  if (socket.writable) {
    socket.write(`HTTP/1.1 400 Bad Request\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

class BodyError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Replaces Fastify's JSON parser with a strict one: the body must be UTF-8 (a declared charset
 * other than utf-8 is refused, 415 mapped to the route's 400; invalid bytes are refused, not
 * replaced by U+FFFD), then Fastify's own parser (prototype-poisoning protection) reads it.
 * An empty body labelled JSON is no body for an operation that takes none (devices such as the
 * p3a firmware send POSTs without a body but with the JSON content type); where the operation
 * declares a body it stays a 400.
 */
export function useStrictJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const type = String(req.headers['content-type'] ?? '');
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(type)?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new BodyError(415, `the charset ${charset} is not supported; send UTF-8 JSON`), undefined);
      return;
    }
    if ((body as Buffer).length === 0 && !req.routeOptions.schema?.body) {
      done(null, undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new BodyError(400, 'not valid UTF-8'), undefined);
      return;
    }
    parseJson(req, text, done);
  });
}
