// Rate limits on REST operations that could otherwise be used to guess secrets (passwords,
// registration codes) or to load the server (sign-ups, broker credentials): 429 with Retry-After.
import { restError, type OperationsDocumenting } from '@makapix/contract/openapi/routes';
import type { AppContext } from '../context.js';

/** The operations that document 429 rate_limit_exceeded. */
export type ThrottledOperation = OperationsDocumenting<429, 'rate_limit_exceeded'>;

export async function throttle(ctx: AppContext, op: ThrottledOperation, key: string, limit: number, what: string): Promise<void> {
  const r = await ctx.rateLimiter.hit([{ key, limit }]);
  if (!r.allowed) {
    const w = ctx.config.rateLimits.windowSeconds;
    throw restError(op, 429, 'rate_limit_exceeded', `Rate limit exceeded; retry in ${r.retryAfterSeconds} seconds (at most ${limit} ${what} per ${w === 60 ? 'minute' : `${w} s`})`, {
      'Retry-After': String(r.retryAfterSeconds),
    });
  }
}
