// An expected failure of an MQTT request, answered as {success: false, error, error_code}.
// Handlers throw it; anything else that escapes a handler is a real fault (internal_error).
import type { ErrorCode } from '../../../generated/components/errors.js';
import type { ErrorResponse } from '../../../generated/asyncapi/schemas.js';

export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The error answer to `requestId` (the message is cut to the schema's 1000 characters). */
export function errorResponse(requestId: string, code: ErrorCode, message: string): ErrorResponse {
  const text = message.length === 0 ? code : message.length > 1000 ? `${message.slice(0, 997)}...` : message;
  return { request_id: requestId, success: false, error: text, error_code: code };
}
