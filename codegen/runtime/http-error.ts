// The one REST error shape, `{error_code, error, detail}` (`detail` a copy of `error`, the field the
// Makapix app displays), and the Fastify handlers that produce it. Each
// route answers only the errors its operation documents (the generated route table's `errors`:
// status -> error codes); anything else (an undocumented HttpError, a library's own error) is
// mapped to a documented shape, never sent raw.
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface RestErrorBody {
  error_code: string;
  error: string;
  /** Always a copy of `error` (spec RestError, since REST 1.2). */
  detail: string;
}

/** The RestError schema's limit on `error`: longer messages (e.g. naming a huge value) are cut. */
const MAX_ERROR_TEXT = 1000;

/** The error body for `code` and `message`: the message cut to the schema's limit (never empty), copied into `detail`. */
export function restErrorBody(code: string, message: string): RestErrorBody {
  let error = message.length > MAX_ERROR_TEXT ? `${message.slice(0, MAX_ERROR_TEXT - 3)}...` : message;
  if (error.length === 0) error = code;
  return { error_code: code, error, detail: error };
}

/** The documented error answers of one operation: status -> the error codes it may carry (first: the default). */
export type ErrorTable = Readonly<Record<number, readonly string[]>>;

/**
 * Thrown to answer `status` with `{error_code: code, error: message}` (and `headers`, e.g.
 * Retry-After). Build it with the generated `restError(operationId, status, code, message)`, which
 * only compiles for a status and code the operation documents.
 */
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

export interface RestErrorResponse {
  status: number;
  body: RestErrorBody;
  headers?: Record<string, string>;
  /** Why a thrown error was not answered as it asked (an undocumented status or code): logged as a fault. */
  undocumented?: string;
}

const INTERNAL = 'internal_error';

/** The documented answer for a failure of `status`: that status when documented, else 400 for client errors, else 500. */
function documentedFor(errors: ErrorTable, status: number): { status: number; code: string } {
  if (errors[status]?.length) return { status, code: errors[status][0] };
  if (status >= 400 && status < 500 && errors[400]?.length) return { status: 400, code: errors[400][0] };
  return { status: 500, code: errors[500]?.[0] ?? INTERNAL };
}

/** Maps anything thrown to a documented REST error response; unknown errors become 500 without details. */
export function toRestError(error: unknown, errors: ErrorTable): RestErrorResponse {
  const internal = (undocumented?: string): RestErrorResponse => {
    const d = documentedFor(errors, 500);
    return { status: d.status, body: restErrorBody(d.code, 'internal server error'), ...(undocumented ? { undocumented } : {}) };
  };
  if (error instanceof HttpError) {
    if (errors[error.status]?.includes(error.code)) {
      return { status: error.status, body: restErrorBody(error.code, error.message), headers: error.headers };
    }
    return internal(`an answer ${error.status} ${error.code} that the operation does not document (${error.message})`);
  }
  const e = error as { statusCode?: unknown; validation?: unknown; message?: unknown } | null;
  if (e && Array.isArray(e.validation)) {
    const d = documentedFor(errors, 400);
    return { status: d.status, body: restErrorBody(d.code, String(e.message)) };
  }
  // Fastify's own client errors (bad JSON, empty body, unsupported media type, body too large):
  // answered with the operation's documented status for them (usually 400, with Fastify's reason).
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const d = documentedFor(errors, e.statusCode);
    if (d.status < 500) return { status: d.status, body: restErrorBody(d.code, `body: ${String(e.message)}`) };
  }
  return internal();
}

/** A Fastify error handler answering `{error_code, error, detail}` with the errors `errors` documents; 5xx are logged, never leaked. */
export function restErrorHandler(errors: ErrorTable) {
  return function handleRestError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const { status, body, headers, undocumented } = toRestError(error, errors);
    if (undocumented) request.log.error({ err: error }, `request failed: ${undocumented}`);
    else if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (headers) reply.headers(headers);
    return reply.code(status).send(body);
  };
}

/** A Fastify not-found handler answering 404 `{error_code: "not_found", error, detail}` (a URL no operation serves). */
export function restNotFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? '';
  return reply.code(404).send(restErrorBody('not_found', `no route for ${request.method} ${path}`));
}
