// The one REST error shape, `{error_code, error}`, and the Fastify handlers that produce it.
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface RestErrorBody {
  error_code: string;
  error: string;
}

/** Throw from a handler to answer `status` with `{error_code: code, error: message}` (and `headers`, e.g. Retry-After). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    public status: number,
    public code: string,
    message: string,
    public headers?: Record<string, string>,
  ) {
    super(message);
  }
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request',
  401: 'authentication_failed',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  429: 'rate_limit_exceeded',
};

/** The error code a bare HTTP status stands for (other 4xx: invalid_request; 5xx: internal_error). */
export function errorCodeForStatus(status: number): string {
  return CODE_BY_STATUS[status] ?? (status >= 400 && status < 500 ? 'invalid_request' : 'internal_error');
}

export interface RestErrorResponse {
  status: number;
  body: RestErrorBody;
  headers?: Record<string, string>;
}

/** Maps anything thrown to the REST error response; unknown errors become 500 internal_error without details. */
export function toRestError(error: unknown): RestErrorResponse {
  if (error instanceof HttpError) {
    return { status: error.status, body: { error_code: error.code, error: error.message }, headers: error.headers };
  }
  const e = error as { statusCode?: unknown; validation?: unknown; message?: unknown } | null;
  if (e && Array.isArray(e.validation)) {
    return { status: 400, body: { error_code: 'invalid_request', error: String(e.message) } };
  }
  // Fastify's own client errors (bad JSON, empty body, unsupported media type, body too large):
  // answered as the spec documents them, 400 invalid_request with Fastify's reason (a 413 or 415
  // would be a status no operation lists).
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const status = CODE_BY_STATUS[e.statusCode] ? e.statusCode : 400;
    return { status, body: { error_code: errorCodeForStatus(status), error: `body: ${String(e.message)}` } };
  }
  return { status: 500, body: { error_code: 'internal_error', error: 'internal server error' } };
}

/** A Fastify error handler answering `{error_code, error}`; 5xx are logged, never leaked. */
export function restErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body, headers } = toRestError(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (headers) reply.headers(headers);
  return reply.code(status).send(body);
}

/** A Fastify not-found handler answering 404 `{error_code: "not_found", error}`. */
export function restNotFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0];
  return reply.code(404).send({ error_code: 'not_found', error: `no route for ${request.method} ${path}` });
}
